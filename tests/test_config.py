"""Configuration: discovery (.keyscan.yaml, [tool.keyscan]), overrides, starter file, errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_keyscan
from tests.fakes import CUSTOM_RULE, custom_token, rng


def tree_with_token(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.env").write_text(f"K={custom_token(rng(80))}\n")
    return tree, rules


def findings(tree: Path, rules: Path) -> list[dict]:
    done = run_keyscan(str(tree), "--rules", str(rules), "--format", "json", "--no-progress")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["findings"]


def test_pyproject_table_is_found_and_overrides_severity(tmp_path: Path) -> None:
    tree, rules = tree_with_token(tmp_path)
    (tree / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.keyscan.severity]\n"test.custom-token" = "low"\n'
    )
    assert [f["severity"] for f in findings(tree, rules)] == ["low"]


def test_yaml_config_wins_and_can_disable_rules(tmp_path: Path) -> None:
    tree, rules = tree_with_token(tmp_path)
    (tree / "pyproject.toml").write_text(
        '[tool.keyscan]\nseverity = {"test.custom-token" = "low"}\n'
    )
    (tree / ".keyscan.yaml").write_text("disable: [test.custom-token]\n")
    assert findings(tree, rules) == []


def test_unknown_rule_in_severity_is_an_error(tmp_path: Path) -> None:
    tree, rules = tree_with_token(tmp_path)
    (tree / ".keyscan.yaml").write_text("severity: {no.such-rule: low}\n")
    done = run_keyscan(str(tree), "--rules", str(rules), "--no-progress")
    assert done.returncode == 2 and "unknown rule id 'no.such-rule'" in done.stderr


def test_config_init_writes_a_valid_starter_once(tmp_path: Path) -> None:
    tree, rules = tree_with_token(tmp_path)
    assert run_keyscan("config", "init", str(tree)).returncode == 0
    assert "allowlist:" in (tree / ".keyscan.yaml").read_text()
    assert len(findings(tree, rules)) == 1  # the starter changes nothing
    again = run_keyscan("config", "init", str(tree))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_config_sets_the_default_format_and_can_refuse_foreign_markers(tmp_path: Path) -> None:
    rules = tmp_path / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text(f"k = '{custom_token(rng(81))}'  # pragma: allowlist secret\n")
    (tree / ".keyscan.yaml").write_text("format: json\n")
    done = run_keyscan(str(tree), "--rules", str(rules), "--no-progress")
    assert done.returncode == 0 and json.loads(done.stdout)["findings"] == []
    (tree / ".keyscan.yaml").write_text("format: json\nforeign_markers: false\n")
    done = run_keyscan(str(tree), "--rules", str(rules), "--no-progress")
    assert done.returncode == 1 and len(json.loads(done.stdout)["findings"]) == 1
    text = run_keyscan(str(tree), "--rules", str(rules), "--no-progress", "--format", "text")
    assert "1 secret found" in text.stdout

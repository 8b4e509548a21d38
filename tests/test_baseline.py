"""Baselines: accept today's findings, report only new ones; expiry; merge-friendly files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import git, run_keyscan
from tests.fakes import CUSTOM_RULE, custom_token, rng


def setup_repo(make_repo, tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo()
    rules = tmp_path / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)
    (repo / "old.env").write_text(f"KEY={custom_token(rng(60))}\n")
    git(repo, "add", ".")
    return repo, rules


def scan(repo: Path, rules: Path, *args: str) -> tuple[int, dict]:
    done = run_keyscan(str(repo), "--rules", str(rules), "--format", "json", "--no-progress", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_create_then_only_new_findings_are_reported(make_repo, tmp_path: Path) -> None:
    repo, rules = setup_repo(make_repo, tmp_path)
    done = run_keyscan("baseline", "create", str(repo), "--rules", str(rules), "--no-progress")
    assert done.returncode == 0, done.stderr
    baseline = (repo / ".keyscan-baseline.yaml").read_text()
    assert "kst_" not in baseline and "line" not in baseline.split("entries:")[1]
    assert scan(repo, rules)[0] == 0
    (repo / "new.env").write_text(f"KEY={custom_token(rng(61))}\n")
    code, report = scan(repo, rules)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["new.env"]
    assert report["summary"]["baselined"] == 1
    assert scan(repo, rules, "--no-baseline")[1]["summary"]["findings"] == 2


def test_a_moved_secret_stays_accepted(make_repo, tmp_path: Path) -> None:
    repo, rules = setup_repo(make_repo, tmp_path)
    run_keyscan("baseline", "create", str(repo), "--rules", str(rules), "--no-progress")
    text = (repo / "old.env").read_text()
    (repo / "old.env").unlink()
    (repo / "renamed.env").write_text("# moved\n\n" + text)
    assert scan(repo, rules)[0] == 0


def test_expired_entries_turn_back_into_findings(make_repo, tmp_path: Path) -> None:
    repo, rules = setup_repo(make_repo, tmp_path)
    run_keyscan("baseline", "create", str(repo), "--rules", str(rules), "--no-progress")
    path = repo / ".keyscan-baseline.yaml"
    path.write_text(
        path.read_text().replace(
            "rule: test.custom-token",
            "rule: test.custom-token\n  expires: 2020-01-01\n  reason: rotated soon",
        )
    )
    assert scan(repo, rules)[0] == 1


def test_update_keeps_reasons_and_is_deterministic(make_repo, tmp_path: Path) -> None:
    repo, rules = setup_repo(make_repo, tmp_path)
    run_keyscan("baseline", "create", str(repo), "--rules", str(rules), "--no-progress")
    path = repo / ".keyscan-baseline.yaml"
    path.write_text(
        path.read_text().replace(
            "rule: test.custom-token", "rule: test.custom-token\n  reason: fixture", 1
        )
    )
    (repo / "b.env").write_text(f"KEY={custom_token(rng(62))}\n")
    for _ in range(2):
        done = run_keyscan("baseline", "update", str(repo), "--rules", str(rules), "--no-progress")
        assert done.returncode == 0, done.stderr
        first = path.read_text()
    assert first.count("fingerprint:") == 2 and "reason: fixture" in first
    run_keyscan("baseline", "update", str(repo), "--rules", str(rules), "--no-progress")
    assert path.read_text() == first
    assert run_keyscan("baseline", "create", str(repo), "--rules", str(rules)).returncode == 2


def test_a_broken_baseline_is_a_one_line_error(make_repo, tmp_path: Path) -> None:
    repo, rules = setup_repo(make_repo, tmp_path)
    (repo / ".keyscan-baseline.yaml").write_text(
        "version: 1\nentries:\n  - fingerprint: abc\n    rule: x\n"
    )
    done = run_keyscan(str(repo), "--rules", str(rules), "--no-progress")
    assert done.returncode == 2
    assert ".keyscan-baseline.yaml:3: fingerprint" in done.stderr


def test_ignores_lists_inline_markers_with_authors_and_baseline_entries(
    make_repo, tmp_path: Path
) -> None:
    repo, rules = setup_repo(make_repo, tmp_path)
    (repo / "a.py").write_text(
        "x = 1  # keyscan:allow test.custom-token reason=fixture until=2001-01-01\n"
        "y = 2  # pragma: allowlist secret\n"
    )
    git(repo, "add", "a.py")
    git(repo, "commit", "-q", "-m", "markers")
    run_keyscan("baseline", "create", str(repo), "--rules", str(rules), "--no-progress")
    done = run_keyscan("ignores", str(repo))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("a.py:1" in ln and "Test Author" in ln and "EXPIRED" in ln for ln in lines)
    assert any("a.py:2" in ln and "pragma: allowlist secret" in ln for ln in lines)
    assert any(ln.startswith("baseline") and "test.custom-token" in ln for ln in lines)
    assert "3 ignores (1 expired)" in done.stderr


def test_keyscanignore_drops_fingerprints_and_paths_without_editing_the_file(
    make_repo, tmp_path: Path
) -> None:
    from keyscan.fingerprint import fingerprint

    repo, rules = setup_repo(make_repo, tmp_path)
    in_json = custom_token(rng(63))
    (repo / "data.json").write_text(json.dumps({"key": in_json}) + "\n")
    (repo / "vendor").mkdir()
    (repo / "vendor" / "lib.env").write_text(f"K={custom_token(rng(64))}\n")
    git(repo, "add", ".")
    assert scan(repo, rules)[1]["summary"]["findings"] == 3
    (repo / ".keyscanignore").write_text(
        "# comment-less formats\n"
        f"fingerprint:{fingerprint('test.custom-token', in_json)} *.json  # test fixture\n"
        "vendor/\n"
    )
    report = scan(repo, rules)[1]
    assert [f["path"] for f in report["findings"]] == ["old.env"]
    assert scan(repo, rules, "--no-inline-ignores")[1]["summary"]["findings"] == 3
    (repo / ".keyscanignore").write_text("fingerprint:nothex\n")
    done = run_keyscan(str(repo), "--rules", str(rules), "--no-progress")
    assert done.returncode == 2 and ".keyscanignore:1" in done.stderr


def test_audit_walks_entries_and_records_verdicts(make_repo, tmp_path: Path) -> None:
    repo, rules = setup_repo(make_repo, tmp_path)
    (repo / "b.env").write_text(f"KEY={custom_token(rng(65))}\n")
    git(repo, "add", ".")
    run_keyscan("baseline", "create", str(repo), "--rules", str(rules), "--no-progress")
    done = run_keyscan(
        "baseline", "audit", str(repo), "--rules", str(rules), "--no-progress", stdin="r\nf\n"
    )
    assert done.returncode == 0, done.stderr
    assert "old.env:1:5" in done.stdout or "b.env:1:5" in done.stdout
    assert "kst_" not in done.stdout.replace("kst_…", "")
    text = (repo / ".keyscan-baseline.yaml").read_text()
    assert "verdict: real" in text and "verdict: false-positive" in text
    again = run_keyscan("baseline", "audit", str(repo), "--rules", str(rules), "--no-progress")
    assert "0 of 2 entries have no verdict yet" in again.stdout


def test_import_from_detect_secrets_and_gitleaks(make_repo, tmp_path: Path) -> None:
    import hashlib

    repo, rules = setup_repo(make_repo, tmp_path)
    other = custom_token(rng(66))
    (repo / "b.env").write_text(f"\nKEY={other}\n")
    git(repo, "add", ".")
    old = (repo / "old.env").read_text().strip().split("=", 1)[1]
    detect_secrets = {
        "version": "1.5.0",
        "results": {
            "old.env": [
                {"type": "Secret Keyword", "line_number": 1,
                 "hashed_secret": hashlib.sha1(old.encode()).hexdigest(), "is_verified": False}
            ],
            "gone.py": [{"type": "x", "line_number": 3, "hashed_secret": "0" * 40}],
        },
    }  # fmt: skip
    source = tmp_path / ".secrets.baseline"
    source.write_text(json.dumps(detect_secrets))
    done = run_keyscan("baseline", "import", str(source), str(repo), "--rules", str(rules))
    assert done.returncode == 0, done.stderr
    assert "imported 1 findings" in done.stderr and "1 of its 2 entries matched no" in done.stderr
    assert [f["path"] for f in scan(repo, rules)[1]["findings"]] == ["b.env"]
    ignore = tmp_path / ".gitleaksignore"
    ignore.write_text("b.env:generic-api-key:2\n")
    done = run_keyscan("baseline", "import", str(ignore), str(repo), "--rules", str(rules))
    assert done.returncode == 0, done.stderr
    assert scan(repo, rules)[0] == 0
    assert "fingerprint" in (repo / ".keyscan-baseline.yaml").read_text()
    ignore.write_text("not a fingerprint\n")
    bad = run_keyscan("baseline", "import", str(ignore), str(repo), "--rules", str(rules))
    assert bad.returncode == 2 and ".gitleaksignore:1" in bad.stderr

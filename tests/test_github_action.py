"""The GitHub Action: `keyscan ci` on synthetic events, and action.yml's own steps run locally."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from keyscan.commands.ci_plan import SUPPORTED_EVENTS
from keyscan.report import github
from tests.conftest import commit, corrupt_packed_object, git, run_keyscan
from tests.fakes import rng
from tests.test_precommit_hooks import copy_project, readme_block, shop_token

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
ZERO = "0" * 40
RULE = "shopify.private-app-token"


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return loaded


def readme_workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(readme_block("GitHub Action", "jobs:"))
    return loaded


def parse_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name=value` and `name<<DELIM ... DELIM`."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines() if path.exists() else [])
    for line in lines:
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            value = []
            for part in lines:
                if part == delimiter:
                    break
                value.append(part)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


@dataclass
class CiRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    sarif: dict[str, Any] | None

    def errors(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error ")]

    def everything(self) -> str:
        return self.stdout + self.stderr + self.summary + json.dumps(self.sarif) + str(self.outputs)


def github_env(
    tmp: Path, workspace: Path, event_name: str, payload: dict[str, Any]
) -> dict[str, str]:
    runner = tmp / "runner"
    runner.mkdir(exist_ok=True)
    event = runner / "event.json"
    event.write_text(json.dumps(payload))
    (runner / "temp").mkdir(exist_ok=True)
    return {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(runner / "output"),
        "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_SHA": "",
        "RUNNER_TEMP": str(runner / "temp"),
        "KEYSCAN_BASE": "",
        "KEYSCAN_HEAD": "",
    }


def run_ci(
    tmp: Path, workspace: Path, event_name: str, payload: dict[str, Any], *args: str
) -> CiRun:
    env = github_env(tmp, workspace, event_name, payload)
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        Path(env[name]).unlink(missing_ok=True)
    done = run_keyscan("ci", "--no-cache", *args, cwd=workspace, env=env)
    outputs = parse_outputs(Path(env["GITHUB_OUTPUT"]))
    summary_path = Path(env["GITHUB_STEP_SUMMARY"])
    summary = summary_path.read_text(encoding="utf-8") if summary_path.exists() else ""
    sarif_file = outputs.get("sarif-file")
    sarif = json.loads(Path(sarif_file).read_text()) if sarif_file else None
    return CiRun(done.returncode, done.stdout, done.stderr, outputs, summary, sarif)


def clone(upstream: Path, destination: Path, *options: str) -> Path:
    """What actions/checkout leaves: a clone with every branch under refs/remotes/origin."""
    git(upstream.parent, "clone", "-q", *options, upstream.as_uri(), str(destination))
    return destination


def pr_payload(number: int, base: str, head: str) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "base": {"ref": "main", "sha": base},
            "head": {"ref": "feature", "sha": head},
        },
        "repository": {"default_branch": "main"},
    }


def push_payload(branch: str, before: str, after: str, **flags: bool) -> dict[str, Any]:
    return {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": after,
        "created": flags.get("created", False),
        "deleted": flags.get("deleted", False),
        "forced": flags.get("forced", False),
        "repository": {"default_branch": "main"},
    }


def rev(repo: Path, name: str) -> str:
    return git(repo, "rev-parse", name).strip()


@pytest.fixture
def upstream(make_repo) -> Path:
    repo: Path = make_repo("upstream")
    commit(repo, "init", **{"README.md": "app\n", "app.py": "x = 1\n"})
    return repo


# --- metadata -------------------------------------------------------------------------------


def test_action_metadata_validates_against_the_published_schema() -> None:
    schema = json.loads((DATA / "github-action-schema.json").read_text())
    meta = action()
    jsonschema.Draft7Validator(schema).validate(meta)
    # The schema is strict enough to notice a missing shell.
    broken = json.loads(json.dumps(meta))
    del broken["runs"]["steps"][0]["shell"]
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_action_is_composite_and_keeps_inputs_out_of_scripts() -> None:
    meta = action()
    assert meta["runs"]["using"] == "composite"
    steps = meta["runs"]["steps"]
    for step in steps:
        assert step["shell"] == "bash"
        # An expression inside `run:` is pasted into the script: script injection.
        assert "${{" not in step["run"]
    assert "github.action_path" in json.dumps(steps[0]["env"])
    assert {"fail-on-findings", "config", "baseline", "format", "extra-args"} <= set(meta["inputs"])
    for name in ("findings", "sarif-file"):
        assert meta["outputs"][name]["value"] == f"${{{{ steps.scan.outputs.{name} }}}}"


def test_readme_workflow_uses_the_action_as_documented() -> None:
    workflow = readme_workflow()
    assert set(workflow[True] if True in workflow else workflow["on"]) <= set(SUPPORTED_EVENTS)
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    checkout = next(s for s in steps if s["uses"].startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    ours = next(s for s in steps if s["uses"].startswith("keyscan/keyscan@"))
    assert set(ours.get("with", {})) <= set(action()["inputs"])
    upload = next(s for s in steps if "upload-sarif" in s["uses"])
    output = re.fullmatch(
        r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", upload["with"]["sarif_file"]
    )
    assert output and output.group(1) == ours["id"] and output.group(2) in action()["outputs"]
    assert "always()" in upload["if"]
    assert job["permissions"] if "permissions" in job else workflow["permissions"]


# --- pull requests --------------------------------------------------------------------------


def test_pull_request_that_adds_a_key(upstream: Path, tmp_path: Path) -> None:
    old = shop_token(20)
    commit(upstream, "old secret on main", **{"legacy.py": f"k = '{old}'\n"})
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    token = shop_token(21)
    added = commit(upstream, "add key", **{"new.py": f"KEY = '{token}'\n", "duplicate.py": old})
    ws = clone(upstream, tmp_path / "ws")
    git(ws, "checkout", "-q", added)

    run = run_ci(tmp_path, ws, "pull_request", pr_payload(7, base, added))
    assert run.code == 1, run.stdout + run.stderr
    [error] = run.errors()
    assert error.startswith("::error file=new.py,line=1,endLine=1,col=8,endColumn=46,")
    assert f"title=keyscan%3A {RULE} (high)::" in error
    assert "shpp…" in error and "shpp…(" not in error and f"commit {added[:12]}" in error
    assert token not in run.everything() and old not in run.everything()
    assert run.outputs["findings"] == "1" and run.outputs["exit-code"] == "1"
    assert "1 secret found in pull request \\#7" in run.summary
    assert f"(https://github.com/acme/app/blob/{added}/new.py#L1)" in run.summary
    assert run.sarif is not None
    sarif_schema = json.loads((DATA / "sarif-2.1.0.json").read_text())
    jsonschema.Draft202012Validator(sarif_schema).validate(run.sarif)
    [result] = run.sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "new.py"
    # The log report is fenced so scanned names cannot run as workflow commands.
    token_line = next(line for line in run.stdout.splitlines() if "::stop-commands::" in line)
    fence = token_line.split("::stop-commands::")[1]
    assert f"::{fence}::" in run.stdout


def test_clean_pull_request(upstream: Path, tmp_path: Path) -> None:
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    head = commit(upstream, "feature", **{"feature.py": "def f():\n    return 1\n"})
    ws = clone(upstream, tmp_path / "ws")
    run = run_ci(tmp_path, ws, "pull_request", pr_payload(8, base, head))
    assert run.code == 0, run.stdout + run.stderr
    assert run.errors() == []
    assert run.outputs["findings"] == "0"
    assert "no secrets found in pull request \\#8" in run.summary
    assert run.sarif is not None and run.sarif["runs"][0]["results"] == []


def test_pull_request_cannot_allowlist_its_own_leak(upstream: Path, tmp_path: Path) -> None:
    commit(upstream, "config", **{".keyscan.yaml": "allowlist:\n  paths: [fixtures/]\n"})
    (upstream / "fixtures").mkdir()
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    token = shop_token(22)
    relaxed = "allowlist:\n  paths: [fixtures/, deploy/]\n  stopwords: [shp]\ndisable: [" + RULE
    (upstream / "deploy").mkdir()
    head = commit(
        upstream,
        "sneak a key in",
        **{
            ".keyscan.yaml": relaxed + "]\n",
            "deploy/prod.py": f"KEY = '{token}'\n",
            "fixtures/sample.py": f"SAMPLE = '{shop_token(23)}'\n",
        },
    )
    ws = clone(upstream, tmp_path / "ws")
    git(ws, "checkout", "-q", head)
    run = run_ci(tmp_path, ws, "pull_request_target", pr_payload(9, base, head))
    assert run.code == 1, run.stderr
    # Still reported: the base's configuration applies; its own allowlist still works.
    assert [e.split(",")[0] for e in run.errors()] == ["::error file=deploy/prod.py"]
    assert "::warning title=keyscan::this change edits .keyscan.yaml" in run.stdout
    assert "edits .keyscan.yaml" in run.summary.replace("\\", "")


def test_pull_request_cannot_weaken_the_rules_its_config_loads(
    upstream: Path, tmp_path: Path
) -> None:
    rule = (
        "rules:\n  - id: acme.internal-token\n    name: ACME internal token\n"
        "    description: ACME's internal service token.\n    severity: high\n"
        "    keywords: [acme_]\n    pattern: '\\b(?P<secret>acme_[a-f0-9]{32})\\b'\n"
    )
    (upstream / "ci").mkdir()
    commit(
        upstream,
        "custom rule",
        **{".keyscan.yaml": "rules: [ci/rules.yaml]\n", "ci/rules.yaml": rule},
    )
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    secret = "acme_" + shop_token(24)[-32:]
    head = commit(
        upstream,
        "weaken the rule",
        **{"ci/rules.yaml": rule.replace("acme_", "nomatch_"), "svc.py": f"T = '{secret}'\n"},
    )
    ws = clone(upstream, tmp_path / "ws")
    run = run_ci(tmp_path, ws, "pull_request", pr_payload(10, base, head))
    assert run.code == 1, run.stdout + run.stderr
    assert "title=keyscan%3A acme.internal-token" in run.errors()[0]


def test_shallow_clone_fails_with_a_fetch_depth_hint(upstream: Path, tmp_path: Path) -> None:
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    commit(upstream, "one", **{"a.py": "a = 1\n"})
    head = commit(upstream, "two", **{"b.py": "b = 2\n"})
    ws = clone(upstream, tmp_path / "ws", "--depth", "1", "--branch", "feature")
    run = run_ci(tmp_path, ws, "pull_request", pr_payload(11, base, head))
    assert run.code == 2
    assert "fetch-depth: 0" in run.stderr
    assert (
        run.stdout.startswith("::error title=keyscan failed::") and "fetch-depth: 0" in run.stdout
    )
    assert run.outputs["exit-code"] == "2" and run.outputs["findings"] == ""
    assert "could not scan" in run.summary


# --- pushes ---------------------------------------------------------------------------------


def test_push_creating_a_branch(upstream: Path, tmp_path: Path) -> None:
    old = shop_token(30)
    commit(upstream, "old secret on main", **{"legacy.py": f"k = '{old}'\n"})
    git(upstream, "checkout", "-q", "-b", "topic")
    token = shop_token(31)
    commit(upstream, "copy the old one", **{"duplicate.py": f"again = '{old}'\n"})
    tip = commit(upstream, "add a new one", **{"new.py": f"k = '{token}'\n"})
    ws = clone(upstream, tmp_path / "ws")
    git(ws, "checkout", "-q", "topic")
    payload = push_payload("topic", ZERO, tip, created=True)
    run = run_ci(tmp_path, ws, "push", payload)
    assert run.code == 1, run.stderr
    # Only what the branch adds: main's old secret (even copied) is not new.
    assert [e.split(",")[0] for e in run.errors()] == ["::error file=new.py"]
    assert "the new branch topic" in run.summary


def test_push_to_an_existing_branch_scans_before_to_after(upstream: Path, tmp_path: Path) -> None:
    before = rev(upstream, "main")
    token = shop_token(32)
    commit(upstream, "leak", **{"leak.py": f"k = '{token}'\n"})
    after = commit(upstream, "unrelated", **{"other.py": "o = 1\n"})
    ws = clone(upstream, tmp_path / "ws")
    run = run_ci(tmp_path, ws, "push", push_payload("main", before, after))
    assert run.code == 1 and [e.split(",")[0] for e in run.errors()] == ["::error file=leak.py"]
    clean = run_ci(tmp_path, ws, "push", push_payload("main", rev(ws, "HEAD~1"), after))
    assert clean.code == 0 and clean.outputs["findings"] == "0"


def test_push_of_an_annotated_tag_scans_its_message(upstream: Path, tmp_path: Path) -> None:
    token = shop_token(34)
    git(upstream, "tag", "-a", "-m", f"release 1.0, deployed with {token}", "v1.0")
    ws = clone(upstream, tmp_path / "ws")
    # GitHub's payload names the tag object, not the commit, for an annotated tag.
    payload = {**push_payload("main", ZERO, rev(upstream, "v1.0"), created=True)}
    payload["ref"] = "refs/tags/v1.0"
    run = run_ci(tmp_path, ws, "push", payload, "--format", "json")
    assert run.code == 1, run.stdout + run.stderr
    assert "(tag v1.0 message)" in run.everything()
    git(upstream, "tag", "-a", "-m", "release 1.1", "v1.1")
    ws = clone(upstream, tmp_path / "ws2")
    payload["after"], payload["ref"] = rev(upstream, "v1.1"), "refs/tags/v1.1"
    clean = run_ci(tmp_path, ws, "push", payload)
    assert clean.code == 0 and clean.outputs["findings"] == "0"


def test_force_push(upstream: Path, tmp_path: Path) -> None:
    git(upstream, "checkout", "-q", "-b", "topic")
    commit(upstream, "first try", **{"work.py": "w = 1\n"})
    old_tip = rev(upstream, "topic")
    early = clone(upstream, tmp_path / "early")  # has the old tip, as a runner that fetched it
    git(upstream, "reset", "-q", "--hard", "main")
    token = shop_token(33)
    new_tip = commit(upstream, "second try", **{"work.py": f"w = '{token}'\n"})
    payload = push_payload("topic", old_tip, new_tip, forced=True)

    # The old tip is gone from a fresh clone: compare with the other branches, and say so.
    fresh = clone(upstream, tmp_path / "fresh")
    run = run_ci(tmp_path, fresh, "push", payload)
    assert run.code == 1 and [e.split(",")[0] for e in run.errors()] == ["::error file=work.py"]
    assert "::warning title=keyscan::the previous tip" in run.stdout

    # The old tip is still known: scan what the new tip has that the old one did not.
    git(early, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
    run = run_ci(tmp_path, early, "push", payload)
    assert run.code == 1 and [e.split(",")[0] for e in run.errors()] == ["::error file=work.py"]
    assert "forced push" in run.stdout


def test_deleted_branch_scans_nothing(upstream: Path, tmp_path: Path) -> None:
    ws = clone(upstream, tmp_path / "ws")
    payload = push_payload("gone", rev(upstream, "main"), ZERO, deleted=True)
    run = run_ci(tmp_path, ws, "push", payload)
    assert run.code == 0 and run.outputs["findings"] == "0"


# --- audits ---------------------------------------------------------------------------------


def test_scheduled_audit_scans_the_whole_history(upstream: Path, tmp_path: Path) -> None:
    token = shop_token(40)
    commit(upstream, "leak", **{"old.py": f"k = '{token}'\n"})
    git(upstream, "rm", "-q", "old.py")
    git(upstream, "commit", "-q", "-m", "remove it again")
    ws = clone(upstream, tmp_path / "ws")
    run = run_ci(tmp_path, ws, "schedule", {"schedule": "17 3 * * 1"})
    assert run.code == 1, run.stderr
    [error] = run.errors()
    assert "file=old.py" in error and "stays in the git history" in error
    assert "whole history" in run.summary
    assert run.outputs["findings"] == "1"
    manual = run_ci(tmp_path, ws, "workflow_dispatch", {"inputs": {}})
    assert manual.code == 1 and manual.outputs["findings"] == "1"


def test_an_audit_that_cannot_read_an_object_fails_the_check(upstream: Path, tmp_path: Path):
    # Whatever --fail-on-findings says: what could not be read was not checked.
    token = shop_token(41)
    noise = rng(64)
    text = "".join(noise.choice("abcdefghij klmnop\n") for _ in range(20_000))
    commit(upstream, "leak", **{"a.txt": text, "b.py": f"k = '{token}'\n"})
    ws = clone(upstream, tmp_path / "ws")
    lost = git(ws, "rev-parse", "HEAD:a.txt").strip()
    corrupt_packed_object(ws, lost)
    run = run_ci(tmp_path, ws, "schedule", {"schedule": "17 3 * * 1"}, "--no-fail-on-findings")
    assert run.code == 2, run.stderr
    assert run.outputs["exit-code"] == "2" and run.outputs["findings"] == "1"
    assert lost in run.stderr and "Traceback" not in run.stderr
    assert run.sarif is not None
    assert run.sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False


# --- reporting details ----------------------------------------------------------------------


def test_annotations_are_capped_escaped_and_the_summary_lists_everything(
    upstream: Path, tmp_path: Path
) -> None:
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    lines = "".join(f"k{i} = '{shop_token(50 + i)}'\n" for i in range(12))
    head = commit(upstream, "many", **{"odd,name:x.py": lines})
    ws = clone(upstream, tmp_path / "ws")
    run = run_ci(tmp_path, ws, "pull_request", pr_payload(12, base, head))
    assert run.code == 1
    errors = run.errors()
    assert len(errors) == 10
    assert all(e.startswith("::error file=odd%2Cname%3Ax.py,line=") for e in errors)
    assert "::notice title=keyscan::2 more secrets not annotated" in run.stdout
    assert run.summary.count(f"`{RULE}`") == 12
    assert run.outputs["findings"] == "12"


def test_fail_on_findings_off_format_output_and_baseline(upstream: Path, tmp_path: Path) -> None:
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    head = commit(upstream, "key", **{"k.py": f"k = '{shop_token(60)}'\n"})
    ws = clone(upstream, tmp_path / "ws")
    report = tmp_path / "report.json"
    args = ("--no-fail-on-findings", "--format", "json", "--output", str(report))
    run = run_ci(tmp_path, ws, "pull_request", pr_payload(13, base, head), *args)
    assert run.code == 0 and run.outputs["findings"] == "1" and run.outputs["exit-code"] == "0"
    assert run.outputs["report-file"] == str(report)
    assert json.loads(report.read_text())["findings"][0]["path"] == "k.py"
    # A missing baseline is ignored.
    missing = run_ci(
        tmp_path, ws, "pull_request", pr_payload(13, base, head), "--baseline", "nope.yaml"
    )
    assert "baseline" not in missing.stdout and missing.outputs["findings"] == "1"


def test_baseline_comes_from_the_base_commit(upstream: Path, tmp_path: Path) -> None:
    from keyscan.baseline import BaselineEntry, render_baseline
    from keyscan.fingerprint import fingerprint

    accepted, sneaked = shop_token(70), shop_token(71)
    entry = BaselineEntry(fingerprint(RULE, accepted), RULE, reason="rotated, history only")
    commit(upstream, "baseline on main", **{".keyscan-baseline.yaml": render_baseline([entry])})
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    sneaky = BaselineEntry(fingerprint(RULE, sneaked), RULE, reason="trust me")
    head = commit(
        upstream,
        "keys",
        **{
            "a.py": f"k = '{accepted}'\n",
            "b.py": f"k = '{sneaked}'\n",
            ".keyscan-baseline.yaml": render_baseline([entry, sneaky]),
        },
    )
    ws = clone(upstream, tmp_path / "ws")
    run = run_ci(tmp_path, ws, "pull_request", pr_payload(14, base, head))
    # The base's baseline accepts the first key; the pull request's own addition is ignored.
    assert run.code == 1 and run.outputs["findings"] == "1"
    assert "b.py" in run.summary and "a.py" not in run.summary
    assert "changes .keyscan-baseline.yaml" in run.stdout


def test_unsupported_event_is_a_clear_error(upstream: Path, tmp_path: Path) -> None:
    ws = clone(upstream, tmp_path / "ws")
    run = run_ci(tmp_path, ws, "issue_comment", {"comment": {}})
    assert run.code == 2 and "not supported" in run.stderr and "--base" in run.stderr


def test_workflow_command_escaping() -> None:
    assert github.escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = github.command("error", "two\nlines", {"file": "x,y.py", "line": 3, "title": "t:1"})
    assert line == "::error file=x%2Cy.py,line=3,title=t%3A1::two%0Alines"


# --- the action's own steps -----------------------------------------------------------------


class ActionRunner:
    """Runs action.yml's steps the way the runner does: inputs through `env:`, bash with
    `--noprofile --norc -eo pipefail`, outputs from $GITHUB_OUTPUT."""

    def __init__(self, action_path: Path, runner_temp: Path):
        self.action_path = action_path
        self.runner_temp = runner_temp
        self.meta = yaml.safe_load((action_path / "action.yml").read_text())

    def inputs(self, given: dict[str, Any]) -> dict[str, str]:
        values = {k: str(v.get("default", "")) for k, v in self.meta["inputs"].items()}
        for name, value in given.items():
            values[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return values

    def expand(self, text: str, inputs: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            expression = match.group(1).strip()
            if expression == "github.action_path":
                return str(self.action_path)
            if expression.startswith("inputs."):
                return inputs[expression.removeprefix("inputs.")]
            raise AssertionError(f"unexpected expression {expression}")

        return re.sub(r"\$\{\{(.*?)\}\}", value, text)

    def run_step(
        self, index: int, given: dict[str, Any], env: dict[str, str], cwd: Path
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        step = self.meta["runs"]["steps"][index]
        inputs = self.inputs(given)
        output = self.runner_temp / f"output-{index}"
        output.unlink(missing_ok=True)
        script = self.runner_temp / f"step-{index}.sh"
        script.write_text(step["run"])
        full_env = {
            **os.environ,
            **env,
            "RUNNER_TEMP": str(self.runner_temp),
            "GITHUB_ACTION_PATH": str(self.action_path),
            "GITHUB_OUTPUT": str(output),
            **{k: self.expand(str(v), inputs) for k, v in step.get("env", {}).items()},
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return done, parse_outputs(output)


@pytest.fixture(scope="module")
def installed_action(tmp_path_factory: pytest.TempPathFactory) -> ActionRunner:
    """The action checked out (this working tree, as is) and its install step run once."""
    action_path = copy_project(tmp_path_factory.mktemp("action") / "keyscan")
    runner_temp = tmp_path_factory.mktemp("runner-temp")
    runner = ActionRunner(action_path, runner_temp)
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done, _ = runner.run_step(0, {"python": sys.executable}, env, runner_temp)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (runner_temp / "keyscan-venv" / "bin" / "keyscan").exists()
    return runner


def test_action_steps_with_the_readme_inputs(
    installed_action: ActionRunner, upstream: Path, tmp_path: Path
) -> None:
    base = rev(upstream, "main")
    git(upstream, "checkout", "-q", "-b", "feature")
    token = shop_token(70)
    head = commit(upstream, "key", **{"svc.py": f"K = '{token}'\n"})
    ws = clone(upstream, tmp_path / "ws")
    env = github_env(tmp_path, ws, "pull_request", pr_payload(14, base, head))
    [job] = readme_workflow()["jobs"].values()
    readme_inputs = next(s for s in job["steps"] if s["uses"].startswith("keyscan/"))["with"]

    done, outputs = installed_action.run_step(1, readme_inputs, env, ws)
    assert done.returncode == 1, done.stdout + done.stderr
    assert outputs["findings"] == "1" and outputs["exit-code"] == "1"
    assert Path(outputs["sarif-file"]).parent == installed_action.runner_temp
    assert json.loads(Path(outputs["sarif-file"]).read_text())["runs"][0]["results"]
    assert "::error file=svc.py,line=1," in done.stdout and token not in done.stdout

    # extra-args are split like a shell would (quotes and all), never evaluated.
    extra = f"--disable-rule '{RULE}' --max-file-size \"1 MB\" $(touch {tmp_path}/pwned)"
    given = {**readme_inputs, "extra-args": extra, "fail-on-findings": False}
    done, outputs = installed_action.run_step(1, given, env, ws)
    # An unexpected argument, not a command that ran.
    assert done.returncode == 2 and "unexpected extra arguments" in done.stderr
    assert not (tmp_path / "pwned").exists()
    given["extra-args"] = f"--disable-rule '{RULE}' --max-file-size \"1 MB\""
    done, outputs = installed_action.run_step(1, given, env, ws)
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["findings"] == "0"

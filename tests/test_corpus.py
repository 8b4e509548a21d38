"""keyscan against its labelled corpus: recall and precision must both stay at 0.97 or above."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keyscan.rules.doc import family
from keyscan.rules.load import load_rules
from tests.conftest import commit, git, run_keyscan
from tests.corpus.generate import Label, build
from tests.corpus.score import Reported, Score, score, table
from tests.corpus.tokens import TOKENS, password

MINIMUM = 0.97


def _reported(findings: list[dict[str, Any]]) -> list[Reported]:
    families = {rule.id: family(rule) for rule in load_rules()}
    return [Reported(f["path"], f["line"], families.get(f["rule_id"], "")) for f in findings]


def _explain(scores: dict[str, Score]) -> str:
    overall = scores["all"]
    misses = "\n".join(f"  missed {m.path}:{m.line} ({m.kind})" for m in overall.misses[:30])
    noise = "\n".join(f"  noise  {f.path}:{f.line}" for f in overall.false_positives[:30])
    return f"\n{table(scores)}\n{misses}\n{noise}"


def test_recall_and_precision_on_the_corpus(tmp_path: Path) -> None:
    corpus = build(tmp_path / "corpus")
    assert len(corpus.positives) >= 400 and corpus.negative_files >= 400
    assert len(corpus.negative_kinds) >= 20
    result = run_keyscan(str(corpus.root), "--format", "json", "--no-progress")
    assert result.returncode == 1, result.stderr
    scores = score(corpus.positives, _reported(json.loads(result.stdout)["findings"]))
    overall = scores["all"]
    assert overall.recall >= MINIMUM and overall.precision >= MINIMUM, _explain(scores)


def test_secrets_that_live_only_in_history(make_repo: Any) -> None:
    import random

    r = random.Random(7)
    repo: Path = make_repo()
    token, _ = TOKENS["github.pat-classic"](r)
    branch_token, _ = TOKENS["stripe.secret-key"](r)
    message_token, _ = TOKENS["slack.bot-token"](r)
    commit(repo, "start", **{"README.md": "# service\n"})
    commit(repo, "add config", **{"config.env": f"APP=1\nGITHUB_TOKEN={token}\n"})
    git(repo, "rm", "-q", "config.env")
    commit(repo, "remove config", **{"README.md": "# service\nconfig comes from vault\n"})
    git(repo, "checkout", "-q", "-b", "experiment")
    commit(repo, "try payments", **{"pay.py": f'API = "{branch_token}"\n'})
    git(repo, "checkout", "-q", "main")
    commit(repo, f"debug: token was {message_token}", **{"notes.txt": "debugging\n"})
    commit(repo, "db", **{"db.env": f"DB_PASSWORD={password(r)}\n"})
    git(repo, "rm", "-q", "db.env")
    commit(repo, "drop db.env", **{"README.md": "# service\n"})
    labels = [
        Label("config.env", 2, "source-hosting", "deleted-file"),
        Label("pay.py", 1, "payments", "unmerged-branch"),
        Label("db.env", 1, "generic", "deleted-password"),
        Label("(commit message)", 1, "messaging", "commit-message"),
    ]
    result = run_keyscan("--history", str(repo), "--format", "json", "--no-progress")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    scores = score(labels, _reported(findings))
    assert scores["all"].recall == 1.0 and scores["all"].precision == 1.0, _explain(scores)
    assert all(f["at_head"] is False for f in findings if f["path"] != "(commit message)")

"""Inputs that must not make a scan super-linear: a 50 MB single-line file full of keywords."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.conftest import run_keyscan
from tests.fakes import custom_token


def test_fifty_megabyte_single_line_file_finishes(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    r = random.Random(50)
    unit = b"var password=f(x),token=g(y),api_key=h(z);"
    body = bytearray(unit * (50 * 1024 * 1024 // len(unit)))
    needle = f"secret_token='{custom_token(r)}';".encode()
    body[len(body) // 2 : len(body) // 2 + len(needle)] = needle
    (tree / "bundle.min.js").write_bytes(bytes(body))
    rules = tmp_path / "r.yaml"
    from tests.fakes import CUSTOM_RULE

    rules.write_text(CUSTOM_RULE)
    # The timeout is a hang guard only; the scan takes seconds.
    done = run_keyscan(
        str(tree),
        "--rules",
        str(rules),
        "--max-file-size",
        "64MB",
        "--format",
        "json",
        "--no-progress",
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [f["rule_id"] for f in report["findings"]] == ["test.custom-token"]
    assert report["findings"][0]["line"] == 1

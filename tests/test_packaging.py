"""The wheel carries the built-in rules, so `pip install .` (and pre-commit) get them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_builtin_rules_and_loads_them_without_the_source_tree(tmp_path: Path) -> None:
    # One build only: parallel builds from one source tree would race on its build/ directory.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "wheel"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [wheel] = (tmp_path / "wheel").glob("keyscan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"keyscan/builtin_rules/{p.name}" for p in (ROOT / "rules").glob("*.yaml")}
    assert expected and expected <= names
    assert {"keyscan/py.typed", "keyscan/cli.py", "keyscan/__main__.py"} <= names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = "from keyscan.rules.load import load_rules; print(len(load_rules()))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 80

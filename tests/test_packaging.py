"""The wheel carries the built-in rules and the compiled edit search, so `pip install .` (and
pre-commit) get them; without the compiled search keyscan runs its Python one."""

from __future__ import annotations

import ast
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
    # The C builds (this machine has a compiler and zlib's headers, as CI's does) and stubs.
    for extension in ("_segments", "_encoded", "_escapes", "_packs"):
        assert f"keyscan/{extension}.pyi" in names
        assert any(
            n.startswith(f"keyscan/{extension}.") and n.endswith((".so", ".pyd")) for n in names
        )

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import keyscan.edits as e; from keyscan.rules.load import load_rules; "
        "assert e.matched_segments is not e.python_matched_segments; "
        "import keyscan.decoders.encodings as d; "
        "assert d._LIVELY_PLACES is not d.python_lively_places; print(len(load_rules()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 80


def test_without_the_compiled_search_edit_scans_run_the_python_one() -> None:
    # What an install without a C compiler gets: importing keyscan._segments fails.
    code = (
        "import sys; sys.modules['keyscan._segments'] = None\n"
        "import keyscan.edits as e\n"
        "assert e.matched_segments is e.python_matched_segments\n"
        "old = b''.join(b'line %d\\n' % n for n in range(2000))\n"
        "new = old.replace(b'line 1000\\n', b'changed\\n')\n"
        "segments = e.matched_segments(old, new)\n"
        "print(new.index(b'changed'), e.changed_regions(new, segments, 10))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    edit, regions = done.stdout.split(" ", 1)
    [(start, end)] = ast.literal_eval(regions)
    assert start < int(edit) < end and end - start < 100

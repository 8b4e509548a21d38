"""The pipeline's value types: immutable to the type checker, cheap to build, equal by value."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from keyscan.edits import CleanVersion
from keyscan.model import Blob, Provenance
from keyscan.sources.gitobjects import ObjectRef


def test_values_compare_hash_and_pickle_by_value() -> None:
    ref = ObjectRef("a" * 40, "blob", 12, "src/settings.py")
    blob = Blob("b" * 40, b"data", Provenance("src/settings.py", commit="c" * 40))
    for item in (ref, blob, CleanVersion(b"data", 0, (), False)):
        # Workers receive object refs and send findings back pickled.
        copy = pickle.loads(pickle.dumps(item))
        assert copy == item
        assert hash(copy) == hash(item)
        # Slots: a history audit holds many of them at once.
        assert not hasattr(item, "__dict__")
    assert len({ref, ObjectRef("a" * 40, "blob", 12, "src/settings.py")}) == 1


def test_assigning_to_a_value_is_a_type_error(tmp_path: Path) -> None:
    # Values are built without frozen=True (keyscan.model.value says why): what keeps them
    # immutable is mypy --strict, which CI runs on keyscan/.
    from mypy import api

    snippet = tmp_path / "assigns.py"
    snippet.write_text(
        "from keyscan.model import Finding, Provenance\n"
        "def touch(finding: Finding) -> None:\n"
        "    finding.line = 3\n"
        "    Provenance('x').path = 'y'\n"
    )
    out, _, status = api.run(
        [
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--python-executable",
            sys.executable,
            str(snippet),
        ]
    )
    assert status == 1
    assert out.count("is read-only") == 2, out

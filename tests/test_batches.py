"""How a git listing is cut into batches for the workers: path order, bounded, a short tail."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st

from keyscan.scan import (
    FIRST_SORT_WINDOW,
    OBJECT_BATCH_BYTES,
    OBJECT_BATCH_FILES,
    SORT_WINDOW,
    TAIL_BATCH_BYTES,
    _object_batches,
    in_submission_order,
)
from keyscan.sources.gitobjects import ObjectRef

MIB = 1024 * 1024


def _refs(sizes: list[int], paths: list[str]) -> list[ObjectRef]:
    return [
        ObjectRef(f"{i:040x}", "blob", size, paths[i % len(paths)]) for i, size in enumerate(sizes)
    ]


def test_the_end_of_a_listing_is_cut_into_ever_smaller_batches() -> None:
    # 200 versions of 1 MiB: one worker takes them 32 MiB at a time; with two, the batches
    # shrink towards the end so that neither is left alone with a large one.
    refs = _refs([MIB] * 200, ["big.bin"])
    assert [len(b) for b in _object_batches(iter(refs), 1)] == [32] * 6 + [8]
    two = [len(b) for b in _object_batches(iter(refs), 2)]
    assert sum(two) == 200 and two == sorted(two, reverse=True)
    assert two[0] == OBJECT_BATCH_BYTES // MIB and two[-1] == TAIL_BATCH_BYTES // MIB


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3 * MIB), max_size=FIRST_SORT_WINDOW + 300),
    kinds=st.lists(st.sampled_from(["blob", "blob", "blob", "commit", "tag"]), min_size=1),
    paths=st.lists(st.sampled_from(["a.py", "b/c.txt", "d.md", "z"]), min_size=1, max_size=5),
    workers=st.integers(1, 4),
)
def test_batches_hold_every_object_once_blobs_in_path_order_per_window(
    sizes: list[int], kinds: list[str], paths: list[str], workers: int
) -> None:
    refs = [
        ObjectRef(f"{i:040x}", kinds[i % len(kinds)], size, paths[i % len(paths)])
        for i, size in enumerate(sizes)
    ]
    batches = list(_object_batches(iter(refs), workers))
    assert all(0 < len(b) <= OBJECT_BATCH_FILES for b in batches)
    # Messages (commits, tags) come in listing order in batches of their own. Blobs come in
    # windows of the listing (FIRST_SORT_WINDOW objects, then SORT_WINDOW, messages counted),
    # each window's blobs sorted by path (stably) and never mixed with the next window's.
    assert all(len({r.type == "blob" for r in batch}) == 1 for batch in batches)
    messages = [r for r in refs if r.type != "blob"]
    assert [r for b in batches if b[0].type != "blob" for r in b] == messages
    windows = [refs[:FIRST_SORT_WINDOW]] + [
        refs[i : i + SORT_WINDOW] for i in range(FIRST_SORT_WINDOW, len(refs), SORT_WINDOW)
    ]
    expected = [
        ref
        for window in windows
        for ref in sorted((r for r in window if r.type == "blob"), key=lambda r: r.path)
    ]
    assert [r for b in batches if b[0].type == "blob" for r in b] == expected
    for batch in batches:
        # A batch closes at the first object that takes it to its byte limit, never later.
        assert sum(ref.size for ref in batch[:-1]) < OBJECT_BATCH_BYTES


def test_messages_go_out_before_the_first_window_of_blobs_fills() -> None:
    # rev-list lists every commit first: the workers get them while the blobs are still read.
    commits = [ObjectRef(f"{i:040x}", "commit", 300, "") for i in range(600)]
    blobs = [ObjectRef(f"{i + 600:040x}", "blob", 100, f"f{i}") for i in range(FIRST_SORT_WINDOW)]
    listed: list[ObjectRef] = []

    def listing() -> Iterator[ObjectRef]:
        for ref in commits + blobs:
            listed.append(ref)
            yield ref

    batches = _object_batches(listing(), 2)
    assert next(batches) == commits[:OBJECT_BATCH_FILES]
    assert len(listed) == OBJECT_BATCH_FILES  # nothing was read ahead of the batch
    assert next(batches) == commits[OBJECT_BATCH_FILES : 2 * OBJECT_BATCH_FILES]
    assert len(listed) == 2 * OBJECT_BATCH_FILES


def test_a_long_first_batch_does_not_hold_back_the_others() -> None:
    # The first batch can only finish once the ten after it have: with a new batch going out
    # only when the oldest is done, the two workers would wait on each other for ever.
    others_done = threading.Event()
    finished: list[int] = []

    def work(item: int) -> int:
        if item == 0:
            assert others_done.wait(timeout=60), "batches behind the first never went out"
        finished.append(item)
        if len(finished) == 10:
            others_done.set()
        return item * item

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(in_submission_order(lambda item: pool.submit(work, item), range(11), 4))
    # Taken in submission order all the same, whichever finished first.
    assert outcomes == [(item, item * item) for item in range(11)]
    assert finished[-1] == 0

"""The incremental audit cache: blob ids known to be clean under one ruleset, in SQLite."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

DB_NAME = "audit-cache.sqlite3"
SCHEMA_VERSION = 3
# Object ids are 20 bytes (SHA-1) or 32 (SHA-256).
_ID_WIDTHS = (20, 32)
# Clean ids are written behind the scan, on a thread of their own, in transactions of
# this many: small enough that the last one, written while provenance is resolved, is done by
# the time the audit ends (sphinx: 42,000 ids left at the end took 0.14 s after the scan).
_FLUSH_EVERY = 16_384


class AuditCache:
    """Only clean blobs are stored, so the cache never holds a secret or anything derived from one.

    Any problem with the cache file (unwritable, corrupt, locked) disables the cache instead of
    failing the audit; `disabled_reason` says why.
    """

    def __init__(self, directory: Path, ruleset_hash: str) -> None:
        self.directory = directory
        self.ruleset_hash = ruleset_hash
        self.disabled_reason: str | None = None
        self._connection: sqlite3.Connection | None = None
        # Loaded on first use: an audit replayed from its record never needs it.
        self._clean: set[bytes] | None = None
        # Marked clean by this audit: kept apart from what earlier audits stored, so that a first
        # audit's is_clean stays a test of an empty set.
        self._added: set[bytes] = set()
        self._pending: list[bytes] = []
        self._ruleset_id: int | None = None
        self._writer: threading.Thread | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._connection is not None or self.disabled_reason is not None:
            return self._connection
        path = self.directory / DB_NAME
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._connection = self._open(path)
        except sqlite3.DatabaseError:
            # A corrupt or foreign file: move it aside and start again, once.
            try:
                os.replace(path, path.with_suffix(".corrupt"))
                self._connection = self._open(path)
            except (OSError, sqlite3.Error) as exc:
                self.disabled_reason = f"{path}: {exc}"
        except (OSError, sqlite3.Error) as exc:
            self.disabled_reason = f"{path}: {exc}"
        return self._connection

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        fresh = not path.exists()
        # The history feeder thread asks is_clean while the main thread marks blobs clean; the
        # in-memory set is loaded before either starts, so the connection is never shared live.
        connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        if fresh:
            os.chmod(path, 0o600)
        connection.execute("PRAGMA journal_mode=WAL")
        # A cache: losing the last transaction to a power cut costs a rescan, never correctness.
        connection.execute("PRAGMA synchronous=NORMAL")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return connection  # tables in place: opening writes nothing
        if version != 0:
            connection.close()
            raise sqlite3.DatabaseError(f"unknown cache schema version {version}")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS rulesets"
            " (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE)"
        )
        # One row holds a whole write's ids, end to end, all of one width: a row per id (version
        # 2) made a first audit's inserts cost sqlalchemy's 106,000 blobs about 1.5 s of CPU
        # (B-tree inserts of random keys), taken from the workers on a two-core machine, where
        # one blob of 2 MB is a single append. Rows name their ruleset by a small integer.
        connection.execute(
            "CREATE TABLE IF NOT EXISTS clean_runs ("
            " ruleset INTEGER NOT NULL, width INTEGER NOT NULL, ids BLOB NOT NULL)"
        )
        connection.execute("CREATE INDEX IF NOT EXISTS clean_runs_ruleset ON clean_runs (ruleset)")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS audits ("
            " ruleset TEXT NOT NULL, refs TEXT NOT NULL, record TEXT NOT NULL,"
            " PRIMARY KEY (ruleset, refs))"
        )
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        connection.commit()
        return connection

    def _load(self) -> set[bytes]:
        if self._clean is None:
            self._clean = set()
            connection = self._connect()
            if connection is not None:
                try:
                    rows = connection.execute(
                        "SELECT width, ids FROM clean_runs WHERE ruleset ="
                        " (SELECT id FROM rulesets WHERE hash = ?)",
                        (self.ruleset_hash,),
                    )
                    for width, ids in rows:
                        if width in _ID_WIDTHS and len(ids) % width == 0:
                            self._clean.update(
                                ids[start : start + width] for start in range(0, len(ids), width)
                            )
                except sqlite3.Error as exc:
                    self.disabled_reason = str(exc)
        return self._clean

    @staticmethod
    def _key(blob_id: str) -> bytes:
        try:
            key = bytes.fromhex(blob_id)
        except ValueError:
            key = b""
        # fromhex skips spaces: the length check keeps "ab cd…" out.
        if len(key) not in _ID_WIDTHS or len(blob_id) != 2 * len(key):
            raise ValueError(f"not a git object id: {blob_id!r}")
        return key

    def is_clean(self, blob_id: str) -> bool:
        """Whether an earlier audit found this blob clean (what this one marks is for the next:
        an audit lists each object once)."""
        clean = self._load()
        # A first audit asks about every object of history, and nothing is clean yet.
        return bool(clean) and self._key(blob_id) in clean

    def mark_clean(self, blob_ids: Iterable[str]) -> None:
        clean = self._load()
        added = self._added
        for blob_id in blob_ids:
            key = self._key(blob_id)
            if key not in clean and key not in added:
                added.add(key)
                self._pending.append(key)
        if len(self._pending) >= _FLUSH_EVERY:
            self.write_behind()

    def write_behind(self) -> None:
        """Start writing what is pending on a thread of its own, which the next write, flush or
        close waits for: the main process feeds the workers, and a write of 50,000 rows on its
        main thread held them up for a third of a second (sqlite releases the GIL while it
        writes)."""
        self._wait_for_writer()
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        self._writer = threading.Thread(target=self._write, args=(rows,), daemon=True)
        self._writer.start()

    def flush(self) -> None:
        self._wait_for_writer()
        rows, self._pending = self._pending, []
        self._write(rows)

    def _wait_for_writer(self) -> None:
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def _write(self, rows: list[bytes]) -> None:
        connection = self._connect()
        if connection is None or not rows:
            return
        try:
            with connection:
                if self._ruleset_id is None:
                    connection.execute(
                        "INSERT OR IGNORE INTO rulesets (hash) VALUES (?)", (self.ruleset_hash,)
                    )
                    self._ruleset_id = connection.execute(
                        "SELECT id FROM rulesets WHERE hash = ?", (self.ruleset_hash,)
                    ).fetchone()[0]
                for width in _ID_WIDTHS:
                    ids = b"".join(key for key in rows if len(key) == width)
                    if ids:
                        connection.execute(
                            "INSERT INTO clean_runs (ruleset, width, ids) VALUES (?, ?, ?)",
                            (self._ruleset_id, width, ids),
                        )
        except sqlite3.Error as exc:
            self.disabled_reason = str(exc)

    def audit(self, ref_state: str) -> dict[str, Any] | None:
        """The record of an earlier audit of exactly these refs under this ruleset, if any."""
        connection = self._connect()
        if connection is None:
            return None
        try:
            row = connection.execute(
                "SELECT record FROM audits WHERE ruleset = ? AND refs = ?",
                (self.ruleset_hash, ref_state),
            ).fetchone()
            record = json.loads(row[0]) if row else None
        except (sqlite3.Error, ValueError) as exc:
            self.disabled_reason = str(exc)
            return None
        return record if isinstance(record, dict) else None

    def store_audit(self, ref_state: str, record: dict[str, Any]) -> None:
        """Remember an audit's outcome: object ids and provenance only, never a secret."""
        self.flush()
        connection = self._connect()
        if connection is None:
            return
        try:
            with connection:
                connection.execute(
                    "INSERT OR REPLACE INTO audits (ruleset, refs, record) VALUES (?, ?, ?)",
                    (self.ruleset_hash, ref_state, json.dumps(record, sort_keys=True)),
                )
        except sqlite3.Error as exc:
            self.disabled_reason = str(exc)

    def prune(self, keep_hashes: Iterable[str] = ()) -> int:
        """Forget every ruleset but this one and `keep_hashes`; returns how many ids went."""
        connection = self._connect()
        if connection is None:
            return 0
        keep = sorted({self.ruleset_hash, *keep_hashes})
        marks = ",".join("?" * len(keep))
        stale = f"ruleset NOT IN (SELECT id FROM rulesets WHERE hash IN ({marks}))"
        with connection:
            forgotten = connection.execute(
                f"SELECT COALESCE(SUM(length(ids) / width), 0) FROM clean_runs WHERE {stale}", keep
            ).fetchone()[0]
            connection.execute(f"DELETE FROM clean_runs WHERE {stale}", keep)
            connection.execute(f"DELETE FROM rulesets WHERE hash NOT IN ({marks})", keep)
        return int(forgotten)

    def close(self) -> None:
        self.flush()
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    def __enter__(self) -> AuditCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

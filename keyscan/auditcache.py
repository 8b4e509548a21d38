"""The incremental audit cache: blob ids known to be clean under one ruleset, in SQLite."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

DB_NAME = "audit-cache.sqlite3"
SCHEMA_VERSION = 2
_BLOB_ID = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
# Clean ids are written behind the scan, on a thread of their own, in sorted transactions of
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
        # Rows name their ruleset by a small integer: a 64-character hash in every row makes the
        # table and every insert into it several times larger.
        connection.execute(
            "CREATE TABLE IF NOT EXISTS clean_blobs ("
            " ruleset INTEGER NOT NULL, blob BLOB NOT NULL, PRIMARY KEY (ruleset, blob)"
            ") WITHOUT ROWID"
        )
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
                        "SELECT blob FROM clean_blobs WHERE ruleset ="
                        " (SELECT id FROM rulesets WHERE hash = ?)",
                        (self.ruleset_hash,),
                    )
                    self._clean.update(row[0] for row in rows)
                except sqlite3.Error as exc:
                    self.disabled_reason = str(exc)
        return self._clean

    @staticmethod
    def _key(blob_id: str) -> bytes:
        if not _BLOB_ID.match(blob_id):
            raise ValueError(f"not a git object id: {blob_id!r}")
        return bytes.fromhex(blob_id)

    def is_clean(self, blob_id: str) -> bool:
        clean = self._load()
        # A first audit asks about every object of history, and nothing is clean yet.
        return bool(clean) and self._key(blob_id) in clean

    def mark_clean(self, blob_ids: Iterable[str]) -> None:
        clean = self._load()
        for blob_id in blob_ids:
            key = self._key(blob_id)
            if key not in clean:
                clean.add(key)
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
                ruleset_id = self._ruleset_id
                connection.executemany(
                    "INSERT OR IGNORE INTO clean_blobs (ruleset, blob) VALUES (?, ?)",
                    [(ruleset_id, key) for key in sorted(rows)],
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
        connection = self._connect()
        if connection is None:
            return 0
        keep = sorted({self.ruleset_hash, *keep_hashes})
        marks = ",".join("?" * len(keep))
        with connection:
            cursor = connection.execute(
                "DELETE FROM clean_blobs WHERE ruleset NOT IN"
                f" (SELECT id FROM rulesets WHERE hash IN ({marks}))",
                keep,
            )
            connection.execute(f"DELETE FROM rulesets WHERE hash NOT IN ({marks})", keep)
        return cursor.rowcount

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

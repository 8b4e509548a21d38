"""The revocation audit log: one JSON line per plan and per attempt, never the secret itself.

Secrets are recorded as an HMAC under a per-installation key: a plain hash would let anyone who
reads the log confirm a guessed secret, and would link the same secret across organisations.
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import hmac
import json
import os
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keyscan.errors import KeyscanError

KEY_BYTES = 32


class AuditError(KeyscanError):
    """The audit log or its key cannot be written: revocation must not go on without a record."""


def default_config_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "keyscan"


def default_audit_log(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "keyscan" / "revocations.jsonl"


def load_or_create_key(path: Path) -> bytes:
    """The installation's HMAC key, created once with mode 0600."""
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise AuditError(f"{path}: cannot read the audit key: {exc}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_key(path)
    except OSError as exc:
        raise AuditError(f"{path}: cannot create the audit key: {exc.strerror}") from None
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    return key


class AuditLog:
    """Append-only JSONL, opened with O_APPEND and fsynced after every record."""

    def __init__(self, path: Path, key: bytes, run_id: str, version: str):
        self.path = path
        self.key = key
        self.run_id = run_id
        self.version = version
        self.actor = f"{_user()}@{socket.gethostname()}"

    def secret_hash(self, secret: str) -> str:
        digest = hmac.new(self.key, secret.encode("utf-8", "surrogateescape"), hashlib.sha256)
        return "hmac-sha256:" + digest.hexdigest()[:32]

    def record(self, fields: Mapping[str, Any]) -> None:
        entry = {
            "ts": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "run_id": self.run_id,
            "keyscan": self.version,
            "actor": self.actor,
            **fields,
        }
        line = (json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise AuditError(
                f"{self.path}: cannot append to the audit log: {exc.strerror}"
            ) from None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

"""The reporters keyscan knows, by format name."""

from __future__ import annotations

from keyscan.report.base import Reporter
from keyscan.report.gitlab import render_gitlab
from keyscan.report.json_report import render_json, render_jsonl
from keyscan.report.sarif import render_sarif
from keyscan.report.text import render_text

REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "jsonl": render_jsonl,
    "sarif": render_sarif,
    "gitlab": render_gitlab,
}
FORMATS = tuple(REPORTERS)

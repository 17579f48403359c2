"""Validation results as records: per-table summaries, Data Docs index entries, redaction."""

from __future__ import annotations

import json
import math
from typing import Iterable

# Columns whose values must never appear in a message, a result row or Data Docs.
RAW_IDENTIFIER_COLUMNS = {"user_id", "artifact_author_id"}


def summary_lines(results: Iterable[dict]) -> list[str]:
    """Per table: passed / warnings / failed counts, and the names of what did not pass."""
    by_table: dict[str, dict[str, list]] = {}
    for r in results:
        t = by_table.setdefault(r["table_name"], {"pass": [], "warn": [], "fail": []})
        kind = "pass" if r["success"] else ("fail" if r["severity"] == "critical" else "warn")
        t[kind].append(r["expectation"])
    lines = []
    for table in sorted(by_table):
        t = by_table[table]
        line = (
            f"{table}: {len(t['pass'])} passed, {len(t['warn'])} warning(s), "
            f"{len(t['fail'])} failed"
        )
        if t["warn"]:
            line += f"; warnings: {', '.join(sorted(set(t['warn'])))}"
        if t["fail"]:
            line += f"; failed: {', '.join(sorted(set(t['fail'])))}"
        lines.append(line)
    return lines


def doc_entry(records: list[dict], frame: str) -> dict:
    """One line of the offline Data Docs index (:mod:`theater.quality.docs`) for a validated frame."""
    first = records[0] if records else {}

    def brief(r):
        return {"expectation": r["expectation"], "observed_value": r["observed_value"]}

    return {
        "run_id": first.get("run_id"),
        "stage": first.get("stage"),
        "table": first.get("table_name"),
        "table_version": first.get("table_version"),
        "suite": first.get("suite"),
        "frame": frame,
        "validated_at": max((r["validated_at"] for r in records), default=None),
        "passed": sum(1 for r in records if r["success"]),
        "warnings": [brief(r) for r in records if not r["success"] and r["severity"] != "critical"],
        "failed": [brief(r) for r in records if not r["success"] and r["severity"] == "critical"],
    }


def gx_exception(info) -> tuple[bool, str]:
    """(raised, message) from a GX exception_info: flat, or keyed by metric id."""
    if not isinstance(info, dict):
        return False, ""
    if "raised_exception" in info:
        return bool(info.get("raised_exception")), str(info.get("exception_message") or "")
    for v in info.values():
        if isinstance(v, dict) and v.get("raised_exception"):
            return True, str(v.get("exception_message") or "")
    return False, ""


def as_int(v) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def redact(sample):
    if isinstance(sample, list):
        return [redact(s) for s in sample]
    if isinstance(sample, dict):
        return {
            k: ("<redacted>" if k in RAW_IDENTIFIER_COLUMNS else redact(v))
            for k, v in sample.items()
        }
    if hasattr(sample, "item") and not isinstance(sample, (list, dict, str)):
        sample = sample.item()  # numpy scalars
    if isinstance(sample, float) and math.isnan(sample):
        return None
    return sample


def short(value, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."

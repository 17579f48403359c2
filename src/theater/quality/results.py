"""Validation results as records: one ``ops/dq_results`` row per expectation, the messages
that name what failed, per-table summaries, Data Docs index entries, redaction."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Iterable

from .suites import DQ_TABLE, expectation_name

DQ_SCHEMA = (
    "run_id string, stage string, table_name string, table_version bigint, "
    "suite string, expectation string, expectation_type string, frame string, "
    "severity string, success boolean, observed_value string, unexpected_count bigint, "
    "element_count bigint, sample string, validated_at timestamp"
)

# Columns whose values must never appear in a message, a result row or Data Docs.
RAW_IDENTIFIER_COLUMNS = {"user_id", "artifact_author_id"}


def record(run_id, stage, table, version, suite, frame, e: dict, r, sample_rows: int) -> dict:
    """The ``ops/dq_results`` record of expectation ``e``'s outcome ``r``."""
    res = r.result or {}
    raised, message = gx_exception(r.exception_info)
    if raised:
        observed = f"error: {message[:300]}"
    elif "observed_value" in res:
        observed = short(res["observed_value"])
    elif "unexpected_count" in res:
        n, u = res.get("element_count") or 0, res.get("unexpected_count") or 0
        pct = res.get("unexpected_percent")
        observed = f"{u} of {n} rows unexpected" + (f" ({pct:.2f}%)" if pct is not None else "")
    else:
        observed = ""
    sample = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
    return {
        "run_id": run_id,
        "stage": stage,
        "table_name": table,
        "table_version": version,
        "suite": suite,
        "expectation": expectation_name(e),
        "expectation_type": e["type"],
        "frame": frame,
        "severity": e["meta"]["severity"],
        "success": bool(r.success) and not raised,
        "observed_value": observed,
        "unexpected_count": as_int(res.get("unexpected_count")),
        "element_count": as_int(res.get("element_count")),
        "sample": json.dumps(redact(sample[:sample_rows]), default=str),
        "validated_at": datetime.now(timezone.utc).replace(tzinfo=None),
    }


def append(spark, lake, records: list[dict]) -> None:
    """Append ``records`` to ``ops/dq_results``."""
    if not records:
        return
    rows = [tuple(r[c.split()[0]] for c in DQ_SCHEMA.split(", ")) for r in records]
    lake.append(spark.createDataFrame(rows, DQ_SCHEMA), DQ_TABLE)


def failure_message(lake, run_id, stage, table, suite, version, failed: list[dict]) -> str:
    """What failed on ``table``, with offending rows (pseudonymized) and where the results are."""
    # the command line puts "data-quality gate failed: " before the message
    lines = [
        f"{table} (suite {suite}, stage {stage}): "
        f"{len(failed)} critical expectation(s) failed; {table} was not written "
        f"(stays at version {version})"
    ]
    for r in failed:
        lines.append(
            f"  - {r['expectation']} [{r['expectation_type']}]: observed {r['observed_value']}"
        )
        sample = json.loads(r["sample"])
        if sample:
            lines.append(f"      offending rows (pseudonymized): {short(sample, 400)}")
    lines.append(f"  results: {lake.path(DQ_TABLE)} (run_id {run_id})")
    return "\n".join(lines)


def file_reason(e: dict, row: dict, params: dict) -> str:
    """Why the landing file of ``row`` (:func:`.frames.files_rows`) fails expectation ``e``."""
    col = (e.get("kwargs") or {}).get("column")
    val = row.get(col)
    why = f"{expectation_name(e)}: "
    if "quarantined_count" in row:
        n_bad, n = row["quarantined_count"], row["quarantined_count"] + row["row_count"]
        why += f"{n_bad:,} of {n:,} records quarantined, "
    why += f"{col} " + (f"{val:.3g}" if isinstance(val, float) else str(val))
    hi = (e.get("kwargs") or {}).get("max_value")
    if isinstance(hi, dict) and hi.get("$PARAMETER") in params:
        why += f" > {params[hi['$PARAMETER']]} (quality.{hi['$PARAMETER']})"
    return why


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

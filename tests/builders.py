"""Tiny hand-made DataFrames for unit tests (explicit schemas, defaults for unlisted fields)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

SILVER_SCHEMA = (
    "event_id string, tool string, event_ts timestamp, event_date date, user_key string, "
    "org_id string, action string, prompt_fingerprint string, prompt_tokens bigint, "
    "output_disposition string, dwell_ms bigint, artifact_id string, "
    "artifact_author_key string, artifact_modified_ts timestamp"
)
FIELDS = [f.strip().split(" ")[0] for f in SILVER_SCHEMA.split(",")]
T0 = datetime(2026, 7, 6, 9, 0, 0)  # a Monday


def interaction(i: int, **kw) -> dict:
    ts = kw.pop("ts", T0 + timedelta(minutes=i))
    row = {
        "event_id": f"e{i}",
        "tool": "ide",
        "event_ts": ts,
        "event_date": ts.date(),
        "user_key": "u1",
        "org_id": "o1",
        "action": "chat",
        "prompt_fingerprint": None,
        "prompt_tokens": 100,
        "output_disposition": "accepted",
        "dwell_ms": 20000,
        "artifact_id": None,
        "artifact_author_key": None,
        "artifact_modified_ts": None,
    }
    row.update(kw)
    return row


def make_interactions(spark, rows: list[dict]):
    return spark.createDataFrame([tuple(r[f] for f in FIELDS) for r in rows], SILVER_SCHEMA)


def by_id(df, column: str) -> dict:
    return {r.event_id: r[column] for r in df.select("event_id", column).collect()}


__all__ = ["interaction", "make_interactions", "by_id", "T0", "date"]

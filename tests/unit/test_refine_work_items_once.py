"""Refine's work items with the latest-delivery window over repeated keys only: hand-made
bronze rows; each expected row worked out by hand from the rule (latest ingest time, then
source file, batch), and the whole result equal to the plain window over every row."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from pyspark.sql import functions as F

from theater.contracts import contract
from theater.stages import refine
from theater.transforms.refine import latest_delivery

NAMES = list(contract("work_items").names)
SCHEMA = (
    ", ".join(f"{n} string" for n in NAMES)
    + ", _source_file string, _ingested_at timestamp, _batch_id string"
)
DAY1, DAY2 = datetime(2026, 7, 1, 8), datetime(2026, 7, 2, 8)
KEY = b"test-key"


def item(work_item_id, *, at=DAY1, file="a.jsonl", batch="b1", reopened="0", user="u1"):
    values = {
        "work_item_id": work_item_id,
        "user_id": user,
        "org_id": "o1",
        "kind": "ticket",
        "opened_ts": "2026-07-06T09:00:00Z",
        "reopened_count": reopened,
        "escalated": "false",
    }
    return tuple(values.get(n) for n in NAMES) + (file, at, batch)


def _plain(bronze):
    """The window over every row (what refine did before): the reference."""
    w = refine._typed(bronze, "work_items").transform(latest_delivery(["work_item_id"]))
    return w.select(
        "work_item_id",
        refine.pseudonym(F.col("user_id"), KEY).alias("user_key"),
        "org_id",
        "kind",
        "opened_ts",
        "closed_ts",
        "reopened_count",
        "escalated",
    )


def _all(df):
    return sorted((tuple(r) for r in df.collect()), key=repr)


def test_work_items_keep_each_latest_delivery(spark):
    rows = [
        item("w1", reopened="1"),
        item("w2", reopened="2"),
        item("w2", at=DAY2, batch="b2", reopened="3"),  # the later ingest wins
        item("w3", file="a.jsonl", reopened="4"),
        item("w3", file="z.jsonl", reopened="5"),  # same ingest time: the later file wins
    ]
    bronze = spark.createDataFrame(rows, SCHEMA).repartition(2)
    got = refine.clean_work_items(bronze, KEY)
    assert {r.work_item_id: r.reopened_count for r in got.collect()} == {"w1": 1, "w2": 3, "w3": 5}
    assert _all(got) == _all(_plain(bronze))
    user_key = hmac.new(KEY, b"u1", hashlib.sha256).hexdigest()
    assert {r.user_key for r in got.collect()} == {user_key}


def test_work_items_without_repeated_keys_are_kept_as_they_are(spark):
    rows = [item(f"w{i}", reopened=str(i)) for i in range(5)]
    bronze = spark.createDataFrame(rows, SCHEMA).repartition(2)
    got = refine.clean_work_items(bronze, KEY)
    assert sorted(r.reopened_count for r in got.collect()) == [0, 1, 2, 3, 4]
    assert _all(got) == _all(_plain(bronze))

"""Refine transforms on hand-made rows."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime

from pyspark.sql import functions as F

from theater.transforms.refine import (
    hmac_sha256_hex,
    latest_delivery,
    pseudonym,
    resolve_org,
    sessionize,
)


def test_hmac_matches_python_hmac_for_short_and_long_keys(spark):
    values = ["alice@example.com", "u000123", "", "ünïcode"]
    df = spark.createDataFrame([(v,) for v in values] + [(None,)], "v string")
    for key in (b"k", b"x" * 100):  # 100 bytes > block size: key is hashed first
        got = [r.h for r in df.select(hmac_sha256_hex(F.col("v"), key).alias("h")).collect()]
        want = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values] + [None]
        assert got == want


def test_pseudonym_normalizes_emails_but_not_ids(spark):
    df = spark.createDataFrame(
        [(" Alice@Example.com ",), ("alice@example.com",), ("U1",), ("u1",)], "v string"
    )
    got = [r.h for r in df.select(pseudonym(F.col("v"), b"k").alias("h")).collect()]
    assert got[0] == got[1]  # same mailbox
    assert got[2] != got[3]  # ids are case-sensitive
    assert all(len(h) == 64 for h in got)


def test_latest_delivery_keeps_newest_ingest(spark):
    rows = [
        ("ide", "e1", "old", datetime(2026, 7, 1), "a.jsonl", "b1"),
        ("ide", "e1", "new", datetime(2026, 7, 2), "b.jsonl", "b2"),
        ("cli", "e1", "other-tool", datetime(2026, 7, 1), "a.jsonl", "b1"),
    ]
    df = spark.createDataFrame(
        rows,
        "tool string, event_id string, v string, "
        "_ingested_at timestamp, _source_file string, _batch_id string",
    )
    got = {
        (r.tool, r.event_id): r.v
        for r in df.transform(latest_delivery(["tool", "event_id"])).collect()
    }
    assert got == {("ide", "e1"): "new", ("cli", "e1"): "other-tool"}


def test_conflicting_duplicates_of_one_delivery_are_resolved_by_content_hash(spark):
    from theater.transforms.refine import CONTENT_HASH, content_hash

    at = datetime(2026, 7, 1)
    rows = [("ide", "e1", "12", at, "a.jsonl", "b1"), ("ide", "e1", "99", at, "a.jsonl", "b1")]
    schema = (
        "tool string, event_id string, v string, _ingested_at timestamp, "
        "_source_file string, _batch_id string"
    )
    # the rule by hand: SHA-256 of the values joined by U+001F; the larger hash wins
    want = max(rows, key=lambda r: hashlib.sha256("\u001f".join(r[:3]).encode()).hexdigest())[2]
    for order in (rows, rows[::-1]):
        for parts in (1, 2):
            df = (
                spark.createDataFrame(order, schema)
                .repartition(parts)
                .withColumn(CONTENT_HASH, content_hash(["tool", "event_id", "v"]))
            )
            got = [r.v for r in df.transform(latest_delivery(["tool", "event_id"])).collect()]
            assert got == [want]
    h = (
        spark.createDataFrame([("ide", None)], "a string, b string")
        .select(content_hash(["a", "b"]).alias("h"))
        .collect()[0]
        .h
    )
    assert h == hashlib.sha256("ide\u001f\u0000".encode()).hexdigest()  # null has a marker


def test_resolve_org_uses_directory_row_valid_on_event_date(spark):
    directory = spark.createDataFrame(
        [
            ("u1", "sales", date(2026, 1, 1), date(2026, 8, 1)),
            ("u1", "eng", date(2026, 8, 1), None),
            # overlapping rows: the latest valid_from covering the date wins
            ("u2", "hq", date(2026, 1, 1), None),
            ("u2", "lab", date(2026, 6, 1), date(2026, 9, 1)),
        ],
        "user_key string, org_id string, valid_from date, valid_to date",
    )
    events = spark.createDataFrame(
        [
            ("ide", "e1", "u1", None, date(2026, 7, 31)),  # before the move -> sales
            ("ide", "e2", "u1", None, date(2026, 8, 1)),  # valid_to exclusive -> eng
            ("ide", "e3", "u1", "ops", date(2026, 7, 2)),  # present org wins
            ("ide", "e4", "u9", None, date(2026, 7, 2)),  # unknown user -> unresolved
            ("ide", "e5", "u1", None, date(2025, 12, 31)),  # before any row -> unresolved
            ("ide", "e6", "u2", None, date(2026, 7, 1)),  # both cover -> the later one
            ("ide", "e7", "u2", None, date(2026, 9, 1)),  # only the open-ended one
            ("ide", "e8", "u2", None, date(2026, 5, 31)),
            ("ide", "e9", None, None, date(2026, 7, 1)),  # no user -> unresolved
        ],
        "tool string, event_id string, user_key string, org_id string, event_date date",
    )
    out = events.transform(resolve_org(directory))
    got = {r.event_id: (r.org_id, r.org_source) for r in out.collect()}
    assert got == {
        "e1": ("sales", "directory"),
        "e2": ("eng", "directory"),
        "e3": ("ops", "event"),
        "e4": (None, None),
        "e5": (None, None),
        "e6": ("lab", "directory"),
        "e7": ("hq", "directory"),
        "e8": ("hq", "directory"),
        "e9": (None, None),
    }
    assert out.columns == [*events.columns, "org_source"]
    assert out.count() == events.count()  # overlapping rows never duplicate an event


def test_sessionize_splits_on_gap(spark):
    t = lambda h, m: datetime(2026, 7, 1, h, m)  # noqa: E731
    rows = [
        ("ide", "e1", "u1", t(9, 0)),
        ("ide", "e2", "u1", t(9, 20)),  # 20 min: same
        ("ide", "e3", "u1", t(9, 51)),  # 31 min: new
        ("ide", "e4", "u2", t(9, 21)),
    ]  # other user
    df = spark.createDataFrame(
        rows, "tool string, event_id string, user_key string, event_ts timestamp"
    )
    got = {r.event_id: r.session_key for r in df.transform(sessionize(30)).collect()}
    assert got["e1"] == got["e2"] != got["e3"]
    assert got["e4"] not in (got["e1"], got["e3"])


def test_with_pseudonyms_hashes_each_identity_column_consistently(spark):
    from theater.transforms.refine import with_pseudonyms

    df = spark.createDataFrame(
        [("e1", "alice", "bob"), ("e2", "bob", None), ("e3", "alice", "alice")],
        "event_id string, user_id string, artifact_author_id string",
    )
    out = {
        r.event_id: r
        for r in df.transform(
            with_pseudonyms(b"k", {"user_id": "user_key", "artifact_author_id": "author_key"})
        ).collect()
    }
    h = lambda v: hmac.new(b"k", v.encode(), hashlib.sha256).hexdigest()  # noqa: E731
    assert (out["e1"].user_key, out["e1"].author_key) == (h("alice"), h("bob"))
    assert (out["e2"].user_key, out["e2"].author_key) == (h("bob"), None)
    assert out["e3"].user_key == out["e3"].author_key
    assert "user_id" not in out["e1"].asDict() and "artifact_author_id" not in out["e1"].asDict()

"""Refine's latest delivery with the window over repeated keys only: hand-made bronze rows.

``clean_interactions`` finds the (tool, event_id) keys with more than one bronze row from the
key columns and runs the latest-delivery window over those keys' rows only; each expected value
below is worked out by hand from the rule (latest ingest time, then source file, batch, then the
larger content hash), and the whole result must equal the plain window over every row."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pyspark.sql import functions as F

from theater.contracts import contract
from theater.stages import refine
from theater.transforms.refine import latest_delivery, repeated_keys, split_repeated

NAMES = list(contract("interactions").names)
SCHEMA = (
    ", ".join(f"{n} string" for n in NAMES)
    + ", _extra string, _source_file string, _file_sha256 string, _ingested_at timestamp, "
    "_batch_id string, source_format string, user_alias_kind string, cost_usd double"
)
DAY1, DAY2 = datetime(2026, 7, 1, 8), datetime(2026, 7, 2, 8)
KEY = b"test-key"


def row(event_id, *, tool="ide", at=DAY1, file="a.jsonl", batch="b1", user="u1", **kw):
    values = {
        "event_id": event_id,
        "event_ts": "2026-07-06T09:00:00Z",
        "user_id": user,
        "org_id": "o1",
        "tool": tool,
        "action": "completion",
        "output_disposition": "accepted",
        "dwell_ms": "1000",
        **kw,
    }
    lineage = (None, file, "sha", at, batch, None, None, None)
    return tuple(values.get(n) for n in NAMES) + lineage


def content_sha(r: tuple) -> str:
    """The content hash by hand: the contract fields as received, joined by U+001F, null as
    U+0000."""
    return hashlib.sha256(
        "\u001f".join("\u0000" if v is None else v for v in r[: len(NAMES)]).encode()
    ).hexdigest()


def _rows(spark, rows, parts=2):
    return spark.createDataFrame(rows, SCHEMA).repartition(parts)


def _plain(bronze, resolve):
    """The window over every row (what refine did before): the reference."""
    typed = refine._typed(resolve(bronze), "interactions", ("source_format", refine.COST))
    return typed.transform(latest_delivery(["tool", "event_id"]))


def _bag(df, columns=("tool", "event_id", "output_disposition", "dwell_ms", "_batch_id")):
    return sorted((tuple(r) for r in df.select(*columns).collect()), key=repr)


def test_repeated_keys_are_split_off_whole(spark):
    rows = [
        row("e1"),
        row("e2"),
        row("e2", at=DAY2, batch="b2"),
        row("e3", tool="cli"),
        row("e3", tool="ide"),  # the same event_id under another tool: another key
        row(None),
        row(None, at=DAY2, batch="b2"),  # a null key is a key like any other
    ]
    bronze = _rows(spark, rows)
    rep = repeated_keys(bronze, ["tool", "event_id"])
    assert rep.count() == 2  # (ide, e2) and (ide, null)
    once, again = split_repeated(bronze, ["tool", "event_id"], rep)
    assert once.columns == bronze.columns
    assert sorted((r.tool, r.event_id) for r in once.collect()) == [
        ("cli", "e3"),
        ("ide", "e1"),
        ("ide", "e3"),
    ]
    assert sorted((r.tool, r.event_id or "-", r._batch_id) for r in again.collect()) == [
        ("ide", "-", "b1"),
        ("ide", "-", "b2"),
        ("ide", "e2", "b1"),
        ("ide", "e2", "b2"),
    ]


def test_latest_delivery_over_repeated_keys_only_keeps_the_same_rows(spark):
    conflict = [row("e3", dwell_ms="10"), row("e3", dwell_ms="20")]  # one delivery, two records
    want_e3 = max(conflict, key=content_sha)[NAMES.index("dwell_ms")]
    rows = [
        row("e1"),  # one delivery
        row("e2", output_disposition="rejected"),
        row("e2", at=DAY2, file="b.jsonl", batch="b2", output_disposition="accepted"),
        *conflict,
        row("e4", tool="cli", dwell_ms="7"),
        row("e4", tool="ide", dwell_ms="8"),
        row("e5", dwell_ms="5"),
        row("e5", dwell_ms="5"),  # the same record twice in one delivery
        # same ingest time: the later source file wins
        row("e6", file="a.jsonl", dwell_ms="1"),
        row("e6", file="z.jsonl", dwell_ms="2"),
        # the latest delivery's identity does not resolve: dropped before the window, so the
        # earlier delivery is the latest that may reach silver
        row("e7", dwell_ms="70"),
        row("e7", at=DAY2, batch="b2", user="unmapped", dwell_ms="71"),
        row("e8", user="unmapped"),  # its only row dropped: no event
        row(None, dwell_ms="90"),
        row(None, at=DAY2, batch="b2", dwell_ms="91"),
    ]
    bronze = _rows(spark, rows)

    def resolve(df):
        return df.where(F.col("user_id") != "unmapped")

    got = refine.clean_interactions(bronze, KEY, resolve)
    assert got.count() == 9
    dwell = {(r.tool, r.event_id): r.dwell_ms for r in got.collect()}
    assert dwell == {
        ("ide", "e1"): 1000,
        ("ide", "e2"): 1000,
        ("ide", "e3"): int(want_e3),
        ("cli", "e4"): 7,
        ("ide", "e4"): 8,
        ("ide", "e5"): 5,
        ("ide", "e6"): 2,
        ("ide", "e7"): 70,
        ("ide", None): 91,
    }
    e2 = got.where(F.col("event_id") == "e2").collect()[0]
    assert (e2.output_disposition, e2._batch_id) == ("accepted", "b2")
    assert _bag(got) == _bag(_plain(bronze, resolve))
    assert got.where(F.col("user_key").isNull()).count() == 0  # pseudonyms joined on both parts


def test_without_repeated_keys_every_row_is_kept_as_is(spark):
    rows = [row(f"e{i}", dwell_ms=str(i)) for i in range(6)] + [row("e0", tool="cli")]
    bronze = _rows(spark, rows, parts=3)
    assert repeated_keys(bronze, ["tool", "event_id"]).count() == 0
    got = refine.clean_interactions(bronze, KEY)
    assert got.count() == 7
    assert _bag(got) == _bag(_plain(bronze, lambda df: df))

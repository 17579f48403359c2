"""Refine on temporary Delta lakes: MERGE dedup across batches, period replacement, key policy."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from theater import keycheck
from theater.config import ConfigError, load_config
from theater.keycheck import KeyMismatchError
from theater.lake import STAGED_PREFIX, Lake
from theater.period import Period
from theater.stages import ingest, refine
from theater.transforms.refine import pseudonym

Q3 = Period.quarter("2026Q3")


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _ev(i, **kw):
    return {
        "event_id": f"e{i}",
        "event_ts": f"2026-07-{1 + i % 28:02d}T10:00:00Z",
        "user_id": "alice@example.com",
        "tool": "ide",
        "action": "chat",
        **kw,
    }


def _cfg(state: Path, more: dict):
    """The local config, state under ``state``, 2 shuffle partitions, no Data Docs, ``more``."""
    base = {"paths.state": str(state), "spark.shuffle_partitions": 2, "quality.data_docs": False}
    return load_config(env="local", environ={}, overrides={**base, **more})


@pytest.fixture()
def zone(tmp_path):
    land = tmp_path / "landing"
    _write(
        land / "directory" / "d.jsonl",
        [{"user_id": "alice@example.com", "org_id": "o1", "valid_from": "2026-01-01"}],
    )
    _write(land / "interactions" / "day1.jsonl", [_ev(i) for i in range(5)])
    return land, Lake(str(tmp_path / "lake"))


def test_redelivered_and_late_events_merge_into_one_row(spark, cfg, zone):
    land, lake = zone
    ingest.run(spark, lake, str(land), cfg=cfg)
    refine.run(spark, cfg, lake, Q3)
    assert lake.read(spark, "silver/interactions").count() == 5
    # a later batch re-delivers e1 with a correction, repeats e2 unchanged, adds late e9
    _write(
        land / "interactions" / "day2.jsonl",
        [
            _ev(1, output_disposition="accepted"),
            _ev(2),
            _ev(9, event_ts="2026-07-01T23:59:59-05:00"),
        ],
    )
    ingest.run(spark, lake, str(land), cfg=cfg)
    refine.run(spark, cfg, lake, Q3)
    silver = {r.event_id: r for r in lake.read(spark, "silver/interactions").collect()}
    assert sorted(silver) == ["e0", "e1", "e2", "e3", "e4", "e9"]
    assert silver["e1"].output_disposition == "accepted"  # latest delivery wins
    assert silver["e1"]._source_file == "interactions/day2.jsonl"
    assert str(silver["e9"].event_ts) == "2026-07-02 04:59:59"  # converted to UTC
    assert silver["e9"].org_id == "o1" and silver["e9"].org_source == "directory"


def test_rerunning_a_period_replaces_only_that_period(spark, cfg, zone):
    land, lake = zone
    _write(land / "interactions" / "q4.jsonl", [_ev(100, event_ts="2026-10-05T10:00:00Z")])
    ingest.run(spark, lake, str(land), cfg=cfg)
    refine.run(spark, cfg, lake, Q3)
    refine.run(spark, cfg, lake, Period.quarter("2026Q4"))
    assert lake.read(spark, "silver/interactions").count() == 6
    # an event moved out of Q3 by a corrected re-delivery disappears from Q3 on re-run
    _write(land / "interactions" / "fix.jsonl", [_ev(0, event_ts="2026-10-06T10:00:00Z")])
    ingest.run(spark, lake, str(land), cfg=cfg)
    refine.run(spark, cfg, lake, Q3)
    q3 = lake.read(spark, "silver/interactions").where(Q3.ts_col("event_ts"))
    assert sorted(r.event_id for r in q3.collect()) == ["e1", "e2", "e3", "e4"]
    q4 = {
        r.event_id
        for r in lake.read(spark, "silver/interactions").where(~Q3.ts_col("event_ts")).collect()
    }
    assert q4 == {"e100"}  # e0 reaches Q4 only when Q4 is refined again
    refine.run(spark, cfg, lake, Period.quarter("2026Q4"))
    q4 = {
        r.event_id
        for r in lake.read(spark, "silver/interactions").where(~Q3.ts_col("event_ts")).collect()
    }
    assert q4 == {"e100", "e0"}
    assert (
        lake.read(spark, "silver/interactions").select("tool", "event_id").distinct().count() == 6
    )


@pytest.mark.parametrize(
    "limit,pass_rows",
    [(10_000, 10_000_000), (1, 10_000_000), (10_000, 2), (1, 2)],
    ids=["replace_where", "merge", "replace_where-in-passes", "merge-in-passes"],
)
def test_events_moved_into_the_period_keep_one_row(
    spark, cfg, zone, monkeypatch, caplog, limit, pass_rows
):
    """A correction moves two Q4 events into Q3 (one key with a quote and a backslash): on
    re-running Q3 each keeps one row, in Q3: by replaceWhere with their keys, or (more than
    MOVED_IN_LIMIT of them) by one MERGE; the keys found in one search or in passes over
    slices of the hash range (MOVED_IN_PASS_ROWS)."""
    land, lake = zone
    odd = "e'101\\x"
    q4 = [
        _ev(100, event_ts="2026-10-05T10:00:00Z"),
        _ev(101, event_id=odd, event_ts="2026-10-07T10:00:00Z"),
    ]
    _write(land / "interactions" / "q4.jsonl", q4)
    ingest.run(spark, lake, str(land), cfg=cfg)
    refine.run(spark, cfg, lake, Q3)
    refine.run(spark, cfg, lake, Period.quarter("2026Q4"))
    moved = [
        _ev(100, event_ts="2026-07-20T10:00:00Z"),
        _ev(101, event_id=odd, event_ts="2026-07-21T10:00:00Z"),
    ]
    _write(land / "interactions" / "fix.jsonl", moved)
    ingest.run(spark, lake, str(land), cfg=cfg)
    monkeypatch.setattr(refine, "MOVED_IN_LIMIT", limit)
    monkeypatch.setattr(refine, "MOVED_IN_PASS_ROWS", pass_rows)
    caplog.set_level("INFO", logger="theater")
    refine.run(spark, cfg, lake, Q3)
    silver = lake.read(spark, "silver/interactions")
    rows = {r.event_id: str(r.event_ts) for r in silver.collect()}
    assert silver.count() == len(rows) == 7
    assert rows["e100"] == "2026-07-20 10:00:00" and rows[odd] == "2026-07-21 10:00:00"
    assert silver.where(~Q3.ts_col("event_ts")).count() == 0
    if limit == 1:
        assert "more than 1 events moved into" in caplog.text
    else:
        assert "2 event(s) moved into" in caplog.text


def test_cluster_config_refuses_to_run_without_key():
    cfg = load_config(env="cluster", environ={})
    with pytest.raises(ConfigError, match="THEATER_PSEUDONYM_KEY"):
        keycheck.pseudonym_key(cfg, environ={})
    assert keycheck.pseudonym_key(cfg, environ={"THEATER_PSEUDONYM_KEY": "k"}) == b"k"


def test_local_config_falls_back_to_demo_key_with_warning(caplog):
    cfg = load_config(env="local", environ={})
    assert keycheck.pseudonym_key(cfg, environ={}) == keycheck.DEMO_KEY
    assert "DEMO pseudonymization key" in caplog.text


def test_pseudonyms_depend_on_the_key(spark, cfg, zone, monkeypatch):
    land, lake = zone
    ingest.run(spark, lake, str(land), cfg=cfg)
    monkeypatch.setenv("THEATER_PSEUDONYM_KEY", "key-one")
    refine.run(spark, cfg, lake, Q3)
    one = lake.read(spark, "silver/interactions").select("user_key").distinct().collect()
    version = lake.version("silver/interactions")
    # the lake keeps the key it was written with: another key is refused, silver untouched
    monkeypatch.setenv("THEATER_PSEUDONYM_KEY", "key-two")
    with pytest.raises(KeyMismatchError, match="start a new lake"):
        refine.run(spark, cfg, lake, Q3)
    assert lake.version("silver/interactions") == version
    uid = lake.read(spark, "bronze/interactions").select("user_id").first().user_id
    two = spark.range(1).select(pseudonym(F.lit(uid), b"key-two").alias("k")).first().k
    assert (
        len(one) == 1
        and one[0].user_key
        == spark.range(1).select(pseudonym(F.lit(uid), b"key-one").alias("k")).first().k
    )
    assert one[0].user_key != two


def _silver_files(lake) -> list[str]:
    from deltalake import DeltaTable

    return sorted(
        os.path.basename(u) for u in DeltaTable(lake.path("silver/interactions")).file_uris()
    )


def _silver_rows(spark, lake, period):
    silver = lake.read(spark, "silver/interactions").where(period.ts_col("event_ts"))
    return sorted(
        (r.event_id, str(r.event_date), r.org_id, r.org_source)
        for r in silver.select("event_id", "event_date", "org_id", "org_source").collect()
    )


@pytest.mark.parametrize(
    "bucket_rows,stage_from",
    [(0, 5), (2, 5), (2, 2)],
    ids=["one-plan", "buckets-filtered", "buckets-copied"],
)
def test_silver_interactions_are_the_checked_staged_files_committed(
    spark, zone, tmp_path, monkeypatch, bucket_rows, stage_from
):
    """On Delta with the embedded engine, the period's silver rows are the Parquet files the
    gate checked (one plan: the gate's staged copy; in buckets: the user pass's copy), moved
    into the table by one commit: every data file carries the run's tag. 5 events in 3
    buckets (``bucket_rows`` 2) give the same rows as one plan."""
    land, lake = zone
    cfg = _cfg(tmp_path / "state", {"scoring.bucket_rows": bucket_rows})
    monkeypatch.setattr(refine, "STAGE_BRONZE_FROM", stage_from)
    ingest.run(spark, lake, str(land), cfg=cfg)
    refine.run(spark, cfg, lake, Q3, run_id="runq3a")
    files = _silver_files(lake)
    assert files and all(f.startswith(f"{STAGED_PREFIX}runq3a-") for f in files)
    # _ev(i): 2026-07-(1+i), alice, whose directory row gives org o1
    want = [(f"e{i}", f"2026-07-0{1 + i}", "o1", "directory") for i in range(5)]
    assert _silver_rows(spark, lake, Q3) == want
    # nothing left behind in the run's staging
    assert not list(Path(lake.path("ops/_staging")).rglob("*.parquet"))


def test_committed_periods_replace_only_their_own_files(spark, cfg, zone):
    """A second period's commit adds its files beside the first's; re-running the first
    replaces its files only (the slice is the period's event dates)."""
    land, lake = zone
    _write(land / "interactions" / "q4.jsonl", [_ev(100, event_ts="2026-10-05T10:00:00Z")])
    ingest.run(spark, lake, str(land), cfg=cfg)
    refine.run(spark, cfg, lake, Q3, run_id="q3first")
    q3_files = _silver_files(lake)
    refine.run(spark, cfg, lake, Period.quarter("2026Q4"), run_id="q4first")
    both = _silver_files(lake)
    q4_files = [f for f in both if f not in q3_files]
    assert set(q3_files) < set(both) and q4_files
    assert all("q4first" in f for f in q4_files)
    refine.run(spark, cfg, lake, Q3, run_id="q3again")
    again = _silver_files(lake)
    assert set(q4_files) <= set(again)
    assert not set(q3_files) & set(again)
    assert all("q3again" in f for f in set(again) - set(q4_files))
    assert [r[0] for r in _silver_rows(spark, lake, Q3)] == [f"e{i}" for i in range(5)]
    assert [r[0] for r in _silver_rows(spark, lake, Period.quarter("2026Q4"))] == ["e100"]


def test_without_a_staged_copy_the_engine_writes_silver(spark, zone, tmp_path):
    """quality.materialize off: the gate hands back the lazy plan, which the engine writes
    (no staged file in the table), the same rows."""
    land, lake = zone
    cfg = _cfg(tmp_path / "state", {"quality.materialize": False})
    ingest.run(spark, lake, str(land), cfg=cfg)
    refine.run(spark, cfg, lake, Q3, run_id="lazy")
    files = _silver_files(lake)
    assert files and not any(f.startswith(STAGED_PREFIX) for f in files)
    want = [(f"e{i}", f"2026-07-0{1 + i}", "o1", "directory") for i in range(5)]
    assert _silver_rows(spark, lake, Q3) == want

"""Ingest on a hand-made landing zone with every format, on real Delta tables."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from deltalake import DeltaTable

from theater.config import load_config
from theater.lake import Lake
from theater.stages import ingest

# The hand-made zone is half bad records on purpose: the quarantine-share gate (tested in
# test_quality.py) is loosened here so these tests see ingest itself.
LOOSE = load_config(
    env="local",
    environ={},
    overrides={"quality.quarantine_warn_share": 1.0, "quality.quarantine_fail_share": 1.0},
)

GOOD = {
    "event_id": "g1",
    "event_ts": "2026-07-01T10:00:00+02:00",
    "user_id": "u1",
    "tool": "ide",
    "action": "chat",
    "prompt_tokens": 12,
    "output_disposition": "accepted",
}


def _ev(i, **kw):
    return {**GOOD, "event_id": f"g{i}", **kw}


@pytest.fixture()
def landing(tmp_path):
    root = tmp_path / "landing"
    inter = root / "interactions"
    inter.mkdir(parents=True)
    lines = [
        json.dumps(_ev(1, client_version="3.1")),
        json.dumps(_ev(2)),
        "{not json",
        json.dumps(_ev(3, action="dance")),
        json.dumps({k: v for k, v in _ev(4).items() if k != "user_id"}),
        json.dumps(_ev(5, prompt_tokens=-5)),
        json.dumps(_ev(6, event_ts="2026-13-45T10:00:00Z")),
        "",
        json.dumps(_ev(7, prompt_fingerprint="ABC")),
    ]
    (inter / "a.jsonl").write_text("\n".join(lines) + "\n")
    with gzip.open(inter / "b.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(_ev(8)) + "\n" + json.dumps(_ev(9, dwell_ms=1.5)) + "\n")
    (inter / "c.json").write_text(json.dumps([_ev(10), _ev(11, event_ts="yesterday")]))
    pd.DataFrame([_ev(12), _ev(13, action="summarize")]).to_csv(inter / "d.csv", index=False)
    pq = pd.DataFrame([_ev(14), _ev(15)])
    pq["event_ts"] = pd.to_datetime(["2026-07-01T08:00:00Z", "2026-07-01T09:00:00Z"])
    pq.to_parquet(inter / "e.parquet")
    (inter / "notes.txt").write_text("ignored")
    d = root / "directory"
    d.mkdir()
    (d / "dir.csv").write_text(
        "user_id,org_id,valid_from,valid_to\nu1,o1,2026-01-01,\nu2,o1,2026-02-30,\n"
    )
    return root


def test_ingest_loads_good_rows_and_quarantines_each_bad_one(spark, landing, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    m = ingest.run(spark, lake, str(landing), cfg=LOOSE)
    # 16 interaction records; bad: a.jsonl 6 (malformed, enum, missing user, negative, bad ts,
    # bad pattern), b.jsonl.gz 1 (dwell 1.5), c.json 1 (ts 'yesterday') -> 8 bad, 8 good
    q = {r.reason for r in lake.read(spark, "bronze/quarantine").collect()}
    assert q == {
        "malformed_line: not a JSON object",
        "bad_enum: action",
        "missing_required: user_id",
        "negative_number: prompt_tokens",
        "bad_timestamp: event_ts",
        "bad_pattern: prompt_fingerprint",
        "bad_type: dwell_ms",
        "bad_timestamp: valid_from",
    }
    assert m["rows_quarantined"] == {
        "interactions": 8,
        "directory": 1,
        "work_items": 0,
        "policies": 0,
    }
    assert m["rows_loaded"]["interactions"] == 8 and m["rows_loaded"]["directory"] == 1
    assert m["unknown_files"] == ["interactions/notes.txt"]
    bronze = {r.event_id: r for r in lake.read(spark, "bronze/interactions").collect()}
    assert sorted(bronze) == ["g1", "g10", "g12", "g13", "g14", "g15", "g2", "g8"]
    assert json.loads(bronze["g1"]._extra) == {"client_version": "3.1"}
    assert bronze["g1"].event_ts == "2026-07-01T10:00:00+02:00"  # as received
    assert bronze["g14"].event_ts.startswith("2026-07-01T08:00:00")  # parquet timestamp, UTC
    assert {r._source_file for r in bronze.values()} == {
        "interactions/a.jsonl",
        "interactions/b.jsonl.gz",
        "interactions/c.json",
        "interactions/d.csv",
        "interactions/e.parquet",
    }
    # every table is a Delta table readable by delta-rs
    for t in ("bronze/interactions", "bronze/directory", "bronze/quarantine", "ops/ingested_files"):
        assert DeltaTable(lake.path(t)).to_pyarrow_table().num_rows > 0


def test_reingesting_loaded_files_adds_nothing(spark, landing, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    ingest.run(spark, lake, str(landing), cfg=LOOSE)
    versions = {t: lake.version(t) for t in ("bronze/interactions", "bronze/quarantine")}
    m = ingest.run(spark, lake, str(landing), cfg=LOOSE)
    assert m["files_new"] == 0 and m["files_skipped_already_loaded"] == 6
    assert {t: lake.version(t) for t in versions} == versions
    assert lake.read(spark, "bronze/interactions").count() == 8


def test_rows_of_an_unfinished_batch_are_removed(spark, landing, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    ingest.run(spark, lake, str(landing), cfg=LOOSE)
    # a crashed run appended rows but never reached the files log
    orphan = (
        lake.read(spark, "bronze/interactions")
        .limit(2)
        .withColumn(
            "_batch_id", __import__("pyspark.sql.functions", fromlist=["lit"]).lit("crashed")
        )
    )
    lake.append(orphan, "bronze/interactions")
    assert lake.read(spark, "bronze/interactions").count() == 10
    ingest.run(spark, lake, str(landing), cfg=LOOSE)
    assert lake.read(spark, "bronze/interactions").count() == 8


def test_partial_overwrite_with_other_columns_is_refused_clearly(spark, tmp_path):
    from theater.lake import LakeError

    lake = Lake(str(tmp_path / "lake"))
    lake.overwrite(spark.createDataFrame([(1, "a")], "p int, x string"), "gold/t")
    with pytest.raises(LakeError, match="written with other columns"):
        lake.replace_where(
            spark.createDataFrame([(1, "a", 2)], "p int, x string, y int"), "gold/t", "p = 1"
        )
    assert lake.version("gold/t") == 0

"""Score publishes gold by committing the gate's staged files (Sail with Delta).

Real Sail, real Delta tables (delta-rs commits), real GX suites: the shared quarter's lake
(2026Q2 and 2026Q3 scored) is copied, 2026Q3 is scored again, and the gold tables' logs and
files are read with delta-rs."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from theater.config import load_config
from theater.errors import DataQualityError
from theater.lake import STAGED_PREFIX, Lake
from theater.period import Period
from theater.quality.suites import suites_dir
from theater.stages import score

Q2, Q3 = Period.quarter("2026Q2"), Period.quarter("2026Q3")
GOLD = ("gold/interaction_labels", "gold/user_weeks", "gold/org_theater_index", "gold/org_adoption")


def _cfg(root, **overrides):
    return load_config(
        env="local",
        environ={},
        overrides={
            "paths.state": str(root / "state"),
            "spark.shuffle_partitions": 2,
            "quality.data_docs": False,
            "incentives.sensitivity.enabled": False,
            **overrides,
        },
    )


def _rows(spark, lake, table, where):
    df = lake.read(spark, table).where(where)
    keep = [c for c in df.columns if c != "run_id"]
    return sorted(tuple(r) for r in df.select(*keep).collect())


def _files(lake, table) -> set[str]:
    return {os.path.basename(u) for u in DeltaTable(lake.path(table)).file_uris()}


def _slice(table, period):
    return score.slice_of(table, period)[1]


@pytest.fixture
def rescored(quarter, spark, tmp_path):
    """The quarter's lake copied, its gold before, and 2026Q3 scored again on it."""
    root = quarter.copy(tmp_path)
    lake = Lake(str(root / "lake"))
    before = {
        t: {
            "version": lake.version(t),
            "files": _files(lake, t),
            "q2": _rows(spark, lake, t, _slice(t, Q2)),
            "q3": _rows(spark, lake, t, _slice(t, Q3)),
        }
        for t in GOLD
    }
    # a dead run's staged file moved into the table's folder but never committed
    stray = os.path.join(lake.path("gold/org_adoption"), f"{STAGED_PREFIX}deadrun-0.parquet")
    any_file = sorted(before["gold/org_adoption"]["files"])[0]
    shutil.copy(os.path.join(lake.path("gold/org_adoption"), any_file), stray)
    out = score.run(spark, _cfg(root), lake, Q3)
    return lake, before, out, stray


def test_a_passing_gate_commits_the_staged_files_in_place_of_the_periods_slice(spark, rescored):
    lake, before, out, _ = rescored
    for t in GOLD:
        was = before[t]
        now = _files(lake, t)
        dt = DeltaTable(lake.path(t))
        # one commit per table, made by delta-rs (no engine rewrite of the rows)
        assert dt.version() == was["version"] + 1, t
        assert dt.history(1)[0]["engineInfo"].startswith("delta-rs"), t
        added, removed = now - was["files"], was["files"] - now
        # the new files are the run's staged files, moved in as they were written
        assert added and all(n.startswith(f"{STAGED_PREFIX}{out['run_id']}-") for n in added), t
        # the files removed held 2026Q3's rows only: 2026Q2's files are untouched
        q3_files = {
            n
            for n in was["files"]
            if lake.read_files(spark, t, [os.path.join(lake.path(t), n)], was["version"])
            .where(~_slice(t, Q3))
            .count()
            == 0
        }
        assert removed == q3_files, t
        # the same rows as before (the period replaced, not appended), 2026Q2's unchanged
        assert _rows(spark, lake, t, _slice(t, Q3)) == was["q3"], t
        assert _rows(spark, lake, t, _slice(t, Q2)) == was["q2"], t
        # time travel still reads the version before
        old = lake.read(spark, t, version=was["version"]).where(_slice(t, Q3))
        assert old.count() == len(was["q3"]), t


def test_the_staged_rows_are_counted_in_the_log(spark, rescored):
    lake, _, out, _ = rescored
    t = "gold/interaction_labels"
    log_dir = os.path.join(lake.path(t), "_delta_log")
    last = sorted(n for n in os.listdir(log_dir) if n.endswith(".json"))[-1]
    with open(os.path.join(log_dir, last), encoding="utf-8") as fh:
        adds = [json.loads(line)["add"] for line in fh if '"add"' in line]
    counted = sum(json.loads(a["stats"])["numRecords"] for a in adds)
    assert counted == lake.read(spark, t).where(_slice(t, Q3)).count() > 0
    assert out["labelled_interactions"] == counted
    ids = lake.read(spark, t).groupBy("event_id", "tool").count().where(F.col("count") > 1)
    assert ids.count() == 0


def test_a_dead_runs_uncommitted_file_is_removed(rescored):
    lake, _, _, stray = rescored
    assert not os.path.exists(stray)
    assert not any("deadrun" in n for n in os.listdir(lake.path("gold/org_adoption")))


def test_a_failing_gate_leaves_the_table_as_it_was(quarter, spark, tmp_path):
    root = quarter.copy(tmp_path)
    lake = Lake(str(root / "lake"))
    suites = tmp_path / "expectations"
    shutil.copytree(suites_dir(_cfg(root)), suites)
    path = suites / "gold_interaction_labels.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_null",
            "kwargs": {"column": "event_id"},
            "meta": {"name": "event_id_null_for_this_test", "severity": "critical"},
        }
    )
    path.write_text(json.dumps(suite), encoding="utf-8")
    t = "gold/interaction_labels"
    version, files = lake.version(t), sorted(os.listdir(lake.path(t)))
    with pytest.raises(DataQualityError, match="event_id_null_for_this_test"):
        score.run(spark, _cfg(root, **{"quality.suites_dir": str(suites)}), lake, Q3)
    assert lake.version(t) == version
    # no staged file was moved into the table's folder, and the staging is gone
    assert sorted(os.listdir(lake.path(t))) == files
    staging = lake.path("ops/_staging")
    assert not os.path.isdir(staging) or not os.listdir(staging)


def test_a_file_holding_rows_in_and_out_of_the_slice_is_left_to_the_engine(spark, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    rows = [("a", "2026-06-30"), ("b", "2026-07-02")]
    mixed = spark.createDataFrame(rows, "k string, d string").select("k", F.to_date("d").alias("d"))
    lake.overwrite(mixed.coalesce(1), "gold/t")
    staged = str(tmp_path / "staged")
    mixed.where("d >= DATE '2026-07-01'").write.parquet(staged)
    files = [os.path.join(staged, n) for n in os.listdir(staged) if n.endswith(".parquet")]
    version = lake.version("gold/t")
    why = lake.commit_staged("gold/t", files, Q3.arrow_date("d"), "run1")
    assert why == "a data file holding rows in and out of the slice"
    assert lake.version("gold/t") == version
    assert all(os.path.isfile(f) for f in files)  # nothing moved
    # staged rows outside the slice are refused too
    why = lake.commit_staged("gold/t", files, Q2.arrow_date("d"), "run1")
    assert why == "staged rows outside the slice"

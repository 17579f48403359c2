"""The stages on Apache Spark (classic, local mode, Delta lake) against Sail on the same input.

One small generated month (with duplicate deliveries and malformed records) goes through
ingest, refine and score twice: in this process on Apache Spark, and in a subprocess on the
embedded Sail engine, both into Delta lakes (the default). The gold org index must be
identical: same orgs, index, interval, counts, signals (floats within 1e-9); the labels and the
quarantine too. Then Delta's promises on Spark: re-running every stage changes nothing, and
scoring another period leaves the month alone; jobs/refine.py under spark-submit with the
Delta jars by --jars.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from spark_suite import ROOT, clean_env, stop_group, theater_cli_popen

from theater import synth
from theater.lake import Lake
from theater.period import Period
from theater.stages import ingest, refine, score

# A month, not a quarter: Apache Spark's ingest cost grows with the number of landing files.
PERIOD = Period.parse(start="2026-09-01", end="2026-10-01")
SEED, ORGS, USERS = 13, 5, 300
INDEX_KEY = ["org_id", "period_start", "period_end"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The generated landing zone, and the Sail run on it (subprocess, Delta lake) started in
    the background: it works while this process runs the stages on Apache Spark; ``sail_lake``
    waits for it."""
    out = tmp_path_factory.mktemp("spark_vs_sail")
    summary = synth.generate(
        out, seed=SEED, n_orgs=ORGS, n_users=USERS, start=PERIOD.start, end=PERIOD.end, dirty=True
    )
    log = out / "sail.log"
    with open(log, "w") as fh:
        proc = theater_cli_popen(
            "run",
            "--landing",
            str(out / "landing"),
            "--lake",
            str(out / "sail_lake"),
            "--start",
            str(PERIOD.start),
            "--end",
            str(PERIOD.end),
            cwd=out,
            out=fh,
        )
    try:
        yield {"out": out, "summary": summary, "sail_proc": proc, "sail_log": log}
    finally:
        stop_group(proc)  # only if a test failed before waiting for it


@pytest.fixture(scope="module")
def sail_lake(world):
    """The Sail run's end (it must have succeeded)."""
    rc = world["sail_proc"].wait(timeout=900)
    assert rc == 0, world["sail_log"].read_text(errors="replace")[-3000:]
    return world["out"] / "sail_lake"


@pytest.fixture(scope="module")
def spark_run(world, spark, cfg):
    """ingest, refine, score on Apache Spark in this process, into a Delta lake."""
    lake = Lake(str(world["out"] / "spark_lake"), "delta")
    metrics = {
        "ingest": ingest.run(spark, lake, str(world["out"] / "landing"), cfg=cfg),
        "refine": refine.run(spark, cfg, lake, PERIOD),
        "score": score.run(spark, cfg, lake, PERIOD, run_id="spark"),
    }
    return {"lake": lake, "metrics": metrics}


def _sail(sail_lake: Path, table: str) -> pd.DataFrame:
    from deltalake import DeltaTable

    return DeltaTable(str(sail_lake / table)).to_pandas()


def _spark(spark, lake: Lake, table: str) -> pd.DataFrame:
    return lake.read(spark, table).toPandas()


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float) or isinstance(b, float):
        return b is not None and not (isinstance(b, float) and math.isnan(b)) and abs(a - b) <= 1e-9
    return a == b


def _py(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return None if v is pd.NaT else v


def _differences(a: pd.DataFrame, b: pd.DataFrame, key: list[str], ignore=()) -> list[str]:
    cols = [c for c in a.columns if c not in ignore]
    assert sorted(cols) == sorted(c for c in b.columns if c not in ignore), (a.columns, b.columns)
    ra = {tuple(str(r[k]) for k in key): r for r in a.to_dict("records")}
    rb = {tuple(str(r[k]) for k in key): r for r in b.to_dict("records")}
    diffs = [f"{k}: only on {'Apache Spark' if k in ra else 'Sail'}" for k in set(ra) ^ set(rb)]
    for k in sorted(set(ra) & set(rb)):
        for c in cols:
            x, y = _py(ra[k][c]), _py(rb[k][c])
            if not _same(x, y):
                diffs.append(f"{k} {c}: Apache Spark {x!r}, Sail {y!r}")
    return diffs


def test_gold_org_index_is_identical_to_sail(spark_run, sail_lake, spark):
    ours = _spark(spark, spark_run["lake"], "gold/org_theater_index")
    sail = _sail(sail_lake, "gold/org_theater_index")
    assert len(ours) == ORGS
    published = ours[~ours["suppressed"]]
    assert len(published) >= 2, "the comparison needs published orgs (index, interval, signals)"
    assert published["theater_index"].notna().all() and published["ci_low"].notna().all()
    diffs = _differences(ours, sail, INDEX_KEY, ignore=("run_id",))
    assert not diffs, "\n".join(diffs)
    print("\norg index identical on Apache Spark and Sail (both Delta):")
    print(
        ours.drop(columns=["run_id"])
        .sort_values("org_id")[
            [
                "org_id",
                "theater_index",
                "ci_low",
                "ci_high",
                "n_users",
                "n_interactions",
                "suppressed",
            ]
        ]
        .to_string(index=False)
    )


def test_labels_silver_and_quarantine_are_identical_to_sail(world, spark_run, sail_lake, spark):
    lake = spark_run["lake"]
    labels_ours = _spark(spark, lake, "gold/interaction_labels")
    labels_sail = _sail(sail_lake, "gold/interaction_labels")
    assert len(labels_ours) == len(labels_sail) > 10000
    key = ["tool", "event_id"]
    m = labels_ours.merge(labels_sail, on=key, suffixes=("", "_sail"), how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    assert (m["theater_probability"] - m["theater_probability_sail"]).abs().max() <= 1e-9
    # NA (nothing measured) must be NA on both engines
    assert (m["theater_probability"].isna() == m["theater_probability_sail"].isna()).all()
    assert (
        m["is_theater"].astype(object).where(m["is_theater"].notna(), "NA").astype(str)
        == m["is_theater_sail"].astype(object).where(m["is_theater_sail"].notna(), "NA").astype(str)
    ).all()
    assert (m["org_id"].fillna("") == m["org_id_sail"].fillna("")).all()
    assert [list(x) for x in m["flags"]] == [list(x) for x in m["flags_sail"]]

    silver = {
        "spark": lake.read(spark, "silver/interactions").count(),
        "sail": len(_sail(sail_lake, "silver/interactions")),
    }
    assert silver["spark"] == silver["sail"] == world["summary"]["interactions"]

    q_ours = _spark(spark, lake, "bronze/quarantine").groupby("reason_kind").size().to_dict()
    q_sail = _sail(sail_lake, "bronze/quarantine").groupby("reason_kind").size().to_dict()
    assert q_ours == q_sail and sum(q_ours.values()) > 0


def _snapshot(spark, lake: Lake, table: str) -> pd.DataFrame:
    df = lake.read(spark, table)
    drop = [
        c
        for c in df.columns
        if c in ("_ingested_at", "_batch_id", "batch_id", "ingested_at", "run_id")
    ]
    rows = df.drop(*drop).toPandas().astype(str)
    return rows.sort_values(list(rows.columns)).reset_index(drop=True)


def _versions(lake: Lake, tables) -> dict[str, int]:
    return {t: lake.version(t) for t in tables}


def test_delta_reruns_change_nothing_and_periods_are_independent(world, spark_run, spark, cfg):
    """Delta on Apache Spark: a re-run of the month (ingest, refine's MERGE, score's
    replaceWhere) leaves every table's rows as they were; ingest finds no new file and commits
    nothing to bronze; refine and score each replace the period in one commit."""
    lake = spark_run["lake"]
    tables = [
        "bronze/interactions",
        "bronze/quarantine",
        "ops/ingested_files",
        "silver/interactions",
        "gold/org_theater_index",
    ]
    before = {t: _snapshot(spark, lake, t) for t in tables}
    v0 = _versions(lake, tables)
    again = ingest.run(spark, lake, str(world["out"] / "landing"), cfg=cfg)
    assert again["files_new"] == 0
    v1 = _versions(lake, tables)
    assert {t: v1[t] for t in tables[:3]} == {t: v0[t] for t in tables[:3]}, "ingest committed"
    refine.run(spark, cfg, lake, PERIOD)
    score.run(spark, cfg, lake, PERIOD, run_id="again")
    v2 = _versions(lake, tables)
    assert v2["silver/interactions"] == v1["silver/interactions"] + 1
    assert v2["gold/org_theater_index"] == v1["gold/org_theater_index"] + 1
    for t in tables:
        pd.testing.assert_frame_equal(_snapshot(spark, lake, t), before[t], obj=t)

    # scoring another period replaces only that period's rows: the month's are untouched
    half = Period.parse(start="2026-09-01", end="2026-09-16")
    score.run(spark, cfg, lake, half, run_id="half")
    gold = lake.read(spark, "gold/org_theater_index")
    periods = {
        (r.period_start, r.period_end)
        for r in gold.select("period_start", "period_end").distinct().collect()
    }
    assert periods == {(PERIOD.start, PERIOD.end), (half.start, half.end)}
    month = (
        gold.where(
            (F.col("period_start") == F.lit(PERIOD.start))
            & (F.col("period_end") == F.lit(PERIOD.end))
        )
        .drop("run_id")
        .toPandas()
        .astype(str)
    )
    want = before["gold/org_theater_index"]
    pd.testing.assert_frame_equal(
        month[want.columns].sort_values(list(want.columns)).reset_index(drop=True), want
    )


def test_spark_submit_job_refines_a_day_like_the_library(world, spark_run, spark, tmp_path):
    """jobs/refine.py under spark-submit (local[2], Delta jars by --jars) for one day, on a
    copy of the Apache Spark lake: the job builds its session in spark-submit's JVM with
    Delta's extension and catalog, and that day's silver rows come out as the in-process run
    made them, in one new table version."""
    from theater.engine import delta_jars

    spark_submit = Path(ROOT / ".venv" / "bin" / "spark-submit")
    if not spark_submit.exists():
        spark_submit = Path(shutil.which("spark-submit") or "spark-submit")
    lake = tmp_path / "lake"
    shutil.copytree(spark_run["lake"].root, lake)
    silver_version = Lake(str(lake)).version("silver/interactions")
    day = ("2026-09-30", "2026-10-01")
    env = clean_env(
        PATH=f"{Path(sys.executable).parent}:{clean_env()['PATH']}",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    env.pop("SPARK_MASTER", None)
    proc = subprocess.run(
        [
            str(spark_submit),
            "--master",
            "local[2]",
            "--conf",
            "spark.log.level=WARN",
            "--jars",
            ",".join(delta_jars()),
            str(ROOT / "jobs" / "refine.py"),
            "--env",
            "local",
            "--engine",
            "spark",
            "--lake",
            str(lake),
            "--start",
            day[0],
            "--end",
            day[1],
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    out = proc.stdout + proc.stderr  # spark-submit passes the driver's stderr to its stdout
    assert "refine:" in out and "engine spark (delta)" in out
    assert Lake(str(lake)).version("silver/interactions") == silver_version + 1

    def day_rows(path):
        df = (
            spark.read.format("delta")
            .load(str(path))
            .where(
                (F.col("event_ts") >= F.lit(day[0]).cast("timestamp"))
                & (F.col("event_ts") < F.lit(day[1]).cast("timestamp"))
            )
        )
        rows = df.drop("_ingested_at", "_batch_id").toPandas().astype(str)
        return rows.sort_values(list(rows.columns)).reset_index(drop=True)

    got = day_rows(lake / "silver" / "interactions")
    assert len(got) > 100
    pd.testing.assert_frame_equal(got, day_rows(spark_run["lake"].path("silver/interactions")))

"""Refine and score in hash buckets: the same silver and gold as one plan.

One small generated month (with re-delivered events) goes through the whole pipeline twice,
into two lakes: with ``scoring.bucket_rows: 0`` (one plan) and with a bucket size that splits
the month into five or six buckets. silver/interactions and every gold table must be the
same, row for row (lineage columns aside); the scratch copies must be gone.
"""

from __future__ import annotations

import logging
import math
import os
import shutil

import pytest
from pyspark.sql import functions as F

from theater import buckets, synth
from theater.bronze import read_committed
from theater.config import load_config
from theater.lake import Lake
from theater.period import Period
from theater.pipeline import run_pipeline
from theater.stages import refine, score

JULY = Period.parse(start="2026-07-01", end="2026-08-01")
VOLATILE = {"run_id", "computed_at", "scored_at", "_ingested_at", "_batch_id"}


def _cfg(tmp, bucket_rows):
    return load_config(
        env="local",
        environ={},
        overrides={
            "paths.state": str(tmp / "state"),
            "spark.shuffle_partitions": 2,
            "tracking.enabled": False,
            "scoring.bootstrap.replicates": 50,
            "scoring.bucket_rows": bucket_rows,
            "incentives.sensitivity.enabled": False,
            "quality.data_docs": False,  # not looked at here (their cost only)
        },
    )


class _Collect(logging.Handler):
    def __init__(self, out: list):
        super().__init__(logging.INFO)
        self.out = out

    def emit(self, record):
        self.out.append(record.getMessage())


def _rows(lake, spark, table, pred, keys):
    df = lake.read(spark, table).where(pred)
    return [
        {k: v for k, v in r.asDict(recursive=True).items() if k not in VOLATILE}
        for r in df.orderBy(*keys).collect()
    ]


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


TABLES = {  # table: (period slice, sort keys)
    "silver/interactions": (lambda: JULY.ts_col("event_ts"), ["tool", "event_id"]),
    "gold/interaction_labels": (lambda: JULY.date_col("event_date"), ["tool", "event_id"]),
    "gold/user_weeks": (JULY.matches_col, ["org_id", "user_key", "week_start"]),
    "gold/org_theater_index": (JULY.matches_col, ["org_id"]),
}


@pytest.fixture(scope="module")
def scored(tmp_path_factory, spark):
    tmp = tmp_path_factory.mktemp("buckets")
    zone = tmp / "zone"
    synth.generate(zone, seed=23, n_orgs=4, n_users=90, start=JULY.start, end=JULY.end, dirty=True)
    lakes, rows, progress = {}, {}, []
    bronze_rows = n = 0
    handler = _Collect(progress)
    logger = logging.getLogger("theater")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for name in ("one_plan", "bucketed"):
            bucket_rows = 0 if name == "one_plan" else n // 5  # five or six buckets
            root = str(tmp / name)
            progress.clear()
            with pytest.MonkeyPatch.context() as mp:
                # the bucketed run reads bronze once, by event bucket, as a 10M quarter does
                mp.setattr(refine, "STAGE_BRONZE_FROM", 2)
                run_pipeline(
                    _cfg(tmp / name, bucket_rows),
                    JULY,
                    landing=str(zone / "landing"),
                    lake_root=root,
                )
            lakes[name] = lake = Lake(root, "delta")
            rows[name] = {t: _rows(lake, spark, t, p(), k) for t, (p, k) in TABLES.items()}
            n = len(rows[name]["gold/interaction_labels"])
            bronze_rows = lake.read(spark, "bronze/interactions").count()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return dict(
        one_plan=rows["one_plan"],
        bucketed=rows["bucketed"],
        n=n,
        bronze_rows=bronze_rows,
        buckets=buckets.bucket_count(n, n // 5),
        progress=progress,
        lake=lakes["bucketed"],
    )


def test_the_month_is_split_into_several_buckets(scored):
    assert scored["n"] > 1000
    assert scored["buckets"] >= 5
    k = scored["buckets"]
    # a bucket no key hashes to is skipped; with ~90 users all five or six get some
    assert sum("score: labels, user bucket" in m for m in scored["progress"]) == k
    # refine sizes its buckets by the period's bronze rows (re-deliveries included)
    events = sum("refine: interactions, event bucket" in m for m in scored["progress"])
    assert events >= k
    assert sum("refine: interactions, user bucket" in m for m in scored["progress"]) == events
    # ... and reads bronze once: its committed rows written by event bucket, file group by group
    assert any(
        "refine: bronze by event bucket, data file group 1 of" in m for m in scored["progress"]
    )


@pytest.mark.parametrize("table", list(TABLES))
def test_bucketed_gold_equals_one_plan(scored, table):
    a, b = scored["one_plan"][table], scored["bucketed"][table]
    assert len(a) == len(b) > 0
    diff = [(x, y) for x, y in zip(a, b) if not _same(x, y)]
    assert not diff, f"{len(diff)} rows differ in {table}, first: {diff[0]}"


def test_labels_carry_flags_and_theater(scored):
    labels = scored["bucketed"]["gold/interaction_labels"]
    assert any(r["is_theater"] for r in labels) and not all(r["is_theater"] for r in labels)
    # re-delivered events were there to de-duplicate across the event buckets
    assert scored["bronze_rows"] > len(scored["bucketed"]["silver/interactions"])


def test_no_scratch_copies_are_left(scored):
    staging = scored["lake"].path("ops/_staging")
    left = (
        [d for d in os.listdir(staging) if d.startswith("score-")] if os.path.isdir(staging) else []
    )
    assert left == []


@pytest.mark.parametrize(
    "rows, bucket_rows, expected",
    [(0, 1000, 1), (1000, 1000, 1), (1001, 1000, 2), (4_000_000, 1_000_000, 4), (5, 0, 1)],
)
def test_bucket_count(rows, bucket_rows, expected):
    assert buckets.bucket_count(rows, bucket_rows) == expected


def test_each_user_falls_in_exactly_one_bucket(spark):
    df = spark.createDataFrame(
        [("u1",), ("u1",), ("u2",), ("u3",), (None,), (None,)], "user_key string"
    ).withColumn("b", buckets.user_bucket(3))
    rows = df.collect()
    per_user: dict = {}
    for r in rows:
        assert 0 <= r.b < 3
        per_user.setdefault(r.user_key, set()).add(r.b)
    assert all(len(v) == 1 for v in per_user.values())
    assert df.where(F.col("b").isNull()).count() == 0


def test_silver_data_files_read_as_parquet_are_the_table(scored, spark):
    """score writes its user-bucketed copy of the interactions file group by file group
    (``ScoreInputs.chunks``): the data files of silver, read as plain Parquet, must hold
    exactly the Delta table's rows."""
    lake = scored["lake"]
    files = lake.data_files("silver/interactions", lake.version("silver/interactions"))
    assert files
    table = lake.read(spark, "silver/interactions")
    plain = spark.read.schema(table.schema).parquet(*[p for p, _ in files])
    assert plain.count() == table.count()
    assert plain.exceptAll(table).count() == 0 and table.exceptAll(plain).count() == 0


def test_data_files_follow_the_delta_version(spark, tmp_path):
    lake = Lake(str(tmp_path), "delta")
    first = spark.createDataFrame([(1, "a"), (2, "b")], "id long, v string")
    lake.overwrite(first, "t/x")
    lake.append(spark.createDataFrame([(3, "c")], "id long, v string"), "t/x")
    v1 = lake.version("t/x")
    lake.overwrite(spark.createDataFrame([(9, "z")], "id long, v string"), "t/x")

    def ids(version):
        files = lake.data_files("t/x", version)
        return len(files), sorted(
            r.id for r in spark.read.parquet(*[p for p, _ in files]).collect()
        )

    assert ids(v1) == (2, [1, 2, 3])
    assert ids(lake.version("t/x")) == (1, [9])


def test_labels_written_in_chunks_equal_one_write(scored, spark, tmp_path):
    """The user-bucketed copy written chunk by chunk (appends) gives the same labels."""
    lake = scored["lake"]
    cfg = _cfg(tmp_path, 0)
    inputs = score.read_inputs(spark, lake, JULY, cfg)
    rows = inputs.interactions
    half = F.pmod(F.xxhash64("event_id"), F.lit(2)) == 0
    chunks = [rows.where(half), rows.where(~half)]
    keys = ["tool", "event_id"]

    def labels(name, parts):
        frame = score.bucketed_labels(spark, rows, JULY, cfg, None, str(tmp_path / name), 3, parts)
        return [r.asDict(recursive=True) for r in frame.orderBy(*keys).collect()]

    one, two = labels("one", None), labels("two", chunks)
    assert len(one) == len(two) > 1000
    assert all(_same(a, b) for a, b in zip(one, two))


@pytest.mark.parametrize(
    "sizes, n, expected",
    [
        ([10, 10, 10, 10], 2, [["f0", "f1"], ["f2", "f3"]]),
        ([10, 10, 10, 10], 9, [["f0"], ["f1"], ["f2"], ["f3"]]),
        ([100, 1, 1, 1], 3, [["f0"], ["f1"], ["f2", "f3"]]),
        ([10, 10, 10], 1, [["f0", "f1", "f2"]]),
        ([], 3, []),
    ],
)
def test_file_groups_are_consecutive_and_about_equal(sizes, n, expected):
    from theater.buckets import file_groups

    assert file_groups([(f"f{i}", s) for i, s in enumerate(sizes)], n) == expected


def _bag(df):
    """A frame's rows, in an order that does not depend on the plan (nulls included)."""
    return sorted(repr(tuple(r)) for r in df.collect())


@pytest.mark.parametrize("n", [3, 8])
def test_bronze_by_event_bucket_equals_filtered_reads(scored, spark, tmp_path, monkeypatch, n):
    """Refine's two ways to one event bucket of bronze: a filtered read of all of bronze, and
    bronze's committed rows written once by bucket (data file group by group), then read back
    one partition per bucket. Bucket by bucket, the same rows; an uncommitted batch in neither.
    """
    shutil.copytree(scored["lake"].root, tmp_path / "lake")
    lake = Lake(str(tmp_path / "lake"), "delta")
    raw = lake.read(spark, "bronze/interactions")
    before = raw.count()
    # a second data file of re-deliveries (a committed batch), a third of a crashed batch
    lake.append(raw.orderBy("event_id").limit(400), "bronze/interactions")
    crashed = raw.orderBy("event_id").limit(50).withColumn("_batch_id", F.lit("crashed"))
    lake.append(crashed, "bronze/interactions")
    files = lake.data_files("bronze/interactions")
    assert len(files) >= 3
    bronze = refine.with_vendor_columns(read_committed(spark, lake, "bronze/interactions"))
    assert bronze.count() == before + 400
    rows = {}
    for mode, start in (("filtered", 10**9), ("staged", 1)):
        monkeypatch.setattr(refine, "STAGE_BRONZE_FROM", start)
        staging = str(tmp_path / mode)
        part = refine._event_rows(spark, lake, bronze, lambda df: df, n, staging)
        assert os.path.isdir(os.path.join(staging, "bronze")) == (mode == "staged")
        rows[mode] = [_bag(p) if (p := part(b)) is not None else [] for b in range(n)]
        assert _bag(part(None)) == _bag(bronze)
    assert rows["staged"] == rows["filtered"]
    assert sum(len(b) for b in rows["staged"]) == bronze.count()
    assert sum(1 for b in rows["staged"] if b) >= 2  # the rows are spread over the buckets
    assert not any("'crashed'" in r for b in rows["staged"] for r in b)


def test_bronze_is_copied_by_event_bucket_from_five_buckets(scored, spark, tmp_path):
    """At the default threshold, 4 event buckets are filtered reads of all of bronze and 5 read
    bronze's copy by event bucket (at 10M rows in 5 and 7 buckets the copy saved more than it cost:
    benchmarks/RESULTS.md, "refine at 10M, step by step"); the copy's buckets hold bronze's
    rows, each once."""
    lake = scored["lake"]
    bronze = refine.with_vendor_columns(read_committed(spark, lake, "bronze/interactions"))
    for n in (4, 5):
        staging = str(tmp_path / f"n{n}")
        part = refine._event_rows(spark, lake, bronze, lambda df: df, n, staging)
        assert os.path.isdir(os.path.join(staging, "bronze")) == (n == 5)
    rows = [_bag(p) if (p := part(b)) is not None else [] for b in range(5)]
    assert sorted(r for b in rows for r in b) == _bag(bronze)

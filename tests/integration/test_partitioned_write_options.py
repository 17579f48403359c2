"""``buckets.write_partitioned``: every bucket's partition holds exactly the rows of that
bucket, the same rows as the engine's default partitioned write, appending a second part adds
its rows, and the open files' row groups are cut to ``PARTITIONED_WRITE_ROWS`` over the
number of buckets (what bounds the writer's memory when there are many buckets)."""

from __future__ import annotations

import glob
import os

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from theater import buckets

N = 3


def _bag(df):
    return sorted(repr(tuple(r)) for r in df.collect())


def _frame(spark, lo, hi):
    return spark.range(lo, hi).select(
        F.concat(F.lit("e"), F.col("id").cast("string")).alias("event_id"),
        (F.col("id") % 13).alias("n"),
        F.when(F.col("id") % 5 == 0, F.lit(None)).otherwise(F.lit("x")).alias("s"),
    )


@pytest.mark.parametrize(
    "files, rows", [(1, 262_144), (2, 131_072), (34, 7_710), (256, 1_024), (10_000, 1_024)]
)
def test_row_groups_shrink_with_the_bucket_count(files, rows):
    opts = buckets.partitioned_write_options(files)
    assert opts == {"allow_single_file_parallelism": "false", "max_row_group_size": str(rows)}


def test_buckets_hold_their_rows_in_small_row_groups(spark, tmp_path, monkeypatch):
    # 3 buckets share 3 x 1,024 rows: row groups of 1,024 rows, about 7 per bucket file
    monkeypatch.setattr(buckets, "PARTITIONED_WRITE_ROWS", N * 1024)
    first, second = _frame(spark, 0, 20_000), _frame(spark, 20_000, 24_000)
    bucket = buckets.bucket_of(N, "event_id")
    path = str(tmp_path / "opts")
    buckets.write_partitioned(first, bucket, path, append=False, files=N)
    buckets.write_partitioned(second, bucket, path, append=True, files=N)
    default = str(tmp_path / "default")
    both = first.unionByName(second)
    both.withColumn(buckets.BUCKET, bucket).write.partitionBy(buckets.BUCKET).parquet(default)
    seen = 0
    for b in range(N):
        part = buckets.read_bucket(spark, path, b, first.schema)
        assert part is not None
        assert _bag(part) == _bag(both.where(bucket == b))
        assert _bag(part) == _bag(buckets.read_bucket(spark, default, b, first.schema))
        seen += part.count()
        files = glob.glob(os.path.join(path, f"{buckets.BUCKET}={b}", "*.parquet"))
        groups = [
            f.metadata.row_group(g).num_rows
            for f in map(pq.ParquetFile, files)
            for g in range(f.metadata.num_row_groups)
        ]
        assert max(groups) <= 1024
        assert sum(groups) == part.count()
    assert seen == 24_000

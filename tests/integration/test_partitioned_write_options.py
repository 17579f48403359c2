"""``buckets.write_partitioned`` with its writer options (one sequential Parquet writer per
open bucket file): every bucket's partition holds exactly the rows of that bucket, the same
rows as the engine's default partitioned write, and appending a second part adds its rows."""

from __future__ import annotations

from pyspark.sql import functions as F

from theater import buckets

N = 7  # buckets: several files open at once in one write


def _bag(df):
    return sorted(repr(tuple(r)) for r in df.collect())


def _frame(spark, lo, hi):
    return spark.range(lo, hi).select(
        F.concat(F.lit("e"), F.col("id").cast("string")).alias("event_id"),
        (F.col("id") % 13).alias("n"),
        F.when(F.col("id") % 5 == 0, F.lit(None)).otherwise(F.lit("x")).alias("s"),
    )


def test_buckets_hold_their_rows_like_the_default_writer(spark, tmp_path):
    first, second = _frame(spark, 0, 3000), _frame(spark, 3000, 4000)
    path = str(tmp_path / "opts")
    buckets.write_partitioned(first, buckets.bucket_of(N, "event_id"), path, append=False)
    buckets.write_partitioned(second, buckets.bucket_of(N, "event_id"), path, append=True)
    default = str(tmp_path / "default")
    both = first.unionByName(second)
    both.withColumn(buckets.BUCKET, buckets.bucket_of(N, "event_id")).write.partitionBy(
        buckets.BUCKET
    ).parquet(default)
    seen = 0
    for b in range(N):
        part = buckets.read_bucket(spark, path, b, first.schema)
        want = both.where(buckets.bucket_of(N, "event_id") == b)
        assert part is not None  # 4000 keys over 7 buckets: none is empty
        assert _bag(part) == _bag(want)
        assert _bag(part) == _bag(buckets.read_bucket(spark, default, b, first.schema))
        seen += part.count()
    assert seen == 4000

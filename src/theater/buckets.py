"""Hash buckets: process a period in parts whose size is chosen, one after the other, so that
memory follows the part, not the period (docs/scaling.md, "Partitioning").

A bucket is ``pmod(xxhash64(key), n)``: every row of one key lands in the same bucket, so a
window or join partitioned by that key gives the same rows bucket by bucket as over the whole
period. The number of buckets comes from a row count and ``scoring.bucket_rows``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

BUCKET = "_bucket"


def bucket_count(rows: int, bucket_rows: int) -> int:
    """Buckets for ``rows`` rows: about ``bucket_rows`` each (0: one plan)."""
    if bucket_rows <= 0 or rows <= bucket_rows:
        return 1
    return -(-rows // bucket_rows)


def file_groups(files: list[tuple[str, int]], n: int) -> list[list[str]]:
    """``files`` ((path, bytes), in order) cut into at most ``n`` consecutive groups of about
    equal bytes (a file is never split; no group is empty)."""
    total = sum(size for _, size in files)
    groups: list[list[str]] = []
    done = 0
    for path, size in files:
        # a new group starts where the bytes so far pass the next n-th of the total
        if not groups or (len(groups) < n and done >= total * len(groups) / n):
            groups.append([])
        groups[-1].append(path)
        done += size
    return groups


def bucket_of(n: int, *keys: str) -> Column:
    """Bucket 0..n-1 of a row by its ``keys``; rows whose keys are all null share bucket 0."""
    return F.coalesce(F.pmod(F.xxhash64(*keys), F.lit(n)), F.lit(0)).cast("int")


def user_bucket(n: int) -> Column:
    """Bucket of an interaction by its pseudonymous user: every per-user window and join
    (sessions, repeat prompts, fragmentation spans, user-weeks) stays inside one bucket."""
    return bucket_of(n, "user_key")


def materialize(spark: SparkSession, df: DataFrame, path: str) -> DataFrame:
    """Write ``df`` as Parquet at ``path`` and return the copy (schema kept)."""
    df.write.mode("overwrite").parquet(path)
    return spark.read.schema(df.schema).parquet(path)


#: Rows that the open files of one :func:`write_partitioned` hold, together, at most. A
#: partitioned write keeps one Parquet file open per bucket until its input ends, and each open
#: file holds its current row group unwritten (the engine's default: 1M rows, which a bucket's
#: file of one event bucket never reaches), with its page and dictionary buffers: memory that
#: grows with the number of buckets, i.e. with the period, not with the rows written. Measured
#: on one event bucket of refine's 50M quarter (1.47M rows) written by user bucket (Sail 0.7,
#: benchmarks/RESULTS.md, "refine's partitioned writes"): peak RSS 0.7 GB into one file,
#: 0.9 GB into 7, 1.7 GB into 34, 2.1 GB into 68; into 34 with row groups of 8,192 rows 0.87
#: GB, of 4,096 rows 0.80 GB. So the row group is cut to this many rows over the bucket count.
PARTITIONED_WRITE_ROWS = 262_144


def partitioned_write_options(files: int) -> dict[str, str]:
    """Parquet writer options of a partitioned write into up to ``files`` open files: row
    groups of ``PARTITIONED_WRITE_ROWS / files`` rows (at least 1,024), written by one
    sequential writer per file (Sail's default serializes each file's row groups in parallel,
    with record batches and row-group writers buffered per open file). Other engines ignore
    an option they do not know; the files hold the same rows either way."""
    rows = max(1024, PARTITIONED_WRITE_ROWS // max(files, 1))
    return {"allow_single_file_parallelism": "false", "max_row_group_size": str(rows)}


def write_partitioned(
    df: DataFrame,
    bucket: Column,
    path: str,
    append: bool,
    files: int,
    compression: str | None = None,
) -> None:
    """Write ``df`` under ``path/_bucket=<b>/`` (Hive layout) by ``bucket``, which takes at
    most ``files`` values in ``df`` (the writer's row groups are sized by it). ``compression``:
    the Parquet codec (None: the engine's default)."""
    writer = df.withColumn(BUCKET, bucket).write.mode("append" if append else "overwrite")
    writer = writer.options(**partitioned_write_options(files))
    if compression is not None:
        writer = writer.option("compression", compression)
    writer.partitionBy(BUCKET).parquet(path)


#: The codec of a scratch copy that is written once and read back once per bucket: snappy
#: encodes the interactions' copy in about 20% less CPU than the engine's default (zstd) for
#: about 40% more bytes (at 1M, benchmarks/RESULTS.md, "score at 10M, step by step").
SCRATCH_CODEC = "snappy"


@dataclass(frozen=True)
class UserParts:
    """A frame's rows by user bucket (:func:`user_bucket_copy`): ``n`` buckets; ``rows(b)``
    bucket ``b``'s rows, None where no user hashed."""

    n: int
    rows: Callable[[int], DataFrame | None]

    def where(self, condition: Column) -> "UserParts":
        """The same buckets, each filtered by ``condition``."""

        def rows(b: int) -> DataFrame | None:
            part = self.rows(b)
            return part.where(condition) if part is not None else None

        return UserParts(self.n, rows)


def user_bucket_copy(spark: SparkSession, parts: list[DataFrame], n: int, path: str) -> UserParts:
    """``parts`` (one frame's rows in parts of the same columns, e.g. by data file group)
    written once under ``path`` by :func:`user_bucket` of ``n`` (appended part by part, so
    that the partitioned writer holds a part), as :class:`UserParts`. A user's rows are all
    in one bucket, so every per-user window, join or aggregate over a bucket's rows is that
    of the whole frame restricted to the bucket's users; a filtered read of the frame per
    bucket would read all of it each time."""
    for i, part in enumerate(parts):
        write_partitioned(
            part, user_bucket(n), path, append=i > 0, files=n, compression=SCRATCH_CODEC
        )
    schema = parts[0].schema
    return UserParts(n, lambda b: read_bucket(spark, path, b, schema))


def read_bucket(spark: SparkSession, path: str, b: int, schema) -> DataFrame | None:
    """Bucket ``b`` of a dataset written by :func:`write_partitioned` (None: no rows there)."""
    part = os.path.join(path, f"{BUCKET}={b}")
    if not os.path.isdir(part):
        return None
    return spark.read.schema(schema).parquet(part)

"""Reading bronze: a table's rows of committed ingest batches only.

An ingest batch is committed when its rows in the files log (``ops/ingested_files``) are
written; rows of a batch that crashed or is still running stay in the bronze tables until the
next ingest removes them, and every reader of bronze skips them (:func:`read_committed`).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .lake import Lake

FILES_LOG = "ops/ingested_files"
FILES_LOG_SCHEMA = (
    "dataset string, source_file string, file_sha256 string, size_bytes bigint, "
    "format string, batch_id string, ingested_at timestamp, "
    "rows_loaded bigint, rows_quarantined bigint, status string, reason string"
)


def committed_batches(spark: SparkSession, lake: Lake) -> list[str]:
    """Batch ids whose files-log rows were written (the batch committed)."""
    if not lake.exists(FILES_LOG):
        return []
    return sorted(
        r.batch_id for r in lake.read(spark, FILES_LOG).select("batch_id").distinct().collect()
    )


def read_committed(
    spark: SparkSession, lake: Lake, table: str, files: list[str] | None = None
) -> DataFrame:
    """A bronze table without the rows of uncommitted (crashed or still running) batches;
    with ``files``, only the rows of those data files (:meth:`Lake.data_files`)."""
    df = lake.read(spark, table) if files is None else lake.read_files(spark, table, files)
    return df.where(F.col("_batch_id").isin(committed_batches(spark, lake)))

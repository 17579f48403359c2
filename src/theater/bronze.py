"""Reading bronze: a table's rows of committed ingest batches only.

An ingest batch is committed when its rows in the files log (``ops/ingested_files``) are
written; rows of a batch that crashed or is still running stay in the bronze tables until the
next ingest removes them, and every reader of bronze skips them (:func:`read_committed`).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .contracts import contract
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


IDENTITIES_SCHEMA = (
    "alias string, alias_kind string, user_id string, shared string, _ingested_at timestamp"
)
BRONZE_LINEAGE = (
    "_extra string, _source_file string, _file_sha256 string, _ingested_at timestamp, "
    "_batch_id string"
)


def _empty_bronze(spark: SparkSession, dataset: str) -> DataFrame:
    """An empty bronze table of ``dataset`` (contract fields as received strings, lineage and,
    for interactions, the vendor columns): what refine reads when ingest never wrote it."""
    fields = ", ".join(f"{n} string" for n in contract(dataset).names)
    extra = (
        ", source_format string, user_alias_kind string, cost_usd double"
        if dataset == "interactions"
        else ""
    )
    return spark.createDataFrame([], f"{fields}, {BRONZE_LINEAGE}{extra}")


def bronze_or_empty(spark: SparkSession, lake: Lake, dataset: str) -> DataFrame:
    """Committed rows of ``bronze/<dataset>``, or none when the table does not exist: an export
    made only of aggregates has no interactions, a lake without a directory none of that."""
    table = f"bronze/{dataset}"
    if lake.exists(table):
        return read_committed(spark, lake, table)
    return _empty_bronze(spark, dataset)

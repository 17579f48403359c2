"""Ingest: landing zone -> bronze Delta tables, bad records -> bronze/quarantine.

- Every landing format (jsonl, jsonl.gz, json array, csv, parquet) of every dataset.
- Bronze keeps contract fields as received (strings), fields outside the contract as JSON in
  ``_extra``, and lineage: ``_source_file``, ``_file_sha256``, ``_ingested_at``, ``_batch_id``.
- A record breaking the contract goes to ``bronze/quarantine`` with its reason; the rest load.
- ``ops/ingested_files`` records each loaded file by path and content hash: re-ingesting a file
  already loaded adds nothing. It is written last; rows of a batch that never reached it (a
  crashed run) are removed at the start of the next run, so a failure leaves nothing half-done.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from datetime import datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .. import logs, quality
from ..contracts import DATASETS, contract
from ..lake import Lake
from ..sources.landing import LandingFile, list_files, read_records
from ..transforms.contract import as_received, record_problems

log = logging.getLogger(__name__)

QUARANTINE = "bronze/quarantine"
FILES_LOG = "ops/ingested_files"
FILES_LOG_SCHEMA = ("dataset string, source_file string, file_sha256 string, size_bytes bigint, "
                    "format string, batch_id string, ingested_at timestamp, "
                    "rows_loaded bigint, rows_quarantined bigint")


def new_batch_id() -> str:
    return datetime.now(timezone.utc).strftime("b%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _with_lineage(records: DataFrame, f: LandingFile, batch_id: str, at: datetime) -> DataFrame:
    return records.select(
        "*",
        F.lit(f.relpath).alias("_source_file"),
        F.lit(f.sha256).alias("_file_sha256"),
        F.lit(at).cast("timestamp").alias("_ingested_at"),
        F.lit(batch_id).alias("_batch_id"),
    )


def check_records(records: DataFrame, dataset: str) -> DataFrame:
    """Add ``_problems`` (array of contract violations; empty for a good record)."""
    return records.withColumn("_problems", record_problems(contract(dataset)))


def split_records(checked: DataFrame, dataset: str) -> tuple[DataFrame, DataFrame]:
    """(bronze rows, quarantine rows) from checked records with lineage columns."""
    c = contract(dataset)
    lineage = ["_source_file", "_file_sha256", "_ingested_at", "_batch_id"]
    good = checked.where(F.size("_problems") == 0).select(*as_received(c), "_extra", *lineage)
    bad = checked.where(F.size("_problems") > 0).select(
        F.lit(dataset).alias("dataset"),
        F.coalesce(F.col("_raw"), F.to_json(F.struct(*c.names))).alias("raw_record"),
        F.element_at("_problems", 1).alias("reason"),
        F.split(F.element_at("_problems", 1), ":").getItem(0).alias("reason_kind"),
        F.col("_problems").alias("problems"),
        (F.col("event_id") if "event_id" in c.names else F.lit(None).cast("string")
         ).alias("event_id"),
        *lineage,
    )
    return good, bad


def _loaded_keys(spark: SparkSession, lake: Lake) -> set[tuple[str, str]]:
    if not lake.exists(FILES_LOG):
        return set()
    rows = lake.read(spark, FILES_LOG).select("source_file", "file_sha256").collect()
    return {(r.source_file, r.file_sha256) for r in rows}


def _remove_orphans(spark: SparkSession, lake: Lake) -> None:
    """Delete bronze/quarantine rows of batches that never reached the files log."""
    committed = set()
    if lake.exists(FILES_LOG):
        committed = {r.batch_id for r in
                     lake.read(spark, FILES_LOG).select("batch_id").distinct().collect()}
    for table in [f"bronze/{d}" for d in DATASETS] + [QUARANTINE]:
        if not lake.exists(table):
            continue
        batches = {r._batch_id for r in
                   lake.read(spark, table).select("_batch_id").distinct().collect()}
        orphans = sorted(batches - committed)
        if orphans:
            log.warning("%s: removing rows of %d unfinished batch(es) %s", table, len(orphans),
                        ", ".join(orphans))
            quoted = ", ".join(f"'{b}'" for b in orphans)
            lake.delete(spark, table, f"_batch_id IN ({quoted})")


def _counts_by_file(spark: SparkSession, lake: Lake, table: str, batch_id: str,
                    dataset: str | None = None) -> dict[str, int]:
    if not lake.exists(table):
        return {}
    rows = lake.read(spark, table).where(F.col("_batch_id") == batch_id)
    if dataset is not None:
        rows = rows.where(F.col("dataset") == dataset)
    return {r._source_file: r.n for r in
            rows.groupBy("_source_file").agg(F.count("*").alias("n")).collect()}


def run(spark: SparkSession, lake: Lake, landing: str, *, cfg, batch_id: str | None = None,
        run_id: str | None = None, progress=log.info) -> dict:
    """Load every new landing file; return metrics."""
    t0 = time.time()
    progress = logs.Steps("ingest", len(DATASETS), progress, unit="dataset")  # bar on a terminal
    batch_id = batch_id or new_batch_id()
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    _remove_orphans(spark, lake)
    loaded = _loaded_keys(spark, lake)
    dq = quality.Gate(spark, lake, cfg, "ingest", run_id=run_id, fallback_id=batch_id)
    metrics: dict = {"batch_id": batch_id, "files_new": 0, "files_skipped_already_loaded": 0,
                     "rows_loaded": {}, "rows_quarantined": {}, "unknown_files": []}
    file_rows = []
    for dataset in DATASETS:
        files, unknown = list_files(landing, dataset)
        metrics["unknown_files"] += unknown
        for name in unknown:
            log.warning("landing/%s: skipping %s (not jsonl, jsonl.gz, json, csv or parquet)",
                        dataset, name)
        new = [f for f in files if (f.relpath, f.sha256) not in loaded]
        metrics["files_skipped_already_loaded"] += len(files) - len(new)
        if not new:
            metrics["rows_loaded"][dataset] = 0
            metrics["rows_quarantined"][dataset] = 0
            continue
        progress(f"ingest {dataset}: {len(new)} new file(s)")
        staging = lake.path(f"ops/_staging/{batch_id}")
        parts = [_with_lineage(read_records(spark, f, staging), f, batch_id, at) for f in new]
        records = parts[0]
        for p in parts[1:]:
            records = records.unionByName(p)
        # Parse and check once into a staging Parquet folder, then split it: filtering the
        # parsed records directly makes the engine re-evaluate the parse in each branch.
        staged = os.path.join(staging, f"checked-{dataset}")
        check_records(records, dataset).write.mode("overwrite").parquet(staged)
        good, bad = split_records(spark.read.parquet(staged), dataset)
        # good rows are already read from the staged Parquet; the quarantine frame is staged
        # (Sail evaluates its element_at before the filter inside GX's aggregations)
        good = dq.check(f"bronze/{dataset}", good, related={"quarantined": bad},
                        materialize=False)
        bad = dq.check(QUARANTINE, bad)
        lake.append(good, f"bronze/{dataset}")
        lake.append(bad, QUARANTINE)
        # per-file counts for the files log, from what was just committed in this batch
        loaded_counts = _counts_by_file(spark, lake, f"bronze/{dataset}", batch_id)
        bad_counts = _counts_by_file(spark, lake, QUARANTINE, batch_id, dataset)
        for f in new:
            file_rows.append((dataset, f.relpath, f.sha256, f.size, f.fmt, batch_id, at,
                              loaded_counts.get(f.relpath, 0), bad_counts.get(f.relpath, 0)))
        metrics["files_new"] += len(new)
        metrics["rows_loaded"][dataset] = sum(loaded_counts.values())
        metrics["rows_quarantined"][dataset] = sum(bad_counts.values())
    progress.close()
    if file_rows:
        lake.append(spark.createDataFrame(file_rows, FILES_LOG_SCHEMA), FILES_LOG)
    shutil.rmtree(lake.path(f"ops/_staging/{batch_id}"), ignore_errors=True)
    metrics["outputs"] = {t: lake.version(t) for t in
                          [f"bronze/{d}" for d in DATASETS] + [QUARANTINE, FILES_LOG]}
    metrics.update(dq.finish())
    metrics["seconds"] = round(time.time() - t0, 2)
    return metrics

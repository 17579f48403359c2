"""Ingest: landing zone -> bronze Delta tables, bad records -> bronze/quarantine.

- Every landing format (jsonl, jsonl.gz, json array, csv, parquet) of every dataset.
- Bronze keeps contract fields as received (strings), fields outside the contract as JSON in
  ``_extra``, and lineage: ``_source_file``, ``_file_sha256``, ``_ingested_at``, ``_batch_id``.
- A record breaking the contract goes to ``bronze/quarantine`` with its reason; the rest load.
- ``ops/ingested_files`` records each file by path and content hash, with ``status`` ``loaded``
  or ``rejected`` (and a ``reason``): re-ingesting a file already recorded adds nothing; a
  rejected file is retried only when its content changes. It is written last: a batch is
  *committed* when its files-log rows are. Readers (refine) use committed batches only, and
  rows of a batch that never committed (a crashed run) are removed at the start of the next
  run. That cleanup runs under the lake's writer lock (``theater.lock``), held by the caller,
  so every uncommitted batch it sees belongs to a dead run.
- A file that cannot be read at all (not UTF-8, UTF-16, truncated gzip, not Parquet) is
  ``rejected`` with the reason; the run goes on and warns. Its bad records go to quarantine
  with the reason and the line number (``line_number``: line in the landing file for JSON
  lines and CSV, element number for a JSON array, null for Parquet).
- A dataset's files are read by one scan per kind (plain and gzip JSON lines, Parquet per
  schema) of a farm of links in staging (``files-<dataset>/<kind>/_file=<key>/``), each row
  keyed to its file (``sources.landing.read_batch``), not by one plan per file.
- Staging (``<lake>/ops/_staging/<batch>/``, re-framed copies and links of landing files that
  still hold raw identifiers) is removed on every exit, and any stale staging at the start of a
  run.
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
from ..errors import DataQualityError
from ..lake import Lake
from ..sources import limits as reader_limits
from ..sources.landing import (
    FILE_KEY,
    LandingFile,
    Prepared,
    file_key,
    list_files,
    locate_lines,
    prepare,
    read_batch,
)
from ..transforms.contract import Limits, as_received, record_problems
from . import ingest_vendor as vin

log = logging.getLogger(__name__)

QUARANTINE = "bronze/quarantine"
FILES_LOG = "ops/ingested_files"
FILES_LOG_SCHEMA = (
    "dataset string, source_file string, file_sha256 string, size_bytes bigint, "
    "format string, batch_id string, ingested_at timestamp, "
    "rows_loaded bigint, rows_quarantined bigint, status string, reason string"
)
STAGING = "ops/_staging"
BRONZE_TABLES = [f"bronze/{d}" for d in DATASETS] + [f"bronze/{t}" for t in vin.VENDOR_TABLES]
#: Columns bronze/interactions gained with vendor exports (null for native landing rows).
VENDOR_EVENT_COLUMNS = {
    "source_format": "CAST(NULL AS STRING)",
    "user_alias_kind": "CAST(NULL AS STRING)",
    "_line": "CAST(NULL AS BIGINT)",
}
KNOWN_LANDING = set(DATASETS) | {vin.VENDOR_DIR, vin.IDENTITIES_DIR}
QUARANTINE_SCHEMA = (
    "dataset string, raw_record string, reason string, reason_kind string, "
    "problems array<string>, event_id string, line_number bigint, "
    "_source_file string, _file_sha256 string, _ingested_at timestamp, "
    "_batch_id string"
)


def new_batch_id() -> str:
    return datetime.now(timezone.utc).strftime("b%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _with_lineage(
    spark: SparkSession, records: DataFrame, files: list[LandingFile], batch_id: str, at: datetime
) -> DataFrame:
    """Lineage columns from each row's ``_file`` key (``file_key(i)`` of ``files[i]``): a join
    with the small list of the batch's files."""
    keys = spark.createDataFrame(
        [(file_key(i), f.relpath, f.sha256) for i, f in enumerate(files)],
        f"{FILE_KEY} string, _source_file string, _file_sha256 string",
    )
    cols = [c for c in records.columns if c != FILE_KEY]
    return records.join(F.broadcast(keys), on=FILE_KEY, how="inner").select(
        *cols,
        "_source_file",
        "_file_sha256",
        F.lit(at).cast("timestamp").alias("_ingested_at"),
        F.lit(batch_id).alias("_batch_id"),
    )


def check_records(records: DataFrame, dataset: str, limits: Limits | None = None) -> DataFrame:
    """Add ``_problems`` (array of contract violations; empty for a good record)."""
    if "_json_typed" not in records.columns:
        records = records.withColumn("_json_typed", F.lit(False))
    return records.withColumn("_problems", record_problems(contract(dataset), limits))


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
        (F.col("event_id") if "event_id" in c.names else F.lit(None).cast("string")).alias(
            "event_id"
        ),
        (F.col("_line") if "_line" in checked.columns else F.lit(None).cast("bigint"))
        .cast("bigint")
        .alias("line_number"),
        *lineage,
    )
    return good, bad


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


def remove_stale_staging(lake: Lake, keep: str | None = None) -> list[str]:
    """Remove staging folders of earlier runs (they may hold raw identifiers)."""
    root = lake.path(STAGING)
    removed = []
    if os.path.isdir(root):
        for name in sorted(os.listdir(root)):
            if name != keep:
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
                removed.append(name)
    if removed:
        log.warning(
            "removed stale staging of %d earlier run(s) under %s: %s",
            len(removed),
            root,
            ", ".join(removed),
        )
    return removed


def _loaded_keys(spark: SparkSession, lake: Lake) -> set[tuple[str, str]]:
    if not lake.exists(FILES_LOG):
        return set()
    rows = lake.read(spark, FILES_LOG).select("source_file", "file_sha256").collect()
    return {(r.source_file, r.file_sha256) for r in rows}


def _remove_orphans(spark: SparkSession, lake: Lake, current: str | None = None) -> None:
    """Delete bronze/quarantine rows of batches that never reached the files log.

    Call it holding the lake's writer lock: then no other run is live and each such batch
    belongs to a dead run. The current batch is never removed.
    """
    committed = set(committed_batches(spark, lake))
    if current:
        committed.add(current)
    for table in BRONZE_TABLES + [QUARANTINE]:
        if not lake.exists(table):
            continue
        batches = {
            r._batch_id for r in lake.read(spark, table).select("_batch_id").distinct().collect()
        }
        orphans = sorted(batches - committed)
        if orphans:
            log.warning(
                "%s: removing rows of %d unfinished batch(es) %s",
                table,
                len(orphans),
                ", ".join(orphans),
            )
            quoted = ", ".join(f"'{b}'" for b in orphans)
            lake.delete(spark, table, f"_batch_id IN ({quoted})")


def _counts_by_file(
    spark: SparkSession, lake: Lake, table: str, batch_id: str, dataset: str | None = None
) -> dict[str, int]:
    if not lake.exists(table):
        return {}
    rows = lake.read(spark, table).where(F.col("_batch_id") == batch_id)
    if dataset is not None:
        rows = rows.where(F.col("dataset") == dataset)
    return {
        r._source_file: r.n
        for r in rows.groupBy("_source_file").agg(F.count("*").alias("n")).collect()
    }


def _line_numbers(spark: SparkSession, bad: DataFrame, preps: dict[str, Prepared]) -> DataFrame:
    """Add ``_line`` to quarantined rows of text files: located on the driver, by a hash of the
    raw line, in the files that have quarantined rows only (see ``locate_lines``)."""
    from pyspark.sql import Window

    keyed = bad.withColumn("_h", F.sha2(F.col("_raw"), 256))
    wanted = (
        keyed.where(F.col("_raw").isNotNull())
        .groupBy("_source_file", "_h")
        .agg(F.count("*").alias("n"))
        .collect()
    )
    by_file: dict[str, set[str]] = {}
    for r in wanted:
        by_file.setdefault(r._source_file, set()).add(r._h)
    rows = []
    for rel, hashes in by_file.items():
        prep = preps.get(rel)
        if prep is None or prep.kind != "text":
            continue
        for (h, occ), line in locate_lines(prep, hashes).items():
            rows.append((rel, h, occ, line))
    w = Window.partitionBy("_source_file", "_h").orderBy("_h")
    keyed = keyed.withColumn("_occ", F.row_number().over(w))
    if not rows:
        return keyed.withColumn("_line", F.lit(None).cast("bigint")).drop("_h", "_occ")
    lines = spark.createDataFrame(rows, "_source_file string, _h string, _occ int, _line bigint")
    return keyed.join(F.broadcast(lines), on=["_source_file", "_h", "_occ"], how="left").drop(
        "_h", "_occ"
    )


def _staged_bad(
    spark: SparkSession, dataset: str, f: LandingFile, prep: Prepared, batch_id: str, at: datetime
) -> DataFrame | None:
    """Quarantine rows for records set aside while staging (ragged CSV rows)."""
    if not prep.bad:
        return None
    rows = [
        (
            dataset,
            raw,
            reason,
            reason.split(":")[0],
            [reason],
            None,
            line,
            f.relpath,
            f.sha256,
            at,
            batch_id,
        )
        for line, raw, reason in prep.bad
    ]
    return spark.createDataFrame(rows, QUARANTINE_SCHEMA)


def run(
    spark: SparkSession,
    lake: Lake,
    landing: str,
    *,
    cfg,
    batch_id: str | None = None,
    run_id: str | None = None,
    progress=log.info,
) -> dict:
    """Load every new landing file; return metrics.

    The caller holds the lake's writer lock (``theater.lock.LakeLock``; ``theater run`` does).
    """
    t0 = time.time()
    progress = logs.Steps("ingest", len(DATASETS), progress, unit="dataset")  # bar on a terminal
    batch_id = batch_id or new_batch_id()
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    limits = Limits.from_config(cfg)
    reader_limits.set_current(cfg)  # bounds every file reader of this run (readers: in config)
    remove_stale_staging(lake, keep=batch_id)
    staging = lake.path(f"{STAGING}/{batch_id}")
    try:
        return _run(spark, lake, landing, batch_id, at, limits, staging, progress, cfg, t0, run_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        parent = lake.path(STAGING)
        if os.path.isdir(parent) and not os.listdir(parent):
            os.rmdir(parent)


def _upgrade(spark: SparkSession, lake: Lake, table: str, columns: dict[str, str]) -> None:
    """Add columns a lake written by an older version lacks (one overwrite, once)."""
    if not lake.exists(table):
        return
    df = lake.read(spark, table)
    missing = {c: sql for c, sql in columns.items() if c not in df.columns}
    if missing:
        log.warning(
            "%s: adding column(s) %s (lake written by an older version)", table, ", ".join(missing)
        )
        lake.overwrite(df.select("*", *[F.expr(sql).alias(c) for c, sql in missing.items()]), table)


def _run(
    spark, lake, landing, batch_id, at, limits, staging, progress, cfg, t0, run_id=None
) -> dict:
    _upgrade(spark, lake, FILES_LOG, {"status": "'loaded'", "reason": "CAST(NULL AS STRING)"})
    _upgrade(spark, lake, QUARANTINE, {"line_number": "CAST(NULL AS BIGINT)"})
    _upgrade(spark, lake, "bronze/interactions", VENDOR_EVENT_COLUMNS)
    _remove_orphans(spark, lake, current=batch_id)
    loaded = _loaded_keys(spark, lake)
    dq = quality.Gate(spark, lake, cfg, "ingest", run_id=run_id, fallback_id=batch_id)
    metrics: dict = {
        "batch_id": batch_id,
        "files_new": 0,
        "files_skipped_already_loaded": 0,
        "rows_loaded": {},
        "rows_quarantined": {},
        "unknown_files": [],
        "files_skipped": [],
        "files_rejected": [],
        "files_empty": [],
    }
    file_rows = []
    for name in sorted(os.listdir(landing)) if os.path.isdir(landing) else []:
        if name not in KNOWN_LANDING and not name.startswith((".", "_")):
            why = (
                "unknown landing folder (known: " + ", ".join(sorted(KNOWN_LANDING)) + ")"
                if os.path.isdir(os.path.join(landing, name))
                else "file at the top of the landing zone (put it in a dataset folder)"
            )
            log.warning("landing: skipping %s: %s", name, why)
            metrics["files_skipped"].append({"file": name, "reason": why})
    for dataset in DATASETS:
        detail: list = []
        files, unknown = list_files(landing, dataset, detail)
        metrics["unknown_files"] += unknown
        metrics["files_skipped"] += [{"file": rel, "reason": why} for rel, why in detail]
        new = [f for f in files if (f.relpath, f.sha256) not in loaded]
        metrics["files_skipped_already_loaded"] += len(files) - len(new)
        metrics["rows_loaded"][dataset] = 0
        metrics["rows_quarantined"][dataset] = 0
        for f in new:
            if f.problem:
                log.warning(
                    "landing/%s: rejecting %s: %s (recorded as rejected; retried when "
                    "its content changes)",
                    dataset,
                    f.relpath,
                    f.problem,
                )
                metrics["files_rejected"].append({"file": f.relpath, "reason": f.problem})
                file_rows.append(
                    (
                        dataset,
                        f.relpath,
                        f.sha256,
                        f.size,
                        f.fmt,
                        batch_id,
                        at,
                        0,
                        0,
                        "rejected",
                        f.problem,
                    )
                )
            elif f.empty:
                log.warning(
                    "landing/%s: %s holds no records (empty, blank or header only)",
                    dataset,
                    f.relpath,
                )
                metrics["files_empty"].append(f.relpath)
                file_rows.append(
                    (
                        dataset,
                        f.relpath,
                        f.sha256,
                        f.size,
                        f.fmt,
                        batch_id,
                        at,
                        0,
                        0,
                        "loaded",
                        "no records",
                    )
                )
        readable = [f for f in new if not f.problem and not f.empty]
        metrics["files_new"] += len(new)
        if not readable:
            continue
        progress(f"ingest {dataset}: {len(readable)} new file(s)")
        preps = {f.relpath: prepare(f, staging) for f in readable}
        # one scan per kind of prepared file (not one plan per file), each row keyed to its file
        farm = os.path.join(staging, f"files-{dataset}")
        scanned = read_batch(spark, dataset, [preps[f.relpath] for f in readable], farm)
        records = _with_lineage(spark, scanned, readable, batch_id, at)
        # Parse and check once into a staging Parquet folder, then split it: filtering the
        # parsed records directly makes the engine re-evaluate the parse in each branch.
        staged = os.path.join(staging, f"checked-{dataset}")
        check_records(records, dataset, limits).write.mode("overwrite").parquet(staged)
        checked = spark.read.parquet(staged)
        good, _ = split_records(checked, dataset)
        bad_in = checked.where(F.size("_problems") > 0)
        _, bad = split_records(_line_numbers(spark, bad_in, preps), dataset)
        for f in readable:
            extra = _staged_bad(spark, dataset, f, preps[f.relpath], batch_id, at)
            if extra is not None:
                bad = bad.unionByName(extra)
        bad_staged = os.path.join(staging, f"quarantine-{dataset}")
        bad.write.mode("overwrite").parquet(bad_staged)
        bad = spark.read.parquet(bad_staged)
        if not bad.columns:  # no bad record: the engine wrote no file (and no schema)
            bad = spark.createDataFrame([], QUARANTINE_SCHEMA)
        # good rows are already read from the staged Parquet; the quarantine frame is staged
        # (Sail evaluates its element_at before the filter inside GX's aggregations)
        if dataset == "interactions":
            good = good.select(
                "*", *[F.expr(sql).alias(c) for c, sql in VENDOR_EVENT_COLUMNS.items()]
            )
        try:
            good = dq.check(
                f"bronze/{dataset}", good, related={"quarantined": bad}, materialize=False
            )
        except DataQualityError as exc:
            raise _commit_failure(
                spark, lake, exc, dq, bad, dataset, readable, file_rows, batch_id, at, landing
            ) from None
        bad = dq.check(QUARANTINE, bad)
        lake.append(good, f"bronze/{dataset}")
        lake.append(bad, QUARANTINE)
        # per-file counts for the files log, from what was just committed in this batch
        loaded_counts = _counts_by_file(spark, lake, f"bronze/{dataset}", batch_id)
        bad_counts = _counts_by_file(spark, lake, QUARANTINE, batch_id, dataset)
        for f in readable:
            file_rows.append(
                (
                    dataset,
                    f.relpath,
                    f.sha256,
                    f.size,
                    f.fmt,
                    batch_id,
                    at,
                    loaded_counts.get(f.relpath, 0),
                    bad_counts.get(f.relpath, 0),
                    "loaded",
                    None,
                )
            )
        metrics["rows_loaded"][dataset] = sum(loaded_counts.values())
        metrics["rows_quarantined"][dataset] = sum(bad_counts.values())
    progress.close()
    _run_vendor(
        spark,
        lake,
        landing,
        batch_id,
        at,
        limits,
        staging,
        dq,
        loaded,
        metrics,
        file_rows,
        progress,
    )
    if file_rows:
        lake.append(spark.createDataFrame(file_rows, FILES_LOG_SCHEMA), FILES_LOG)
    metrics["outputs"] = {t: lake.version(t) for t in BRONZE_TABLES + [QUARANTINE, FILES_LOG]}
    metrics.update(dq.finish())
    metrics["seconds"] = round(time.time() - t0, 2)
    return metrics


def _commit_failure(
    spark, lake, exc, dq, bad, dataset, files, file_rows, batch_id, at, landing
) -> DataQualityError:
    """A critical gate failed on a dataset's rows: keep what the user needs to see. The
    quarantine (records and reasons) is written and the dataset's files are recorded as
    ``rejected`` with the gate's verdict (retried when their content or place changes), in a
    committed batch; then the error names the files, the vendor format they look like and the
    top reasons."""
    try:
        bad = dq.check(QUARANTINE, bad)
    except DataQualityError:
        log.warning("bronze/quarantine gate failed too; writing the quarantine anyway")
    lake.append(bad, QUARANTINE)
    bad_counts = _counts_by_file(
        spark, lake, QUARANTINE, batch_id, None if dataset.startswith("vendor") else dataset
    )
    for f in files:
        file_rows.append(
            (
                f.dataset,
                f.relpath,
                f.sha256,
                f.size,
                getattr(f, "fmt", None) or dataset,
                batch_id,
                at,
                0,
                bad_counts.get(f.relpath, 0),
                "rejected",
                "data-quality gate failed (records quarantined)",
            )
        )
    lake.append(spark.createDataFrame(file_rows, FILES_LOG_SCHEMA), FILES_LOG)
    committed = lake.read(spark, QUARANTINE).where(F.col("_batch_id") == batch_id)
    committed = committed.where(F.col("_source_file").isin([f.relpath for f in files]))
    return vin.gate_failure(exc, dataset, committed, landing)


def _run_vendor(
    spark, lake, landing, batch_id, at, limits, staging, dq, loaded, metrics, file_rows, progress
) -> None:
    """Vendor exports and identity maps (see :mod:`theater.stages.ingest_vendor`), in the same
    batch: their files-log rows are appended with the native ones by the caller."""
    files, skipped = vin.list_vendor_files(landing)
    metrics["files_skipped"] += [{"file": rel, "reason": why} for rel, why in skipped]
    metrics["unknown_files"] += [rel for rel, _ in skipped]
    metrics.setdefault("rows_vendor", {})
    new = [f for f in files if (f.relpath, f.sha256) not in loaded]
    metrics["files_skipped_already_loaded"] += len(files) - len(new)
    metrics["files_new"] += len(new)
    if not new:
        return
    progress(f"ingest vendor exports: {len(new)} new file(s)")
    folders, ok, rejected = vin.stage(new, os.path.join(staging, "vendor"))
    for f, why in rejected:
        metrics["files_rejected"].append({"file": f.relpath, "reason": why})
        file_rows.append(
            (
                f.dataset,
                f.relpath,
                f.sha256,
                f.size,
                f.fmt or "csv",
                batch_id,
                at,
                0,
                0,
                "rejected",
                why,
            )
        )
    if not ok:
        return
    empty_q = spark.createDataFrame([], QUARANTINE_SCHEMA)
    bad = (
        vin.quarantine_frame(spark, folders["quarantine"], batch_id, at)
        if "quarantine" in folders
        else empty_q
    )
    if "interactions" in folders:
        events, events_bad = vin.event_frames(
            spark, folders["interactions"], batch_id, at, limits, check_records
        )
        events_bad_path = os.path.join(staging, "vendor-checked-quarantine")
        events_bad.write.mode("overwrite").parquet(events_bad_path)
        events_bad = spark.read.parquet(events_bad_path)
        if not events_bad.columns:
            events_bad = empty_q
        event_files = [f for f in ok if f.fmt and vendor_grain(f.fmt) == "event"]
        related = bad.where(F.col("dataset").isin([f.dataset for f in event_files])).unionByName(
            events_bad
        )
        try:
            events = dq.check("bronze/interactions", events, related={"quarantined": related})
        except DataQualityError as exc:
            # only the per-event files are rejected (with their quarantine); the batch's
            # other vendor files are not recorded, so the next run loads them
            raise _commit_failure(
                spark,
                lake,
                exc,
                dq,
                related,
                "vendor",
                event_files,
                file_rows,
                batch_id,
                at,
                landing,
            ) from None
        bad = bad.unionByName(events_bad)
        lake.append(events, "bronze/interactions")
    for table in vin.VENDOR_TABLES:
        if table in folders:
            df = dq.check(
                f"bronze/{table}", vin.bronze_frame(spark, folders[table], table, batch_id, at)
            )
            lake.append(df, f"bronze/{table}")
    bad = dq.check(QUARANTINE, bad)
    lake.append(bad, QUARANTINE)
    counts: dict[str, dict[str, int]] = {}
    for table in ["interactions", *vin.VENDOR_TABLES]:
        by_file = _counts_by_file(spark, lake, f"bronze/{table}", batch_id)
        for rel, n in by_file.items():
            counts.setdefault(rel, {})[table] = n
    q_counts = _counts_by_file(spark, lake, QUARANTINE, batch_id)
    for f in ok:
        c = counts.get(f.relpath, {})
        file_rows.append(
            (
                f.dataset,
                f.relpath,
                f.sha256,
                f.size,
                f.fmt or "csv",
                batch_id,
                at,
                sum(c.values()),
                q_counts.get(f.relpath, 0),
                "loaded",
                None,
            )
        )
        for table, n in c.items():
            key = f"{f.dataset}:{table}"
            metrics["rows_vendor"][key] = metrics["rows_vendor"].get(key, 0) + n
        qkey = f"{f.dataset}:quarantined"
        metrics["rows_vendor"][qkey] = metrics["rows_vendor"].get(qkey, 0) + q_counts.get(
            f.relpath, 0
        )
    metrics["rows_loaded"]["vendor"] = sum(sum(c.values()) for c in counts.values())
    metrics["rows_quarantined"]["vendor"] = sum(q_counts.get(f.relpath, 0) for f in ok)


def vendor_grain(fmt: str) -> str:
    from ..sources.vendor import FORMATS

    return FORMATS[fmt].grain

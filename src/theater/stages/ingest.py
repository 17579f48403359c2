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
  ``rejected`` with the reason; the run goes on and warns. Bad records go to quarantine
  with the reason and the line number (``line_number``: line in the landing file for JSON
  lines and CSV, element number for a JSON array, null for Parquet).
- Each file is loaded or rejected by itself. The gate's per-file expectations (``files``
  frame: the file's own quarantine share) run before the table's: a file failing a critical
  one is recorded ``rejected`` with the reason (its records quarantined, none loaded) and no
  other file is touched. The batch's other files are written and committed, then
  :class:`DataQualityError` names each rejected file (exit 3). A critical failure on a table's
  rows that no file can be blamed for writes nothing of that table's files and records none
  of them, so the next run reads them again. ``already loaded`` means recorded ``loaded`` in a
  committed batch; a file recorded ``rejected`` is skipped until its content changes.
- A dataset's files are read by one scan per kind (plain and gzip JSON lines, CSV per header,
  Parquet per schema) of a farm of links in staging (``files-<dataset>/<kind>/_file=<key>/``),
  each row keyed to its file (``sources.landing.read_batch``), not by one plan per file. CSV
  whose every record is one line with the header's field count is read by the engine's CSV
  reader as delivered; other CSV (ragged rows, quoted values across lines, lines set aside) is
  re-framed as JSON lines by Python, which sets ragged rows aside with their line. A JSON array
  of objects is framed as JSON lines by its brackets (never decoded in Python); other JSON
  shapes go through the general streamer.
- Each record is parsed and checked once, in one write that splits good rows (in bronze's
  columns) from bad ones (with their text). On the embedded engine with Delta the good rows'
  files become the bronze table's data files by one Delta commit after the gate passes
  (:func:`_commit_files`): the rows are written once; elsewhere the engine appends them.
  A dataset's new files summing to more than ``ingest.group_bytes`` are written as one file
  per group of consecutive files (:func:`landing_groups`), so that no reader of bronze (refine
  re-partitions it a group of data files at a time) meets a large batch as one file.
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
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .. import logs, quality
from ..bronze import FILES_LOG, FILES_LOG_SCHEMA, committed_batches
from ..contracts import DATASETS, contract
from ..errors import DataQualityError
from ..lake import Lake
from ..quality.frames import file_counts
from ..sources import limits as reader_limits
from ..sources.exports import FORMATS
from ..sources.exports import reader as vin
from ..sources.landing import (
    FILE_KEY,
    LandingFile,
    Prepared,
    file_key,
    list_files,
    locate_csv_rows,
    locate_lines,
    prepare,
    read_batch,
)
from ..transforms.contract import Limits, as_received, with_problems
from . import seats

log = logging.getLogger(__name__)

QUARANTINE = "bronze/quarantine"
STAGING = "ops/_staging"
BRONZE_TABLES = [f"bronze/{d}" for d in DATASETS] + [f"bronze/{t}" for t in vin.VENDOR_TABLES]
#: Columns bronze/interactions gained with vendor exports (null for native landing rows: the
#: landing contract has no cost, so a native event's vendor cost is unknown, never 0).
VENDOR_EVENT_COLUMNS = {
    "source_format": "CAST(NULL AS STRING)",
    "user_alias_kind": "CAST(NULL AS STRING)",
    "_line": "CAST(NULL AS BIGINT)",
    "cost_usd": "CAST(NULL AS DOUBLE)",
}
LINEAGE = ["_source_file", "_file_sha256", "_ingested_at", "_batch_id"]
#: Partition column of the checked write: ``good`` rows (bronze's) apart from ``bad`` ones.
SPLIT = "rows"
#: Second partition column of the checked write when a batch spans several groups of landing
#: files (:func:`landing_groups`): one data file per group, so no reader of bronze meets the whole
#: batch as one file. Never committed: readers of the staged folders drop it.
GROUP = "_group"
#: Name prefix of data files committed by :func:`_commit_files` (then the batch id).
COMMITTED_PREFIX = "part-ingest-"
#: Rows per row group of the checked write's files, which become bronze's data files. The
#: engine splits a file's scan between its cores by row group, never inside one: with its
#: default (1,048,576 rows) a group of landing files up to about a million rows was one row
#: group, and every read of it by refine (typing, the latest delivery, the identities) ran on
#: one core up to its first shuffle. 131,072 rows: 8 row groups a million rows, as many
#: partitions as a few cores take, and row groups still large for compression.
BRONZE_ROW_GROUP_ROWS = 131_072
#: The codec of the checked write on the embedded engine, whose files become bronze's data
#: files: zstd at level 1, not the engine's default level 3. At 1M interactions level 3 cost
#: about 0.9 CPU s more of the write's 7-8 for files no smaller (44.6 against 43.4 MB), and
#: any Parquet reader reads either level. Apache Spark takes no level in this option (it
#: keeps its own default codec).
BRONZE_CODEC = "zstd(1)"
KNOWN_LANDING = set(DATASETS) | {vin.VENDOR_DIR, vin.IDENTITIES_DIR, seats.DIR}
QUARANTINE_SCHEMA = (
    "dataset string, raw_record string, reason string, reason_kind string, "
    "problems array<string>, event_id string, line_number bigint, "
    "_source_file string, _file_sha256 string, _ingested_at timestamp, "
    "_batch_id string"
)
#: :data:`QUARANTINE_SCHEMA` as a type: a frame made with it needs no query to parse the text
_S = T.StringType()
QUARANTINE_TYPE = T.StructType(
    [
        T.StructField(n, t)
        for n, t in [
            ("dataset", _S), ("raw_record", _S), ("reason", _S), ("reason_kind", _S),
            ("problems", T.ArrayType(_S)), ("event_id", _S), ("line_number", T.LongType()),
            ("_source_file", _S), ("_file_sha256", _S), ("_ingested_at", T.TimestampType()),
            ("_batch_id", _S),
        ]
    ]
)  # fmt: skip
_LINEAGE_KEYS = T.StructType([T.StructField(n, _S) for n in (FILE_KEY, *LINEAGE[:2])])


def new_batch_id() -> str:
    return datetime.now(timezone.utc).strftime("b%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def landing_groups(sizes: list[int], group_bytes: int) -> list[int]:
    """Group number of each file (in order): consecutive files of about ``group_bytes`` bytes
    together. A file starts a new group when its group already holds files and would pass
    ``group_bytes`` with it; a file larger than ``group_bytes`` is a group by itself. Files
    summing to at most ``group_bytes`` are one group (0)."""
    groups: list[int] = []
    g, total = 0, 0
    for size in sizes:
        if total and total + size > group_bytes:
            g, total = g + 1, 0
        groups.append(g)
        total += size
    return groups


def _with_lineage(
    spark: SparkSession,
    records: DataFrame,
    files: list[LandingFile],
    batch_id: str,
    at: datetime,
) -> DataFrame:
    """Lineage columns from each row's ``_file`` key (``file_key(i)`` of ``files[i]``): a join
    with the small list of the batch's files."""
    keys = spark.createDataFrame(
        [(file_key(i), f.relpath, f.sha256) for i, f in enumerate(files)], _LINEAGE_KEYS
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
    return with_problems(records, contract(dataset), limits)


def split_records(checked: DataFrame, dataset: str) -> tuple[DataFrame, DataFrame]:
    """(bronze rows, quarantine rows) from checked records with lineage columns."""
    c = contract(dataset)
    lineage = LINEAGE
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


def _loaded_keys(spark: SparkSession, lake: Lake) -> dict[tuple[str, str], str]:
    """``(path, sha256) -> status`` of every file in a committed batch: ``loaded`` (committed to
    bronze) or ``rejected`` (retried only when its content changes). A file never committed
    (a crashed run, or held back by a gate failure no file could be blamed for) is absent, so
    the next run picks it up."""
    if not lake.exists(FILES_LOG):
        return {}
    rows = lake.read(spark, FILES_LOG).select("source_file", "file_sha256", "status").collect()
    out: dict[tuple[str, str], str] = {}
    for r in rows:
        key = (r.source_file, r.file_sha256)
        # loaded wins: a path and content loaded once is never loaded again
        if out.get(key) != "loaded":
            out[key] = r.status or "loaded"
    return out


def _count_skipped(metrics: dict, files, loaded: dict) -> list:
    """The files not recorded before (new), counting the others by their recorded status."""
    new = []
    for f in files:
        status = loaded.get((f.relpath, f.sha256))
        if status is None:
            new.append(f)
        elif status == "rejected":
            metrics["files_skipped_rejected_unchanged"] += 1
        else:
            metrics["files_skipped_already_loaded"] += 1
    return new


def _without(df: DataFrame, files) -> DataFrame:
    """``df`` without the rows of ``files`` (landing paths)."""
    files = sorted(files)
    return df.where(~F.col("_source_file").isin(files)) if files else df


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
        # good rows a dead run moved into bronze but never committed (:func:`_commit_files`)
        lake.remove_unlisted(table, keep=current, prefix=COMMITTED_PREFIX)
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
    raw line (JSON lines, see ``locate_lines``) or of the row's values (CSV the engine read,
    see ``locate_csv_rows``: there ``_raw`` becomes the row's JSON text, as re-framing gives
    it), in the files that have quarantined rows only."""
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
        if prep is None:
            continue
        if prep.kind == "text":
            for (h, occ), line in locate_lines(prep, hashes).items():
                rows.append((rel, h, occ, line, None))
        elif prep.kind == "csv":
            found = locate_csv_rows(prep, hashes)
            for (h, occ), (line, text) in found.items():
                rows.append((rel, h, occ, line, text))
            want = sum(r.n for r in wanted if r._source_file == rel)
            if len(found) < want:
                log.warning("%s: %d quarantined row(s) not found back", rel, want - len(found))
    csv_files = sorted(rel for rel, p in preps.items() if p.kind == "csv")
    w = Window.partitionBy("_source_file", "_h").orderBy("_h")
    keyed = keyed.withColumn("_occ", F.row_number().over(w))
    if rows:
        schema = "_source_file string, _h string, _occ int, _line bigint, _text string"
        lines = spark.createDataFrame(rows, schema)
        keyed = keyed.join(F.broadcast(lines), on=["_source_file", "_h", "_occ"], how="left")
    else:
        keyed = keyed.select(
            "*",
            F.lit(None).cast("bigint").alias("_line"),
            F.lit(None).cast("string").alias("_text"),
        )
    if csv_files:
        # a CSV row's key is no record text: replaced by its JSON (null, never the key, should
        # the row not be found: quarantine then shows its contract fields)
        is_csv = F.col("_source_file").isin(csv_files)
        keyed = keyed.withColumn("_raw", F.when(is_csv, F.col("_text")).otherwise(F.col("_raw")))
    return keyed.drop("_h", "_occ", "_text")


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


@dataclass
class _Batch:
    """What every step of one ingest run shares: where it reads and writes, the batch's identity,
    the gate, and what it has found so far (metrics, files-log rows, gate failures)."""

    spark: SparkSession
    lake: Lake
    landing: str
    batch_id: str
    at: datetime
    limits: Limits
    staging: str
    progress: object
    dq: quality.Gate
    loaded: dict
    metrics: dict
    # good rows' files become bronze's data files as written (Delta on the embedded engine)
    direct: bool = False
    # bytes of landing input per group of files written as one data file (landing_groups)
    group_bytes: int = 1 << 62
    # the checked write's Parquet codec (BRONZE_CODEC on the embedded engine; None: the default)
    codec: str | None = None
    file_rows: list = field(default_factory=list)
    # gate failures no single file could be blamed for
    failures: list[DataQualityError] = field(default_factory=list)

    def file_row(self, dataset, f, rows, quarantined, status, why) -> None:
        self.file_rows.append(
            (dataset, f.relpath, f.sha256, f.size, f.fmt, self.batch_id, self.at)
            + (rows, quarantined, status, why)
        )


def _new_metrics(batch_id: str) -> dict:
    return {
        "batch_id": batch_id,
        "files_new": 0,
        "files_skipped_already_loaded": 0,
        "files_skipped_rejected_unchanged": 0,
        "rows_loaded": {},
        "rows_quarantined": {},
        "unknown_files": [],
        "files_skipped": [],
        "files_rejected": [],
        "files_rejected_by_gate": [],
        "files_held_back": [],
        "files_empty": [],
    }


def _run(
    spark, lake, landing, batch_id, at, limits, staging, progress, cfg, t0, run_id=None
) -> dict:
    _upgrade(spark, lake, FILES_LOG, {"status": "'loaded'", "reason": "CAST(NULL AS STRING)"})
    _upgrade(spark, lake, QUARANTINE, {"line_number": "CAST(NULL AS BIGINT)"})
    _upgrade(spark, lake, "bronze/interactions", VENDOR_EVENT_COLUMNS)
    _upgrade(spark, lake, "bronze/interaction_updates", {"cost_usd": "CAST(NULL AS DOUBLE)"})
    _remove_orphans(spark, lake, current=batch_id)
    # the gate's records are appended to ops/dq_results once, at the end (one Delta commit
    # instead of three per dataset)
    dq = quality.Gate(
        spark, lake, cfg, "ingest", run_id=run_id, fallback_id=batch_id, defer_results=True
    )
    try:
        return _run_batch(
            spark, lake, landing, batch_id, at, limits, staging, progress, cfg, t0, dq
        )
    except BaseException:
        # what was validated before the failure is recorded, as when each gate appended it
        try:
            dq.flush()
        except Exception as exc:  # the failure itself is what the caller must see
            log.warning("ops/dq_results: could not append this run's results: %s", exc)
        raise


def _run_batch(spark, lake, landing, batch_id, at, limits, staging, progress, cfg, t0, dq) -> dict:
    b = _Batch(
        spark, lake, landing, batch_id, at, limits, staging, progress, dq,
        _loaded_keys(spark, lake), _new_metrics(batch_id),
        direct=lake.fmt == "delta" and cfg.engine == "sail",
        group_bytes=cfg.ingest.group_bytes,
        codec=BRONZE_CODEC if cfg.engine == "sail" else None,
    )  # fmt: skip
    _skip_unknown_landing(landing, b.metrics)
    for dataset in DATASETS:
        readable = _list_dataset(b, dataset)
        if readable:
            _ingest_dataset(b, dataset, readable)
    progress.close()
    _run_vendor(
        spark, lake, landing, batch_id, at, limits, staging, dq,
        b.loaded, b.metrics, b.file_rows, progress, b.failures,
    )  # fmt: skip
    return _finish(b, t0)


def _skip_unknown_landing(landing: str, metrics: dict) -> None:
    """Names at the top of the landing zone that are no dataset folder: skipped, with a reason."""
    for name in sorted(os.listdir(landing)) if os.path.isdir(landing) else []:
        if name not in KNOWN_LANDING and not name.startswith((".", "_")):
            why = (
                "unknown landing folder (known: " + ", ".join(sorted(KNOWN_LANDING)) + ")"
                if os.path.isdir(os.path.join(landing, name))
                else "file at the top of the landing zone (put it in a dataset folder)"
            )
            log.warning("landing: skipping %s: %s", name, why)
            metrics["files_skipped"].append({"file": name, "reason": why})


def _list_dataset(b: _Batch, dataset: str) -> list[LandingFile]:
    """The dataset's new files that can be read; the unreadable (rejected) and empty ones are
    recorded in the files log here."""
    metrics = b.metrics
    detail: list = []
    files, unknown = list_files(b.landing, dataset, detail)
    metrics["unknown_files"] += unknown
    metrics["files_skipped"] += [{"file": rel, "reason": why} for rel, why in detail]
    new = _count_skipped(metrics, files, b.loaded)
    metrics["rows_loaded"][dataset] = 0
    metrics["rows_quarantined"][dataset] = 0
    metrics["files_new"] += len(new)
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
            b.file_row(dataset, f, 0, 0, "rejected", f.problem)
        elif f.empty:
            log.warning(
                "landing/%s: %s holds no records (empty, blank or header only)",
                dataset,
                f.relpath,
            )
            metrics["files_empty"].append(f.relpath)
            b.file_row(dataset, f, 0, 0, "loaded", "no records")
    return [f for f in new if not f.problem and not f.empty]


def _ingest_dataset(b: _Batch, dataset: str, readable: list[LandingFile]) -> None:
    """Read, check, gate and append one dataset's new readable files, and record them."""
    b.progress(f"ingest {dataset}: {len(readable)} new file(s)")
    good, bad, good_dir, clean = _checked(b, dataset, readable)
    # rows per file, for the gate's per-file expectations and the files log: what this batch
    # commits to bronze and quarantine is these rows (less those of rejected files)
    counts = file_counts(good, None if clean else bad, "_source_file")
    # each file is judged by its own records: a file over the quarantine share is rejected
    # alone (its bad records still go to quarantine); the others go on to the table's gate
    try:
        rejected = b.dq.check_files(f"bronze/{dataset}", good, bad, counts=counts)
        good = b.dq.check(f"bronze/{dataset}", _without(good, rejected), materialize=False)
    except DataQualityError as exc:
        # no file can be blamed: nothing of these files is written or recorded, so the next
        # run reads them again; the batch's other datasets still commit
        b.failures.append(exc)
        b.metrics["files_held_back"] += [f.relpath for f in readable]
        return
    # a clean batch's quarantine is an empty frame made here: no staged copy to validate
    bad = b.dq.check(QUARANTINE, bad, materialize=False if clean else None)
    if good_dir and not rejected:
        _commit_files(b, f"bronze/{dataset}", good, good_dir)
    elif len(rejected) < len(readable):
        b.lake.append(good, f"bronze/{dataset}")
    b.lake.append(bad, QUARANTINE)
    _record_dataset(b, dataset, readable, rejected, counts)


def _bronze_columns(dataset: str) -> list:
    """A dataset's bronze columns in the table's order: contract fields as received, ``_extra``,
    lineage and, for interactions, the vendor columns (null for native rows)."""
    cols = [*as_received(contract(dataset)), F.col("_extra"), *[F.col(c) for c in LINEAGE]]
    if dataset == "interactions":
        cols += [F.expr(sql).alias(c) for c, sql in VENDOR_EVENT_COLUMNS.items()]
    return cols


def _bronze_names(dataset: str) -> list[str]:
    """The names of :func:`_bronze_columns`, in order (known here: no query for the schema)."""
    names = [*contract(dataset).names, "_extra", *LINEAGE]
    return names + (list(VENDOR_EVENT_COLUMNS) if dataset == "interactions" else [])


def _checked(
    b: _Batch, dataset: str, readable: list[LandingFile]
) -> tuple[DataFrame, DataFrame, str | None, bool]:
    """(good rows, quarantine rows, folder of the good rows' Parquet files, whether no row is
    quarantined: a clean batch) of a dataset's files.

    The records are parsed and checked once, in one write per group of landing files
    (:func:`landing_groups`, :func:`_split_write`) that splits them by their problems: good
    rows as bronze's columns, bad rows with their problems and text (quarantine and its line
    number need it; bronze does not). The good rows' files are written in bronze's shape so that they can
    become the table's data files as they are (:func:`_commit_files`) once the gate passes:
    they are written once and never copied. Their two quarantine columns hold nulls, which
    readers of the table never see (a Delta table's rows are read by its schema). The
    quarantine frame is staged too (Sail evaluates its element_at before the filter inside the
    gate's aggregations)."""
    spark, staging = b.spark, b.staging
    preps = {f.relpath: prepare(f, staging) for f in readable}
    groups = landing_groups([f.size for f in readable], b.group_bytes)
    staged = os.path.join(staging, f"checked-{dataset}")
    if max(groups, default=0) == 0:  # one group: the layout of a single write
        split = _split_write(b, dataset, readable, preps, staged, "")
    else:
        # one write per group, each over its own files' scan: one partitioned write over
        # every group kept a Parquet writer open per group to the end, each holding its
        # unflushed rows (ingest's memory grew with the batch: 4.9 GB at 50M)
        for g in range(max(groups) + 1):
            part = [f for f, x in zip(readable, groups) if x == g]
            out = os.path.join(staging, f"checked-{dataset}-{g}")
            split = _split_write(b, dataset, part, preps, out, f"-{g}")
            for v in ("good", "bad"):
                src = os.path.join(out, f"{SPLIT}={v}")
                if os.path.isdir(src):
                    os.makedirs(os.path.join(staged, f"{SPLIT}={v}"), exist_ok=True)
                    os.rename(src, os.path.join(staged, f"{SPLIT}={v}", f"{GROUP}={g}"))
    by_group = [GROUP] if max(groups, default=0) > 0 else []
    names = _bronze_names(dataset)
    good_dir, bad_dir = (os.path.join(staged, f"{SPLIT}={v}") for v in ("good", "bad"))
    # reading a folder of group folders adds the group column (partition discovery): dropped
    parts = {
        d: spark.read.parquet(d).drop(*by_group) for d in (good_dir, bad_dir) if _has_parquet(d)
    }
    if not parts:  # no row at all (every file held only blank lines the scan drops)
        parts[bad_dir] = split.drop(SPLIT, *by_group).limit(0)
    any_part = next(iter(parts.values()))
    good = parts.get(good_dir, any_part.limit(0)).select(*names)
    bad = _quarantined(b, dataset, readable, preps, parts.get(bad_dir), any_part)
    clean = bad is None
    if clean:
        bad = spark.createDataFrame([], QUARANTINE_TYPE)
    direct = b.direct and good_dir in parts
    return good, bad, good_dir if direct else None, clean


def _quarantined(
    b: _Batch, dataset: str, readable, preps: dict, bad_in: DataFrame | None, any_part: DataFrame
) -> DataFrame | None:
    """The quarantine rows of a dataset's files, staged as Parquet: the checked write's bad
    rows (``bad_in``, None when it wrote none) with their line numbers, and the records set
    aside while staging. None of either (a clean batch): None, with no line to look up and
    nothing to stage."""
    spark = b.spark
    extras = [_staged_bad(spark, dataset, f, preps[f.relpath], b.batch_id, b.at) for f in readable]
    extras = [x for x in extras if x is not None]
    if bad_in is None and not extras:
        return None
    bad_in = bad_in if bad_in is not None else any_part.limit(0)
    if dataset == "interactions":  # bronze's vendor line column, not the landing line
        bad_in = bad_in.drop("_line")
    _, bad = split_records(_line_numbers(spark, bad_in, preps), dataset)
    for extra in extras:
        bad = bad.unionByName(extra)
    bad_staged = os.path.join(b.staging, f"quarantine-{dataset}")
    bad.write.mode("overwrite").parquet(bad_staged)
    bad = spark.read.parquet(bad_staged)
    if not bad.columns:  # no bad record: the engine wrote no file (and no schema)
        bad = spark.createDataFrame([], QUARANTINE_SCHEMA)
    return bad


def _split_write(
    b: _Batch, dataset: str, files: list[LandingFile], preps: dict, out: str, tag: str
) -> DataFrame:
    """Parse and check ``files`` in one scan per kind of prepared file (not one plan per file,
    each row keyed to its file) and write them once to ``out``, partitioned good/bad (a
    partition column, so the parse is not evaluated once per branch). Returns the split frame
    (bronze's columns first)."""
    spark = b.spark
    farm = os.path.join(b.staging, f"files-{dataset}{tag}")
    scanned = read_batch(spark, dataset, [preps[f.relpath] for f in files], farm)
    records = _with_lineage(spark, scanned, files, b.batch_id, b.at)
    # read_batch gives every row its _json_typed: no query for the columns (check_records)
    checked = with_problems(records, contract(dataset), b.limits)
    is_bad = F.size("_problems") > 0
    split = checked.select(
        *_bronze_columns(dataset),
        F.when(is_bad, F.col("_problems")).alias("_problems"),
        F.when(is_bad, F.col("_raw")).alias("_raw"),
        F.when(is_bad, F.lit("bad")).otherwise(F.lit("good")).alias(SPLIT),
    )
    writer = split.write.mode("overwrite").option("max_row_group_size", BRONZE_ROW_GROUP_ROWS)
    if b.codec:
        writer = writer.option("compression", b.codec)
    writer.partitionBy(SPLIT).parquet(out)
    return split


def _parquet_files(folder: str) -> list[str]:
    """Paths of the Parquet files in ``folder`` and its group folders (:data:`GROUP`), sorted."""
    return sorted(
        os.path.join(root, n)
        for root, _, names in os.walk(folder)
        for n in names
        if n.endswith(".parquet")
    )


def _has_parquet(folder: str) -> bool:
    return os.path.isdir(folder) and bool(_parquet_files(folder))


def _commit_files(b: _Batch, table: str, good: DataFrame, folder: str) -> None:
    """Append the Parquet files in ``folder`` (written in ``table``'s shape by
    :func:`_checked`, then gated) to the Delta table as they are: moved into the table's
    folder, then one commit adding them (delta-rs), so the rows are written once. Until that
    commit the moved files are no part of any table version: a run stopped before it leaves
    the table as it was (the next run loads the files again). A table that does not exist yet
    is first created empty by the engine (its schema as the engine writes it): a run stopped
    between the two commits leaves an empty table, which holds what the lake held before."""
    import json

    import pyarrow.parquet as pq
    from deltalake import DeltaTable
    from deltalake.transaction import AddAction

    lake, path = b.lake, b.lake.path(table)
    if not lake.exists(table):
        lake.append(good.limit(0), table)  # a local frame's schema would carry metadata
    dt = DeltaTable(path)
    proto = dt.protocol()
    if proto.min_writer_version > 2 or proto.writer_features:
        # a table with writer features (e.g. made by another engine): its own writer appends
        lake.append(good, table)
        return
    actions = []
    # one file per group of landing files (:func:`landing_groups`); the group folders' names
    # carry the group column, which the files themselves do not hold
    for src in _parquet_files(folder):
        dest = f"{COMMITTED_PREFIX}{b.batch_id}-{uuid.uuid4().hex}.parquet"
        os.replace(src, os.path.join(path, dest))
        st = os.stat(os.path.join(path, dest))
        rows = pq.read_metadata(os.path.join(path, dest)).num_rows
        stats = json.dumps({"numRecords": rows})
        actions.append(AddAction(dest, st.st_size, {}, int(st.st_mtime * 1000), True, stats))
    dt.create_write_transaction(actions, mode="append", schema=dt.schema())


def _record_dataset(b: _Batch, dataset: str, readable, rejected: dict, counts) -> None:
    """Files-log rows and row counts of a dataset's files, from what this batch committed:
    ``counts`` (:func:`.quality.frames.file_counts` of the checked good and bad rows), the
    good rows of rejected files left out."""
    good_counts, bad_counts = counts
    loaded_counts = {f: n for f, n in good_counts.items() if f not in rejected}
    for f in readable:
        why = rejected.get(f.relpath)
        n_bad = bad_counts.get(f.relpath, 0)
        if why:
            _reject_by_gate(b.metrics, f, dataset, why, n_bad)
        rows = 0 if why else loaded_counts.get(f.relpath, 0)
        b.file_row(dataset, f, rows, n_bad, "rejected" if why else "loaded", why)
    b.metrics["rows_loaded"][dataset] = sum(loaded_counts.values())
    b.metrics["rows_quarantined"][dataset] = sum(bad_counts.values())


def _finish(b: _Batch, t0: float) -> dict:
    """Seats, the files log (written last: it commits the batch), outputs and gate results;
    exit 3 after the commit when a gate rejected a file or failed a table."""
    spark, lake, metrics = b.spark, b.lake, b.metrics
    metrics["seats"] = seats.ingest(spark, lake, b.landing, b.batch_id, b.at, b.dq, b.failures)
    b.dq.flush()  # the gates' results recorded before the files log commits the batch
    if b.file_rows:
        lake.append(spark.createDataFrame(b.file_rows, FILES_LOG_SCHEMA), FILES_LOG)
    metrics["outputs"] = {t: lake.version(t) for t in BRONZE_TABLES + [QUARANTINE, FILES_LOG]}
    metrics.update(b.dq.finish())
    metrics["seconds"] = round(time.time() - t0, 2)
    if metrics["files_rejected_by_gate"] or b.failures:
        # exit 3 (a gate failed), but only after the batch's good files are committed
        err = _gate_error(spark, lake, b.batch_id, b.landing, metrics, b.failures)
        err.metrics = metrics  # type: ignore[attr-defined]
        raise err
    return metrics


def _reject_by_gate(metrics: dict, f, dataset: str, why: str, n_quarantined: int) -> None:
    log.warning(
        "landing: rejecting %s: %s (recorded as rejected; its records are in bronze/quarantine; "
        "retried when its content changes)",
        f.relpath,
        why,
    )
    entry = {"file": f.relpath, "reason": why, "dataset": dataset, "quarantined": n_quarantined}
    metrics["files_rejected"].append({"file": f.relpath, "reason": why})
    metrics["files_rejected_by_gate"].append(entry)


def _gate_error(spark, lake, batch_id, landing, metrics, failures) -> DataQualityError:
    """The data-quality error of a committed batch: each file the gate rejected (alone), with
    its reason, where it belongs when it looks like a vendor export, and the top reasons of its
    quarantine; what the batch loaded; then any gate failure no file could be blamed for."""
    rejected = metrics["files_rejected_by_gate"]
    reasons = []
    if rejected and lake.exists(QUARANTINE):
        q = lake.read(spark, QUARANTINE).where(F.col("_batch_id") == batch_id)
        q = q.where(F.col("_source_file").isin([r["file"] for r in rejected]))
        reasons = [
            (r.reason, r.n)
            for r in q.groupBy("reason")
            .agg(F.count("*").alias("n"))
            .orderBy(F.desc("n"), "reason")
            .limit(5)
            .collect()
        ]
    loaded = sum(metrics["rows_loaded"].values())
    return vin.rejected_files_error(
        rejected,
        reasons,
        landing,
        loaded_rows=loaded,
        loaded_files=metrics["files_new"]
        - len(metrics["files_rejected"])
        - len(metrics["files_held_back"])
        - len(metrics["files_empty"]),
        held=metrics["files_held_back"],
        failures=failures,
    )


def _directory_orgs(spark: SparkSession, lake: Lake) -> set[str] | None:
    """Org ids of the directory (bronze, this batch's rows included, and silver), or None when
    the lake holds no directory yet (then org folder names cannot be checked against it)."""
    found = None
    for table in ("bronze/directory", "silver/directory"):
        if lake.exists(table):
            rows = lake.read(spark, table).select(F.trim("org_id").alias("o")).distinct().collect()
            found = (found or set()) | {r.o for r in rows if r.o}
    return found


def _run_vendor(
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
    failures,
) -> None:
    """Vendor exports and identity maps (see :mod:`theater.sources.exports.reader`), in the same
    batch: their files-log rows are appended with the native ones by the caller. Each file is
    judged alone: one that cannot be decoded, or is not placed in a known org's folder, or
    whose own quarantine share fails the gate, is rejected by itself and the others load."""
    files, skipped = vin.list_vendor_files(landing)
    metrics["files_skipped"] += [{"file": rel, "reason": why} for rel, why in skipped]
    metrics["unknown_files"] += [rel for rel, _ in skipped]
    metrics.setdefault("rows_vendor", {})
    metrics.setdefault("org_folders_rejected", [])
    new = _count_skipped(metrics, files, loaded)
    metrics["files_new"] += len(new)
    if not new:
        return
    progress(f"ingest vendor exports: {len(new)} new file(s)")
    known_orgs = _directory_orgs(spark, lake)
    folders, ok, rejected = vin.stage(new, os.path.join(staging, "vendor"), known_orgs=known_orgs)
    for f, why in rejected:
        metrics["files_rejected"].append({"file": f.relpath, "reason": why})
        if f.vendor_org is not None and vin.org_name_problem(f.vendor_org, known_orgs):
            metrics["org_folders_rejected"].append({"file": f.relpath, "org": f.vendor_org})
        file_rows.append(_vendor_file_row(f, batch_id, at, 0, 0, why))
    if not ok:
        return
    empty_q = spark.createDataFrame([], QUARANTINE_SCHEMA)
    bad = (
        vin.quarantine_frame(spark, folders["quarantine"], batch_id, at)
        if "quarantine" in folders
        else empty_q
    )
    frames: dict[str, DataFrame] = {}
    by_gate: dict[str, str] = {}  # file -> reason: rejected alone by a per-file expectation
    held: set[str] = set()  # files of a table whose gate failed as a whole: not recorded
    if "interactions" in folders:
        events, events_bad = vin.event_frames(
            spark, folders["interactions"], batch_id, at, limits, check_records
        )
        events_bad_path = os.path.join(staging, "vendor-checked-quarantine")
        events_bad.write.mode("overwrite").parquet(events_bad_path)
        events_bad = spark.read.parquet(events_bad_path)
        if not events_bad.columns:
            events_bad = empty_q
        event_files = sorted(f.relpath for f in ok if f.fmt and vendor_grain(f.fmt) == "event")
        related = bad.where(F.col("_source_file").isin(event_files)).unionByName(events_bad)
        try:
            by_gate = dq.check_files("bronze/interactions", events, related)
            frames["interactions"] = dq.check("bronze/interactions", _without(events, by_gate))
        except DataQualityError as exc:
            failures.append(exc)
            held |= set(event_files) - set(by_gate)
        bad = bad.unionByName(events_bad)
    for table in vin.VENDOR_TABLES:
        if table in folders:
            df = _without(vin.bronze_frame(spark, folders[table], table, batch_id, at), by_gate)
            try:
                frames[table] = dq.check(f"bronze/{table}", df)
            except DataQualityError as exc:
                failures.append(exc)
                held |= {r._source_file for r in df.select("_source_file").distinct().collect()}
    metrics["files_held_back"] += sorted(held)
    for table, df in frames.items():
        lake.append(_without(df, held), f"bronze/{table}")
    bad = dq.check(QUARANTINE, _without(bad, held))
    lake.append(bad, QUARANTINE)
    _record_vendor_files(spark, lake, batch_id, at, ok, held, by_gate, metrics, file_rows)


def _vendor_file_row(f, batch_id: str, at, rows: int, quarantined: int, why: str | None) -> tuple:
    """The files-log row of one vendor file (``why``: the reason it was rejected, else None)."""
    status = "rejected" if why else "loaded"
    fmt = f.fmt or "csv"
    return (
        f.dataset,
        f.relpath,
        f.sha256,
        f.size,
        fmt,
        batch_id,
        at,
        rows,
        quarantined,
        status,
        why,
    )


def _record_vendor_files(spark, lake, batch_id, at, ok, held, by_gate, metrics, file_rows):
    """The files-log rows and row counts of the vendor files this batch wrote (those of a table
    whose gate failed as a whole, ``held``, are not recorded: the next run takes them again)."""
    counts: dict[str, dict[str, int]] = {}
    for table in ["interactions", *vin.VENDOR_TABLES]:
        by_file = _counts_by_file(spark, lake, f"bronze/{table}", batch_id)
        for rel, n in by_file.items():
            counts.setdefault(rel, {})[table] = n
    q_counts = _counts_by_file(spark, lake, QUARANTINE, batch_id)
    recorded = [f for f in ok if f.relpath not in held]
    for f in recorded:
        why = by_gate.get(f.relpath)
        if why:
            _reject_by_gate(metrics, f, f.dataset, why, q_counts.get(f.relpath, 0))
        c = counts.get(f.relpath, {})
        file_rows.append(
            _vendor_file_row(f, batch_id, at, sum(c.values()), q_counts.get(f.relpath, 0), why)
        )
        for table, n in c.items():
            key = f"{f.dataset}:{table}"
            metrics["rows_vendor"][key] = metrics["rows_vendor"].get(key, 0) + n
        qkey = f"{f.dataset}:quarantined"
        metrics["rows_vendor"][qkey] = metrics["rows_vendor"].get(qkey, 0) + q_counts.get(
            f.relpath, 0
        )
    metrics["rows_loaded"]["vendor"] = sum(
        sum(counts.get(f.relpath, {}).values()) for f in recorded
    )
    metrics["rows_quarantined"]["vendor"] = sum(q_counts.get(f.relpath, 0) for f in recorded)


def vendor_grain(fmt: str) -> str:
    return FORMATS[fmt].grain

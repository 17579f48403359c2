"""Refine: bronze -> silver.

- silver/interactions: one row per (tool, event_id), the latest delivery; timestamps in UTC;
  users pseudonymized (HMAC-SHA256, key from THEATER_PSEUDONYM_KEY); org resolved from the
  directory as of the event date when missing; sessions. The period's rows are replaced in one
  commit (the checked staged copy's files in place of the period's, or a replaceWhere on the
  period plus events moved in from another period: see ``_publish_interactions``), so
  re-running a period replaces exactly that period.
- silver/directory, silver/work_items, silver/policies: typed, pseudonymized, deduplicated
  (small reference tables, rewritten whole in one commit).
- Vendor exports (``transforms/vendor.py``): vendor identities resolve to the directory user_id
  through ``bronze/identities`` before pseudonymization (unmapped and shared identities never
  reach silver; counted in ``ops/identity_coverage`` and the metrics); vendor events join the
  native path above (``source_format`` kept), ``bronze/interaction_updates`` folded into their
  prompts; ``silver/user_days`` and ``silver/org_days`` replace exactly the period's days.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .. import keycheck, quality
from ..bronze import FILES_LOG, IDENTITIES_SCHEMA, bronze_or_empty, read_committed
from ..buckets import (
    SCRATCH_CODEC,
    bucket_count,
    bucket_of,
    file_groups,
    materialize,
    read_bucket,
    user_bucket,
    write_partitioned,
)
from ..config import Config, ConfigError
from ..contracts import contract
from ..lake import Lake, staged_files
from ..period import Period
from ..transforms import vendor
from ..transforms.contract import parse_timestamp, typed
from ..transforms.refine import (
    CONTENT_HASH,
    content_hash,
    latest_delivery,
    normalize_identity,
    pseudonym,
    pseudonym_mapping,
    repeated_keys,
    resolve_org,
    row_hash,
    sessionize,
    split_repeated,
    with_pseudonyms,
)
from . import seats

log = logging.getLogger(__name__)


SILVER_INTERACTION_COLUMNS = [
    "event_id",
    "tool",
    "event_ts",
    "event_date",
    "user_key",
    "org_id",
    "org_source",
    "action",
    "session_id",
    "session_key",
    "prompt_fingerprint",
    "prompt_tokens",
    "completion_tokens",
    "model",
    "output_disposition",
    "dwell_ms",
    "artifact_id",
    "artifact_author_key",
    "artifact_modified_ts",
    "work_item_id",
    "source_format",
    "cost_usd",
    "_source_file",
    "_ingested_at",
    "_batch_id",
]
VENDOR_COLUMNS = ("source_format", "user_alias_kind")
#: an interaction's key: silver has one row per key, its latest delivery
EVENT_KEY = ["tool", "event_id"]
#: the vendor's own cost of an export event (USD); null for native events (no cost in the
#: landing contract) and for bronze written before it existed
COST = "cost_usd"


def _typed(bronze: DataFrame, dataset: str, extra: tuple[str, ...] = ()) -> DataFrame:
    """Re-type bronze's as-received strings with the contract (same rules as ingest);
    ``extra`` columns pass through unchanged."""
    c = contract(dataset)
    lineage = [x for x in ("_source_file", "_ingested_at", "_batch_id") if x in bronze.columns]
    return bronze.select(
        *typed(c), *extra, *lineage, content_hash(list(c.names)).alias(CONTENT_HASH)
    )


def clean_directory(bronze: DataFrame, key: bytes) -> DataFrame:
    d = _typed(bronze, "directory")
    return d.select(
        pseudonym(F.col("user_id"), key).alias("user_key"),
        "org_id",
        "org_name",
        "parent_org_id",
        "role",
        "valid_from",
        "valid_to",
    ).dropDuplicates(["user_key", "org_id", "valid_from", "valid_to"])


def clean_policies(bronze: DataFrame) -> DataFrame:
    p = _typed(bronze, "policies")
    return p.select(
        "org_id", "kind", "start_date", "end_date", "weekly_quota", "note"
    ).dropDuplicates(["org_id", "kind", "start_date", "end_date", "weekly_quota"])


#: a work item's key: silver has one row per key, its latest delivery
WORK_ITEM_KEY = ["work_item_id"]


def clean_work_items(bronze: DataFrame, key: bytes) -> DataFrame:
    """Typed, latest delivery per work item, pseudonymized. As for the interactions
    (:func:`clean_interactions`), the latest-delivery window runs over the rows of repeated
    keys only: the engine's sort of every row was about 1.1 of 1.7 CPU s of this plan at 4M
    (319,294 work items, none repeated)."""
    repeated = repeated_keys(bronze, WORK_ITEM_KEY)
    if not repeated.take(1):
        w = _typed(bronze, "work_items")
    else:
        once, again = split_repeated(bronze, WORK_ITEM_KEY, repeated)
        w = _typed(once, "work_items").unionByName(
            _typed(again, "work_items").transform(latest_delivery(WORK_ITEM_KEY))
        )
    return w.select(
        "work_item_id",
        pseudonym(F.col("user_id"), key).alias("user_key"),
        "org_id",
        "kind",
        "opened_ts",
        "closed_ts",
        "reopened_count",
        "escalated",
    )


def clean_interactions(
    bronze: DataFrame,
    key: bytes,
    resolve: Callable[[DataFrame], DataFrame] | None = None,
    mapping: DataFrame | None = None,
) -> DataFrame:
    """Typed, latest delivery per (tool, event_id), pseudonymized; no org or sessions yet.

    ``resolve`` turns bronze rows into the rows that may reach silver, vendor rows with
    ``user_id`` resolved to the directory user_id (``resolve_vendor_identities`` after
    ``vendor.resolve_identities``); None: ``bronze`` is that already. ``source_format`` (null
    for native rows) is kept.

    The latest delivery is a window by (tool, event_id), the engine's sort of the full rows
    (about 5.5 CPU s at 1M rows, Sail 0.7), though most events have one delivery. So the keys
    with more than one bronze row are found first from the key columns alone
    (``repeated_keys``), and the window runs over those keys' rows only; the other rows are
    their key's only row, the one the window would keep. A key is split off before
    ``resolve``, which only drops rows: a key with one bronze row has at most one resolved
    row. When no key repeats (one action on the narrow aggregate), there is no window.

    ``mapping``: the pseudonyms of (a superset of) the resolved rows' identities
    (:func:`pseudonym_identities`); None: computed from ``bronze`` inside this plan."""
    resolve = resolve or (lambda df: df)
    bronze = with_vendor_columns(bronze)
    resolved = resolve(bronze)
    identities = None if mapping is not None else _identities(resolved)

    def typed_rows(rows: DataFrame) -> DataFrame:
        return _typed(rows, "interactions", ("source_format", COST))

    repeated = repeated_keys(bronze, EVENT_KEY)
    if not repeated.take(1):
        latest = typed_rows(resolved)
    else:
        once, again = split_repeated(bronze, EVENT_KEY, repeated)
        latest = typed_rows(resolve(once)).unionByName(
            typed_rows(resolve(again)).transform(latest_delivery(EVENT_KEY))
        )
    i = latest.transform(
        with_pseudonyms(
            key,
            {"user_id": "user_key", "artifact_author_id": "artifact_author_key"},
            identities,
            mapping,
        )
    )
    derived = {
        "event_date": F.to_date("event_ts").alias("event_date"),
        "org_id": F.when(F.trim("org_id") != "", F.trim("org_id")).alias("org_id"),
        COST: F.col(COST).cast("double").alias(COST),
    }
    # silver's columns but the two the later steps add (the org's source, the session key)
    later = ("org_source", "session_key")
    return i.select(*(derived.get(c, c) for c in SILVER_INTERACTION_COLUMNS if c not in later))


def _identities(resolved: DataFrame) -> DataFrame:
    """The identities (``_id``) of resolved interaction rows that silver pseudonymizes."""
    return resolved.select(F.col("user_id").alias("_id")).unionByName(
        resolved.select(F.col("artifact_author_id").alias("_id"))
    )


def pseudonym_identities(
    spark: SparkSession, bronze: DataFrame, resolve, key: bytes, path: str
) -> DataFrame:
    """The pseudonyms of every identity of ``bronze``'s rows as resolved by ``resolve``
    (``_events``' resolution), written once under ``path`` and read back.

    Computed inside the event plan, the mapping was the larger side of its two joins by the
    engine's estimate (a distinct over a union of two scans is estimated at their rows), so
    the engine built its hash tables on the interactions: each join held every interaction
    row before it gave one back, twice, and computed the mapping again (two more scans of
    bronze's identity columns). Read from Parquet, the mapping's row count is exact (a few
    thousand rows): the engine builds on it and the interactions stream through both joins.
    One mapping serves every event bucket (a superset of a bucket's identities: the same
    keys). It holds raw identifiers, like the bronze copy of :func:`_event_rows`: it is removed
    with the run's staging, and by the next run if this one dies."""
    rows = with_vendor_columns(bronze)
    resolved = resolve_vendor_identities(rows.transform(resolve))
    return materialize(spark, pseudonym_mapping(_identities(resolved), key), path)


def with_vendor_columns(bronze: DataFrame) -> DataFrame:
    """``bronze/interactions`` of a lake written before vendor exports: null vendor columns."""
    for c in VENDOR_COLUMNS:
        if c not in bronze.columns:
            bronze = bronze.withColumn(c, F.lit(None).cast("string"))
    if COST not in bronze.columns:
        bronze = bronze.withColumn(COST, F.lit(None).cast("double"))
    return bronze


def resolve_vendor_identities(resolved: DataFrame) -> DataFrame:
    """Rows of ``resolve_identities`` that may reach silver (native, or vendor rows resolved to
    a directory user_id), with ``user_id`` = that user_id and the helper columns dropped."""
    return (
        resolved.where(F.col("_identity_status").isin("native", *vendor.RESOLVED))
        .withColumn("user_id", F.col("_resolved_id"))
        .drop("_resolved_id", "_identity_status", "_alias_norm", "user_alias_kind")
    )


def _native_identities(rows: DataFrame) -> DataFrame:
    """``vendor.resolve_identities`` of bronze rows that are all native (no
    ``source_format``): status ``native``, each row's own id. Its three joins (the mapping,
    the directory's ids, the ids mappings point to) leave native rows as they are, yet the
    engine probed them for every row of every scan: about 4.3 of 11.9 CPU s of one event
    bucket of 1.43M rows at 10M (benchmarks/RESULTS.md, "refine at 10M, the identity joins")."""
    return (
        rows.withColumn("_alias_norm", normalize_identity(F.col("user_id")))
        .withColumn("_identity_status", F.lit("native"))
        .withColumn("_resolved_id", F.col("user_id"))
    )


def _upgrade_silver_interactions(spark: SparkSession, lake: Lake) -> None:
    """silver/interactions written before vendor exports or their cost: add ``source_format``
    and ``cost_usd`` (null) and clear ``_row_hash`` so that the next MERGE rewrites every row
    it sees (one overwrite, once)."""
    if not lake.exists("silver/interactions"):
        return
    df = lake.read(spark, "silver/interactions")
    missing = {"source_format": "string", COST: "double"}
    missing = {c: t for c, t in missing.items() if c not in df.columns}
    if not missing:
        return
    log.warning(
        "silver/interactions: adding column(s) %s (lake written by an older version); rows "
        "are rewritten by this run's MERGE",
        ", ".join(missing),
    )
    for c, t in missing.items():
        df = df.withColumn(c, F.lit(None).cast(t))
    lake.overwrite(
        df.withColumn("_row_hash", F.lit(None).cast("bigint")).select(
            *SILVER_INTERACTION_COLUMNS, "_row_hash"
        ),
        "silver/interactions",
    )


def _coverage_metrics(rows: list) -> dict:
    """{source_format: {aliases, mapped, unmapped, shared, rows_unmapped, rows_shared,
    ambiguous, conflicting, unknown_user, rows_ambiguous, rows_conflicting, several_aliases,
    by_kind: {alias_kind: {...}}}} from identity-coverage rows (``several_aliases`` of a
    format sums its kinds)."""
    out: dict = {}
    names = vendor.COVERAGE_COUNTS
    for r in rows:
        f = out.setdefault(r.source_format, {**{n: 0 for n in names}, "by_kind": {}})
        f["by_kind"][r.alias_kind or "unknown"] = {n: int(r[n]) for n in names}
        for n in names:
            f[n] += int(r[n])
    return out


def run(
    spark: SparkSession,
    cfg: Config,
    lake: Lake,
    period: Period,
    *,
    run_id: str | None = None,
    progress=log.info,
) -> dict:
    t0 = time.time()
    key = keycheck.pseudonym_key(cfg)
    if not lake.exists(FILES_LOG) and not any(lake.exists(t) for t in BRONZE_INPUTS):
        raise ConfigError(
            f"no bronze table and no {FILES_LOG} under {lake.root}: run the ingest stage "
            "first (theater run --stage ingest)"
        )
    for table in ("bronze/interactions", "bronze/directory", "bronze/user_days"):
        if not lake.exists(table):
            log.info("%s does not exist: refined as empty", table)
    # one key per lake: refused before any table is written, recorded before silver is
    keycheck.verify_written_key(spark, lake, key)
    keycheck.record(lake.root, key, any(lake.exists(t) for t in keycheck.KEYED_TABLES))

    dq = quality.Gate(spark, lake, cfg, "refine", run_id=run_id, period=period)
    progress("refine: directory, policies, work items")
    _refine_reference(spark, lake, dq, key)

    progress(f"refine: interactions {period}")
    directory = lake.read(spark, "silver/directory")
    # vendor identities -> directory user_id (raw only inside this plan: hashed before writing)
    idmap = vendor.identity_map(
        read_committed(spark, lake, "bronze/identities")
        if lake.exists("bronze/identities")
        else spark.createDataFrame([], IDENTITIES_SCHEMA)
    )
    dir_ids = vendor.directory_ids(bronze_or_empty(spark, lake, "directory"))
    cov = _Coverage(idmap=idmap, dir_ids=dir_ids)
    counts, orphans = _refine_interactions(
        spark, cfg, lake, period, dq, key, directory, idmap, dir_ids, cov
    )
    aggregates = _refine_aggregates(
        spark, lake, period, dq, key, directory, idmap, dir_ids, cov, progress
    )
    seat_metrics = seats.refine(spark, lake, key, idmap, dir_ids, dq)
    coverage = _write_identity_coverage(spark, lake, period, dq, cov)
    return {
        "inputs": {t: lake.version(t) for t in BRONZE_INPUTS},
        "outputs": {t: lake.version(t) for t in SILVER_OUTPUTS},
        "silver_interactions": counts.n,
        "unresolved_org": int(counts.unresolved or 0),
        "org_from_directory": int(counts.from_dir or 0),
        "orphan_updates": int(orphans),
        "identity_coverage": _coverage_metrics(coverage),
        **aggregates,
        **seat_metrics,
        **dq.finish(),
        "seconds": round(time.time() - t0, 2),
    }


BRONZE_INPUTS = (
    "bronze/interactions",
    "bronze/directory",
    "bronze/work_items",
    "bronze/policies",
    "bronze/identities",
    "bronze/interaction_updates",
    "bronze/user_days",
    "bronze/org_days",
)
SILVER_OUTPUTS = (
    "silver/interactions",
    "silver/directory",
    "silver/work_items",
    "silver/policies",
    "silver/user_days",
    "silver/org_days",
    "ops/identity_coverage",
)


@dataclass
class _Coverage:
    """Vendor identity rows seen by this refine, for ops/identity_coverage."""

    aliases: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    idmap: DataFrame | None = None  # to tell who an alias resolved to (several aliases)
    dir_ids: DataFrame | None = None

    def add(self, aliases: DataFrame, rows: DataFrame) -> None:
        self.aliases.append(aliases)
        self.rows.append(rows)


def _refine_reference(spark: SparkSession, lake: Lake, dq, key: bytes) -> None:
    """silver/directory, silver/policies and silver/work_items, rewritten whole."""
    # committed batches only: never rows of an ingest that crashed (or is still running)
    directory = clean_directory(bronze_or_empty(spark, lake, "directory"), key)
    directory = dq.check("silver/directory", directory)
    lake.overwrite(directory, "silver/directory")
    if lake.exists("bronze/policies"):
        policies = dq.check(
            "silver/policies", clean_policies(read_committed(spark, lake, "bronze/policies"))
        )
        lake.overwrite(policies, "silver/policies")
    if lake.exists("bronze/work_items"):
        work_items = dq.check(
            "silver/work_items",
            clean_work_items(read_committed(spark, lake, "bronze/work_items"), key),
        )
        lake.overwrite(work_items, "silver/work_items")


def _interaction_updates(spark, lake, period, bronze):
    """bronze/interaction_updates (None when absent) and how many of the period's belong to
    no prompt row of ``bronze`` (counted and logged, not turned into events)."""
    if not lake.exists("bronze/interaction_updates"):
        return None, 0
    updates = read_committed(spark, lake, "bronze/interaction_updates")
    orphans = vendor.orphan_updates(
        updates.where(period.ts_col(parse_timestamp(F.col("event_ts")))), bronze
    ).count()
    if orphans:
        log.warning(
            "%d interaction update(s) in %s belong to no prompt row: counted, "
            "not turned into events",
            orphans,
            period,
        )
    return updates, orphans


def _refine_interactions(
    spark, cfg, lake, period, dq, key, directory, idmap, dir_ids, cov: _Coverage
):
    """silver/interactions for the period (merge by tool/event_id); returns counts, orphans."""
    bronze = with_vendor_columns(bronze_or_empty(spark, lake, "interactions"))
    resolve = vendor.resolve_identities(idmap, dir_ids)
    # no vendor row in bronze (one column scanned): nothing to resolve, no joins per row
    if not bronze.where(F.col("source_format").isNotNull()).select("source_format").take(1):
        resolve = _native_identities
    resolved = bronze.transform(resolve)
    vendor_rows = (
        resolved.where(F.col("source_format").isNotNull())
        .where(period.ts_col(parse_timestamp(F.col("event_ts"))))
        .transform(latest_delivery(["tool", "event_id"]))
    )
    cov.add(
        vendor_rows.select("source_format", "user_alias_kind", "_alias_norm", "_identity_status"),
        vendor_rows.select("source_format", "user_alias_kind", "_identity_status"),
    )
    updates, orphans = _interaction_updates(spark, lake, period, bronze)
    gap = cfg.sessions.gap_minutes
    staging = lake.path(f"ops/_staging/refine-{dq.run_id}-{uuid.uuid4().hex[:8]}")
    try:
        n = _event_buckets(lake, resolved, period, cfg.scoring.bucket_rows)
        mapping = pseudonym_identities(
            spark, bronze, resolve, key, os.path.join(staging, "pseudonyms")
        )
        if n == 1:
            rows = _sessions(
                _events(bronze, resolve, updates, key, period, directory, mapping), gap
            )
            interactions = dq.check("silver/interactions", rows)
            # the gate hands back another frame only when it staged a copy
            staged = interactions is not rows
        else:
            staged = True  # the user pass's Parquet copy
            interactions = dq.check(
                "silver/interactions",
                _bucketed_interactions(
                    spark,
                    _event_rows(spark, lake, bronze, _as_is, n, staging),
                    resolve,
                    updates,
                    key,
                    period,
                    directory,
                    gap,
                    n,
                    staging,
                    mapping,
                ),
                materialize=False,
                key_buckets=n,
            )
        _upgrade_silver_interactions(spark, lake)
        # Delta on the embedded engine: the staged copy's files become the table's (see
        # ``_publish_interactions``); elsewhere the engine writes
        direct = staged and lake.fmt == "delta" and cfg.engine == "sail"
        _publish_interactions(spark, lake, interactions, period, dq.run_id if direct else None)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    silver = lake.read(spark, "silver/interactions").where(period.ts_col("event_ts"))
    counts = silver.agg(
        F.count("*").alias("n"),
        F.sum(F.col("org_id").isNull().cast("int")).alias("unresolved"),
        F.sum((F.col("org_source") == "directory").cast("int")).alias("from_dir"),
    ).collect()[0]
    return counts, orphans


def _event_buckets(lake: Lake, resolved: DataFrame, period: Period, bucket_rows: int) -> int:
    """Buckets for the period's interactions (``bucket_count`` of its resolved bronze rows).

    When bronze's Delta log says the whole table holds no more than ``bucket_rows`` rows, the
    period's rows (a subset: identity resolution joins one row at most to each) make one
    bucket, and the count, a pass over bronze (0.5 CPU s at 1M rows), is not needed."""
    bound = _rows_at_most(lake, "bronze/interactions")
    if bound is not None and bucket_count(bound, bucket_rows) == 1:
        return 1
    rows = resolved.where(period.ts_col(parse_timestamp(F.col("event_ts")))).count()
    return bucket_count(rows, bucket_rows)


def _rows_at_most(lake: Lake, table: str) -> int | None:
    """The rows of ``table`` by its Delta log's per-file record counts (no data read): 0 when
    it does not exist; None when unknown (not Delta, or a data file without the count)."""
    if not lake.exists(table):
        return 0
    if lake.fmt != "delta":
        return None
    from deltalake import DeltaTable

    counts = DeltaTable(lake.path(table)).get_add_actions(flatten=True).column("num_records")
    counts = counts.to_pylist()
    if any(c is None for c in counts):
        return None
    return int(sum(counts))


# Events moved into the period above this many: one MERGE instead of a replaceWhere (below).
MOVED_IN_LIMIT = 10_000
#: ``_moved_in`` searches a period of more rows than this in passes (its hash table: about
#: 70 bytes a row on Sail 0.7).
MOVED_IN_PASS_ROWS = 10_000_000


def _publish_interactions(
    spark, lake: Lake, interactions: DataFrame, period: Period, commit_tag: str | None = None
) -> None:
    """silver/interactions' rows of ``period`` replaced by ``interactions`` (the period's rows,
    one per event) in one commit.

    ``commit_tag`` (a run id) given, ``interactions`` is a staged Parquet copy (a plain read
    of its files, checked by the gate) and no event moved in: its files are moved into the
    table in place of the period's (:meth:`Lake.commit_staged`, one delta-rs commit) instead
    of being read and written again by the engine, which cost 16-18 CPU s of refine's 203-271
    at 10M against 1.5 of 20 at 1M (benchmarks/RESULTS.md, "refine at 10M, step by step").
    The slice is the period's ``event_date``, which is ``event_ts``'s UTC date: the same rows
    as the predicate on ``event_ts``. When the files cannot be committed so (see
    :meth:`Lake.commit_staged`), the engine writes them as below.

    A replaceWhere on the period, which the engine writes as it reads: a MERGE of the same rows
    held them all in memory (Sail 0.7, 1M rows: 4.1 GB against 1.0 GB; a 10M-row quarter
    re-run was killed at 18 GB). An event whose latest delivery moved into the period still
    has its row in the period it had before: those keys (``_moved_in``) join the predicate, so
    every event keeps one row. With more than ``MOVED_IN_LIMIT`` of them, one MERGE on (tool,
    event_id) does the same. An event moved out of the period leaves it; its new period gets
    it when that period is refined.
    """
    table = "silver/interactions"
    predicate = period.ts_sql("event_ts")
    moved = _moved_in(spark, lake, interactions, period) if lake.exists(table) else []
    if moved is None:
        log.warning(
            "more than %d events moved into %s from other periods: one MERGE (its memory "
            "follows the period's rows)",
            MOVED_IN_LIMIT,
            period,
        )
        lake.merge(
            interactions,
            table,
            on=["tool", "event_id"],
            update_condition="t._row_hash IS NULL OR t._row_hash <> s._row_hash",
            delete_unmatched_condition=period.ts_sql("t.event_ts"),
        )
        return
    if moved:
        log.info("%d event(s) moved into %s from other periods", len(moved), period)
        by_tool: dict[str, list[str]] = {}
        for tool, event_id in moved:
            by_tool.setdefault(tool, []).append(_sql_string(event_id))
        keys = " OR ".join(
            f"(tool = {_sql_string(t)} AND event_id IN ({', '.join(ids)}))"
            for t, ids in sorted(by_tool.items())
        )
        predicate = f"({predicate}) OR {keys}"
    elif commit_tag is not None:
        lake.remove_unlisted(table, keep=commit_tag)
        files = staged_files(interactions)
        why = lake.commit_staged(table, files, period.arrow_date("event_date"), commit_tag)
        if why is None:
            return
        log.info("%s: written by the engine (%s)", table, why)
    lake.replace_where(interactions, table, predicate)


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _moved_in(spark, lake: Lake, interactions: DataFrame, period: Period):
    """(tool, event_id) of the events in ``interactions`` whose silver row lies outside
    ``period``; None when there are more than ``MOVED_IN_LIMIT``. The large join is on a 64-bit
    hash of the key (8 bytes a row on each side); its few matches are checked by key.

    The join's hash table holds the period's distinct hashes, and all of silver streams past it
    with a flag for rows outside the period, so memory follows the period, not the lake's
    history. Filtering silver to the rows outside the period first would let the engine build
    on them instead: its estimate of that filter (a fifth of the table) is below the period's
    row count until the history is four times the period. The flag is compared in a condition
    on both sides' columns so that it stays in the join and is not pushed below it. A period of
    more than ``MOVED_IN_PASS_ROWS`` rows is searched in passes, one per slice of the hash
    range, each a scan of silver's keys, so that the table holds at most about that many
    hashes. Measured on the 50M lake with September as the period (17M rows against 33M in July
    and August; benchmarks/RESULTS.md, the 50M runs): 1,556 MB more RSS when built on the history,
    1,168 MB on the period, 556 MB in two passes (34 CPU s against 17)."""
    h = F.xxhash64("tool", "event_id").alias("_h")
    silver = lake.read(spark, "silver/interactions").select(
        h, F.when(~period.ts_col("event_ts"), 1).otherwise(0).alias("_outside")
    )
    ours = interactions.select(h).distinct().withColumn("_one", F.lit(1))
    passes = bucket_count(interactions.count(), MOVED_IN_PASS_ROWS)
    found: list[int] = []

    def part(df: DataFrame, i: int) -> DataFrame:
        return df if passes == 1 else df.where(bucket_of(passes, "_h") == i)

    for i in range(passes):
        hashes = (
            part(silver, i)
            .join(part(ours, i), "_h")
            .where(F.col("_outside") + F.col("_one") > 1)  # i.e. _outside = 1
            .select("_h")
            .distinct()
        )
        found += [r._h for r in hashes.limit(MOVED_IN_LIMIT + 1 - len(found)).collect()]
        if len(found) > MOVED_IN_LIMIT:
            break
    if len(found) > MOVED_IN_LIMIT:
        return None
    if not found:
        return []
    outside = lake.read(spark, "silver/interactions").where(~period.ts_col("event_ts"))
    cand = outside.select("tool", "event_id", h).where(F.col("_h").isin(found))
    keys = interactions.select("tool", "event_id").join(
        F.broadcast(cand.drop("_h")), ["tool", "event_id"], "left_semi"
    )
    return sorted((r.tool, r.event_id) for r in keys.distinct().collect())


def _events(rows, resolve, updates, key, period, directory, mapping=None):
    """The period's interactions, latest delivery per (tool, event_id), updates folded in,
    pseudonymized, org resolved: everything partitioned by the event, before sessions.
    ``rows``: bronze rows; ``resolve``: their vendor identity resolution; ``mapping``: their
    identities' pseudonyms (:func:`pseudonym_identities`; None: computed in the plan)."""
    interactions = clean_interactions(
        rows, key, lambda df: resolve_vendor_identities(df.transform(resolve)), mapping
    )
    if updates is not None:
        interactions = interactions.transform(vendor.fold_updates(updates))
    return interactions.where(period.ts_col("event_ts")).transform(resolve_org(directory))


def _sessions(events, gap_minutes: int):
    """Sessions (per user) and the row hash: the silver rows."""
    out = events.transform(sessionize(gap_minutes)).select(*SILVER_INTERACTION_COLUMNS)
    content = [c for c in SILVER_INTERACTION_COLUMNS if not c.startswith("_")]
    return out.withColumn("_row_hash", row_hash(content))


# From this many event buckets on, refine reads bronze once and writes its rows by event bucket
# (``_event_rows``) instead of reading all of bronze once per bucket. A bucket's plan reads its
# bronze rows several times (the repeated-key aggregate, the latest-delivery split, the identities
# to pseudonymize), so each filtered read of all of bronze is paid several times per bucket.
# Measured on a 10M quarter (benchmarks/RESULTS.md, "refine at 10M, step by step"): in 7 buckets
# the copy cost 41.6 CPU s (about 4 CPU s per million bronze rows) and cut the event buckets from
# 23-31 to 13-17 CPU s each, refine 270.8 -> 231.4 CPU s with the same outputs; in 5 buckets the
# event pass, copy included, took 127.7 CPU s against 145.6 (buckets of 17.5-19.4 against
# 26.8-32.4). Fewer buckets were not measured. The filtered reads grow with the square of the
# period, the copy linearly.
STAGE_BRONZE_FROM = 5


def _event_rows(
    spark, lake: Lake, bronze: DataFrame, resolve, n: int, staging: str
) -> Callable[[int | None], DataFrame | None]:
    """Event bucket ``b`` (0..n-1) of ``bronze`` (committed bronze/interactions rows), with
    ``resolve`` (vendor identity resolution) applied; None when no row hashes there. ``b`` None:
    all of bronze.

    Below ``STAGE_BRONZE_FROM`` buckets, or when bronze's data files read as plain Parquet are
    not its rows (``Lake.data_files``), a bucket is a filtered read of all of bronze. From there
    on, bronze is read once: its committed rows are written under ``staging`` partitioned by
    event bucket, one group of data files at a time (with the engine's default row groups a
    partitioned write held its whole input; ``buckets.write_partitioned`` now cuts them), and
    each bucket reads its own partition. The copy holds
    bronze's rows as they are (raw identifiers included), like ingest's staging: it is removed
    with the run's staging, and by the next run if this one dies.
    """

    def filtered(b: int | None) -> DataFrame:
        rows = bronze if b is None else bronze.where(bucket_of(n, "event_id") == b)
        return rows.transform(resolve)

    files = lake.data_files("bronze/interactions") if n >= STAGE_BRONZE_FROM else None
    if not files:
        return filtered
    path = os.path.join(staging, "bronze")
    groups = file_groups(files, n)
    for i, group in enumerate(groups):
        rows = with_vendor_columns(read_committed(spark, lake, "bronze/interactions", group))
        write_partitioned(
            rows.select(*bronze.columns),
            bucket_of(n, "event_id"),
            path,
            i > 0,
            files=n,
            compression=SCRATCH_CODEC,
        )
        log.info("refine: bronze by event bucket, data file group %d of %d", i + 1, len(groups))

    def part(b: int | None) -> DataFrame | None:
        if b is None:
            return filtered(None)
        rows = read_bucket(spark, path, b, bronze.schema)
        return None if rows is None else rows.transform(resolve)

    return part


def _as_is(df: DataFrame) -> DataFrame:
    return df


def _bucketed_interactions(
    spark, event_rows, resolve, updates, key, period, directory, gap, n, staging, mapping=None
):
    """The silver rows in two passes of ``n`` hash buckets each, so that memory follows a
    bucket, not the period: first by ``event_id`` (every delivery of an event and its updates
    share a bucket, so latest delivery, update folding and org resolution see all of them;
    ``event_rows(b)``: bucket ``b``'s bronze rows, ``_event_rows``, resolved by ``resolve``),
    written out by user bucket; then by user (sessions see all of a user's events). The same rows as one
    plan; the result is a staged Parquet copy under ``staging``."""
    events_dir = os.path.join(staging, "events")
    schema = None
    for b in range(n):
        part = event_rows(b)
        if part is not None:
            upd = updates.where(bucket_of(n, "event_id") == b) if updates is not None else None
            events = _events(part, resolve, upd, key, period, directory, mapping)
            write_partitioned(
                events,
                user_bucket(n),
                events_dir,
                append=schema is not None,
                files=n,
                compression=SCRATCH_CODEC,
            )
            schema = events.schema
        log.info("refine: interactions, event bucket %d of %d", b + 1, n)
    out = os.path.join(staging, "silver")
    written = None
    for b in range(n) if schema is not None else ():
        part = read_bucket(spark, events_dir, b, schema)
        if part is None:
            continue
        rows = _sessions(part, gap)
        rows.write.mode("append" if written is not None else "overwrite").parquet(out)
        written = rows.schema
        log.info("refine: interactions, user bucket %d of %d", b + 1, n)
    if written is None:  # no interaction in the period: an empty copy with the right columns
        rows = _events(event_rows(None), resolve, updates, key, period, directory, mapping)
        rows = _sessions(rows, gap)
        return materialize(spark, rows, out)
    return spark.read.schema(written).parquet(out)


def _refine_aggregates(
    spark, lake, period, dq, key, directory, idmap, dir_ids, cov: _Coverage, progress
) -> dict:
    """silver/user_days and silver/org_days for the period (replaced by day range)."""
    out: dict = {"orgs_from_export": {}, "user_days_without_org": {}}
    if lake.exists("bronze/user_days"):
        progress(f"refine: vendor user-days {period}")
        ud = vendor.resolved_user_days(
            read_committed(spark, lake, "bronze/user_days"), idmap, dir_ids
        ).where(period.date_col("_day"))
        cov.add(
            ud.select("source_format", "user_alias_kind", "_alias_norm", "_identity_status"),
            vendor.user_days_left_out(ud).select(
                "source_format", "user_alias_kind", "_identity_status"
            ),
        )
        cleaned = vendor.clean_user_days(ud, key, directory, with_source=True)
        orgs = _org_sources(cleaned)
        out["orgs_from_export"] = orgs["export"]
        out["user_days_without_org"] = orgs["none"]
        silver_ud = dq.check("silver/user_days", cleaned.drop("org_source"))
        lake.replace_where(silver_ud, "silver/user_days", period.date_sql("day"))
        out["silver_user_days"] = (
            lake.read(spark, "silver/user_days").where(period.date_col("day")).count()
        )
    if lake.exists("bronze/org_days"):
        progress(f"refine: vendor org-days {period}")
        od = read_committed(spark, lake, "bronze/org_days")
        od = od.where(period.date_col(F.to_date(F.col("day"))))
        silver_od = dq.check("silver/org_days", vendor.clean_org_days(od))
        lake.replace_where(silver_od, "silver/org_days", period.date_sql("day"))
        out["silver_org_days"] = (
            lake.read(spark, "silver/org_days").where(period.date_col("day")).count()
        )
    return out


def _org_sources(cleaned: DataFrame) -> dict:
    """From silver user-day rows with ``org_source``: {"export": {source_format: [orgs the
    export gave, no directory row covering them]}, "none": {source_format: rows without any
    org}}; warns, naming the fix, about rows nothing gives an org."""
    rows = (
        cleaned.where(F.col("org_source").isNull() | (F.col("org_source") == vendor.EXPORT))
        .groupBy("source_format", "org_source", "org_id")
        .agg(F.count("*").alias("n"))
        .collect()
    )
    export: dict = {}
    none: dict = {}
    for r in rows:
        if r.org_source == vendor.EXPORT:
            export.setdefault(r.source_format, set()).add(r.org_id)
        else:
            none[r.source_format] = none.get(r.source_format, 0) + int(r.n)
    for fmt, n in sorted(none.items()):
        log.warning(
            "%s: %d user-day row(s) have no org: no directory row covers their users on those "
            "days and the export carries none. Add the users to landing/directory/ (or map "
            "their aliases to directory user_ids in landing/identities/); the rows stay in "
            "silver/user_days without an org and count in no org's figures",
            fmt,
            n,
        )
    return {"export": {f: sorted(o) for f, o in sorted(export.items())}, "none": none}


def _write_identity_coverage(spark, lake, period, dq, cov: _Coverage) -> list:
    """ops/identity_coverage rows for this run (mapped, unmapped, shared, conflicts per format
    and kind), checked by the table's suite (warnings: identity conflicts)."""
    if cov.aliases:
        aliases, rows = cov.aliases[0], cov.rows[0]
        for a, r in zip(cov.aliases[1:], cov.rows[1:]):
            aliases, rows = aliases.unionByName(a), rows.unionByName(r)
        several = None
        if cov.idmap is not None and cov.dir_ids is not None:
            again = aliases.drop("_identity_status").transform(
                vendor.resolve_identities(cov.idmap, cov.dir_ids, "_alias_norm")
            )
            several = vendor.several_aliases(again)
        coverage = (
            vendor.identity_coverage(
                vendor.coverage_aliases(aliases), vendor.coverage_rows(rows), several
            )
            .orderBy("source_format", "alias_kind")
            .collect()
        )
    else:
        coverage = []
    table = spark.createDataFrame(
        [
            (dq.run_id, period.start, period.end, r.source_format, r.alias_kind)
            + tuple(r[c] for c in vendor.COVERAGE_COUNTS)
            for r in coverage
        ],
        vendor.COVERAGE_SCHEMA,
    )
    table = dq.check("ops/identity_coverage", table, materialize=False)
    if coverage:
        _upgrade_identity_coverage(spark, lake)
        lake.append(table, "ops/identity_coverage")
    _warn_identities(coverage)
    return coverage


def _upgrade_identity_coverage(spark, lake) -> None:
    """ops/identity_coverage written before conflicts were counted: add their columns (null:
    not counted then) in one overwrite, so that this run's rows can be appended."""
    if not lake.exists("ops/identity_coverage"):
        return
    old = lake.read(spark, "ops/identity_coverage")
    missing = [c for c in vendor.COVERAGE_COUNTS if c not in old.columns]
    if not missing:
        return
    for c in missing:
        old = old.withColumn(c, F.lit(None).cast("bigint"))
    names = [f.split()[0] for f in vendor.COVERAGE_SCHEMA.split(", ")]
    lake.overwrite(old.select(*names), "ops/identity_coverage")


def _warn_identities(coverage: list) -> None:
    """One warning per reason a vendor identity was left out or is doubtful, with counts."""
    for r in coverage:
        where = f"{r.source_format} ({r.alias_kind})"
        if r.unmapped:
            log.warning(
                "%s: %d identit(ies) not in the directory or identities: %d row(s) left out "
                "of silver (add them to landing/directory/, or map them to directory user_ids "
                "in landing/identities/)",
                where,
                r.unmapped,
                r.rows_unmapped,
            )
        if r.ambiguous:
            log.warning(
                "%s: %d alias(es) mapped to more than one person by identities "
                "(ambiguous_identity): resolved to no one, %d row(s) left out of silver; fix "
                "the identities file",
                where,
                r.ambiguous,
                r.rows_ambiguous,
            )
        if r.conflicting:
            log.warning(
                "%s: %d alias(es) are one person's directory user_id but identities map them "
                "to another (conflicting_identity): resolved to no one, %d row(s) left out of "
                "silver; fix the identities file",
                where,
                r.conflicting,
                r.rows_conflicting,
            )
        if r.unknown_user:
            log.warning(
                "%s: %d alias(es) mapped by identities to a user_id the directory does not "
                "have: kept under that user_id (org from the row, else unresolved); update "
                "the directory or the identities file",
                where,
                r.unknown_user,
            )
        if r.several_aliases:
            log.info(
                "%s: %d person(s) appear under several aliases: their rows are summed as one "
                "person",
                where,
                r.several_aliases,
            )

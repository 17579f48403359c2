"""Seat assignments through the lake: ``landing/seats/`` -> ``bronze/seats`` (ingest, raw
aliases) -> ``silver/seats`` (refine: identities resolved, ``user_key`` only).

Run by the ingest and refine stages. A seats file is loaded whole or not at all: one that
cannot be read (:class:`theater.sources.seats.SeatsFileError`) is reported in the ingest
metrics as rejected, with its reason, and retried on the next run (it is not recorded as
loaded, so nothing is lost). A file already loaded (same SHA-256) is skipped. Both tables are
checked by the data-quality gate like the others (``expectations/bronze_seats.json``,
``silver_seats.json``): a critical failure writes nothing, so the batch's seat files are
read again by the next run, and the stage exits 3.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..bronze import IDENTITIES_SCHEMA, bronze_or_empty
from ..errors import DataQualityError
from ..lake import Lake
from ..sources import seats as src
from ..transforms import vendor
from ..transforms.refine import pseudonym

log = logging.getLogger(__name__)

DIR = "seats"
BRONZE = "bronze/seats"
SILVER = "silver/seats"
BRONZE_SCHEMA = src.SCHEMA + ", _ingested_at timestamp, _batch_id string"
SILVER_SCHEMA = (
    "source_format string, tool string, user_key string, plan string, assigned_from date, "
    "assigned_to date, seen_on date, last_activity date"
)


def ingest(
    spark: SparkSession,
    lake: Lake,
    landing: str,
    batch_id: str,
    at,
    dq=None,
    failures: list | None = None,
) -> dict:
    """New files of ``landing/seats/`` -> ``bronze/seats``; metrics of what was done. ``dq``:
    the stage's gate; a critical failure is appended to ``failures`` (the stage raises it
    once the batch's other tables are committed) and nothing of these files is written."""
    out: dict = {"files_new": 0, "rows": 0, "not_a_person": 0, "files_rejected": []}
    folder = os.path.join(landing, DIR)
    files = src.list_files(folder)
    if not files:
        return out
    loaded: set[str] = set()
    if lake.exists(BRONZE):
        loaded = {
            r[0] for r in lake.read(spark, BRONZE).select("_file_sha256").distinct().collect()
        }
    rows = []
    for path in files:
        rel = os.path.relpath(path, landing)
        try:
            _, seats, skipped = src.read_file(path)
        except src.SeatsFileError as exc:
            log.warning("%s (not loaded; retried when it changes)", exc)
            out["files_rejected"].append({"file": rel, "reason": str(exc)})
            continue
        if seats and seats[0]._file_sha256 in loaded:
            continue
        out["files_new"] += 1
        out["not_a_person"] += skipped
        for s in seats:
            row = asdict(s)
            row["_source_file"] = rel  # the path under the landing zone, as other inputs
            rows.append((*row.values(), at, batch_id))
    if rows:
        frame = spark.createDataFrame(rows, BRONZE_SCHEMA)
        try:
            frame = dq.check(BRONZE, frame) if dq is not None else frame
        except DataQualityError as exc:
            log.warning("%s: not loaded (retried on the next run): %s", BRONZE, exc)
            out["files_held_back"] = out.pop("files_new")
            out["files_new"] = 0
            if failures is None:
                raise
            failures.append(exc)
            return out
        lake.append(frame, BRONZE)
    out["rows"] = len(rows)
    return out


def refine(
    spark: SparkSession, lake: Lake, key: bytes, idmap: DataFrame, dir_ids: DataFrame, dq=None
) -> dict:
    """``bronze/seats`` -> ``silver/seats`` (replaced whole: seats are few). Aliases resolve
    like any vendor alias (``transforms.vendor.resolve_identities``); a seat whose alias
    resolves to no person (unmapped, shared, conflicting) is left out and counted. The same
    seat delivered again counts once (its latest last-activity date kept)."""
    if not lake.exists(BRONZE):
        return {}
    resolved = resolve(lake.read(spark, BRONZE), idmap, dir_ids)
    kept = resolved.where(F.col("_identity_status").isin(*vendor.RESOLVED))
    silver = (
        kept.withColumn("user_key", pseudonym(F.col("_resolved_id"), key))
        .groupBy("source_format", "tool", "user_key", "assigned_from", "assigned_to", "seen_on")
        .agg(F.max("plan").alias("plan"), F.max("last_activity").alias("last_activity"))
        .select(*[c.split()[0] for c in SILVER_SCHEMA.split(", ")])
    )
    if dq is not None:
        silver = dq.check(SILVER, silver)
    lake.overwrite(silver, SILVER)
    counts = resolved.groupBy("_identity_status").count().collect()
    return {
        "silver_seats": lake.read(spark, SILVER).count(),
        "seats_left_out": {
            r["_identity_status"]: r["count"]
            for r in counts
            if r["_identity_status"] not in vendor.RESOLVED
        },
    }


def resolve(bronze: DataFrame, idmap: DataFrame, dir_ids: DataFrame) -> DataFrame:
    """Seat rows with ``_resolved_id`` and ``_identity_status`` (raw ids: never written)."""
    return bronze.transform(vendor.resolve_identities(idmap, dir_ids, alias_col="alias"))


RECLAIM_FLAG = "--reclaim-list"
RECLAIM_ARTIFACT = "reclaim/seats_to_reclaim.csv"


class ReclaimRefused(RuntimeError):
    """The reclaim list was asked for without its explicit flag."""


def reclaim(spark: SparkSession, cfg, lake: Lake, period, *, confirmed: bool):
    """The per-person list of seats to reclaim for ``period`` (pandas: tool, alias,
    assigned_from): seats held in the period whose holder shows no use of the tool at all
    (``transforms.adoption.reclaim_list``). A sensitive output, so it refuses unless
    ``confirmed`` (the CLI's ``--reclaim-list``), holds the vendor alias only, and is written
    nowhere in the lake: the caller logs it as an MLflow artifact."""
    if not confirmed:
        raise ReclaimRefused(
            f"the seat reclaim list names people: it is made only with {RECLAIM_FLAG} "
            "(theater seats reclaim --quarter YYYYQn --reclaim-list)"
        )
    from ..keycheck import pseudonym_key
    from ..transforms import adoption as adopt

    if not lake.exists(BRONZE):
        raise ValueError(f"{BRONZE} does not exist under {lake.root}: no seat file was ingested")
    key = pseudonym_key(cfg)
    idmap = vendor.identity_map(
        lake.read(spark, "bronze/identities")
        if lake.exists("bronze/identities")
        else spark.createDataFrame([], IDENTITIES_SCHEMA)
    )
    dir_ids = vendor.directory_ids(bronze_or_empty(spark, lake, "directory"))
    resolved = (
        resolve(lake.read(spark, BRONZE), idmap, dir_ids)
        .where(F.col("_identity_status").isin(*vendor.RESOLVED))
        .withColumn("user_key", pseudonym(F.col("_resolved_id"), key))
    )
    events = (
        adopt.event_activity(
            lake.read(spark, "silver/interactions").where(period.ts_col("event_ts"))
        )
        if lake.exists("silver/interactions")
        else None
    )
    aggs = (
        adopt.aggregate_activity(lake.read(spark, "silver/user_days"), period.start, period.end)
        if lake.exists("silver/user_days")
        else None
    )
    activity = adopt.combined(events, aggs)
    if activity is None:
        raise ValueError("no usage in the lake for the period: nothing shows who used a seat")
    return adopt.reclaim_list(resolved, activity, period.start, period.end).toPandas()

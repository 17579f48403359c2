"""Refine: bronze -> silver.

- silver/interactions: one row per (tool, event_id), the latest delivery; timestamps in UTC;
  users pseudonymized (HMAC-SHA256, key from THEATER_PSEUDONYM_KEY); org resolved from the
  directory as of the event date when missing; sessions. Written with one MERGE on
  (tool, event_id) that also deletes the period's rows no longer present, so re-running a
  period replaces exactly that period.
- silver/directory, silver/work_items, silver/policies: typed, pseudonymized, deduplicated
  (small reference tables, rewritten whole in one commit).
"""
from __future__ import annotations

import logging
import os
import time


from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .. import quality
from ..config import Config, ConfigError
from ..contracts import contract
from ..lake import Lake
from ..period import Period
from ..transforms.contract import typed
from ..transforms.refine import (CONTENT_HASH, content_hash, latest_delivery, pseudonym,
                                 resolve_org, row_hash, sessionize, with_pseudonyms)
from .ingest import read_committed

log = logging.getLogger(__name__)

DEMO_KEY = b"theater-index-demo-key-not-for-production"
KEY_ENV = "THEATER_PSEUDONYM_KEY"

SILVER_INTERACTION_COLUMNS = [
    "event_id", "tool", "event_ts", "event_date", "user_key", "org_id", "org_source", "action",
    "session_id", "session_key", "prompt_fingerprint", "prompt_tokens", "completion_tokens",
    "model", "output_disposition", "dwell_ms", "artifact_id", "artifact_author_key",
    "artifact_modified_ts", "work_item_id", "_source_file", "_ingested_at", "_batch_id",
]


def pseudonym_key(cfg: Config, environ=os.environ, *, announce: bool = True) -> bytes:
    """The HMAC key: THEATER_PSEUDONYM_KEY, or the demo key where the config allows it (with a
    warning banner when ``announce``: a caller that only checks early passes False, so the
    banner is shown once, by the stage that uses the key)."""
    value = environ.get(KEY_ENV)
    if value:
        return value.encode("utf-8")
    if cfg["privacy.allow_demo_key"]:
        if not announce:
            return DEMO_KEY
        log.warning("!" * 72)
        log.warning("%s is not set: using the built-in DEMO pseudonymization key. "
                    "Pseudonyms are NOT secret. Set %s for real data.", KEY_ENV, KEY_ENV)
        log.warning("!" * 72)
        return DEMO_KEY
    raise ConfigError(f"{KEY_ENV} is not set and privacy.allow_demo_key is false "
                      f"(env '{cfg['env']}'): refusing to pseudonymize with a default key")


def _typed(bronze: DataFrame, dataset: str) -> DataFrame:
    """Re-type bronze's as-received strings with the contract (same rules as ingest)."""
    c = contract(dataset)
    lineage = [x for x in ("_source_file", "_ingested_at", "_batch_id") if x in bronze.columns]
    return bronze.select(*typed(c), *lineage, content_hash(list(c.names)).alias(CONTENT_HASH))


def clean_directory(bronze: DataFrame, key: bytes) -> DataFrame:
    d = _typed(bronze, "directory")
    return (d.select(pseudonym(F.col("user_id"), key).alias("user_key"), "org_id", "org_name",
                     "parent_org_id", "role", "valid_from", "valid_to")
            .dropDuplicates(["user_key", "org_id", "valid_from", "valid_to"]))


def clean_policies(bronze: DataFrame) -> DataFrame:
    p = _typed(bronze, "policies")
    return (p.select("org_id", "kind", "start_date", "end_date", "weekly_quota", "note")
            .dropDuplicates(["org_id", "kind", "start_date", "end_date", "weekly_quota"]))


def clean_work_items(bronze: DataFrame, key: bytes) -> DataFrame:
    w = _typed(bronze, "work_items").transform(latest_delivery(["work_item_id"]))
    return w.select("work_item_id", pseudonym(F.col("user_id"), key).alias("user_key"), "org_id",
                    "kind", "opened_ts", "closed_ts", "reopened_count", "escalated")


def clean_interactions(bronze: DataFrame, key: bytes) -> DataFrame:
    """Typed, latest delivery per (tool, event_id), pseudonymized; no org or sessions yet."""
    identities = bronze.select(F.col("user_id").alias("_id")).unionByName(
        bronze.select(F.col("artifact_author_id").alias("_id")))
    i = (_typed(bronze, "interactions")
         .transform(latest_delivery(["tool", "event_id"]))
         .transform(with_pseudonyms(key, {"user_id": "user_key",
                                          "artifact_author_id": "artifact_author_key"},
                                    identities)))
    return i.select(
        "event_id", "tool", "event_ts", F.to_date("event_ts").alias("event_date"), "user_key",
        F.when(F.trim("org_id") != "", F.trim("org_id")).alias("org_id"),
        "action", "session_id", "prompt_fingerprint", "prompt_tokens", "completion_tokens",
        "model", "output_disposition", "dwell_ms", "artifact_id", "artifact_author_key",
        "artifact_modified_ts", "work_item_id", "_source_file", "_ingested_at", "_batch_id")


def run(spark: SparkSession, cfg: Config, lake: Lake, period: Period, *, run_id: str | None = None,
        progress=log.info) -> dict:
    t0 = time.time()
    key = pseudonym_key(cfg)
    metrics: dict = {}
    for needed in ("bronze/interactions", "bronze/directory"):
        if not lake.exists(needed):
            raise ConfigError(f"{needed} does not exist under {lake.root}: run the ingest stage "
                              "first (theater run --stage ingest)")

    dq = quality.Gate(spark, lake, cfg, "refine", run_id=run_id, period=period)
    progress("refine: directory, policies, work items")
    # committed batches only: never rows of an ingest that crashed (or is still running)
    directory = clean_directory(read_committed(spark, lake, "bronze/directory"), key)
    directory = dq.check("silver/directory", directory)
    lake.overwrite(directory, "silver/directory")
    if lake.exists("bronze/policies"):
        policies = dq.check("silver/policies", clean_policies(read_committed(spark, lake, "bronze/policies")))
        lake.overwrite(policies, "silver/policies")
    if lake.exists("bronze/work_items"):
        work_items = dq.check("silver/work_items",
                              clean_work_items(read_committed(spark, lake, "bronze/work_items"), key))
        lake.overwrite(work_items, "silver/work_items")

    progress(f"refine: interactions {period}")
    directory = lake.read(spark, "silver/directory")
    interactions = (clean_interactions(read_committed(spark, lake, "bronze/interactions"), key)
                    .where(period.where("event_ts"))
                    .transform(resolve_org(directory))
                    .transform(sessionize(cfg["sessions.gap_minutes"]))
                    .select(*SILVER_INTERACTION_COLUMNS))
    content = [c for c in SILVER_INTERACTION_COLUMNS if not c.startswith("_")]
    interactions = interactions.withColumn("_row_hash", row_hash(content))
    interactions = dq.check("silver/interactions", interactions)
    lake.merge(interactions, "silver/interactions", on=["tool", "event_id"],
               update_condition="t._row_hash <> s._row_hash",
               delete_unmatched_condition=period.where_sql("t.event_ts"))
    silver = lake.read(spark, "silver/interactions").where(period.where("event_ts"))
    counts = silver.agg(F.count("*").alias("n"),
                        F.sum(F.col("org_id").isNull().cast("int")).alias("unresolved"),
                        F.sum((F.col("org_source") == "directory").cast("int")).alias("from_dir"),
                        ).collect()[0]
    metrics.update({
        "inputs": {t: lake.version(t) for t in ("bronze/interactions", "bronze/directory",
                                                "bronze/work_items", "bronze/policies")},
        "outputs": {t: lake.version(t) for t in ("silver/interactions", "silver/directory",
                                                 "silver/work_items", "silver/policies")},
        "silver_interactions": counts.n,
        "unresolved_org": int(counts.unresolved or 0),
        "org_from_directory": int(counts.from_dir or 0),
        **dq.finish(),
        "seconds": round(time.time() - t0, 2),
    })
    return metrics




"""Score: silver -> gold.

1. Five per-interaction signals over the period's silver interactions (plus the look-back the
   repeat signal needs), the theater probability and ``is_theater`` -> gold/interaction_labels.
2. Pseudonymous user x ISO week usage with the quota in force -> gold/user_weeks.
3. Per org: theater index (100 x mean probability), user-clustered Poisson bootstrap interval,
   signal shares and coverage, suppression -> gold/org_theater_index.

Each table's period slice is replaced in one commit (replaceWhere); other periods are untouched.
"""
from __future__ import annotations

import logging
import time
import uuid

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ..config import Config
from ..lake import Lake, LakeError
from ..period import Period
from ..signals import NAMES, fragmentation, padding, repeat_prompt, self_summary, unused_output
from ..signals.common import action_quantile
from ..transforms.score import (agg_org_signals, agg_org_users, agg_user_weeks,
                                bootstrap_interval, org_index, quota_in_force, with_labels)

log = logging.getLogger(__name__)

LABEL_COLUMNS = ["event_id", "tool", "org_id", "user_key", "event_date", "event_ts", "action",
                 "output_disposition", "dwell_ms", "theater_probability", "flags", "is_theater",
                 *[f"sig_{n}" for n in NAMES]]
POLICY_SCHEMA = ("org_id string, kind string, start_date date, end_date date, "
                 "weekly_quota bigint, note string")


def label_interactions(interactions, period_rows, cfg: Config):
    """Add every signal and the theater probability (pure: DataFrames and settings in)."""
    s = cfg["signals"]
    dwell = s["unused_output"]["max_dwell_ms"]
    short = action_quantile(period_rows, s["fragmentation"]["short_quantile"],
                            fragmentation.THRESHOLD)
    long_ = action_quantile(period_rows, s["padding"]["quantile"], padding.THRESHOLD)
    rp = s["repeat_prompt"]
    fr = s["fragmentation"]
    return (interactions
            .transform(unused_output.flag(dwell))
            .transform(self_summary.flag(s["self_summary"]["min_age_days"], dwell))
            .transform(repeat_prompt.flag(rp["max_hamming"], rp["window_days"],
                                          rp["same_artifact"], dwell))
            .transform(fragmentation.flag(short, fr["min_count"], fr["window_minutes"]))
            .transform(padding.flag(long_, dwell))
            .transform(with_labels(cfg["weights"], cfg["scoring.threshold"])))


def read_inputs(spark: SparkSession, lake: Lake, period: Period, lookback_days: int,
                versions: dict | None = None):
    """Silver inputs for the period (interactions with the look-back, policies), read at the
    given Delta versions (time travel) or pinned at the current ones.

    Returns (interactions, policies, {table: version read}).
    """
    versions = versions or {}
    if not lake.exists("silver/interactions"):
        raise LakeError("silver/interactions does not exist: run the refine stage first")

    def pinned(table):
        v = versions[table] if table in versions else lake.version(table)
        return lake.read(spark, table, version=v), v

    silver, v_i = pinned("silver/interactions")
    read = {"silver/interactions": v_i}
    if lake.exists("silver/policies"):
        policies, read["silver/policies"] = pinned("silver/policies")
    else:
        policies = spark.createDataFrame([], POLICY_SCHEMA)
    return silver.where(period.extend_back(lookback_days).where("event_ts")), policies, read


def labels_frame(interactions, period: Period, cfg: Config):
    period_rows = interactions.where(period.where("event_ts"))
    return (label_interactions(interactions, period_rows, cfg)
            .where(period.where("event_ts"))
            .select(*LABEL_COLUMNS))


def user_weeks_frame(labels, policies, period: Period, cfg: Config):
    dwell = cfg["signals.unused_output.max_dwell_ms"]
    return (labels.transform(agg_user_weeks(period.start, period.end, dwell))
            .transform(quota_in_force(policies))
            .withColumn("quota_position", F.col("n_interactions") - F.col("weekly_quota")))


def index_frame(spark: SparkSession, labels, period: Period, cfg: Config, run_id: str):
    org_users = agg_org_users(labels)
    signals = agg_org_signals(labels, NAMES, cfg["scoring.min_signal_rows"])
    b = cfg["scoring.bootstrap"]
    interval = bootstrap_interval(spark, org_users, b["replicates"], b["confidence"], b["seed"])
    return org_index(org_users, signals, interval, names=NAMES,
                     min_users=cfg["privacy.min_users"],
                     dominance_share=cfg["privacy.dominance_share"],
                     top_n=cfg["scoring.top_signals"], period_start=period.start,
                     period_end=period.end, run_id=run_id)


def recompute_index(spark: SparkSession, cfg: Config, lake: Lake, period: Period,
                    versions: dict, run_id: str):
    """The org index recomputed from silver at the given versions, without writing anything."""
    interactions, _, _ = read_inputs(spark, lake, period,
                                     cfg["signals.repeat_prompt.window_days"], versions)
    return index_frame(spark, labels_frame(interactions, period, cfg), period, cfg, run_id)


def run(spark: SparkSession, cfg: Config, lake: Lake, period: Period, *,
        run_id: str | None = None, versions: dict | None = None, progress=log.info) -> dict:
    t0 = time.time()
    run_id = run_id or uuid.uuid4().hex
    interactions, policies, read = read_inputs(
        spark, lake, period, cfg["signals.repeat_prompt.window_days"], versions)

    progress(f"score: signals and labels {period}")
    date_pred = (f"event_date >= DATE '{period.start}' AND event_date < DATE '{period.end}'")
    lake.replace_where(labels_frame(interactions, period, cfg), "gold/interaction_labels",
                       date_pred)
    # Later steps read the written labels back instead of recomputing the signals.
    labels = lake.read(spark, "gold/interaction_labels").where(
        (F.col("event_date") >= F.lit(period.start)) & (F.col("event_date") < F.lit(period.end)))

    progress("score: user-weeks")
    period_pred = f"period_start = DATE '{period.start}' AND period_end = DATE '{period.end}'"
    lake.replace_where(user_weeks_frame(labels, policies, period, cfg), "gold/user_weeks",
                       period_pred)

    progress(f"score: org index with {cfg['scoring.bootstrap.replicates']} bootstrap replicates")
    lake.replace_where(index_frame(spark, labels, period, cfg, run_id),
                       "gold/org_theater_index", period_pred)

    gold = lake.read(spark, "gold/org_theater_index").where(
        (F.col("period_start") == F.lit(period.start)) & (F.col("period_end") == F.lit(period.end)))
    summary = gold.agg(F.count("*").alias("orgs"),
                       F.sum(F.col("suppressed").cast("int")).alias("suppressed")).collect()[0]
    counts = labels.agg(F.count("*").alias("n"),
                        F.sum(F.col("is_theater").cast("int")).alias("flagged"),
                        F.sum(F.col("org_id").isNull().cast("int")).alias("unresolved")
                        ).collect()[0]
    return {
        "run_id": run_id,
        "inputs": read,
        "outputs": {t: lake.version(t) for t in ("gold/interaction_labels", "gold/user_weeks",
                                                 "gold/org_theater_index")},
        "labelled_interactions": counts.n,
        "flagged_interactions": int(counts.flagged or 0),
        "unresolved_org_interactions": int(counts.unresolved or 0),
        "orgs": summary.orgs,
        "orgs_suppressed": int(summary.suppressed or 0),
        "seconds": round(time.time() - t0, 2),
    }

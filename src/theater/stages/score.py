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


def run(spark: SparkSession, cfg: Config, lake: Lake, period: Period, *,
        run_id: str | None = None, progress=log.info) -> dict:
    t0 = time.time()
    run_id = run_id or uuid.uuid4().hex
    if not lake.exists("silver/interactions"):
        raise LakeError("silver/interactions does not exist: run the refine stage first")
    lookback = cfg["signals.repeat_prompt.window_days"]
    silver = lake.read(spark, "silver/interactions")
    extended = silver.where(period.extend_back(lookback).where("event_ts"))
    period_rows = silver.where(period.where("event_ts"))

    progress(f"score: signals and labels {period}")
    labels = (label_interactions(extended, period_rows, cfg)
              .where(period.where("event_ts"))
              .select(*LABEL_COLUMNS))
    date_pred = (f"event_date >= DATE '{period.start}' AND event_date < DATE '{period.end}'")
    lake.replace_where(labels, "gold/interaction_labels", date_pred)
    labels = lake.read(spark, "gold/interaction_labels").where(
        (F.col("event_date") >= F.lit(period.start)) & (F.col("event_date") < F.lit(period.end)))

    progress("score: user-weeks")
    policies = lake.read_or_empty(spark, "silver/policies", POLICY_SCHEMA)
    dwell = cfg["signals.unused_output.max_dwell_ms"]
    user_weeks = (labels.transform(agg_user_weeks(period.start, period.end, dwell))
                  .transform(quota_in_force(policies))
                  .withColumn("quota_position", F.col("n_interactions") - F.col("weekly_quota")))
    period_pred = f"period_start = DATE '{period.start}' AND period_end = DATE '{period.end}'"
    lake.replace_where(user_weeks, "gold/user_weeks", period_pred)

    progress(f"score: org index with {cfg['scoring.bootstrap.replicates']} bootstrap replicates")
    org_users = agg_org_users(labels)
    signals = agg_org_signals(labels, NAMES, cfg["scoring.min_signal_rows"])
    b = cfg["scoring.bootstrap"]
    interval = bootstrap_interval(spark, org_users, b["replicates"], b["confidence"], b["seed"])
    index = org_index(org_users, signals, interval, names=NAMES,
                      min_users=cfg["privacy.min_users"],
                      dominance_share=cfg["privacy.dominance_share"],
                      top_n=cfg["scoring.top_signals"], period_start=period.start,
                      period_end=period.end, run_id=run_id)
    lake.replace_where(index, "gold/org_theater_index", period_pred)

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
        "labelled_interactions": counts.n,
        "flagged_interactions": int(counts.flagged or 0),
        "unresolved_org_interactions": int(counts.unresolved or 0),
        "orgs": summary.orgs,
        "orgs_suppressed": int(summary.suppressed or 0),
        "seconds": round(time.time() - t0, 2),
    }

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

from .. import audit, quality
from ..config import Config
from ..lake import Lake, LakeError
from ..period import Period
from ..signals import (INCENTIVE_NAMES, NAMES, fragmentation, incentives, padding,
                       repeat_prompt, self_summary, unused_output)
from ..signals.common import action_quantile
from ..transforms.score import (agg_org_signals, agg_org_users, agg_user_weeks,
                                bootstrap_interval, org_index, quota_in_force, with_labels)

log = logging.getLogger(__name__)

LABEL_COLUMNS = ["event_id", "tool", "org_id", "user_key", "event_date", "event_ts", "action",
                 "output_disposition", "dwell_ms", "theater_probability", "flags", "is_theater",
                 *[f"sig_{n}" for n in NAMES]]
POLICY_SCHEMA = ("org_id string, kind string, start_date date, end_date date, "
                 "weekly_quota bigint, note string")


def label_interactions(interactions, period_rows, cfg: Config, inc=None):
    """Add every signal and the theater probability (pure: DataFrames and settings in).

    ``inc`` (:class:`theater.signals.incentives.Incentives`) carries the incentive weights w_q
    and w_cp; p = 1 - (1 - F)(1 - w_q)(1 - w_cp) (recipe step 4). Without it they are NA.
    """
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
            .transform(lambda df: incentives.apply(df, inc))
            .transform(with_labels({**cfg["weights"], **{n: 1.0 for n in INCENTIVE_NAMES}},
                                   cfg["scoring.threshold"])))


def read_inputs(spark: SparkSession, lake: Lake, period: Period, lookback_days: int,
                versions: dict | None = None, history_days: int = 0):
    """Silver inputs for the period (interactions with the look-back, policies), read at the
    given Delta versions (time travel) or pinned at the current ones.

    Returns (interactions, policies, {table: version read}, history): ``history`` is
    (org_id, user_key, event_date) of the same silver version from ``history_days`` before the
    period to its end (outcome decoupling's pre-mandate weeks).
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
    history = (silver.where(period.extend_back(history_days).where("event_ts"))
               .select("org_id", "user_key", "event_date"))
    return (silver.where(period.extend_back(lookback_days).where("event_ts")), policies, read,
            history)


def history_days(cfg: Config) -> int:
    """Days of silver before the period that outcome decoupling may use as pre-mandate weeks."""
    return round(7 * cfg["incentives.outcome_decoupling.max_pre_weeks"])


def incentives_for(spark: SparkSession, interactions, policies, period: Period, cfg: Config):
    """Incentive estimates (bunching, checkpoint bursts) on the period's interactions."""
    return incentives.compute(spark, interactions.where(period.where("event_ts")), policies,
                              period.start, period.end, cfg)


def read_work_items(spark: SparkSession, lake: Lake, versions: dict | None = None):
    """silver/work_items at the given (or current) version, or (None, None) when absent."""
    versions = versions or {}
    if not lake.exists("silver/work_items"):
        return None, None
    v = versions.get("silver/work_items", lake.version("silver/work_items"))
    return lake.read(spark, "silver/work_items", version=v), v


def labels_frame(interactions, period: Period, cfg: Config, inc=None):
    period_rows = interactions.where(period.where("event_ts"))
    return (label_interactions(interactions, period_rows, cfg, inc)
            .where(period.where("event_ts"))
            .select(*LABEL_COLUMNS))


def user_weeks_frame(labels, policies, period: Period, cfg: Config):
    dwell = cfg["signals.unused_output.max_dwell_ms"]
    return (labels.transform(agg_user_weeks(period.start, period.end, dwell))
            .transform(quota_in_force(policies))
            .withColumn("quota_position", F.col("n_interactions") - F.col("weekly_quota")))


def index_frame(spark: SparkSession, labels, period: Period, cfg: Config, run_id: str, *,
                policies=None, work_items=None, inc=None, history=None):
    org_users = agg_org_users(labels)
    signals = agg_org_signals(labels, NAMES, cfg["scoring.min_signal_rows"])
    b = cfg["scoring.bootstrap"]
    interval = bootstrap_interval(spark, org_users, b["replicates"], b["confidence"], b["seed"])
    base = org_index(org_users, signals, interval, names=NAMES,
                     min_users=cfg["privacy.min_users"],
                     dominance_share=cfg["privacy.dominance_share"],
                     top_n=cfg["scoring.top_signals"], period_start=period.start,
                     period_end=period.end, run_id=run_id)
    # One row per org: materialize it, then add decoupling, high-confidence and rank bands.
    rows = base.collect()
    extra = incentives.org_columns(spark, rows, labels, cfg, NAMES, inc, policies, work_items,
                                   period.start, period.end, history=history)
    return incentives.with_org_columns(spark, base.schema, rows, extra)


def recompute_index(spark: SparkSession, cfg: Config, lake: Lake, period: Period,
                    versions: dict, run_id: str):
    """The org index recomputed from silver at the given versions, without writing anything."""
    interactions, policies, _, history = read_inputs(
        spark, lake, period, cfg["signals.repeat_prompt.window_days"], versions,
        history_days(cfg))
    work_items, _ = read_work_items(spark, lake, versions)
    inc = incentives_for(spark, interactions, policies, period, cfg)
    # audit labels at the logged version (absent from older runs: none)
    labels = labels_frame(interactions, period, cfg, inc)
    audited = (audit.read_labels(spark, lake, period, version=versions["ops/audit_labels"])
               if "ops/audit_labels" in versions else None)
    labels = audit.calibrate_labels(labels, audited, cfg)
    return audit.apply(spark, index_frame(spark, labels, period, cfg, run_id, policies=policies,
                                          work_items=work_items, inc=inc, history=history),
                       labels, audited, cfg)


def run(spark: SparkSession, cfg: Config, lake: Lake, period: Period, *,
        run_id: str | None = None, versions: dict | None = None, progress=log.info) -> dict:
    t0 = time.time()
    run_id = run_id or uuid.uuid4().hex
    interactions, policies, read, history = read_inputs(
        spark, lake, period, cfg["signals.repeat_prompt.window_days"], versions,
        history_days(cfg))

    work_items, v_wi = read_work_items(spark, lake, versions)
    if v_wi is not None:
        read["silver/work_items"] = v_wi

    progress(f"score: incentive signals (quota bunching, checkpoint bursts) {period}")
    t_inc = time.time()
    inc = incentives_for(spark, interactions, policies, period, cfg)
    seconds_incentives = time.time() - t_inc

    progress(f"score: signals and labels {period}")
    dq = quality.Gate(spark, lake, cfg, "score", run_id=run_id, period=period)
    date_pred = (f"event_date >= DATE '{period.start}' AND event_date < DATE '{period.end}'")
    # Audit labels for the period (theater audit load): calibrate, then debias the org index.
    labels_raw = labels_frame(interactions, period, cfg, inc)
    audited = audit.read_labels(spark, lake, period)
    if audited is not None:
        read["ops/audit_labels"] = lake.version("ops/audit_labels")
    labels_new = dq.check("gold/interaction_labels",
                          audit.calibrate_labels(labels_raw, audited, cfg))
    lake.replace_where(labels_new, "gold/interaction_labels",
                       date_pred)
    # Later steps read the written labels back instead of recomputing the signals.
    labels = lake.read(spark, "gold/interaction_labels").where(
        (F.col("event_date") >= F.lit(period.start)) & (F.col("event_date") < F.lit(period.end)))

    progress("score: user-weeks")
    period_pred = f"period_start = DATE '{period.start}' AND period_end = DATE '{period.end}'"
    user_weeks = dq.check("gold/user_weeks", user_weeks_frame(labels, policies, period, cfg))
    lake.replace_where(user_weeks, "gold/user_weeks",
                       period_pred)

    progress(f"score: org index with {cfg['scoring.bootstrap.replicates']} bootstrap replicates")
    t_idx = time.time()
    index = dq.check("gold/org_theater_index",
                     audit.apply(spark, index_frame(spark, labels, period, cfg, run_id,
                                                    policies=policies, work_items=work_items,
                                                    inc=inc, history=history),
                                 labels, audited, cfg),
                     related={"expected_orgs": interactions.where(period.where("event_ts"))})
    lake.replace_where(index,
                       "gold/org_theater_index", period_pred)
    seconds_index = time.time() - t_idx

    gold = lake.read(spark, "gold/org_theater_index").where(
        (F.col("period_start") == F.lit(period.start)) & (F.col("period_end") == F.lit(period.end)))
    summary = gold.agg(F.count("*").alias("orgs"),
                       F.sum(F.col("suppressed").cast("int")).alias("suppressed")).collect()[0]
    counts = labels.agg(F.count("*").alias("n"),
                        F.sum(F.col("is_theater").cast("int")).alias("flagged"),
                        F.sum(F.col("org_id").isNull().cast("int")).alias("unresolved")
                        ).collect()[0]
    return {
        **dq.finish(),
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
        "seconds_incentives": round(seconds_incentives, 2),
        "seconds_index": round(seconds_index, 2),
        "incentives": inc.summary(),
        "audit": audit.metrics(audited, NAMES),
    }

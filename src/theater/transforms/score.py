"""Pure scoring transforms: theater probability, user-weeks, org index, bootstrap, suppression."""
from __future__ import annotations

from datetime import date
from typing import Callable, Mapping, Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ..columns import (discrete_percentile, output_unused, output_used, poisson_weight,  # noqa: F401
                       quota_in_force)


def theater_probability(weights: Mapping[str, float]) -> Column:
    """p = 1 - prod(1 - w_s * flag_s); an NA flag contributes nothing.

    A component is a boolean flag (true = 1) or an incentive weight (double in [0, 1]).
    """
    keep = F.lit(1.0)
    for name, w in weights.items():
        fired = F.coalesce(F.col(f"sig_{name}").cast("double"), F.lit(0.0))
        keep = keep * (F.lit(1.0) - F.lit(float(w)) * fired)
    return F.lit(1.0) - keep


def fired_flags(names: Sequence[str]) -> Column:
    """Array of the names of the signals that fired (true, or a weight above 0), in a fixed
    order."""
    return F.array_compact(F.array(*[F.when(F.col(f"sig_{n}").cast("double") > 0, F.lit(n))
                                     for n in names]))


def with_labels(weights: Mapping[str, float], threshold: float) -> Callable[[DataFrame], DataFrame]:
    def apply(df: DataFrame) -> DataFrame:
        p = theater_probability(weights)
        return (df.withColumn("theater_probability", p)
                .withColumn("flags", fired_flags(list(weights)))
                .withColumn("is_theater", F.col("theater_probability") >= F.lit(threshold)))

    return apply


def agg_user_weeks(period_start: date, period_end: date, max_dwell_ms: int
                   ) -> Callable[[DataFrame], DataFrame]:
    """Labelled interactions -> one row per (org, pseudonymous user, ISO week)."""

    def apply(labels: DataFrame) -> DataFrame:
        week = F.date_trunc("week", F.col("event_ts")).cast("date")
        ws = F.col("week_start")
        full = (ws >= F.lit(period_start)) & (F.date_add(ws, 7) <= F.lit(period_end))
        return (labels.where(F.col("org_id").isNotNull())
                .withColumn("week_start", week)
                .groupBy("org_id", "user_key", "week_start")
                .agg(F.count("*").alias("n_interactions"),
                     F.sum(output_used().cast("int")).alias("n_used_outputs"),
                     F.sum(F.coalesce(output_unused(max_dwell_ms), F.lit(False)).cast("int"))
                     .alias("n_unused_outputs"),
                     # rounded: fractional incentive weights make the float sum order-dependent
                     F.round(F.sum("theater_probability"), 6).alias("theater_interactions"),
                     F.sum(F.col("is_theater").cast("int")).alias("n_flagged"))
                .withColumn("full_week", full)
                .withColumn("period_start", F.lit(period_start))
                .withColumn("period_end", F.lit(period_end)))

    return apply


def agg_org_users(labels: DataFrame) -> DataFrame:
    """Per (org, user): interactions and summed theater probability (bootstrap units)."""
    return (labels.where(F.col("org_id").isNotNull())
            .groupBy("org_id", "user_key")
            .agg(F.count("*").alias("n"),
                 F.round(F.sum("theater_probability"), 9).alias("sum_p")))


def agg_org_signals(labels: DataFrame, names: Sequence[str], min_rows: int) -> DataFrame:
    """Per org: each signal's share of measurable interactions (null below ``min_rows``).

    For an incentive weight (double) the share is the mean weight over measured interactions.
    """
    aggs = []
    for n in names:
        col = F.col(f"sig_{n}")
        aggs += [F.sum(col.cast("double")).alias(f"_fired_{n}"),
                 F.count(col).alias(f"_measured_{n}")]
    per_org = labels.where(F.col("org_id").isNotNull()).groupBy("org_id").agg(*aggs)
    shares = [F.when(F.col(f"_measured_{n}") >= min_rows,
                     F.col(f"_fired_{n}") / F.col(f"_measured_{n}")).alias(f"signal_{n}")
              for n in names]
    return per_org.select("org_id", *shares)


def bootstrap_interval(spark: SparkSession, org_users: DataFrame, replicates: int,
                       confidence: float, seed: int) -> DataFrame:
    """User-clustered Poisson bootstrap of each org's theater share, computed in Spark.

    Each replicate gives every (org, user) a Poisson(1) weight; the replicate's share is
    sum(w * sum_p) / sum(w * n). The percentile interval is returned as ``ci_low``/``ci_high``
    (shares, 0-1) with ``n_replicates`` that had any weight.
    """
    alpha = (1.0 - confidence) / 2.0
    reps = spark.range(replicates).withColumnRenamed("id", "rep")
    weighted = (org_users.crossJoin(F.broadcast(reps))
                .withColumn("w", poisson_weight(seed, F.concat_ws("|", "org_id", "user_key"),
                                                F.col("rep"))))
    per_rep = (weighted.groupBy("org_id", "rep")
               .agg(F.sum(F.col("w") * F.col("sum_p")).alias("num"),
                    F.sum(F.col("w") * F.col("n")).alias("den"))
               .where(F.col("den") > 0)
               .withColumn("share", F.col("num") / F.col("den")))
    return per_rep.groupBy("org_id").agg(
        # exact nearest rank (percentile_approx differs between Sail and Apache Spark)
        discrete_percentile("share", alpha).alias("ci_low"),
        discrete_percentile("share", 1.0 - alpha).alias("ci_high"),
        F.count("*").alias("n_replicates"))


def org_index(org_users: DataFrame, signals: DataFrame, interval: DataFrame, *,
              names: Sequence[str], min_users: int, dominance_share: float, top_n: int,
              period_start: date, period_end: date, run_id: str) -> DataFrame:
    """Assemble gold/org_theater_index: index, interval, signals, coverage, suppression."""
    totals = org_users.groupBy("org_id").agg(
        F.countDistinct("user_key").alias("n_users"),
        F.sum("n").alias("n_interactions"),
        F.sum("sum_p").alias("_sum_p"),
        F.max("n").alias("_max_user_n"))
    reason = (F.when(F.col("n_users") < min_users, F.lit("min_users"))
              .when(F.col("_max_user_n") / F.col("n_interactions") > dominance_share,
                    F.lit("dominance")))
    share = F.col("_sum_p") / F.col("n_interactions")
    sig_cols = [f"signal_{n}" for n in names]
    coverage = sum((F.col(c).isNotNull().cast("double") for c in sig_cols), F.lit(0.0)) / len(names)
    ranked = F.array_sort(F.array_compact(F.array(*[
        F.when(F.col(f"signal_{n}") > 0, F.struct((-F.col(f"signal_{n}")).alias("k"),
                                                  F.lit(n).alias("name")))
        for n in names])))
    top = F.transform(F.slice(ranked, 1, top_n), lambda s: s.getField("name"))
    joined = (totals.join(signals, on="org_id", how="left")
              .join(interval, on="org_id", how="left")
              .withColumn("suppression_reason", reason)
              .withColumn("suppressed", F.col("suppression_reason").isNotNull()))
    keep = ~F.col("suppressed")
    index = F.round(share * 100, 2)
    # The percentile interval is widened, if needed, to contain the point estimate.
    low = F.round(F.least(F.col("ci_low") * 100, share * 100), 2)
    high = F.round(F.greatest(F.col("ci_high") * 100, share * 100), 2)
    return joined.select(
        "org_id",
        F.lit(period_start).alias("period_start"),
        F.lit(period_end).alias("period_end"),
        F.when(keep, index).alias("theater_index"),
        F.when(keep, low).alias("ci_low"),
        F.when(keep, high).alias("ci_high"),
        # suppressed: no figures at all, not even counts (only the reason)
        F.when(keep, F.col("n_users")).alias("n_users"),
        F.when(keep, F.col("n_interactions")).alias("n_interactions"),
        "suppressed", "suppression_reason",
        *[F.when(keep, F.round(F.col(c), 4)).alias(c) for c in sig_cols],
        F.when(keep, coverage).alias("signal_coverage"),
        F.lit(None).cast("double").alias("outcome_decoupling"),
        F.when(keep, top).alias("top_signals"),
        F.lit(run_id).alias("run_id"),
    )


# Columns a suppressed org keeps: who, when, that it is suppressed and why, and the run.
SUPPRESSED_KEEPS = ("org_id", "period_start", "period_end", "suppressed", "suppression_reason",
                    "run_id")


def blank_suppressed(index: DataFrame) -> DataFrame:
    """Null every figure of suppressed orgs (counts, index, interval, signals, incentive and
    decoupling columns, ranks): suppressed means no figures anywhere, only the reason."""
    keep = ~F.coalesce(F.col("suppressed"), F.lit(False))
    return index.select(*[F.col(c) if c in SUPPRESSED_KEEPS else F.when(keep, F.col(c)).alias(c)
                          for c in index.columns])

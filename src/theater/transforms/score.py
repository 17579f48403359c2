"""Pure scoring transforms: theater probability, user-weeks, org index, bootstrap, suppression."""

from __future__ import annotations

from datetime import date
from typing import Callable, Mapping, Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ..columns import (
    discrete_percentile,
    output_unused,
    output_used,
    poisson_weight,
)


def theater_probability(weights: Mapping[str, float]) -> Column:
    """p = 1 - prod(1 - w_s * flag_s) over the MEASURED components; null when none is measured.

    A component is a boolean flag (true = 1) or an incentive weight (double in [0, 1]); an NA
    component (null) is left out of the product, and a row on which no component is measured
    has no probability at all (not 0: nothing was measured on it).
    """
    keep = F.lit(1.0)
    measured = F.lit(False)
    for name, w in weights.items():
        col = F.col(f"sig_{name}")
        fired = F.coalesce(col.cast("double"), F.lit(0.0))
        keep = keep * (F.lit(1.0) - F.lit(float(w)) * fired)
        measured = measured | col.isNotNull()
    # explicit ELSE NULL: Sail's physical plan may take a CASE without ELSE as non-nullable
    return F.when(measured, F.lit(1.0) - keep).otherwise(F.lit(None).cast("double"))


def fired_flags(names: Sequence[str]) -> Column:
    """Array of the names of the signals that fired (true, or a weight above 0), in a fixed
    order."""
    return F.array_compact(
        F.array(*[F.when(F.col(f"sig_{n}").cast("double") > 0, F.lit(n)) for n in names])
    )


# Columns of the gold tables with list columns that are never null (the ones Sail's plans give
# as NOT NULL), for a table's first write: Apache Spark reads a staged copy's columns as
# nullable and its Delta writer drops NOT NULL, and Sail 0.7.2 replaces rows in a table with a
# list column only when the table has a NOT NULL column (theater.lake.Lake.overwrite)
NOT_NULL = {
    "gold/interaction_labels": ("flags",),
    "gold/org_theater_index": ("period_start", "period_end", "suppressed", "run_id"),
}


def with_labels(weights: Mapping[str, float], threshold: float) -> Callable[[DataFrame], DataFrame]:
    def apply(df: DataFrame) -> DataFrame:
        p = theater_probability(weights)
        return (
            df.withColumn("theater_probability", p)
            # never null; typed non-nullable on purpose: Sail's Delta replaceWhere then casts
            # the column to the table's type. Once theater_probability became nullable it
            # stopped doing so and the next run of a period failed on flags ("UnionExec ...
            # List(Utf8, field: 'element') ... expects List(Utf8)")
            .withColumn(
                "flags", F.coalesce(fired_flags(list(weights)), F.array().cast("array<string>"))
            )
            .withColumn("is_theater", F.col("theater_probability") >= F.lit(threshold))
        )

    return apply


def agg_user_weeks(
    period_start: date, period_end: date, max_dwell_ms: int, flag_names: Sequence[str] = ()
) -> Callable[[DataFrame], DataFrame]:
    """Labelled interactions -> one row per (org, pseudonymous user, ISO week).

    ``n_measured`` counts the interactions on which a per-interaction signal is measured
    (:func:`flag_measured`) and ``theater_interactions`` sums their probability (null when
    there are none): the same numerator and denominator as the org index."""
    measured = flag_measured(flag_names)

    def apply(labels: DataFrame) -> DataFrame:
        week = F.date_trunc("week", F.col("event_ts")).cast("date")
        ws = F.col("week_start")
        full = (ws >= F.lit(period_start)) & (F.date_add(ws, 7) <= F.lit(period_end))
        return (
            labels.where(F.col("org_id").isNotNull())
            .withColumn("week_start", week)
            .groupBy("org_id", "user_key", "week_start")
            .agg(
                F.count("*").alias("n_interactions"),
                F.sum(output_used().cast("int")).alias("n_used_outputs"),
                F.sum(F.coalesce(output_unused(max_dwell_ms), F.lit(False)).cast("int")).alias(
                    "n_unused_outputs"
                ),
                # rounded: fractional incentive weights make the float sum order-dependent
                F.sum(measured.cast("int")).alias("n_measured"),
                F.round(F.sum(F.when(measured, F.col("theater_probability"))), 6).alias(
                    "theater_interactions"
                ),
                F.sum(F.col("is_theater").cast("int")).alias("n_flagged"),
            )
            .withColumn("full_week", full)
            .withColumn("period_start", F.lit(period_start))
            .withColumn("period_end", F.lit(period_end))
        )

    return apply


def flag_measured(flag_names: Sequence[str]) -> Column:
    """True where at least one per-interaction signal (``sig_<flag>``) is measured. An
    interaction measured only by an incentive weight (quota bunching, checkpoint burst) has a
    probability, but says nothing about its own use: it is not in the theater index's
    denominator. With no ``flag_names``, every row with a probability counts."""
    if not flag_names:
        return F.col("theater_probability").isNotNull()
    measured = F.lit(False)
    for n in flag_names:
        measured = measured | F.col(f"sig_{n}").isNotNull()
    return measured & F.col("theater_probability").isNotNull()


def agg_org_users(labels: DataFrame, flag_names: Sequence[str] = ()) -> DataFrame:
    """Per (org, user): interactions ``n``, interactions on which at least one per-interaction
    signal is measured ``n_measured`` (:func:`flag_measured`) and their summed probability
    ``sum_p`` (bootstrap units)."""
    measured = flag_measured(flag_names)
    return (
        labels.where(F.col("org_id").isNotNull())
        .groupBy("org_id", "user_key")
        .agg(
            F.count("*").alias("n"),
            F.sum(measured.cast("int")).alias("n_measured"),
            F.coalesce(
                F.round(F.sum(F.when(measured, F.col("theater_probability"))), 9), F.lit(0.0)
            ).alias("sum_p"),
        )
    )


def agg_org_signals(
    labels: DataFrame,
    names: Sequence[str],
    min_rows: int,
    flag_names: Sequence[str] = (),
    min_coverage: float = 0.0,
) -> DataFrame:
    """Per org: each signal's share of measurable interactions (null below ``min_rows``),
    ``coverage_<name>`` (share of the org's interactions on which it is measured) and
    ``_n_measurable_flags``: how many of ``flag_names`` (the per-interaction signals) are
    measured on >= ``min_coverage`` of the org's interactions and >= ``min_rows`` of them.

    For an incentive weight (double) the share is the mean weight over measured interactions.
    """
    aggs = [F.count("*").alias("_rows")]
    for n in names:
        col = F.col(f"sig_{n}")
        aggs += [
            F.sum(col.cast("double")).alias(f"_fired_{n}"),
            F.count(col).alias(f"_measured_{n}"),
        ]
    per_org = labels.where(F.col("org_id").isNotNull()).groupBy("org_id").agg(*aggs)
    shares = [
        F.when(
            F.col(f"_measured_{n}") >= min_rows, F.col(f"_fired_{n}") / F.col(f"_measured_{n}")
        ).alias(f"signal_{n}")
        for n in names
    ]
    coverage = [(F.col(f"_measured_{n}") / F.col("_rows")).alias(f"coverage_{n}") for n in names]
    ok = [
        (
            (F.col(f"_measured_{n}") / F.col("_rows") >= F.lit(float(min_coverage)))
            & (F.col(f"_measured_{n}") >= F.lit(min_rows))
        ).cast("int")
        for n in flag_names
    ]
    n_ok = sum(ok, F.lit(0)).alias("_n_measurable_flags")
    return per_org.select("org_id", *shares, *coverage, n_ok)


def bootstrap_interval(
    spark: SparkSession,
    org_users: DataFrame,
    replicates: int,
    confidence: float,
    seed: int,
    num: str = "sum_p",
    den: str = "n_measured",
) -> DataFrame:
    """User-clustered Poisson bootstrap of each org's share, computed in Spark.

    Each replicate gives every (org, user) a Poisson(1) weight; the replicate's share is
    sum(w * num) / sum(w * den) (by default: summed probability over the interactions that have
    one, the same rows as the point estimate). The percentile interval is returned as
    ``ci_low``/``ci_high`` (shares, 0-1) with ``n_replicates`` that had any weight.
    """
    alpha = (1.0 - confidence) / 2.0
    reps = spark.range(replicates).withColumnRenamed("id", "rep")
    weighted = org_users.crossJoin(F.broadcast(reps)).withColumn(
        "w", poisson_weight(seed, F.concat_ws("|", "org_id", "user_key"), F.col("rep"))
    )
    per_rep = (
        weighted.groupBy("org_id", "rep")
        .agg(
            F.sum(F.col("w") * F.col(num)).alias("num"), F.sum(F.col("w") * F.col(den)).alias("den")
        )
        .where(F.col("den") > 0)
        .withColumn("share", F.col("num") / F.col("den"))
    )
    return per_rep.groupBy("org_id").agg(
        # exact nearest rank (percentile_approx differs between Sail and Apache Spark)
        discrete_percentile("share", alpha).alias("ci_low"),
        discrete_percentile("share", 1.0 - alpha).alias("ci_high"),
        F.count("*").alias("n_replicates"),
    )


ACCEPTANCE_BASIS = "acceptance"


def wilson(p: Column, n: Column, confidence: float) -> tuple[Column, Column]:
    """Wilson score interval of a share ``p`` over ``n`` units (users): never zero-width for
    n > 0, and its ends stay in [0, 1]."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    nn = F.greatest(n.cast("double"), F.lit(1.0))
    z2 = F.lit(z * z)
    centre = (p + z2 / (2 * nn)) / (1 + z2 / nn)
    half = F.lit(z) * F.sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn)
    return F.greatest(centre - half, F.lit(0.0)), F.least(centre + half, F.lit(1.0))


def nonzero_width(
    share: Column, low: Column, high: Column, n_units: Column, confidence: float
) -> tuple[Column, Column, Column]:
    """(index, ci_low, ci_high) in percent, rounded to 2 decimals, from shares (0-1).

    The interval is widened to contain the point and, where the percentile interval has no width
    at that rounding (every resampled user showed the same thing, e.g. all zero), replaced by the
    Wilson interval of the share over ``n_units`` users: none of these figures is exact, since
    other users, or the same users on other weeks, could have shown something else."""
    lo = F.round(F.least(low * 100, share * 100), 2)
    hi = F.round(F.greatest(high * 100, share * 100), 2)
    w_lo, w_hi = wilson(share, n_units, confidence)
    flat = lo >= hi
    return (
        F.round(share * 100, 2),
        F.when(flat, F.round(F.least(w_lo * 100, lo), 2)).otherwise(lo),
        F.when(flat, F.round(F.greatest(w_hi * 100, hi), 2)).otherwise(hi),
    )


NOT_MEASURABLE_EVENTS = (
    "no per-interaction signal measurable on >= {cov:.0%} of the org's "
    "interactions: too few of them carry an output disposition, dwell time, "
    "artifact (author, modification time) or prompt tokens"
)
NOT_MEASURABLE_AGGREGATES = (
    "no interaction-level data: the org's sources are user-day or person-week aggregates only"
)
INCENTIVE_NOT_MEASURABLE = (
    "no incentive component measurable: no quota-bunching or "
    "checkpoint estimate for the org (no policy, or below the sample "
    "rule) and no accept/reject counts for requested outputs"
)


def org_index(
    org_users: DataFrame,
    signals: DataFrame,
    interval: DataFrame,
    *,
    names: Sequence[str],
    min_users: int,
    dominance_share: float,
    top_n: int,
    period_start: date,
    period_end: date,
    run_id: str,
    flag_names: Sequence[str] | None = None,
    min_coverage: float = 0.0,
    incentive: DataFrame | None = None,
    usage: DataFrame | None = None,
    sources: DataFrame | None = None,
    acceptance: DataFrame | None = None,
    confidence: float = 0.90,
) -> DataFrame:
    """Assemble gold/org_theater_index: index, interval, signals, coverage, suppression.

    ``org_users``: per (org, user) ``n`` interactions, ``n_measured`` with a probability and
    their ``sum_p``; ``signals``: :func:`agg_org_signals`. The theater index is 100 x the mean
    probability over measured interactions, published only for orgs where at least one
    per-interaction signal (``flag_names``) is measurable (``_n_measurable_flags`` > 0); other
    orgs get null index and interval and a ``not_measurable_reason``.

    ``incentive``: per org ``_inc_share``, ``_inc_ci_low``, ``_inc_ci_high`` (shares 0-1),
    ``incentive_basis`` (the incentive index, a lower bound from aggregates and incentive
    components). ``usage``: per (org, user) ``usage`` over events and aggregates (k users and
    dominance are checked on it; default: the interactions). ``sources``: per org an array.
    ``acceptance``: per org ``_ax_share``, ``_ax_low``, ``_ax_high`` (shares), ``_ax_users``,
    ``_ax_coverage``, ``_ax_outputs`` and ``_ax_reason``
    (:func:`theater.stages.score.acceptance_index`): the same quantity estimated from acceptance
    counts, published as ``theater_index`` with ``index_basis = 'acceptance'`` for an org
    without a per-interaction index, or whose index reads less of its usage than the counts
    (:func:`_index_covers_more`).
    Suppressed orgs carry no index, interval, signal, coverage or incentive figure. No interval
    is zero-width (:func:`nonzero_width`): a bootstrap of users who all show nothing is not an
    exact 0.
    """
    flag_names = list(names if flag_names is None else flag_names)
    joined = _org_inputs(org_users, signals, interval, names, usage, incentive, sources, acceptance)
    n_ok, coverage = _coverage(joined, names, flag_names)
    joined = (
        joined.withColumn("suppression_reason", _suppression(min_users, dominance_share))
        .withColumn("suppressed", F.col("suppression_reason").isNotNull())
        .withColumn(
            "_measurable", F.coalesce((n_ok > 0) & (F.col("_n_measured") > 0), F.lit(False))
        )
    )
    sig_cols = [f"signal_{n}" for n in names]
    cov_cols = [f"coverage_{n}" for n in names]
    n_events = F.coalesce(F.col("n_interactions"), F.lit(0))
    return joined.select(
        "org_id",
        F.lit(period_start).alias("period_start"),
        F.lit(period_end).alias("period_end"),
        *_index_columns(confidence),
        # suppressed: no figures at all, not even counts (only the reason)
        F.when(_keep(), F.col("n_users")).alias("n_users"),
        F.when(_keep(), n_events).alias("n_interactions"),
        # the index's denominator: interactions with a per-interaction signal measured
        F.when(_keep(), F.col("_n_measured").cast("long")).alias("n_measured"),
        "suppressed",
        "suppression_reason",
        *[_kept(F.round(F.col(c), 4), "double").alias(c) for c in sig_cols],
        _kept(coverage, "double").alias("signal_coverage"),
        *[_kept(F.round(F.col(c), 4), "double").alias(c) for c in cov_cols],
        _not_measurable(n_events, min_coverage).alias("not_measurable_reason"),
        *_incentive_columns(confidence),
        _basis().alias("index_basis"),
        F.when(_keep(), F.col("_ax_users")).alias("acceptance_users"),
        F.when(_keep(), F.round(F.col("_ax_coverage"), 4)).alias("acceptance_coverage"),
        _kept(F.col("sources"), "array<string>").alias("sources"),
        F.lit(None).cast("double").alias("outcome_decoupling"),
        F.when(_pub(), _top_signals(names, top_n)).alias("top_signals"),
        F.lit(run_id).alias("run_id"),
    )


# Which figures an org shows, on the columns of :func:`org_index`'s joined inputs (functions,
# not constants: a Column needs an active session in classic PySpark)
def _keep() -> Column:
    """Not suppressed: the org shows figures."""
    return ~F.col("suppressed")


def _pub() -> Column:
    """A per-interaction index is published: measurable, and its measured interactions cover
    at least as much of the org's usage as an acceptance estimate's counts do
    (:func:`_index_covers_more`)."""
    return _keep() & F.col("_measurable") & _index_covers_more()


def _ax_pub() -> Column:
    """The estimate from acceptance counts is published: there is one, and no per-interaction
    index, or one whose measured interactions cover less of the org's usage than the counts."""
    return _keep() & F.col("_ax_share").isNotNull() & ~(F.col("_measurable") & _index_covers_more())


def _index_covers_more() -> Column:
    """The org's published figure rests on the basis that reads more of its usage. Both counts
    are of the org's usage units read one at a time, over the same usage (the per-user usage
    the k-users rule and the acceptance estimator read): the per-interaction index's measured
    interactions (each with a probability from a signal measured on it; the index is their mean,
    and says nothing of the rest) against the outputs the acceptance counts read
    (``_ax_outputs``: each user's counted outputs, at most its usage; every output of a feature
    whose source reports use decisions, one without a decision read as unused). A tie, or no
    acceptance estimate, keeps the per-interaction index, and so does an index whose measured
    interactions are most of the org's usage (:data:`MEASURED_MAJORITY`): the unmeasured part
    is then the smaller one and cannot outweigh it, and the per-interaction index is the finer
    measure (on native data, where the two counts are within a few percent of each other, a
    near tie would otherwise swap an org to a much wider interval on a fraction of a percent)."""
    measured = F.coalesce(F.col("_n_measured"), F.lit(0))
    return (
        F.col("_ax_share").isNull()
        | F.col("_ax_outputs").isNull()
        | (measured >= F.col("_ax_outputs"))
        | (measured >= F.lit(MEASURED_MAJORITY) * F.col("_usage"))
    )


#: the share of an org's usage its measured interactions must reach for the per-interaction
#: index to stand whatever the acceptance counts read: half, where the measured part is no
#: longer the smaller one (not fitted to any world)
MEASURED_MAJORITY = 0.5


def _inc_pub() -> Column:
    """An incentive index is published."""
    return _keep() & F.col("_inc_share").isNotNull()


def _kept(value: Column, type_: str) -> Column:
    """``value`` for an org not suppressed, else a typed null."""
    return F.when(_keep(), value).otherwise(F.lit(None).cast(type_))


def _org_inputs(org_users, signals, interval, names, usage, incentive, sources, acceptance):
    """One row per org with users: user and usage totals (k users and dominance are checked on
    ``usage``; default: the interactions), interaction counts, and every input joined on;
    absent optional inputs are empty frames, absent coverage columns nulls."""
    spark = org_users.sparkSession
    if usage is None:
        usage = org_users.select("org_id", "user_key", F.col("n").cast("double").alias("usage"))
    totals = usage.groupBy("org_id").agg(
        F.countDistinct("user_key").alias("n_users"),
        F.sum("usage").alias("_usage"),
        F.max("usage").alias("_max_user_n"),
    )
    events = org_users.groupBy("org_id").agg(
        F.sum("n").alias("n_interactions"),
        F.sum(F.col("n_measured") if "n_measured" in org_users.columns else F.col("n")).alias(
            "_n_measured"
        ),
        F.sum("sum_p").alias("_sum_p"),
    )
    if incentive is None:
        incentive = spark.createDataFrame(
            [],
            "org_id string, _inc_share double, _inc_ci_low double, _inc_ci_high double, "
            "incentive_basis string",
        )
    if sources is None:
        sources = spark.createDataFrame([], "org_id string, sources array<string>")
    if acceptance is not None and "_ax_outputs" not in acceptance.columns:
        acceptance = acceptance.withColumn("_ax_outputs", F.lit(None).cast("double"))
    if acceptance is None:
        acceptance = spark.createDataFrame(
            [],
            "org_id string, _ax_share double, _ax_low double, _ax_high double, "
            "_ax_users int, _ax_coverage double, _ax_outputs double, _ax_reason string",
        )
    joined = (
        totals.join(events, on="org_id", how="left")
        .join(signals, on="org_id", how="left")
        .join(interval, on="org_id", how="left")
        .join(incentive, on="org_id", how="left")
        .join(sources, on="org_id", how="left")
        .join(acceptance, on="org_id", how="left")
    )
    for c in [f"coverage_{n}" for n in names]:
        if c not in joined.columns:
            joined = joined.withColumn(c, F.lit(None).cast("double"))
    return joined


def _coverage(joined: DataFrame, names, flag_names) -> tuple[Column, Column]:
    """(measurable per-interaction signals, ``signal_coverage``) of an org."""
    if "_n_measurable_flags" in joined.columns:
        n_ok = F.coalesce(F.col("_n_measurable_flags"), F.lit(0))
        coverage = (n_ok.cast("double") / len(flag_names)) if flag_names else F.lit(None)
    else:  # signals without coverage columns: a signal counts when its share is published
        n_ok = F.coalesce(F.col("_n_measured"), F.lit(0))
        sig_cols = [f"signal_{n}" for n in names]
        coverage = sum((F.col(c).isNotNull().cast("double") for c in sig_cols), F.lit(0.0)) / len(
            names
        )
    return n_ok, coverage


def _suppression(min_users: int, dominance_share: float) -> Column:
    """Why an org is suppressed (fewer than k users, one user dominating), else null."""
    return F.when(F.col("n_users") < min_users, F.lit("min_users")).when(
        F.col("_max_user_n") / F.col("_usage") > dominance_share, F.lit("dominance")
    )


def _index_columns(confidence: float) -> list[Column]:
    """``theater_index``, ``ci_low``, ``ci_high``: from the interactions where measurable, else
    from acceptance counts. The percentile interval is widened, if needed, to contain the point
    estimate, and never left zero-width."""
    n_units = F.coalesce(F.col("n_users"), F.lit(0))
    share = F.col("_sum_p") / F.col("_n_measured")
    ix, ix_low, ix_high = nonzero_width(
        share, F.col("ci_low"), F.col("ci_high"), n_units, confidence
    )
    ax_ix, ax_low, ax_high = nonzero_width(
        F.col("_ax_share"), F.col("_ax_low"), F.col("_ax_high"), F.col("_ax_users"), confidence
    )
    pub_any = _pub() | _ax_pub()
    return [
        F.when(pub_any, F.when(_pub(), a).when(_ax_pub(), b))
        .otherwise(F.lit(None).cast("double"))
        .alias(name)
        for name, a, b in [
            ("theater_index", ix, ax_ix),
            ("ci_low", ix_low, ax_low),
            ("ci_high", ix_high, ax_high),
        ]
    ]


def _not_measurable(n_events: Column, min_coverage: float) -> Column:
    """Why a kept org has no index: no interaction-level data, or too little of it measured
    (with the acceptance estimate's own reason, when it has one)."""
    base_reason = F.when(n_events == 0, F.lit(NOT_MEASURABLE_AGGREGATES)).otherwise(
        F.lit(NOT_MEASURABLE_EVENTS.format(cov=min_coverage))
    )
    return (
        F.when(~_keep() | F.col("_measurable") | _ax_pub(), F.lit(None).cast("string"))
        .when(
            F.col("_ax_reason").isNotNull(),
            F.concat_ws("; ", base_reason, F.col("_ax_reason")),
        )
        .otherwise(base_reason)
    )


def _incentive_columns(confidence: float) -> list[Column]:
    """The incentive index, its interval and basis where measurable, else why not."""
    n_units = F.coalesce(F.col("n_users"), F.lit(0))
    inc_index, inc_low, inc_high = nonzero_width(
        F.col("_inc_share"), F.col("_inc_ci_low"), F.col("_inc_ci_high"), n_units, confidence
    )
    return [
        F.when(_inc_pub(), inc_index)
        .otherwise(F.lit(None).cast("double"))
        .alias("incentive_index"),
        F.when(_inc_pub(), inc_low).otherwise(F.lit(None).cast("double")).alias("incentive_ci_low"),
        F.when(_inc_pub(), inc_high)
        .otherwise(F.lit(None).cast("double"))
        .alias("incentive_ci_high"),
        F.when(_inc_pub(), F.col("incentive_basis"))
        .otherwise(F.lit(None).cast("string"))
        .alias("incentive_basis"),
        F.when(_keep() & ~_inc_pub(), F.lit(INCENTIVE_NOT_MEASURABLE))
        .otherwise(F.lit(None).cast("string"))
        .alias("incentive_not_measurable_reason"),
    ]


def _basis() -> Column:
    """What the published index rests on: interactions, acceptance counts, aggregates, none."""
    return (
        F.when(_pub(), F.lit("interactions"))
        .when(_ax_pub(), F.lit(ACCEPTANCE_BASIS))
        .when(_inc_pub(), F.lit("aggregates"))
        .otherwise(F.lit("none"))
    )


def _top_signals(names, top_n: int) -> Column:
    """The ``top_n`` signals with the largest share above 0, largest first."""
    ranked = F.array_sort(
        F.array_compact(
            F.array(
                *[
                    F.when(
                        F.col(f"signal_{n}") > 0,
                        F.struct((-F.col(f"signal_{n}")).alias("k"), F.lit(n).alias("name")),
                    )
                    for n in names
                ]
            )
        )
    )
    return F.transform(F.slice(ranked, 1, top_n), lambda s: s.getField("name"))


# Columns a suppressed org keeps: who, when, that it is suppressed and why, and the run.
SUPPRESSED_KEEPS = (
    "org_id",
    "period_start",
    "period_end",
    "suppressed",
    "suppression_reason",
    "run_id",
)


def blank_suppressed(index: DataFrame) -> DataFrame:
    """Null every figure of suppressed orgs (counts, index, interval, signals, incentive and
    decoupling columns, ranks): suppressed means no figures anywhere, only the reason."""
    keep = ~F.coalesce(F.col("suppressed"), F.lit(False))
    return index.select(
        *[
            F.col(c) if c in SUPPRESSED_KEEPS else F.when(keep, F.col(c)).alias(c)
            for c in index.columns
        ]
    )

"""Score: silver -> gold.

1. Five per-interaction signals over the period's silver interactions (plus the look-back the
   repeat signal needs), the theater probability and ``is_theater`` -> gold/interaction_labels.
2. Pseudonymous user x ISO week usage with the quota in force -> gold/user_weeks.
3. Per org: theater index (100 x mean probability over the interactions with a measured
   component; null with ``not_measurable_reason`` when no per-interaction signal is measurable),
   user-clustered Poisson bootstrap interval, signal shares and coverage, the incentive index
   (a lower bound that silver/user_days aggregates feed too), suppression ->
   gold/org_theater_index.

Each table's period slice is replaced in one commit (replaceWhere); other periods are untouched.

``compute_gold`` is the one compute path: ``run`` calls it with a ``publish`` step (validate,
write, read back) and ``theater rescore`` (``theater.reproduce``) without one, so a rescore is
the published computation by construction.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Callable, NamedTuple

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from .. import logs, quality
from ..audit import integrate as audit
from ..audit.labels import TABLE as AUDIT_LABELS
from ..buckets import (
    SCRATCH_CODEC,
    UserParts,
    bucket_count,
    file_groups,
    materialize,
    read_bucket,
    user_bucket,
    user_bucket_copy,
    write_partitioned,
)
from ..columns import quota_in_force
from ..config import Config
from ..lake import Lake, LakeError, staged_files
from ..period import Period
from ..signals import (
    FLAG_NAMES,
    INCENTIVE_NAMES,
    NAMES,
    fragmentation,
    org_acceptance,
    padding,
    repeat_prompt,
    self_summary,
    unused_output,
)
from ..signals import acceptance_codes as codes
from ..signals import acceptance_excess as ax
from ..signals.common import action_quantile
from ..transforms import adoption as adopt
from ..transforms import aggregates as agg
from ..transforms.score import (
    NOT_NULL,
    agg_org_signals,
    agg_org_users,
    agg_user_weeks,
    blank_suppressed,
    bootstrap_interval,
    org_index,
    with_labels,
)
from . import incentives

log = logging.getLogger(__name__)

LABEL_COLUMNS = [
    "event_id",
    "tool",
    "org_id",
    "user_key",
    "event_date",
    "event_ts",
    "action",
    "output_disposition",
    "dwell_ms",
    "theater_probability",
    "flags",
    "is_theater",
    *[f"sig_{n}" for n in NAMES],
]
POLICY_SCHEMA = (
    "org_id string, kind string, start_date date, end_date date, weekly_quota bigint, note string"
)


def label_interactions(interactions, thresholds, cfg: Config, inc=None, stage=None):
    """Add every signal and the theater probability (pure: DataFrames and settings in).

    ``thresholds``: (short, long) per-action token quantiles of the whole period
    (:func:`action_thresholds`), so that every user bucket uses the same ones.
    ``inc`` (:class:`theater.stages.incentives.Incentives`) carries the incentive weights w_q
    and w_cp; p = 1 - (1 - F)(1 - w_q)(1 - w_cp) (recipe step 4). Without it they are NA.
    ``stage``: frame -> its written copy, for the repeat signal's matches
    (``repeat_prompt.flag``); None: one plan.
    """
    s = cfg.signals
    dwell = s.unused_output.max_dwell_ms
    short, long_ = thresholds
    rp, fr = s.repeat_prompt, s.fragmentation
    weights = {**cfg.weights.as_dict(), **{n: 1.0 for n in INCENTIVE_NAMES}}
    return (
        interactions.transform(unused_output.flag(dwell))
        .transform(self_summary.flag(s.self_summary.min_age_days, dwell))
        .transform(
            repeat_prompt.flag(rp.max_hamming, rp.window_days, rp.same_artifact, dwell, stage)
        )
        .transform(fragmentation.flag(short, fr.min_count, fr.window_minutes))
        .transform(padding.flag(long_, dwell))
        .transform(lambda df: incentives.apply(df, inc, rows=interactions))
        .transform(with_labels(weights, cfg.scoring.threshold))
    )


def action_thresholds(period_rows, cfg: Config) -> tuple[DataFrame, DataFrame]:
    """(short, long): per action, the period's prompt-token quantiles that fragmentation
    ("very short") and padding use. Period-wide, so computed before any bucketing."""
    s = cfg.signals
    return (
        action_quantile(period_rows, s.fragmentation.short_quantile, fragmentation.THRESHOLD),
        action_quantile(period_rows, s.padding.quantile, padding.THRESHOLD),
    )


@dataclass
class ScoreInputs:
    """Silver inputs of one scoring run, pinned at the Delta versions in ``read``."""

    interactions: DataFrame  # the period plus the repeat signal's look-back
    policies: DataFrame
    history: DataFrame  # (org_id, user_key, event_date) reaching back for decoupling
    work_items: DataFrame | None
    read: dict = field(default_factory=dict)  # {table: version read}
    audit_labels: DataFrame | None = None  # ops/audit_labels of the period (theater audit)
    user_days: DataFrame | None = None  # silver/user_days, history floor to period end
    # n -> ``interactions`` in at most n parts, by silver's data files (None: not readable so)
    chunks: Callable[[int], list[DataFrame]] | None = None
    seats: DataFrame | None = None  # silver/seats (seat assignments), None: no seat input
    directory: DataFrame | None = None  # silver/directory, for the org of a seat holder
    # everything before the period (the lake's whole history, for adoption cohorts)
    before_interactions: DataFrame | None = None
    before_user_days: DataFrame | None = None
    org_days: DataFrame | None = None  # the period's silver/org_days (org-level exports)


def history_days(cfg: Config) -> int:
    """Days of silver before the period that outcome decoupling may use as pre-mandate weeks."""
    return round(7 * cfg.incentives.outcome_decoupling.max_pre_weeks)


def read_inputs(
    spark: SparkSession, lake: Lake, period: Period, cfg: Config, versions: dict | None = None
) -> ScoreInputs:
    """Silver inputs for the period, read at the given Delta versions (time travel) or pinned
    at the current ones."""
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
    work_items = None
    if lake.exists("silver/work_items"):
        work_items, read["silver/work_items"] = pinned("silver/work_items")
    # audit labels at the pinned version; a rescore of a run that read none reads none
    audit_labels = None
    if "ops/audit_labels" in versions or not versions:
        audit_v = versions.get("ops/audit_labels", lake.version(AUDIT_LABELS))
        audit_labels = audit.period_labels(lake, spark, period, audit_v)
        if audit_labels is not None:
            read["ops/audit_labels"] = audit_v
    user_days = before_user_days = None
    # a rescore reads only what the tracked run read: no user_days if that run had none
    if lake.exists("silver/user_days") and (not versions or "silver/user_days" in versions):
        ud, read["silver/user_days"] = pinned("silver/user_days")
        back = period.extend_back(history_days(cfg))
        user_days = ud.where(back.date_col("day"))
        before_user_days = ud.where(F.col("day") < F.lit(period.start))
    org_days = None
    if lake.exists("silver/org_days") and (not versions or "silver/org_days" in versions):
        od, read["silver/org_days"] = pinned("silver/org_days")
        org_days = od.where(period.date_col("day"))
    seats = directory = None
    if lake.exists("silver/seats") and (not versions or "silver/seats" in versions):
        seats, read["silver/seats"] = pinned("silver/seats")
        if lake.exists("silver/directory"):
            directory, read["silver/directory"] = pinned("silver/directory")
    lookback = cfg.signals.repeat_prompt.window_days
    history = silver.where(period.extend_back(history_days(cfg)).ts_col("event_ts")).select(
        "org_id", "user_key", "event_date"
    )

    def rows_of(frame):  # the period plus the repeat signal's look-back
        return frame.where(period.extend_back(lookback).ts_col("event_ts"))

    files = lake.data_files("silver/interactions", v_i)

    def chunks(n: int) -> list[DataFrame]:
        groups = file_groups(files, n)
        return [rows_of(lake.read_files(spark, "silver/interactions", g, v_i)) for g in groups]

    return ScoreInputs(
        rows_of(silver),
        policies,
        history,
        work_items,
        read,
        audit_labels,
        user_days,
        chunks if files else None,
        seats,
        directory,
        silver.where(F.col("event_ts") < F.lit(f"{period.start} 00:00:00").cast("timestamp")),
        before_user_days,
        org_days,
    )


@dataclass
class Aggregates:
    """silver/user_days turned into usage units (theater.transforms.aggregates), de-duplicated
    against the event data of the same tool (events win, per org, user and tool family)."""

    period: DataFrame  # units of the period
    history: DataFrame  # (org_id, user_key, event_date, _n) back to the history floor
    user_days: DataFrame | None = None  # the period's silver/user_days rows, events win


def aggregate_units(inputs: ScoreInputs, period: Period, cfg: Config) -> Aggregates | None:
    if inputs.user_days is None:
        return None
    rows = inputs.interactions.where(period.ts_col("event_ts"))
    units = agg.without_event_grain(
        agg.usage_units(inputs.user_days, period.start, period.end), rows
    )
    back = period.extend_back(history_days(cfg))
    hist = agg.without_event_grain(agg.usage_units(inputs.user_days, back.start, period.end), rows)
    history = hist.where(F.col("n").isNotNull()).select(
        "org_id", "user_key", F.col("day").alias("event_date"), F.col("n").alias("_n")
    )
    raw = agg.without_event_grain(
        inputs.user_days.where(period.date_col("day")).withColumn(
            "family", agg.family(F.col("source_format"))
        ),
        rows,
    ).drop("family")
    return Aggregates(units, history, raw)


def labels_frame(interactions, period: Period, cfg: Config, inc=None, thresholds=None, stage=None):
    """Labels of the period's interactions (``interactions``: the period plus the look-back;
    ``stage``: see :func:`label_interactions`)."""
    if thresholds is None:
        thresholds = action_thresholds(interactions.where(period.ts_col("event_ts")), cfg)
    return (
        label_interactions(interactions, thresholds, cfg, inc, stage)
        .where(period.ts_col("event_ts"))
        .select(*LABEL_COLUMNS)
    )


#: silver's columns that no reader of the user-bucketed copy of the interactions reads
#: (ingest's and refine's bookkeeping, the sessions): left out of that copy (a third of its
#: bytes at 1M)
NOT_COPIED = (
    "_row_hash",
    "session_key",
    "session_id",
    "work_item_id",
    "_source_file",
    "_batch_id",
    "_ingested_at",
    "org_source",
)


def interaction_buckets(
    spark: SparkSession,
    interactions: DataFrame,
    n: int,
    staging: str,
    chunks: list[DataFrame] | None = None,
) -> UserParts:
    """``interactions`` (the period and the look-back) written once by user bucket under
    ``staging`` (``buckets.user_bucket_copy``; ``chunks``: the same rows by silver's data
    files), without :data:`NOT_COPIED`. The labels, the incentive step's cell-week and
    user-day tables and adoption's activity each read it a bucket at a time."""
    keep = [c for c in interactions.columns if c not in NOT_COPIED]
    parts = [p.select(*keep) for p in (chunks or [interactions])]
    return user_bucket_copy(spark, parts, n, os.path.join(staging, "interactions"))


def bucketed_labels(
    spark: SparkSession,
    interactions: DataFrame,
    period: Period,
    cfg: Config,
    inc,
    staging: str,
    n: int,
    chunks: list[DataFrame] | None = None,
) -> DataFrame:
    """The labels of the period computed in user-hash buckets (:func:`bucketed_gold`, without
    the per-user tables)."""
    return bucketed_gold(spark, interactions, period, cfg, inc, staging, n, chunks)[0]


def bucketed_gold(
    spark: SparkSession,
    interactions: DataFrame,
    period: Period,
    cfg: Config,
    inc,
    staging: str,
    n: int,
    chunks: list[DataFrame] | None = None,
    policies: DataFrame | None = None,
    parts: UserParts | None = None,
) -> tuple[DataFrame, DataFrame | None]:
    """``(labels, user_weeks)`` of the period computed in user-hash buckets of about
    ``scoring.bucket_rows`` interactions each, one after the other, so that the memory of the
    signals' windows and self-joins, and of the per-user tables, follows the bucket, not the
    period.

    Every signal is per user (repeat prompts and fragmentation partition by user), or uses a
    period-wide threshold computed once here (the per-action token quantiles) or the incentive
    weights (small per user-week and user-day tables, materialized once): the labels equal
    those of one plan over the period. Each bucket's labels are written to a staged Parquet
    copy under ``staging``; the caller validates and publishes that copy in one commit.
    ``n``: the number of buckets (:func:`label_buckets`). ``chunks``: ``interactions`` in
    parts (silver's data files); the copy partitioned by user bucket is then written part by
    part, so that the writer holds a part, not the period. ``parts``: that copy when the
    caller wrote it (:func:`interaction_buckets`), else it is written here.

    With ``policies`` (and more than one bucket) each bucket's user-weeks
    (:func:`user_weeks_frame`, per user, so one bucket's rows are that bucket's users' weeks)
    are computed from its staged labels and appended to a staged copy too: the same rows as
    from the whole period's labels, without an aggregate over the period. Otherwise (one
    bucket) ``user_weeks`` is None and the caller computes them from the published labels.
    """
    period_rows = interactions.where(period.ts_col("event_ts"))
    thresholds = tuple(
        materialize(spark, t, os.path.join(staging, f"thresholds_{k}"))
        for k, t in enumerate(action_thresholds(period_rows, cfg))
    )
    if inc is not None and inc.user_weeks is not None:
        inc.user_weeks = materialize(spark, inc.user_weeks, os.path.join(staging, "inc_weeks"))
    if inc is not None and inc.checkpoint is not None:
        inc.checkpoint = materialize(spark, inc.checkpoint, os.path.join(staging, "inc_days"))
    out = os.path.join(staging, "labels")

    def hits(name: str):  # the repeat signal's matches written under ``staging``
        return lambda frame: materialize(spark, frame, os.path.join(staging, "repeat_hits", name))

    if n == 1:
        frame = labels_frame(interactions, period, cfg, inc, thresholds, hits("all"))
        return materialize(spark, frame, out), None
    if parts is None:
        parts = interaction_buckets(spark, interactions, n, staging, chunks)
    weeks_out = os.path.join(staging, "user_weeks")
    inc_of = incentive_buckets(spark, inc, n, staging)
    dirs: list[str] = []
    schema = weeks_schema = None
    for b in range(n):
        part = parts.rows(b)
        if part is None:  # no user hashed here
            continue
        frame = labels_frame(part, period, cfg, inc_of(b), thresholds, hits(f"bucket-{b}"))
        # one directory per bucket: its user-weeks read that bucket's labels back
        dirs.append(os.path.join(out, f"bucket-{b}"))
        frame.write.mode("overwrite").parquet(dirs[-1])
        schema = frame.schema
        if policies is not None:
            mine = spark.read.schema(schema).parquet(dirs[-1])
            weeks = user_weeks_frame(mine, policies, period, cfg)
            weeks.write.mode("append" if weeks_schema is not None else "overwrite").parquet(
                weeks_out
            )
            weeks_schema = weeks.schema
        log.info("score: labels, user bucket %d of %d", b + 1, n)
    if schema is None:  # no interactions at all
        return materialize(
            spark, labels_frame(interactions, period, cfg, inc, thresholds), out
        ), None
    labels = spark.read.schema(schema).parquet(*dirs)
    weeks = spark.read.schema(weeks_schema).parquet(weeks_out) if weeks_schema else None
    return labels, weeks


def incentive_buckets(spark: SparkSession, inc, n: int, staging: str) -> Callable[[int], object]:
    """b -> ``inc`` with its per-user tables (the user-week weights, the checkpoint user-days)
    cut to user bucket ``b`` of ``n``: each bucket's labels join its own users' rows, not the
    whole period's (every bucket built a hash table of all of them, and the filler cells read
    the user-weeks twice more). Each table is written once by user bucket under ``staging``;
    a bucket without rows there gets an empty frame (its rows match nothing, as before)."""
    if inc is None or (inc.user_weeks is None and inc.checkpoint is None):
        return lambda b: inc

    def by_bucket(frame: DataFrame | None, name: str):
        if frame is None:
            return lambda b: None
        path = os.path.join(staging, name)
        write_partitioned(frame, user_bucket(n), path, False, n, compression=SCRATCH_CODEC)

        def rows(b: int) -> DataFrame:
            part = read_bucket(spark, path, b, frame.schema)
            return part if part is not None else frame.limit(0)

        return rows

    weeks = by_bucket(inc.user_weeks, "inc_weeks_by_user")
    days = by_bucket(inc.checkpoint, "inc_days_by_user")
    return lambda b: replace(inc, user_weeks=weeks(b), checkpoint=days(b))


def staged_interactions(staging: str) -> str:
    """Where :func:`bucketed_gold` writes the period's interactions by user bucket (read back
    a bucket at a time by the labels and by :func:`acceptance_parts`)."""
    return os.path.join(staging, "interactions")


def label_buckets(interactions: DataFrame, period: Period, cfg: Config) -> int:
    """User buckets for the period's labels: about ``scoring.bucket_rows`` interactions each."""
    return bucket_count(
        interactions.where(period.ts_col("event_ts")).count(), cfg.scoring.bucket_rows
    )


def user_weeks_frame(labels, policies, period: Period, cfg: Config):
    dwell = cfg.signals.unused_output.max_dwell_ms
    return (
        labels.transform(agg_user_weeks(period.start, period.end, dwell, FLAG_NAMES))
        .transform(quota_in_force(policies))
        .withColumn("quota_position", F.col("n_interactions") - F.col("weekly_quota"))
    )


def incentive_frames(
    spark: SparkSession,
    labels,
    aggs: Aggregates | None,
    inc,
    cfg: Config,
    staging=None,
    beside=None,
):
    """(per-org incentive share + interval, per (org, user) usage, the incentive org shares)
    over event and aggregate units: the incentive index (docs/methodology.md, "Indices from
    aggregates"). The org shares (``incentives.compute_org_shares``, a list of ``OrgShare``)
    come as a future: computed by ``beside`` (an executor, :func:`beside_executor`), or at
    once without it.

    Every per-(org, user) sum read here (the incentive users, the incentive components alone,
    the org shares' usage and filler) is one aggregate of the units; with ``staging`` it is
    written there once, since the org figures, their interval, the usage and the org shares
    would each aggregate the period's labels again."""
    units = agg.event_units(labels)
    if aggs is not None:
        units = units.unionByName(
            aggs.period.transform(
                agg.with_weights(
                    inc.user_weeks if inc else None,
                    inc.checkpoint if inc else None,
                    inc.checkpoint_orgs if inc else [],
                )
            )
        )
    # the incentive components alone (the acceptance one is the excess estimator's own input)
    pi = agg.explained(("w_q", "w_cp"))
    users = agg.incentive_users(
        units,
        (
            F.sum(F.col("n") * pi).alias("_num"),
            F.sum(F.when(pi.isNotNull(), F.col("n"))).alias("_den"),
            incentives.filler_sum(),
        ),
    )
    if staging is not None:
        users = materialize(spark, users, os.path.join(staging, "incentive_users"))
    user_inc = users.select(
        "org_id",
        "user_key",
        F.when(F.col("_den") > 0, F.col("_num") / F.col("_den")).alias("incentive"),
    )
    b = cfg.scoring.bootstrap
    interval = bootstrap_interval(
        spark,
        users.where(F.col("inc_den") > 0),
        b.replicates,
        b.confidence,
        b.seed,
        num="inc_num",
        den="inc_den",
    )
    per_org = _incentive_per_org(users, interval, cfg)
    shares = (beside or AtOnce()).submit(_org_shares, units, inc, b, users)
    usage = users.select("org_id", "user_key", "usage").join(
        user_inc, on=["org_id", "user_key"], how="left"
    )
    return per_org, usage, shares


def _incentive_per_org(users, interval, cfg: Config) -> DataFrame:
    """Per org: the incentive share (where enough rows back it), its interval and basis."""
    bases = F.array_sort(F.array_distinct(F.flatten(F.collect_list("_bases"))))
    return (
        users.groupBy("org_id")
        .agg(
            F.sum("inc_num").alias("_num"),
            F.sum("inc_den").alias("_den"),
            F.sum("inc_rows").alias("_rows"),
            bases.alias("_b"),
        )
        .join(interval, on="org_id", how="left")
        .select(
            "org_id",
            F.when(
                (F.col("_den") > 0) & (F.col("_rows") >= cfg.scoring.min_signal_rows),
                F.col("_num") / F.col("_den"),
            ).alias("_inc_share"),
            F.col("ci_low").alias("_inc_ci_low"),
            F.col("ci_high").alias("_inc_ci_high"),
            F.array_join(F.col("_b"), "+").alias("incentive_basis"),
        )
    )


def _org_shares(units, inc, boot, users) -> list:
    """``incentives.compute_org_shares`` on a copy of ``inc`` (this may run on another thread
    while the main one reads ``inc``): the org shares, which the caller sets on ``inc``."""
    if inc is None:
        return []
    mine = replace(inc, org_shares=[])
    incentives.compute_org_shares(units, mine, boot, users)
    return mine.org_shares


def acceptance_index(
    spark: SparkSession, events, aggs, usage, cfg: Config, parts=None, counts=None
) -> DataFrame:
    """Per org: the theater share estimated from acceptance counts and dispositions
    (:mod:`theater.signals.acceptance_excess`), and the outputs those counts read
    (``_ax_outputs``): the org publishes it where it has no per-interaction index or where
    the counts read more of its usage than the index measures
    (:func:`theater.transforms.score.org_index`).

    ``parts``: the period's (user_days, events) a user bucket at a time
    (:func:`acceptance_parts`); the engine then aggregates one bucket's (org, user, feature)
    counts at a time, where one plan holds the period's (2.7 million at 50M); None: one plan.
    ``counts``: :func:`acceptance_counts` of the same, as a future, when started earlier."""
    counts = counts.result() if counts is not None else acceptance_counts(events, aggs, parts)
    users = usage.toPandas()
    b = cfg.scoring.bootstrap
    s = ax.Settings(replicates=b.replicates, confidence=b.confidence, seed=b.seed)
    est = codes.estimate_counts(counts, users, s)
    rows = [
        (
            r.org_id,
            None if pd.isna(r.share) else float(r.share),
            None if pd.isna(r.ci_low) else float(r.ci_low),
            None if pd.isna(r.ci_high) else float(r.ci_high),
            int(r.measured_users),
            float(r.acceptance_coverage),
            float(r.acceptance_outputs),
            r.reason if isinstance(r.reason, str) else None,
        )
        for r in est.itertuples()
    ]
    return spark.createDataFrame(
        rows,
        "org_id string, _ax_share double, _ax_low double, _ax_high double, "
        "_ax_users int, _ax_coverage double, _ax_outputs double, _ax_reason string",
    )


def acceptance_counts(events, aggs, parts):
    """The acceptance counts (``codes.collect_counts``) of ``events`` and the user-day
    aggregates (``parts``: both by user bucket, :func:`acceptance_parts`, or None): they read
    silver only, not the labels."""
    user_days = aggs.user_days if aggs is not None else None
    return codes.collect_counts(parts if parts is not None else [(user_days, events)])


def acceptance_parts(spark, events, aggs, period: Period, staging, buckets: int):
    """(user_days or None, events) of the period one user bucket at a time for
    :func:`acceptance_index` (None: one bucket). The events of a bucket are read from the
    labels' staged copy of the interactions by user bucket (:func:`staged_interactions`)
    where there is one, else filtered from ``events``; the user-day rows are filtered."""
    if buckets <= 1:
        return None
    user_days = aggs.user_days if aggs is not None else None
    src = staged_interactions(staging) if staging is not None else None
    # the copy leaves out NOT_COPIED: read with its own columns, so that a dropped column
    # read here fails instead of coming back null
    copied = StructType([f for f in events.schema.fields if f.name not in NOT_COPIED])

    def parts():
        for b in range(buckets):
            if src is not None and os.path.isdir(src):
                part = read_bucket(spark, src, b, copied)
                part = part.where(period.ts_col("event_ts")) if part is not None else None
            else:
                part = events.where(user_bucket(buckets) == b)
            mine = user_days.where(user_bucket(buckets) == b) if user_days is not None else None
            yield mine, part  # part None: no interaction of the period hashed here

    return parts()


def org_sources(period_rows, aggs: Aggregates | None):
    """Per org: the source_format values feeding it (native landing rows: ``native``)."""
    src = (
        F.col("source_format")
        if "source_format" in period_rows.columns
        else F.lit(None).cast("string")
    )
    rows = period_rows.where(F.col("org_id").isNotNull()).select(
        "org_id", agg.source_name(src).alias("src")
    )
    if aggs is not None:
        rows = rows.unionByName(
            aggs.period.select("org_id", agg.source_name(F.col("source_format")).alias("src"))
        )
    return rows.groupBy("org_id").agg(F.array_sort(F.collect_set("src")).alias("sources"))


#: Most label buckets (``scoring.bucket_rows`` interactions each) of a staged period at which
#: the org index step runs a second thread (:func:`_start_org_columns`): alone, the step keeps
#: one core idle about half its wall (its estimators are Python, its index plan small windows).
#: Two plans or estimators at once hold more memory, so larger periods keep one at a time
#: (their score peak is set in this step). Only on the embedded engine, where it was measured:
#: Apache Spark in one JVM filled its code cache compiling two plans at once (with the test
#: suite's client-compiler flags) and stopped its context.
BESIDE_BUCKETS = 3


class AtOnce:
    """An executor that runs each task at once on the calling thread (a task's error is raised
    by ``submit``): what :func:`beside_executor` gives for large periods."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        done: Future = Future()
        done.set_result(fn(*args, **kwargs))
        return done

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def beside_executor(staging: str | None, buckets: int, engine: str = "sail"):
    """One worker thread for the org index step's tasks beside the main thread
    (:data:`BESIDE_BUCKETS`; the embedded engine only), run in the order submitted, or
    :class:`AtOnce`. Leaving the ``with`` block waits for the running task, so that the
    staging folder is not removed under it when the main thread fails; a task's own error is
    raised by its ``result()``."""
    if engine == "sail" and staging is not None and buckets <= BESIDE_BUCKETS:
        return _Beside(1, thread_name_prefix="score-beside")
    return AtOnce()


class _Beside(ThreadPoolExecutor):
    """A thread pool whose ``with`` block, left by an error, drops the tasks not yet started
    (the stage fails anyway) and waits for the running one."""

    def __exit__(self, exc_type, exc, tb):
        self.shutdown(wait=True, cancel_futures=exc_type is not None)
        return False


def index_frame(
    spark: SparkSession,
    labels,
    period: Period,
    cfg: Config,
    run_id: str,
    *,
    policies=None,
    work_items=None,
    inc=None,
    history=None,
    aggs=None,
    period_rows=None,
    staging=None,
    buckets: int = 1,
    org_days=None,
    acceptance_counts=None,
):
    """The org index of the period (``acceptance_counts``: see :func:`acceptance_index`)."""
    with beside_executor(staging, buckets, cfg.engine) as beside:
        started = _start_org_columns(
            beside, spark, labels, cfg, inc, policies, work_items, period, history, staging, buckets
        )
        base, shares = _index_base(
            spark,
            labels,
            period,
            cfg,
            run_id,
            inc,
            aggs,
            period_rows,
            staging,
            buckets,
            beside,
            acceptance_counts,
        )
        if org_days is not None:  # orgs seen only in org-level exports: a row, n/a with the reason
            orgs = agg.org_level_orgs(org_days, period.start, period.end, cfg.privacy.min_users)
            est = org_acceptance.org_estimate(org_days, period.start, period.end)
            base = agg.with_org_level_orgs(base, orgs, period.start, period.end, run_id, est)
        # One row per org: materialize it, then add decoupling, high-confidence and rank bands.
        rows = base.collect()
        rows += idle_org_rows(spark, base, rows, aggs, period, cfg, run_id)
        extra = incentives.org_columns(
            spark,
            rows,
            labels,
            cfg,
            NAMES,
            inc,
            policies,
            work_items,
            period.start,
            period.end,
            history=history,
            staging=staging,
            buckets=buckets,
            started=started,
        )
        with_org_shares(inc, shares.result(), extra)
    return blank_suppressed(incentives.with_org_columns(spark, base.schema, rows, extra))


def _start_org_columns(
    beside, spark, labels, cfg, inc, policies, work_items, period, *rest
) -> dict:
    """The parts of ``incentives.org_columns`` that read no index row (outcome decoupling, the
    sensitivity grid's shares; ``rest``: history, staging, buckets), started on the second
    thread, where the main one runs the estimators of :func:`_index_base` (Python) meanwhile;
    the org shares follow them there while the index is collected. None started without a
    second thread: each is then computed where ``org_columns`` needs it, in its order."""
    if isinstance(beside, AtOnce):
        return {}
    return {
        "decoupling": beside.submit(
            incentives.decoupling_estimates,
            spark,
            labels,
            cfg,
            policies,
            work_items,
            period.start,
            period.end,
            *rest,
        ),
        "config_shares": beside.submit(incentives.config_shares, labels, cfg, NAMES, inc),
    }


def with_org_shares(inc, shares: list, extra: dict) -> None:
    """Set the incentive org shares on ``inc`` and their columns in ``extra`` (the org columns
    of the index's orgs), as ``incentives.org_columns`` does when they are already set."""
    if inc is None:
        return
    inc.org_shares = shares
    for o, d in incentives.share_columns(inc).items():
        if o in extra:
            extra[o].update(d)


def _index_base(
    spark, labels, period, cfg, run_id, inc, aggs, period_rows, staging, n, beside, counts=None
):
    """``(base, shares)``: the org index's frame before the org-level and idle orgs and the
    org columns (``transforms.score.org_index``), and the incentive org shares' future
    (:func:`incentive_frames`). ``counts``: the acceptance counts' future, when started
    earlier (:func:`acceptance_index`)."""
    org_users = agg_org_users(labels, FLAG_NAMES)
    sc = cfg.scoring
    signals = agg_org_signals(labels, NAMES, sc.min_signal_rows, FLAG_NAMES, sc.min_signal_coverage)
    b = sc.bootstrap
    interval = bootstrap_interval(spark, org_users, b.replicates, b.confidence, b.seed)
    incentive, usage, shares = incentive_frames(spark, labels, aggs, inc, cfg, staging, beside)
    usage = usage.cache()
    events = period_rows if period_rows is not None else labels
    # the staged copy holds silver's columns: read only in place of the silver rows
    staged = staging if period_rows is not None else None
    parts = acceptance_parts(spark, events, aggs, period, staged, n)
    acceptance = acceptance_index(spark, events, aggs, usage, cfg, parts, counts)
    sources = org_sources(period_rows if period_rows is not None else labels, aggs)
    base = org_index(
        org_users,
        signals,
        interval,
        names=NAMES,
        min_users=cfg.privacy.min_users,
        dominance_share=cfg.privacy.dominance_share,
        top_n=sc.top_signals,
        period_start=period.start,
        period_end=period.end,
        run_id=run_id,
        flag_names=FLAG_NAMES,
        min_coverage=sc.min_signal_coverage,
        incentive=incentive,
        usage=usage.select("org_id", "user_key", "usage"),
        sources=sources,
        acceptance=acceptance,
        confidence=b.confidence,
    )
    return base, shares


def idle_org_rows(spark, base, rows, aggs: Aggregates | None, period: Period, cfg, run_id):
    """Rows of gold/org_theater_index (``base``'s schema) for the orgs whose people used a tool
    by their user-day exports but that ``rows`` lacks, since those exports count no usage
    volume (sessions and tokens only): n/a with that reason, or suppressed, never absent."""
    if aggs is None or aggs.user_days is None:
        return []
    held = spark.createDataFrame([(r["org_id"],) for r in rows], "org_id string")
    orgs = agg.active_orgs_without_volume(aggs.user_days, held, cfg.privacy.min_users)
    empty = spark.createDataFrame([], base.schema)
    return agg.with_org_level_orgs(
        empty,
        orgs,
        period.start,
        period.end,
        run_id,
        template=agg.NOT_MEASURABLE_NO_VOLUME,
        people=True,
    ).collect()


def decoupling_history(history, aggs: Aggregates | None):
    """Usage history for outcome decoupling: one row per interaction (n = 1) plus the user-day
    aggregates (n = requests), de-duplicated against events of the same tool."""
    if aggs is None:
        return history
    return history.select("org_id", "user_key", "event_date", F.lit(1.0).alias("_n")).unionByName(
        aggs.history
    )


# publish(table, frame, related) -> the frame as written (read back), or the frame itself
Publish = Callable[..., DataFrame]


@dataclass
class Gold:
    labels: DataFrame
    user_weeks: DataFrame
    index: DataFrame
    incentives: object
    audited: object = None  # the period's audit labels (pandas) or None
    seconds_incentives: float = 0.0
    seconds_index: float = 0.0
    adoption: DataFrame | None = None  # gold/org_adoption of the period
    label_counts: Future | None = None  # :func:`label_counts` of ``labels``, started early


def compute_gold(
    spark: SparkSession,
    inputs: ScoreInputs,
    period: Period,
    cfg: Config,
    run_id: str,
    *,
    publish: Publish | None = None,
    progress=log.info,
    staging: str | None = None,
) -> Gold:
    """Labels, user-weeks and the org index of the period from pinned silver inputs.

    With ``publish`` each table is handed over as soon as it is computed and the next step
    reads what was published (so signals are not recomputed); without it (rescore) the frames
    stay in memory. Either way the same functions compute the same values.

    With ``staging`` (a scratch directory the caller removes afterwards) the labels are
    computed in user buckets (:func:`bucketed_labels`) and handed over as a staged copy.
    """

    def handover(table, frame, **kw):
        return publish(table, frame, **kw) if publish else frame

    progress(f"score: incentive signals (quota bunching, checkpoint bursts) {period}")
    t_inc = time.time()
    parts = _interaction_parts(spark, inputs, period, cfg, staging)
    n, in_period = (parts.n, parts.where(period.ts_col("event_ts"))) if parts else (1, None)
    # adoption's activity and the acceptance counts read silver only (``adoption_activity``,
    # ``acceptance_counts``): with a second thread they are computed there, started when
    # the quota bunching estimates (numpy, the engine idle) begin, where one core is
    # otherwise idle; the adoption and org index steps read them as futures. Leaving the
    # block waits for them, so the staging folder is not removed under them.
    with beside_executor(staging, n, cfg.engine) as early:
        started: list[Future] = []
        aggs = aggregate_units(inputs, period, cfg)

        def start_early() -> None:
            _start_early(early, started, spark, inputs, period, cfg, aggs, staging, in_period, n)

        # with staging, ``n`` is the labels' bucket count over the period's rows: not
        # counted again
        buckets = n if staging is not None else None
        inc = _incentives(
            spark, inputs, period, cfg, aggs, staging, in_period, buckets, start_early
        )
        start_early()  # quota bunching off: started here
        adoption_started, counts_started = started if started else (None, None)
        seconds_incentives = time.time() - t_inc

        progress(f"score: signals and labels {period}")
        labels, audited, weeks = _labels(spark, inputs, period, cfg, inc, staging, handover, parts)
        # read by the run's summary only: counted beside the next steps when there is a
        # second thread (the published labels do not change after this)
        counted = None if isinstance(early, AtOnce) else early.submit(label_counts, labels)
        progress("score: user-weeks")
        staged_weeks = weeks is not None  # written bucket by bucket with the labels
        if weeks is None:  # one bucket (or calibrated labels): from the labels as published
            weeks = user_weeks_frame(labels, inputs.policies, period, cfg)
        user_weeks = handover("gold/user_weeks", weeks, staged=staged_weeks)
        progress(f"score: org index with {cfg.scoring.bootstrap.replicates} bootstrap replicates")
        t_idx = time.time()
        step = _Step(spark, inputs, period, cfg, run_id, staging, n, handover)
        index = _org_index(step, labels, audited, inc, aggs, counts_started)
        seconds_index = time.time() - t_idx
        progress("score: adoption (active, engaged, requests, accepted)")
        adoption = _adoption(step, index, labels, in_period, adoption_started)
        seconds = (seconds_incentives, seconds_index)
        return Gold(labels, user_weeks, index, inc, audited, *seconds, adoption, counted)


def _start_early(early, started, spark, inputs, period, cfg, aggs, staging, in_period, n) -> None:
    """Submit adoption's activity and the acceptance counts (silver only) to ``early``, the
    stage's second thread, once: their futures are appended to ``started``."""
    if not started and not isinstance(early, AtOnce):
        started.append(
            early.submit(adoption_activity, inputs, period, cfg, staging=staging, parts=in_period)
        )
        events = inputs.interactions.where(period.ts_col("event_ts"))
        by_bucket = acceptance_parts(spark, events, aggs, period, staging, n)
        started.append(early.submit(acceptance_counts, events, aggs, by_bucket))


class _Step(NamedTuple):
    """What :func:`compute_gold`'s org index and adoption steps share."""

    spark: SparkSession
    inputs: ScoreInputs
    period: Period
    cfg: Config
    run_id: str
    staging: str | None
    buckets: int
    handover: Callable


def _org_index(step: _Step, labels, audited, inc, aggs, counts):
    """gold/org_theater_index from the labels, audited and handed over (:func:`compute_gold`)."""
    spark, inputs, period = step.spark, step.inputs, step.period
    index = index_frame(
        spark,
        labels,
        period,
        step.cfg,
        step.run_id,
        policies=inputs.policies,
        work_items=inputs.work_items,
        inc=inc,
        history=decoupling_history(inputs.history, aggs),
        aggs=aggs,
        period_rows=inputs.interactions.where(period.ts_col("event_ts")),
        staging=step.staging,
        buckets=step.buckets,
        org_days=inputs.org_days,
        acceptance_counts=counts,
    )
    return step.handover(
        "gold/org_theater_index",
        audit.apply(spark, index, labels, audited, step.cfg),
        related={"expected_orgs": inputs.interactions.where(period.ts_col("event_ts"))},
    )


def _adoption(step: _Step, index, labels, in_period, started):
    """gold/org_adoption, handed over (:func:`compute_gold`); ``started``: its activity's
    future when the second thread computed it."""
    frame = adoption_frame(
        step.inputs,
        index,
        step.period,
        step.cfg,
        step.run_id,
        labels,
        staging=step.staging,
        parts=in_period,
        started=started,
    )
    return step.handover("gold/org_adoption", frame)


def _incentives(
    spark,
    inputs: ScoreInputs,
    period: Period,
    cfg: Config,
    aggs,
    staging,
    parts,
    buckets=None,
    on_estimates=None,
):
    """``incentives.compute`` of the period (``parts``: its rows by user bucket, or None;
    ``buckets``: their count when known; ``on_estimates``: see there)."""
    return incentives.compute(
        spark,
        inputs.interactions.where(period.ts_col("event_ts")),
        inputs.policies,
        period.start,
        period.end,
        cfg,
        aggs.period if aggs is not None else None,
        staging=staging,
        parts=parts,
        buckets=buckets,
        on_estimates=on_estimates,
    )


def _interaction_parts(spark, inputs: ScoreInputs, period: Period, cfg: Config, staging):
    """The interactions by user bucket (:func:`interaction_buckets`), written once for every
    bucketed step when the period has more than one bucket (:func:`label_buckets`), else
    None."""
    n = label_buckets(inputs.interactions, period, cfg) if staging is not None else 1
    if n <= 1:
        return None
    chunks = inputs.chunks(n) if inputs.chunks is not None else None
    return interaction_buckets(spark, inputs.interactions, n, staging, chunks)


def _labels(spark, inputs: ScoreInputs, period: Period, cfg: Config, inc, staging, handover, parts):
    """``(labels, audited, user_weeks)``: the detector's interaction labels (with ``staging``:
    :func:`bucketed_gold`, in the user buckets of ``parts``, the interactions' copy by user
    bucket, or in one when None), calibrated with the audit labels where there are
    (``audited``, else None), handed over as ``gold/interaction_labels``; ``user_weeks``:
    their staged user-weeks when they were computed bucket by bucket from the labels as
    handed over, else None."""
    n = parts.n if parts is not None else 1
    weeks = None
    if staging is not None:
        detector, weeks = bucketed_gold(
            spark, inputs.interactions, period, cfg, inc, staging, n, None, inputs.policies, parts
        )
    else:
        detector = labels_frame(inputs.interactions, period, cfg, inc)
    # with audit labels (theater audit load): calibrate the probabilities, debias the index
    audited = (
        audit.labels_pandas(inputs.audit_labels, detector)
        if inputs.audit_labels is not None
        else None
    )
    calibrated = audit.calibrate_labels(detector, audited, cfg)
    labels = handover(
        "gold/interaction_labels",
        calibrated,
        staged=staging is not None and audited is None,
        key_buckets=n,
    )
    # the staged user-weeks were computed from the detector's probabilities
    return labels, audited, weeks if calibrated is detector else None


EARLIEST = date(1, 1, 1)  # cohorts look back over the whole lake


def _adoption_activity(period_rows, prices, aggs, staging, buckets, parts=None):
    """``(activity, by_bucket)``: the period's person-day activity for :func:`adoption_frame`
    (one plan without ``staging``, else staged by user bucket, see there) and, when staged in
    more than one bucket, the same rows by user bucket (``UserParts``), else None."""
    if staging is None:
        return adopt.combined(adopt.event_activity(period_rows, prices), aggs), None
    rows = parts.rows if parts is not None else None
    spark = period_rows.sparkSession
    path = os.path.join(staging, "adoption_activity")
    if aggs is None:
        # events alone: the combined activity (``all`` rows too) staged by bucket, read as is
        activity = adopt.staged_event_activity(
            period_rows, prices, path, buckets, with_all=True, parts=rows
        )
    else:
        events = adopt.staged_event_activity(
            period_rows, prices, os.path.join(staging, "adoption_events"), buckets, parts=rows
        )
        # the user-day aggregates' activity joins the events' (``combined``): written once
        # too, by user bucket
        if buckets <= 1:
            return materialize(spark, adopt.combined(events, aggs), path), None
        combined = adopt.combined(events, aggs)
        write_partitioned(combined, user_bucket(buckets), path, append=False, files=buckets)
        activity = spark.read.schema(combined.schema).parquet(path)
    if buckets <= 1:
        return activity, None
    return activity, UserParts(buckets, lambda b: read_bucket(spark, path, b, activity.schema))


def _seat_and_cohort_figures(inputs: ScoreInputs, activity, period: Period, prices, cfg, theater):
    """The seats, seat costs, cohorts and days to first use of :func:`adoption_frame` (None
    each where its inputs are missing)."""
    seats = (
        adopt.seat_figures(
            inputs.seats,
            activity,
            period.start,
            period.end,
            directory=inputs.directory,
            theater=theater,
            # idle needs k people of the org seen using the tool: fewer is no evidence
            min_people=cfg.privacy.min_users,
        )
        if inputs.seats is not None and activity is not None
        else None
    )
    before = adopt.combined(
        adopt.event_activity(inputs.before_interactions)
        if inputs.before_interactions is not None
        else None,
        adopt.aggregate_activity(inputs.before_user_days, EARLIEST, period.start)
        if inputs.before_user_days is not None
        else None,
    )
    cohort = (
        adopt.cohorts(activity, before, period.previous().start, period.start)
        if activity is not None
        else None
    )
    first_use = (
        adopt.days_to_first_use(inputs.seats, activity, before, period.start, period.end)
        if inputs.seats is not None and activity is not None
        else None
    )
    seat_costs = (
        adopt.seat_costs(
            inputs.seats, activity, period.start, period.end, prices, directory=inputs.directory
        )
        if inputs.seats is not None and activity is not None
        else None
    )
    return {"seats": seats, "seat_costs": seat_costs, "cohort": cohort, "first_use": first_use}


def adoption_frame(
    inputs: ScoreInputs,
    index,
    period: Period,
    cfg: Config,
    run_id: str,
    labels=None,
    *,
    staging: str | None = None,
    buckets: int = 1,
    parts: UserParts | None = None,
    started: Future | None = None,
):
    """gold/org_adoption of the period (``transforms.adoption``): events and aggregates through
    one definition; the index's suppressed orgs and small rows carry no figures. With the
    period's labels, the figures net of theater (the org's index and interval, each person's
    flagged share).

    With ``staging`` (a scratch folder) the person-day activity is written there once, in
    ``buckets`` user buckets (``adopt.staged_event_activity``, its ``all`` rows too), and the
    per-person tables read that copy (with user-day aggregates too, the events' activity is
    staged by bucket and the combined activity written once more, by user bucket too): the
    table's one plan otherwise aggregates the period's interactions once for each figure that
    reads the activity (four times with events alone), all in memory at once. With more than
    one bucket the person rows (each person's weeks and days with a use, their counts and
    cost) are aggregated from that copy one bucket at a time too
    (``adopt.staged_person_rows``). ``parts``: the period's
    interactions by user bucket (their count then sets ``buckets``), read in place of a
    filtered read of ``inputs.interactions`` per bucket. The rows are the same either way.
    ``started``: :func:`adoption_activity`'s result as a future, when the caller started it
    earlier (then ``staging``, ``buckets`` and ``parts`` are those it was given)."""
    prices, activity, person_rows = (
        started.result()
        if started is not None
        else adoption_activity(inputs, period, cfg, staging=staging, buckets=buckets, parts=parts)
    )
    theater = adopt.person_theater(labels) if labels is not None else None
    figures = _seat_and_cohort_figures(inputs, activity, period, prices, cfg, theater)
    adoption = adopt.org_adoption(
        activity,
        period.start,
        period.end,
        min_users=cfg.privacy.min_users,
        dominance_share=cfg.privacy.dominance_share,
        run_id=run_id,
        index_suppressed=index.select(
            "org_id", "suppressed", "suppression_reason", "theater_index", "ci_low", "ci_high"
        ),
        theater=theater,
        person_rows=person_rows,
        **figures,
    )
    return with_org_day_adoption(adoption, inputs, index, period, cfg, run_id)


def adoption_activity(
    inputs: ScoreInputs,
    period: Period,
    cfg: Config,
    *,
    staging: str | None = None,
    buckets: int = 1,
    parts: UserParts | None = None,
) -> tuple:
    """``(prices, activity, person_rows)`` of :func:`adoption_frame` (see there): what reads
    only silver (and ``parts``), not the labels or the index, so that it can be computed
    before them (staged, it is written under ``staging``)."""
    buckets = parts.n if parts is not None else buckets
    # each price on the days it is in force, in the table's currency
    prices = adopt.prices_between(cfg.adoption, period.start, period.end)
    period_rows = inputs.interactions.where(period.ts_col("event_ts"))
    aggs = (
        adopt.aggregate_activity(inputs.user_days, period.start, period.end, prices)
        if inputs.user_days is not None
        else None
    )
    activity, by_bucket = _adoption_activity(period_rows, prices, aggs, staging, buckets, parts)
    person_rows = (
        adopt.staged_person_rows(by_bucket, os.path.join(staging, "adoption_people"))
        if by_bucket is not None
        else None
    )
    return prices, activity, person_rows


def with_org_day_adoption(adoption, inputs: ScoreInputs, index, period: Period, cfg, run_id):
    """The org-level exports' adoption rows beside the person-level ones (an org with no
    person-level usage also gets its ``all`` row from them)."""
    if inputs.org_days is None:
        return adoption
    org_level = adopt.org_day_adoption(
        inputs.org_days,
        period.start,
        period.end,
        min_users=cfg.privacy.min_users,
        run_id=run_id,
        index_suppressed=index.select("org_id", "suppressed", "suppression_reason"),
        person_orgs=adoption.where(F.col("source_format") == adopt.ALL).select("org_id"),
    )
    return adoption.unionByName(org_level)


def adoption_summary(adoption) -> dict:
    """Company totals of the published ``all`` rows and the requests of each source (published
    rows): what the run summary prints."""
    rows = adoption.where(~F.col("suppressed")).collect()
    out: dict = {"by_source": {}, "export_requests_by_org": {}}
    for r in rows:
        if r.source_format == adopt.ALL:
            for c in ("active_users", "engaged_users", "requests", "accepted"):
                if r[c] is not None:
                    out[c] = out.get(c, 0) + int(r[c])
        elif r.requests is not None:
            out["by_source"][r.source_format] = out["by_source"].get(r.source_format, 0) + int(
                r.requests
            )
    # the report's rule (premium requests not added to the users report's of the same org)
    from ..report.figures import export_requests_by_org

    out["export_requests_by_org"] = export_requests_by_org(
        adoption.select("org_id", "source_format", "requests", "suppressed").toPandas()
    )
    out["orgs_published"] = len({r.org_id for r in rows if r.source_format == adopt.ALL})
    return out


# How each gold table's period slice is found: labels by event date, the others by period.
def slice_of(table: str, period: Period) -> tuple[str, object, object]:
    """(SQL predicate for replaceWhere, Spark column predicate, pyarrow expression) of the
    period's slice."""
    if table == "gold/interaction_labels":
        return (
            period.date_sql("event_date"),
            period.date_col("event_date"),
            period.arrow_date("event_date"),
        )
    return period.matches_sql(), period.matches_col(), period.arrow_matches()


def run(
    spark: SparkSession,
    cfg: Config,
    lake: Lake,
    period: Period,
    *,
    run_id: str | None = None,
    versions: dict | None = None,
    progress=log.info,
) -> dict:
    t0 = time.time()
    steps = logs.Steps("score", 4, progress)  # a bar on a terminal: incentives .. index
    run_id = run_id or uuid.uuid4().hex
    inputs = read_inputs(spark, lake, period, cfg, versions)
    dq = quality.Gate(spark, lake, cfg, "score", run_id=run_id, period=period)

    # Delta on the embedded engine: a checked staged copy becomes the table's data files as
    # written (one delta-rs commit, :meth:`Lake.commit_staged`) instead of being read and
    # written again by replaceWhere; elsewhere (Apache Spark, Parquet tables) the engine writes
    direct = lake.fmt == "delta" and cfg.engine == "sail"

    def publish(table, frame, related=None, staged=False, key_buckets=1):
        sql_pred, col_pred, arrow_pred = slice_of(table, period)
        checked = dq.check(
            table,
            frame,
            related=related,
            materialize=False if staged else None,
            key_buckets=key_buckets,
        )
        # the gate hands back another frame only when it staged a copy (a plain Parquet read)
        why = "not a staged copy"
        if direct and (staged or checked is not frame):
            lake.remove_unlisted(table, keep=run_id)
            why = lake.commit_staged(table, staged_files(checked), arrow_pred, run_id)
        if why:
            log.info("%s: written by the engine (%s)", table, why)
            lake.replace_where(checked, table, sql_pred, not_null=NOT_NULL.get(table, ()))
        return lake.read(spark, table).where(col_pred)

    staging = lake.path(f"ops/_staging/score-{run_id}-{uuid.uuid4().hex[:8]}")
    try:
        gold = compute_gold(
            spark, inputs, period, cfg, run_id, publish=publish, progress=steps, staging=staging
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    steps.close()
    return {**dq.finish(), "run_id": run_id, "inputs": inputs.read, **_outcome(lake, gold, t0)}


def label_counts(labels):
    """The labels' row: ``n``, ``flagged`` (theater) and ``unresolved`` (no org)."""
    return labels.agg(
        F.count("*").alias("n"),
        F.sum(F.col("is_theater").cast("int")).alias("flagged"),
        F.sum(F.col("org_id").isNull().cast("int")).alias("unresolved"),
    ).collect()[0]


def _outcome(lake: Lake, gold, t0: float) -> dict:
    """The score run's summary: the gold versions written, label and org counts, adoption,
    timings, incentives and the audit's metrics."""
    summary = gold.index.agg(
        F.count("*").alias("orgs"), F.sum(F.col("suppressed").cast("int")).alias("suppressed")
    ).collect()[0]
    counts = (
        gold.label_counts.result() if gold.label_counts is not None else label_counts(gold.labels)
    )
    return {
        "outputs": {
            t: lake.version(t)
            for t in (
                "gold/interaction_labels",
                "gold/user_weeks",
                "gold/org_theater_index",
                "gold/org_adoption",
            )
        },
        "labelled_interactions": counts.n,
        "flagged_interactions": int(counts.flagged or 0),
        "unresolved_org_interactions": int(counts.unresolved or 0),
        "orgs": summary.orgs,
        "orgs_suppressed": int(summary.suppressed or 0),
        "adoption": adoption_summary(gold.adoption),
        "seconds": round(time.time() - t0, 2),
        "seconds_incentives": round(gold.seconds_incentives, 2),
        "seconds_index": round(gold.seconds_index, 2),
        "incentives": gold.incentives.summary(),
        "audit": audit.metrics(gold.audited, NAMES),
    }

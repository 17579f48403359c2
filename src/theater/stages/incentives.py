"""Score-stage orchestration of the incentive components of the theater probability (recipe step 2) and the org-level columns
they add (recipe steps 5, 6): quota bunching, checkpoint bursts, outcome decoupling, rank bands.

``compute`` runs the Spark aggregations and the small driver-side fits once per scoring run;
``apply`` adds the per-interaction weights ``sig_quota_bunching`` and ``sig_checkpoint_burst``
(doubles in [0, 1], null = NA) by broadcast joins on small tables; ``org_columns`` builds the
org-level columns of gold/org_theater_index.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from datetime import date
from statistics import NormalDist
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from ..buckets import UserParts, bucket_count, materialize, user_bucket
from ..columns import DISCARDED, output_unused, output_used, quota_in_force
from ..signals import checkpoint_burst, outcome_decoupling, quota_bunching, sensitivity

NAMES = (quota_bunching.NAME, checkpoint_burst.NAME)
WEEK = "_week"
# A top-up is sent in a sitting: an interaction within this many seconds of the same user's
# previous or next one is "in a run". Whether runs (or a day of the week) carry the fillers is
# read from the data per regime (``quota_bunching.cell_split``), not assumed.
RUN_GAP_S = 300
NO_USE_BIT, RUN_BIT = 8, 4


@dataclass
class Incentives:
    # org_id, user_key, _week, sig_quota_bunching, _wq_no_use, _wq_use (evidence split)
    user_weeks: DataFrame | None = None
    checkpoint: DataFrame | None = None  # org_id, user_key, event_date, sig_checkpoint_burst
    # org_id, _cz, _cell, _wc: P(filler | cell, bunched week) per measured regime
    filler_cells: DataFrame | None = None
    checkpoint_orgs: list = field(default_factory=list)
    bunching: list = field(default_factory=list)
    checkpoints: list = field(default_factory=list)
    order_factors: dict = field(default_factory=dict)
    max_dwell_ms: int = 5000  # evidence of use: read at least this long (signals.unused_output)
    # the checkpoint calendar with candidate leads ({org: {date: (day type, lead)}}) and the
    # (org_id, user_key, event_date, n) usage on its working days: the org-level excess
    calendar: dict | None = None
    day_counts: "pd.DataFrame | None" = None
    # or the same a user bucket at a time: a callable returning an iterable of frames
    day_chunks: "object | None" = None
    day_rows: DataFrame | None = None  # checkpoint_rows of the orgs with a calendar (lazy)
    # the same as per-user-day sums written once (:func:`checkpoint_day_table`), or None
    day_table: DataFrame | None = None
    bucket_rows: int = 0  # scoring.bucket_rows: user-day rows per bucket read by org_shares
    org_shares: list = field(default_factory=list)  # OrgShare per org, once the index is built
    # (start, end) of the period, as in :func:`user_week_counts`: its full weeks; None: the
    # user-day counts' own first and last days
    period: "tuple[date, date] | None" = None

    def summary(self) -> dict:
        """Small, loggable per-org diagnostics."""
        return {
            "quota_bunching": [
                {k: v for k, v in vars(e).items() if k not in ("weights_by_order", "cell_weights")}
                for e in self.bunching
            ],
            "checkpoint_burst": [vars(e) for e in self.checkpoints],
            "org_shares": [vars(e) for e in self.org_shares],
        }


def no_use_evidence(max_dwell_ms: int) -> Column:
    """True when nothing shows the output was used: no used disposition, and not read for at
    least ``max_dwell_ms`` (a discarded output counts as not used whatever its dwell)."""
    disp = F.col("output_disposition")
    read = F.coalesce(~disp.isin(*DISCARDED), F.lit(True)) & F.coalesce(
        F.col("dwell_ms") >= F.lit(max_dwell_ms), F.lit(False)
    )
    return ~(output_used() | read)


def with_filler_cell(max_dwell_ms: int, run_gap_s: int = RUN_GAP_S):
    """Add ``_cell`` (int): no evidence of use (``NO_USE_BIT``) + in a run (``RUN_BIT``: within
    ``run_gap_s`` of the user's previous or next interaction) + the UTC day of the week in four
    groups (0 Mon-Wed, 1 Thu, 2 Fri, 3 weekend). The cells over which a bunched week's weight
    is split (``quota_bunching.cell_split``): top-ups may come at the end of the week, in one
    sitting, with outputs that look used or not; which of these a regime shows is estimated."""

    def apply(df: DataFrame) -> DataFrame:
        ts = F.col("event_ts").cast("long")
        w = Window.partitionBy("user_key").orderBy("event_ts")
        prev_gap = ts - F.lag(ts).over(w)
        next_gap = F.lead(ts).over(w) - ts
        run = F.coalesce(prev_gap <= run_gap_s, F.lit(False)) | F.coalesce(
            next_gap <= run_gap_s, F.lit(False)
        )
        dow = F.dayofweek("event_ts")  # 1 = Sunday .. 7 = Saturday
        group = F.when(dow.isin(2, 3, 4), 0).when(dow == 5, 1).when(dow == 6, 2).otherwise(3)
        cell = (
            F.when(no_use_evidence(max_dwell_ms), NO_USE_BIT).otherwise(0)
            + F.when(run, RUN_BIT).otherwise(0)
            + group
        )
        return df.withColumn("_cell", cell.cast("int"))

    return apply


def user_week_counts(
    period_rows: DataFrame,
    start: date,
    end: date,
    aggregates: DataFrame | None = None,
    cell_counts: DataFrame | None = None,
) -> DataFrame:
    """(org_id, user_key, week_start, n_interactions, full_week) over the period's rows.

    ``aggregates``: de-duplicated usage units from silver/user_days
    (:func:`theater.transforms.aggregates.usage_units`): their ``n`` (requests) add to the
    user-week's count, day rows and person-week rows alike (a person-week row's ISO week is the
    one starting the Monday after its Sunday). ``cell_counts``: the same rows already counted
    per user-week and cell (``quota_bunching.cell_week_counts``), read in place of
    ``period_rows`` (the same whole-number sums).
    """
    week = F.date_trunc("week", F.col("event_ts")).cast("date")
    ws = F.col("week_start")
    if cell_counts is not None:
        events = cell_counts.select(
            "org_id", "user_key", "week_start", F.col("_n").cast("long").alias("_n")
        )
    else:
        events = period_rows.where(F.col("org_id").isNotNull()).select(
            "org_id", "user_key", week.alias("week_start"), F.lit(1).cast("long").alias("_n")
        )
    if aggregates is not None:
        events = events.unionByName(
            aggregates.where(F.col("n").isNotNull()).select(
                "org_id", "user_key", "week_start", F.round(F.col("n")).cast("long").alias("_n")
            )
        )
    return (
        events.groupBy("org_id", "user_key", "week_start")
        .agg(F.sum("_n").cast("long").alias("n_interactions"))
        .withColumn("full_week", (ws >= F.lit(start)) & (F.date_add(ws, 7) <= F.lit(end)))
    )


def checkpoint_rows(period_rows: DataFrame, explained, aggregates: DataFrame | None):
    """(org_id, user_key, event_date, _n, _explained): one row per interaction (n = 1) plus the
    user-day aggregate units (n = requests; day rows only: the checkpoint window is 3 working
    days, a person-week row cannot be placed in it)."""
    # ``_explained`` stays nullable on both sides (null = not explained): a coalesce here made
    # Sail's union plan disagree with itself on nullability
    rows = period_rows.select(
        "org_id", "user_key", "event_date", F.lit(1.0).alias("_n"), explained.alias("_explained")
    )
    if aggregates is not None:
        rows = rows.unionByName(
            aggregates.where(F.col("n").isNotNull() & (F.col("period_days") == 1)).select(
                "org_id",
                "user_key",
                F.col("day").alias("event_date"),
                F.col("n").alias("_n"),
                F.lit(None).cast("boolean").alias("_explained"),
            )
        )
    return rows


def compute(
    spark: SparkSession,
    period_rows: DataFrame,
    policies: DataFrame,
    start: date,
    end: date,
    cfg,
    aggregates: DataFrame | None = None,
    staging: str | None = None,
    parts: UserParts | None = None,
    buckets: int | None = None,
    on_estimates: Callable[[], object] | None = None,
) -> Incentives:
    """Quota bunching and checkpoint bursts of the period. ``aggregates``: de-duplicated usage
    units from silver/user_days (or None): their request counts enter the user-week counts of
    the bunching estimate and the user-day counts of the checkpoint estimate. ``staging``: a
    scratch folder (the caller removes it); given, the user-week counts are written there once
    and read back by every consumer. ``parts``: ``period_rows`` by user bucket (the labels'
    buckets), which the per-bucket tables read in place of a filtered read of
    ``period_rows`` per bucket. ``buckets``: the labels' bucket count when the caller has
    counted it (else the period's rows are counted here, once, if a table needs it).
    ``on_estimates``: called when the quota bunching estimates (Python, the engine idle)
    begin, so that the caller can start engine work beside them (not called with the signal
    off)."""
    inc = Incentives(period=(start, end))
    s = cfg.incentives
    n_buckets = _bucket_counter(period_rows, cfg, parts, buckets)
    qb = s.quota_bunching  # each signal gets only its own (typed) section
    if qb.enabled:
        _quota_bunching(
            spark,
            inc,
            (period_rows, parts),
            policies,
            (start, end),
            aggregates,
            staging,
            cfg,
            n_buckets,
            on_estimates,
        )
        inc.order_factors = _order_factors(inc.bunching, qb.poly_order)
    cb = s.checkpoint_burst
    explained = output_unused(cfg.signals.unused_output.max_dwell_ms)
    rows = checkpoint_rows(period_rows, explained, aggregates)
    cal = lead_calendar(rows, policies, start, end, cb.working_days_before) if cb.enabled else None
    # read a user bucket at a time by ``org_shares`` (``compute_org_shares``): the orgs with a
    # calendar (review windows) and those with a weighted quota regime (the same users' own
    # weeks bound the top-ups, :func:`own_week_topups`)
    quota_orgs = {e.org_id for e in inc.bunching if e.status == "ok" and (e.weight or 0) > 0}
    day_orgs = sorted(set(cal or {}) | quota_orgs) if (cb.enabled or qb.enabled) else []
    if day_orgs:
        inc.day_rows = rows.where(F.col("org_id").isin(*day_orgs))
        if staging is not None:
            # read by the lead profile, the estimate, its weights and the org shares: one
            # aggregate of the period's rows (a row per user-day) instead of one per reader
            inc.day_table = checkpoint_day_table(
                spark,
                inc.day_rows,
                os.path.join(staging, "inc_user_days"),
                n_buckets(),
                _day_parts(parts, explained, aggregates, day_orgs),
            )
    if cal:
        src = inc.day_table if inc.day_table is not None else rows
        checkpoint_estimates(spark, inc, src, cal, cb)
        inc.calendar = cal
    inc.bucket_rows = cfg.scoring.bucket_rows
    return inc


def _bucket_counter(
    period_rows: DataFrame, cfg, parts: UserParts | None, buckets: int | None
) -> Callable[[], int]:
    """A function giving the labels' user buckets (``stages.score.label_buckets``: the same
    count over the same rows), the period's rows counted once, on first need."""
    counted: list[int] = []

    def n_buckets() -> int:
        if parts is not None:
            return parts.n
        if buckets is not None:
            return buckets
        if cfg.scoring.bucket_rows <= 0:
            return 1
        if not counted:
            counted.append(bucket_count(period_rows.count(), cfg.scoring.bucket_rows))
        return counted[0]

    return n_buckets


def _day_parts(parts: UserParts | None, explained, aggregates, orgs) -> UserParts | None:
    """``compute``'s ``day_rows`` by the user buckets of ``parts`` (None without them)."""
    if parts is None:
        return None
    return UserParts(parts.n, lambda b: _bucket_day_rows(parts, b, explained, aggregates, orgs))


def _bucket_day_rows(parts: UserParts, b: int, explained, aggregates, orgs) -> DataFrame | None:
    """Bucket ``b``'s :func:`checkpoint_rows` of the orgs ``orgs`` (``compute``'s
    ``day_rows`` of that bucket): its interactions from ``parts``, the aggregates filtered."""
    part = parts.rows(b)
    if part is None:
        return None
    aggs = aggregates.where(user_bucket(parts.n) == b) if aggregates is not None else None
    return checkpoint_rows(part, explained, aggs).where(F.col("org_id").isin(*orgs))


def _quota_bunching(
    spark, inc, rows, policies, bounds, aggregates, staging, cfg, n_buckets, on_estimates=None
):
    """Quota bunching of :func:`compute`: the estimate per regime, its evidence and cells, the
    filler cells and the user-week weights, set on ``inc``. ``rows``: (the period's rows,
    the same by user bucket or None)."""
    period_rows, parts = rows
    start, end = bounds
    s = cfg.incentives
    qb = s.quota_bunching
    seed = cfg.scoring.bootstrap.seed
    orgs = quota_orgs(policies)
    cell = with_filler_cell(cfg.signals.unused_output.max_dwell_ms)
    celled = quota_users_rows(period_rows, policies, orgs).transform(cell)
    counted = None
    if staging is not None:
        # the rows counted per user-week and cell once: the user-week counts are their sums
        # over cells, and the cell rates join them to the weights (one pass over the period's
        # rows where a count per user-week and a count per user-week and cell made two)
        celled_parts = None
        if parts is not None:  # a bucket's quota users are the bucket's rows' own
            celled_parts = UserParts(
                parts.n,
                lambda b: (
                    quota_users_rows(p, policies, orgs).transform(cell)
                    if (p := parts.rows(b)) is not None
                    else None
                ),
            )
        counted = cell_week_table(
            spark, celled, os.path.join(staging, "inc_cell_weeks"), n_buckets(), celled_parts
        )
    uw = user_week_counts(period_rows, start, end, aggregates, counted).transform(
        quota_in_force(policies)
    )
    if staging is not None:
        # read by the estimate, its stacked and pooled regimes, the cell rates' weights and
        # the labels' weights: one aggregate (a row per user-week) instead of one per consumer
        uw = materialize(spark, uw, os.path.join(staging, "inc_user_week_counts"))
    orders = sorted(set(s.sensitivity.poly_orders) | {qb.poly_order})
    if on_estimates is not None:
        on_estimates()
    inc.bunching = quota_bunching.estimate_all(spark, uw, qb, seed, orders)
    # evidence split: the weight moves onto the bunched weeks' interactions without
    # evidence of use, in proportion to their excess over the regime's other weeks
    inc.max_dwell_ms = cfg.signals.unused_output.max_dwell_ms
    # in the labels' user buckets (``stages.score.label_buckets``: the same count over the
    # same rows): the per-(user, week, cell) counts of one plan over a large period set
    # score's peak memory; the integer sums do not depend on the bucket count
    cells = quota_bunching.cell_rates(
        counted if counted is not None else celled,
        quota_bunching.weights_frame(spark, uw, inc.bunching, qb),
        F.col("_cell"),
        buckets=n_buckets(),
        counted=counted is not None,
    )
    rates = quota_bunching.no_use_rates(cells, NO_USE_BIT)
    quota_bunching.with_evidence(inc.bunching, rates, qb.min_z)
    # then by cell (evidence x sitting x day of week): where the regime's excess shows
    quota_bunching.with_cells(inc.bunching, cells, qb.min_z)
    inc.filler_cells = quota_bunching.cells_frame(spark, inc.bunching)
    inc.user_weeks = quota_bunching.weights_frame(spark, uw, inc.bunching, qb).select(
        "org_id",
        "user_key",
        F.col("week_start").alias(WEEK),
        f"sig_{quota_bunching.NAME}",
        "_wq_no_use",
        "_wq_use",
        F.col("weekly_quota").cast("long").alias("_cz"),
    )


def quota_orgs(policies: DataFrame) -> set:
    """The org_id of every quota policy (``*``: every org; None: a policy without an org)."""
    return {
        r.org_id
        for r in policies.where(F.col("kind") == "quota").select("org_id").distinct().collect()
    }


def quota_users_rows(
    period_rows: DataFrame, policies: DataFrame, orgs: set | None = None
) -> DataFrame:
    """``period_rows`` of the users with a row in an org that has a quota policy, all of their
    rows (the filler cell's sitting window is per user: each row keeps its neighbours).

    Every reader of the cell counts (the user-week counts of the bunching estimate, its pooled
    and stacked regimes, the cell rates, the labels' weights) joins them to a regime, an org
    with a quota: the other orgs' rows were counted, sorted by the window and never read. All
    rows when a quota policy names every org (``*``) or none does. ``orgs``:
    :func:`quota_orgs` of ``policies`` when already collected."""
    if orgs is None:
        orgs = quota_orgs(policies)
    if not orgs or "*" in orgs or None in orgs:
        return period_rows
    users = (
        period_rows.where(F.col("org_id").isin(*sorted(orgs)))
        .select(F.col("user_key").alias("_q_user"))
        .distinct()
    )
    # null-safe: rows without a user share one window partition, kept with the others
    same = F.col("user_key").eqNullSafe(F.col("_q_user"))
    return period_rows.join(F.broadcast(users), on=same, how="left_semi")


def cell_week_table(
    spark: SparkSession, rows: DataFrame, path: str, buckets: int, parts: UserParts | None = None
) -> DataFrame:
    """``rows`` (with ``_cell``: :func:`with_filler_cell`) counted per user-week and cell
    (``quota_bunching.cell_week_counts``), written once under ``path`` and read back. With
    ``buckets`` > 1 a user bucket at a time, appended: a user's rows are all in one bucket
    (the cell's window is per user), and the aggregate holds one bucket's user-weeks.
    ``parts``: ``rows`` by user bucket, read in place of a filtered read of ``rows``."""
    if buckets <= 1:
        return materialize(spark, quota_bunching.cell_week_counts(rows, F.col("_cell")), path)
    schema = None
    for b in range(buckets):
        mine = _bucket_rows(rows, parts, buckets, b)
        if mine is None:
            continue
        part = quota_bunching.cell_week_counts(mine, F.col("_cell"))
        part.write.mode("append" if schema is not None else "overwrite").parquet(path)
        schema = part.schema
    if schema is None:  # no bucket of ``parts`` held a row
        return cell_week_table(spark, rows.limit(0), path, 1)
    return spark.read.schema(schema).parquet(path)


def _bucket_rows(rows: DataFrame, parts: UserParts | None, n: int, b: int) -> DataFrame | None:
    """Bucket ``b`` of ``n`` of ``rows``: from ``parts`` when given (None: no row there), else
    a filtered read."""
    if parts is not None:
        return parts.rows(b)
    return rows.where(user_bucket(n) == b)


def day_counts(rows: DataFrame) -> DataFrame:
    """(org_id, user_key, event_date, n, n_unused) from :func:`checkpoint_rows`: the usage per
    user-day and its part whose outputs show no evidence of use (the review windows' lower
    end, :func:`org_shares`)."""
    return rows.groupBy("org_id", "user_key", "event_date").agg(
        F.sum("_n").alias("n"),
        F.sum(F.when(F.col("_explained"), F.col("_n")).otherwise(0.0)).alias("n_unused"),
    )


def checkpoint_day_table(
    spark: SparkSession, rows: DataFrame, path: str, buckets: int, parts: UserParts | None = None
):
    """:func:`checkpoint_rows` summed per user-day, written once under ``path`` and read back:
    org_id, user_key, event_date, ``_n`` (usage), ``checkpoint_burst.REST`` (its part that no
    flag explains) and ``n_unused`` (its part with outputs unused: :func:`day_counts`). The
    checkpoint estimates read it in place of the rows (the same sums: usage counts are whole
    numbers, exact in any order). With ``buckets`` > 1 it is aggregated a user bucket at a time
    and appended: a user's days are all in one bucket, and the aggregate holds a bucket's.
    ``parts``: ``rows`` by user bucket, read in place of a filtered read of ``rows``."""
    explained = F.coalesce(F.col("_explained"), F.lit(False))

    def sums(part: DataFrame) -> DataFrame:
        return part.groupBy("org_id", "user_key", "event_date").agg(
            F.sum("_n").alias("_n"),
            F.sum(F.when(~explained, F.col("_n")).otherwise(0.0)).alias(checkpoint_burst.REST),
            F.sum(F.when(F.col("_explained"), F.col("_n")).otherwise(0.0)).alias("n_unused"),
        )

    if buckets <= 1:
        return materialize(spark, sums(rows), path)
    schema = None
    for b in range(buckets):
        mine = _bucket_rows(rows, parts, buckets, b)
        if mine is None:
            continue
        part = sums(mine)
        part.write.mode("append" if schema is not None else "overwrite").parquet(path)
        schema = part.schema
    if schema is None:  # no bucket of ``parts`` held a row
        return checkpoint_day_table(spark, rows.limit(0), path, 1)
    return spark.read.schema(schema).parquet(path)


def table_chunks(table: DataFrame, n: int):
    """:func:`day_chunks` read from :func:`checkpoint_day_table` (already per user-day)."""

    def chunks():
        for b in range(n):
            part = table if n == 1 else table.where(user_bucket(n) == b)
            yield part.select(
                "org_id", "user_key", "event_date", F.col("_n").alias("n"), "n_unused"
            ).toPandas()

    return chunks


def day_chunks(rows: DataFrame, n: int):
    """A callable yielding :func:`day_counts` one user bucket (``buckets.user_bucket``) at a
    time, each collected to the driver only when read: every user's days are in one bucket."""

    def chunks():
        for b in range(n):
            part = rows if n == 1 else rows.where(user_bucket(n) == b)
            yield day_counts(part).toPandas()

    return chunks


def lead_calendar(
    rows: DataFrame, policies: DataFrame, start: date, end: date, k: int
) -> dict | None:
    """The checkpoint calendar with candidate leads (driver side,
    :func:`checkpoint_burst.lead_calendar`, up to ``MAX_LEAD_DAYS``; 'after': ``k`` days from
    each checkpoint on) of every org of ``rows``; None when no org has a checkpoint."""
    cps = checkpoint_dates(policies)
    if not cps:
        return None
    orgs = [
        r.org_id
        for r in rows.where(F.col("org_id").isNotNull()).select("org_id").distinct().collect()
    ]
    cal = checkpoint_burst.lead_calendar(
        orgs, cps, start, end, k, max(k, checkpoint_burst.MAX_LEAD_DAYS)
    )
    return cal or None


def checkpoint_estimates(spark: SparkSession, inc: Incentives, rows, cal, cb) -> None:
    """Checkpoint bursts with the window read from the data: per org, the excess at each
    candidate lead (:func:`checkpoint_burst.lead_profile`); the window is the configured
    ``working_days_before`` plus the further leads with a significant excess of their own
    (``kept_leads``); then the estimate on that window, each window day's weight tilted by its
    lead's share of the excess (``lead_tilts``: lowered where a lead has less, never raised)."""
    k = cb.working_days_before
    lf = checkpoint_burst.lead_frame(spark, cal)
    max_lead = max(k, checkpoint_burst.MAX_LEAD_DAYS)
    profile = checkpoint_burst.lead_profile(rows, lf, max_lead, F.col("_explained"))
    kept = {o: checkpoint_burst.kept_leads(profile.get(o, {}), k, cb.min_z) for o in cal}
    days = checkpoint_burst.calendar_frame(spark, checkpoint_burst.window_calendar(cal, kept))
    ests, frame = checkpoint_burst.estimate(spark, rows, days, cb, F.col("_explained"))
    tilts = {o: checkpoint_burst.lead_tilts(profile[o], kept[o]) for o in kept if o in profile}
    for e in ests:
        e.leads = kept.get(e.org_id)
        e.tilts = {str(p): t for p, t in tilts.get(e.org_id, {}).items()}
    rows_t = [
        (o, d, float(tilts[o][p]))
        for o, m in sorted(cal.items())
        if o in tilts
        for d, (t, p) in sorted(m.items())
        if t == "window" and p in tilts[o]
    ]
    if rows_t:
        frame = checkpoint_burst.tilted(
            frame, spark.createDataFrame(rows_t, "org_id string, event_date date, _tilt double")
        )
    inc.checkpoints, inc.checkpoint = ests, frame
    inc.checkpoint_orgs = sorted(e.org_id for e in ests if e.status == "ok")


def checkpoint_dates(policies: DataFrame) -> list[tuple[str, date]]:
    """(org_id, date) of every checkpoint policy row with a date (driver side, small)."""
    return [
        (r.org_id, r.start_date)
        for r in policies.where((F.col("kind") == "checkpoint") & F.col("start_date").isNotNull())
        .select("org_id", "start_date")
        .distinct()
        .collect()
    ]


def checkpoint_days(
    spark: SparkSession, rows: DataFrame, policies: DataFrame, start: date, end: date, k: int
) -> DataFrame | None:
    """The checkpoint calendar of the period (driver side): every org of ``rows`` with a
    checkpoint window in [start, end) -> its working days as window | after | ordinary
    (:func:`checkpoint_burst.calendar`), as a small frame; None when no org has one."""
    cps = checkpoint_dates(policies)
    if not cps:
        return None
    orgs = [
        r.org_id
        for r in rows.where(F.col("org_id").isNotNull()).select("org_id").distinct().collect()
    ]
    cal = checkpoint_burst.calendar(orgs, cps, start, end, k)
    return checkpoint_burst.calendar_frame(spark, cal) if cal else None


def _order_factors(ests, main_order: int) -> dict[str, dict[int, float]]:
    """Per org, weight under each polynomial order relative to the headline order (weighted by
    the regimes' bunched user-weeks x quota, a proxy for their interactions)."""
    out: dict[str, dict[int, float]] = {}
    for o in sorted({e.org_id for e in ests}):
        mine = [e for e in ests if e.org_id == o and e.status == "ok"]
        base = sum(e.weight * e.weekly_quota for e in mine)
        if base <= 0:
            continue
        orders = {k for e in mine for k in e.weights_by_order}
        out[o] = {
            k: sum(e.weights_by_order.get(k, 0.0) * e.weekly_quota for e in mine) / base
            for k in orders
        }
    return out


def apply(interactions: DataFrame, inc: Incentives | None, rows: DataFrame | None = None):
    """Add ``sig_quota_bunching`` and ``sig_checkpoint_burst`` (null where not measured).

    ``rows``: the rows ``interactions`` was derived from, one per (tool, event_id), with their
    ``event_ts``, ``output_disposition`` and ``dwell_ms`` unchanged (the labels' silver rows):
    the filler cells are then computed from them (:func:`filler_weights`), not over
    ``interactions`` itself."""
    qcol, ccol = f"sig_{quota_bunching.NAME}", f"sig_{checkpoint_burst.NAME}"
    df = interactions
    if inc is not None and inc.user_weeks is not None:
        week = F.date_trunc("week", F.col("event_ts")).cast("date")
        df = df.withColumn(WEEK, week).join(
            F.broadcast(inc.user_weeks), on=["org_id", "user_key", WEEK], how="left"
        )
        split = F.when(no_use_evidence(inc.max_dwell_ms), F.col("_wq_no_use")).otherwise(
            F.col("_wq_use")
        )
        if inc.filler_cells is not None and rows is not None:
            df = (
                F.broadcast(filler_weights(rows, inc))
                .join(df, on=["tool", "event_id"], how="right")
                .withColumn("_split", F.coalesce(F.col("_wc"), split))
                .drop("_wc")
            )
        elif inc.filler_cells is not None:
            # regimes with a cell split: the weight of the row's cell; others: the evidence split
            df = (
                df.transform(with_filler_cell(inc.max_dwell_ms))
                .join(F.broadcast(inc.filler_cells), on=["org_id", "_cz", "_cell"], how="left")
                .withColumn("_split", F.coalesce(F.col("_wc"), split))
                .drop("_cell", "_wc")
            )
        else:
            df = df.withColumn("_split", split)
        df = df.withColumn(
            qcol,
            F.when(F.col(qcol).isNull(), F.lit(None).cast("double"))
            .when(F.col(qcol) > 0, F.col("_split"))
            .otherwise(F.col(qcol)),
        ).drop(WEEK, "_wq_no_use", "_wq_use", "_cz", "_split")
    else:
        df = df.withColumn(qcol, F.lit(None).cast("double"))
    if inc is not None and inc.checkpoint is not None:
        df = checkpoint_burst.apply(df, inc.checkpoint, inc.checkpoint_orgs)
    else:
        df = df.withColumn(ccol, F.lit(None).cast("double"))
    return df


def filler_weights(rows: DataFrame, inc: Incentives) -> DataFrame:
    """(tool, event_id, _wc): the filler cell's weight of each of ``rows`` in a bunched
    user-week (``sig_quota_bunching`` > 0) of a regime with a cell split, the rows
    :func:`apply` gives the cell's weight; no row for the others, whose weight is unused.

    The cell's sitting bit is a window over each user's rows ordered by time: a wide sort
    when taken over the labelled rows with every signal's columns. Here it runs over the
    users with a bunched week alone (all of their rows, so each row's neighbours are the
    same) and over the seven columns it reads; :func:`apply` joins the few weighted rows
    back with them on the left, the side Sail builds its hash table from."""
    qcol = f"sig_{quota_bunching.NAME}"
    bunched = inc.user_weeks.where(F.col(qcol) > 0)
    users = bunched.select("user_key").distinct()
    week = F.date_trunc("week", F.col("event_ts")).cast("date")
    return (
        rows.select(
            "tool", "event_id", "org_id", "user_key", "event_ts", "output_disposition", "dwell_ms"
        )
        .join(F.broadcast(users), on="user_key", how="left_semi")
        .transform(with_filler_cell(inc.max_dwell_ms))
        .withColumn(WEEK, week)
        .join(
            F.broadcast(bunched.select("org_id", "user_key", WEEK, "_cz")),
            on=["org_id", "user_key", WEEK],
            how="inner",
        )
        .join(F.broadcast(inc.filler_cells), on=["org_id", "_cz", "_cell"], how="inner")
        .select("tool", "event_id", "_wc")
    )


def org_columns(
    spark: SparkSession,
    index_rows: Sequence,
    labels: DataFrame,
    cfg,
    names: Sequence[str],
    inc: Incentives | None,
    policies: DataFrame | None,
    work_items: DataFrame | None,
    start: date,
    end: date,
    history: DataFrame | None = None,
    staging: str | None = None,
    buckets: int = 1,
    *,
    started: Mapping | None = None,
) -> dict[str, dict]:
    """{org: {column: value}} for outcome decoupling, high-confidence theater and rank bands.

    ``index_rows``: the collected org index rows (org_id, suppressed, theater_index).
    ``history``: (org_id, user_key, event_date) reaching back before the period, for
    decoupling's pre-mandate weeks; without it the period's labels are used.
    ``staging``: scratch folder for decoupling's user-day usage; with it, decoupling's
    bootstrap runs in ``buckets`` user-hash buckets (``outcome_decoupling.estimate``).
    ``started``: futures of :func:`decoupling_estimates` (``"decoupling"``) and
    :func:`config_shares` (``"config_shares"``) of the same inputs, started by the caller
    before the index rows existed (they do not read them); computed here where absent.
    """
    s = cfg.incentives
    started = started or {}
    dec = (
        started["decoupling"].result()
        if "decoupling" in started
        else decoupling_estimates(
            spark, labels, cfg, policies, work_items, start, end, history, staging, buckets
        )
    )
    published = {
        r.org_id: r.theater_index
        for r in index_rows
        if not r.suppressed and r.theater_index is not None
    }
    top = (
        float(np.quantile(list(published.values()), s.high_confidence.top_quantile))
        if published
        else None
    )
    bands = _rank_bands(
        index_rows, published, labels, cfg, names, inc, started.get("config_shares")
    )
    out: dict[str, dict] = {}
    for r in index_rows:
        o, e = r.org_id, dec.get(r.org_id)
        cols = out[o] = _decoupling_columns(e)
        cols["high_confidence_theater"] = (
            bool(published[o] >= top and e is not None and e.decoupled is True)
            if o in published
            else None
        )
        cols["rank_low"], cols["rank_high"] = bands.get(o) or (None, None)
    for o, d in diagnostics(inc, list(out), cfg).items():
        out[o].update(d)
    for o, d in share_columns(inc).items():
        if o in out:
            out[o].update(d)
    return out


def decoupling_estimates(
    spark, labels, cfg, policies, work_items, start, end, history=None, staging=None, buckets=1
) -> dict:
    """{org: outcome_decoupling.Estimate} of the orgs estimated (see :func:`org_columns`);
    empty when decoupling is off or its inputs are missing."""
    s = cfg.incentives
    if not (s.outcome_decoupling.enabled and policies is not None and work_items is not None):
        return {}
    interactions = (
        history if history is not None else labels.select("org_id", "user_key", "event_date")
    )
    ests = outcome_decoupling.estimate(
        spark,
        interactions,
        work_items,
        policies,
        start,
        end,
        s.outcome_decoupling,
        cfg.scoring.bootstrap.seed,
        staging=staging,
        buckets=buckets,
    )
    return {e.org_id: e for e in ests if e.status == "ok"}


def _decoupling_columns(e) -> dict:
    """An org's outcome-decoupling columns (all None without an estimate)."""
    return {
        "usage_change": e.usage_change if e else None,
        "outcome_change": e.outcome_change if e else None,
        "outcome_decoupling": e.ratio if e else None,
        "outcome_decoupling_low": e.ratio_low if e else None,
        "outcome_decoupling_high": e.ratio_high if e else None,
        "decoupled": e.decoupled if e else None,
    }


def _rank_bands(index_rows, published, labels, cfg, names, inc, shares=None) -> dict:
    """{org: (rank_low, rank_high)} over the sensitivity grid. Rank bands re-score
    per-interaction labels: only orgs whose index rests on them. ``shares``: a future of
    :func:`config_shares` of the same inputs, else they are computed here (when needed)."""
    s = cfg.incentives
    # read first: an error of the started computation fails the stage even when unused
    per_cfg = shares.result() if shares is not None else None
    basis = {r.org_id: getattr(r, "index_basis", "interactions") for r in index_rows}
    by_labels = {o: v for o, v in published.items() if basis[o] in (None, "interactions")}
    if not (s.sensitivity.enabled and by_labels):
        return {}
    if shares is None:
        per_cfg = config_shares(labels, cfg, names, inc)
    return sensitivity.rank_bands(per_cfg, by_labels, list(by_labels), s.sensitivity.band)


def config_shares(labels, cfg, names, inc):
    """Each org's index under each configuration of the sensitivity grid
    (``sensitivity.org_shares``), for :func:`_rank_bands`; None when the grid is off."""
    s = cfg.incentives
    if not s.sensitivity.enabled:
        return None
    configs = sensitivity.grid(
        s.sensitivity,
        names,
        cfg.signals.unused_output.max_dwell_ms,
        s.quota_bunching.poly_order,
    )
    return sensitivity.org_shares(
        labels, cfg.weights.as_dict(), names, configs, inc.order_factors if inc else {}
    )


ORG_SCHEMA = (
    "usage_change double, outcome_change double, outcome_decoupling double, "
    "outcome_decoupling_low double, outcome_decoupling_high double, decoupled boolean, "
    "high_confidence_theater boolean, rank_low int, rank_high int, "
    "quota_bunching_status string, quota_bunching_z double, quota_bunching_users int, "
    "quota_bunching_reason string, checkpoint_burst_status string, checkpoint_burst_z double, "
    "checkpoint_burst_users int, checkpoint_burst_reason string, "
    "incentive_excess double, incentive_excess_ci_low double, incentive_excess_ci_high double"
)

#: Diagnostic statuses of an incentive estimator for an org (gold and MLflow).
SIGNIFICANT, NOT_SIGNIFICANT, NOT_ESTIMATED = "significant", "not_significant", "not_estimated"


def _diagnostic(kind: str, ests: Sequence, min_z: float, size_rule: str) -> dict:
    """One org's diagnostics of one incentive estimator: status, z statistic, users, reason.

    ``ests``: the org's estimates (several quota regimes after a quota change: the measured one
    with most users speaks for the org; a weight anywhere makes it significant)."""
    p = kind
    if not ests:
        what = "no weekly quota" if kind == quota_bunching.NAME else "no review checkpoint"
        return {
            f"{p}_status": NOT_ESTIMATED,
            f"{p}_z": None,
            f"{p}_users": None,
            f"{p}_reason": f"{what} in force for the org in the period",
        }
    ok = [e for e in ests if e.status == "ok"]
    pick = max(ok or ests, key=lambda e: (e.n_users, getattr(e, "weekly_quota", 0) or 0))
    z = None if pick.z is None else float(pick.z)
    weighted = [
        e
        for e in ok
        if (getattr(e, "weight", None) or 0) > 0 or (getattr(e, "scale", None) or 0) > 0
    ]
    if weighted:
        status, reason = SIGNIFICANT, None
    elif ok:
        status = NOT_SIGNIFICANT
        shown = "n/a" if z is None else f"{z:.2f}"
        reason = (
            f"excess not significant (z = {shown} < {min_z}): weight 0, a lower bound, not an "
            "exact 0"
        )
    else:
        status = NOT_ESTIMATED
        reason = (
            f"{pick.status}: {size_rule}" if pick.status == "insufficient_sample" else pick.status
        )
    return {
        f"{p}_status": status,
        f"{p}_z": z,
        f"{p}_users": int(pick.n_users) if pick.n_users is not None else None,
        f"{p}_reason": reason,
    }


def diagnostics(inc: "Incentives | None", orgs: Sequence[str], cfg) -> dict[str, dict]:
    """{org: {quota_bunching_status, _z, _users, _reason, checkpoint_burst_...}}."""
    s = cfg.incentives
    qb, cb = s.quota_bunching, s.checkpoint_burst
    bunch_rule = (
        f"needs >= {qb.min_user_weeks} user-weeks and >= {qb.min_users} users in the window"
    )
    cp_rule = f"needs >= {cb.min_users} users active in the checkpoint windows"
    out = {}
    for o in orgs:
        b = [e for e in (inc.bunching if inc else []) if e.org_id == o]
        c = [e for e in (inc.checkpoints if inc else []) if e.org_id == o]
        out[o] = {
            **(
                _diagnostic(quota_bunching.NAME, b, qb.min_z, bunch_rule)
                if qb.enabled
                else {f"{quota_bunching.NAME}_status": "disabled"}
            ),
            **(
                _diagnostic(checkpoint_burst.NAME, c, cb.min_z, cp_rule)
                if cb.enabled
                else {f"{checkpoint_burst.NAME}_status": "disabled"}
            ),
        }
    return out


def with_org_columns(
    spark: SparkSession, schema, rows: Sequence, extra: Mapping[str, dict]
) -> DataFrame:
    """The collected org index rows with ``outcome_decoupling`` filled in and the new columns
    (interval, changes, high-confidence flag, rank band) inserted before ``run_id``."""
    from pyspark.sql.types import StructType

    new = StructType.fromDDL(ORG_SCHEMA)
    fields = [f for f in schema.fields if f.name != "run_id"]
    added = [f for f in new.fields if f.name not in {x.name for x in fields}]
    out_schema = StructType(fields + added + [schema["run_id"]])
    data = []
    for r in rows:
        d = r.asDict()
        d.update(extra.get(r.org_id, {}))
        data.append(tuple(d.get(f.name) for f in out_schema.fields))
    return spark.createDataFrame(data, out_schema)


@dataclass
class OrgShare:
    """One org's incentive-driven share of usage from the aggregate excess, with its interval."""

    org_id: str
    share: float | None  # None: not measurable
    low: float | None
    high: float | None
    filler: float = 0.0  # the quota top-ups' share (bunching weights)
    burst: float = 0.0  # the review windows' excess share
    day_shock_sd: float = 0.0
    parts: dict = field(default_factory=dict)  # each part's own interval (shares, diagnostics)
    burst_low: float = 0.0  # the windows' excess backed by unused outputs (its lower end)


def _filler_rel_se(ests: Sequence) -> float:
    """Relative standard error of an org's quota top-ups: over its weighted regimes, their
    bunching excess's bootstrap SE over the excess (weighted by weight x quota)."""
    num = den = 0.0
    for e in ests:
        if e.status == "ok" and (e.weight or 0) > 0 and e.B and e.se:
            w = e.weight * (e.weekly_quota or 1)
            num += w * abs(e.se / e.B)
            den += w
    return num / den if den > 0 else 0.0


def _unmatched_factor(ests: Sequence, z: float) -> float:
    """How much more the quota top-ups could be than the bunching weights count (relative),
    from the integration constraint: a complier's week moves from below the quota to it, so the
    excess at z* (B user-weeks) must equal the missing mass below it. The weights count the
    missing mass M found in the excluded window [zL, z*) at a mean shortfall of about
    (z* - zL) / 2; the part of the excess not matched there, ``phi = (B_hi - M) / B_hi``
    (``B_hi`` = B + z SE), came from further below, each such week short by up to zL more.
    Per org: the weighted mean over its weighted regimes of ``phi * zL / ((z* - zL) / 2)``."""
    num = den = 0.0
    for e in ests:
        if e.status != "ok" or not (e.weight or 0) > 0 or not e.B or e.z_low is None:
            continue
        b_hi = e.B + z * (e.se or 0.0)
        m = e.M or 0.0
        phi = min(max((b_hi - m) / b_hi, 0.0), 1.0) if b_hi > 0 else 0.0
        mean_gap = max((e.weekly_quota - e.z_low) / 2.0, 0.5)
        w = e.weight * (e.weekly_quota or 1)
        num += w * phi * max(e.z_low, 0) / mean_gap
        den += w
    return num / den if den > 0 else 0.0


def own_week_topups(
    weeks: pd.DataFrame, regimes: Sequence, full: "tuple[date, date] | None" = None
) -> dict[str, float]:
    """Per user of one org, an upper end of the quota top-ups read from the same user's own
    weeks: ``{user_key: sum over the user's bunched weeks of (z* - r_u)+}``.

    ``weeks``: (user_key, week_start, n) usage per user-week; ``regimes``: the org's quota
    regimes (``quota_bunching.Estimate``; those ``ok`` with a weight > 0 count). A user-week is
    bunched when its usage is in a regime's bunching cell ``[z*, z_high]``; ``r_u`` is the mean
    of the user's other weeks below that quota (weeks with no top-up: before the quota, or short
    of what the user would top up from). A complier tops up only the weeks that reached some
    share of the quota on their own, so the weeks left below it are the lower ones: ``z* - r_u``
    is at least the week's top-up (an upper end, not an estimate), and a week that lands in the
    cell without a top-up adds its distance from the user's low weeks (again upward). Users with
    no such week add nothing (not known: the set-identified upper end stays theirs).
    ``full``: (start, end) of the period: only weeks with ``start <= monday`` and
    ``monday + 7 <= end`` count (a cut week is short, it would read as a low week).
    """
    regs = [
        (int(e.weekly_quota), int(e.z_high if e.z_high is not None else e.weekly_quota))
        for e in regimes
        if e.status == "ok" and (e.weight or 0) > 0 and e.weekly_quota
    ]
    if not regs or weeks is None or weeks.empty:
        return {}
    w = weeks
    if full is not None:
        mon = pd.to_datetime(w["week_start"])
        keep = (mon >= pd.Timestamp(full[0])) & (
            mon + pd.Timedelta(days=7) <= pd.Timestamp(full[1])
        )
        w = w[keep.to_numpy()]
    # the users' rows together, each user's in their order (as a groupby by user hands them
    # over); the regime of each week once over all rows, the per-user steps on slices
    w = w.sort_values("user_key", kind="stable")
    users = w["user_key"].to_numpy()
    n_all = w["n"].to_numpy(float)
    z_all = np.full(len(n_all), np.nan)
    for q, zh in sorted(regs):
        z_all[np.isnan(z_all) & (n_all >= q) & (n_all <= zh)] = q
    if not len(users):
        return {}
    first = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    bounds = np.r_[first, len(users)]
    # only users with a bunched week can add anything
    has = np.add.reduceat((~np.isnan(z_all)).astype(np.int64), first) > 0
    out: dict[str, float] = {}
    for i in np.flatnonzero(has):
        lo, hi = bounds[i], bounds[i + 1]
        n, z = n_all[lo:hi], z_all[lo:hi]
        bunched = ~np.isnan(z)
        low = n[(~bunched) & (n < z[bunched].min())]
        if len(low) == 0:
            continue
        out[users[lo]] = float(np.clip(z[bunched] - low.mean(), 0.0, None).sum())
    return out


def _week_rows(chunk: pd.DataFrame, orgs: set) -> pd.DataFrame:
    """(org_id, user_key, week_start, n) of one user bucket's user-day rows (ISO weeks, as the
    bunching estimate counts them)."""
    g = chunk[chunk["org_id"].isin(orgs) & chunk["n"].notna()]
    d = pd.to_datetime(g["event_date"])
    mon = (d - pd.to_timedelta(d.dt.weekday, unit="D")).dt.normalize()
    return (
        g.assign(week_start=mon.to_numpy())
        .groupby(["org_id", "user_key", "week_start"], sort=True)["n"]
        .sum()
        .reset_index()
    )


def _org_rng(seed: int, org: str) -> np.random.Generator:
    """One random stream per org: its replicates do not depend on the other orgs nor on the
    order in which the user buckets are read."""
    return np.random.default_rng([int(seed), zlib.crc32(str(org).encode())])


def _add_day_rows(sums: dict, chunk: pd.DataFrame, cal: Mapping, keys: Mapping) -> None:
    """Add one user bucket's (org_id, user_key, event_date, n[, n_unused]) rows to each org's
    :class:`checkpoint_burst.DaySums` (``sums[org] = (all usage, unused part or None, a)``)."""
    for org, g in chunk.groupby("org_id", sort=True):
        if org not in sums:
            continue
        s_all, s_unused, a = sums[org]
        days = cal[org]
        ordd = sorted(d for d, (t, _) in days.items() if t == "ordinary")
        oi = {d: j for j, d in enumerate(ordd)}
        ws = {d for d, (t, _) in days.items() if t == "window"}
        ui = keys[org]
        g = g[g["user_key"].isin(ui.keys()) & g["n"].notna()]
        # each row's user (its position among the bucket's users of the org, sorted), whether
        # its day is a window day and its ordinary day's column (-1: neither), without a
        # Python step per row
        rows_u, local = pd.factorize(g["user_key"], sort=True)
        rows_u = rows_u.astype(int)
        idx = np.array([ui[u] for u in local], dtype=int)
        parts = [(s_all, g["n"].to_numpy(float))]
        if s_unused is not None:
            parts.append((s_unused, np.nan_to_num(g["n_unused"].to_numpy(float))))
        day = g["event_date"]
        in_w = day.isin(list(ws)).to_numpy(dtype=bool)
        col = day.map(oi).fillna(-1).to_numpy(dtype=float).astype(int)
        for target, n in parts:
            window = np.zeros(len(local))
            ordinary = np.zeros((len(local), len(ordd)))
            np.add.at(window, rows_u[in_w], n[in_w])
            o = (~in_w) & (col >= 0)
            np.add.at(ordinary, (rows_u[o], col[o]), n[o])
            target.add(idx, window, ordinary, a)


def _day_chunks(inc) -> list:
    """The user-day counts a user bucket at a time: ``inc.day_chunks`` (a callable yielding
    frames) or the collected ``inc.day_counts`` as one part."""
    if inc is None:
        return []
    if inc.day_chunks is not None:
        return inc.day_chunks()
    return [inc.day_counts] if inc.day_counts is not None else []


def org_shares(
    inc: "Incentives | None",
    users: pd.DataFrame,
    replicates: int,
    confidence: float,
    seed: int,
) -> list[OrgShare]:
    """Per org, the share of usage that is incentive-driven, estimated from the aggregate excess
    rather than from flags: quota top-ups (the bunching weights summed over the org's usage,
    their bunching SE carried as a relative error) plus the review windows' excess over the same
    users' ordinary days (:func:`checkpoint_burst.excess_from_sums`), with a percentile interval
    over replicates that resample users (Poisson weights, the same for both parts and the
    denominator), the ordinary days and the windows' common day shock.

    What the aggregate cannot tell apart is carried by the interval, not guessed:
    - top-ups are set-identified, [F, F (1 + u)] (:func:`_unmatched_factor`);
    - the windows' excess E may hold a team-wide crunch as well as bursts (both raise the same
      users' usage on the same days). Crunch work is used; review theater need not be. With
      ``g`` the share of ordinary-day usage whose outputs show no use and ``E_unused`` the
      windows' excess of such usage, the bursts are at least ``(E_unused - g E) / (1 - g)``
      (all of a crunch used as ordinary work is; every burst output at most unused), and at
      most E: the interval's lower end is read from the first, its upper end from the second.
      The estimate stays E (no crunch).

    ``users``: org_id, user_key, usage (all usage units), filler (usage x w_q where bunching is
    measured, else NaN). An org with neither a quota regime nor a checkpoint calendar, or with a
    quota regime whose bunching is not estimated, is not measurable (share None). The share and
    interval are clipped to [0, 1]; an interval that no replicate widens is replaced by the
    Wilson interval of the share over the org's users (it is not an exact figure). The user-day
    counts are read a user bucket at a time (:func:`_day_chunks`): driver memory follows users
    plus replicates x days, not users x days.
    """
    tail = (1.0 - confidence) / 2.0
    bunching = inc.bunching if inc else []
    cal = (inc.calendar or {}) if inc else {}
    orgs, sums, keys = _org_streams(users, cal, replicates, seed)
    # orgs whose top-ups the same users' own weeks can bound (:func:`own_week_topups`)
    quota_orgs = {e.org_id for e in bunching if e.status == "ok" and (e.weight or 0) > 0}
    weeks, full, with_unused = _read_day_counts(inc, sums, cal, keys, quota_orgs)
    out = []
    for org, g, rng, a in orgs:
        regimes = [e for e in bunching if e.org_id == org]
        # a quota in force whose bunching could not be estimated leaves the top-ups unknown
        if (not regimes and org not in cal) or any(e.status != "ok" for e in regimes):
            out.append(OrgShare(org, None, None, None))
            continue
        own_weeks = None
        if weeks is not None and org in quota_orgs:
            own_weeks = own_week_topups(weeks[weeks["org_id"] == org], regimes, full)
        out.append(
            _org_share(
                org, g, rng, a, regimes, sums.get(org), own_weeks, with_unused, tail, confidence
            )
        )
    return out


def _org_streams(users: pd.DataFrame, cal: Mapping, replicates: int, seed: int):
    """Each org's users in a fixed order with its own random stream and Poisson weights
    (``orgs``), and, for orgs with a checkpoint calendar, empty day sums to fill (``sums``)
    and the users' positions (``keys``)."""
    # users in a fixed order, so that the replicates do not depend on how the engine
    # returned the rows
    users = users.sort_values(["org_id", "user_key"], kind="stable")
    orgs, sums, keys = [], {}, {}
    for org, g in users.groupby("org_id", sort=True):
        rng = _org_rng(seed, org)
        ks = list(g["user_key"])
        a = _compact(rng.poisson(1.0, (replicates, len(ks))))
        orgs.append((org, g, rng, a))
        days = cal.get(org)
        if days is None:
            continue
        n_ord = sum(1 for t, _ in days.values() if t == "ordinary")
        n_win = sum(1 for t, _ in days.values() if t == "window")
        if n_ord < 2 or n_win == 0:
            continue
        keys[org] = {u: i for i, u in enumerate(ks)}
        sums[org] = tuple(
            checkpoint_burst.DaySums.empty(len(ks), replicates, n_ord, n_win) for _ in range(2)
        ) + (a,)
    return orgs, sums, keys


def _compact(a: np.ndarray) -> np.ndarray:
    """Poisson(1) weights held as bytes until an org is estimated (every org's replicates x
    users are held at once, 8 times smaller; read back as the same doubles): as doubles where
    a weight does not fit a byte."""
    return a.astype(np.uint8) if a.size and a.max() < 256 else a.astype(float)


def _read_day_counts(inc, sums: dict, cal: Mapping, keys: Mapping, quota_orgs: set):
    """Read the user-day counts once, a user bucket at a time: fill ``sums`` in place and
    keep the quota orgs' user-week rows. Returns (weeks or None, the full weeks' span, whether
    every bucket had the unused part)."""
    week_parts, first, last = [], None, None
    # the unused part is known only if every bucket has it
    with_unused = True
    for chunk in _day_chunks(inc) if (sums or quota_orgs) else []:
        if chunk is None or chunk.empty:
            continue
        if quota_orgs:
            wk = _week_rows(chunk, quota_orgs)
            if not wk.empty:
                week_parts.append(wk)
            d = pd.to_datetime(chunk["event_date"])
            first = d.min() if first is None else min(first, d.min())
            last = d.max() if last is None else max(last, d.max())
        has = "n_unused" in chunk.columns
        with_unused = with_unused and has
        live = {o: (x[0], x[1] if has else None, x[2]) for o, x in sums.items()}
        _add_day_rows(live, chunk, cal, keys)
    weeks = pd.concat(week_parts, ignore_index=True) if week_parts else None
    # full weeks: the period's (as the bunching estimate counts them), else the days read
    full = inc.period if inc is not None and inc.period else None
    if full is None and first is not None:
        full = (first, last + pd.Timedelta(days=1))
    return weeks, full, with_unused


def _org_share(org, g, rng, a, regimes, org_sums, own_weeks, with_unused, tail, confidence):
    """One org's :class:`OrgShare` (see :func:`org_shares`)."""
    a = a.astype(float)  # held compact (:func:`_compact`)
    usage = g["usage"].to_numpy(float)
    filler = np.nan_to_num(g["filler"].to_numpy(float))
    replicates = a.shape[0]
    total, total_r = usage.sum(), a @ usage
    if total <= 0:
        return OrgShare(org, None, None, None)
    f = filler.sum()
    f_r = (a @ filler) * np.clip(
        1.0 + _filler_rel_se(regimes) * rng.standard_normal(replicates), 0.0, None
    )
    e, e_r, e_low, e_low_r, sd = _review_excess(org_sums, a, rng, with_unused)
    share = min(max((f + e) / total, 0.0), 1.0)
    den = np.maximum(total_r, 1e-12)
    # top-ups are set-identified, [F, F (1 + u)]; bursts [E_low, E]: the lower limit from
    # the lower ends, the upper limit from the upper ends (each at the interval's own
    # level: conservative)
    u = _unmatched_factor(regimes, float(NormalDist().inv_cdf(1.0 - tail)))
    # a burst week needs fewer top-ups: E counts the bursts less the top-ups they displaced
    # from the window days, at most the ordinary days' top-up level over the window days
    # (n_window / n_ordinary of the ordinary days' top-ups, bounded by that share of F)
    d = _displaced_share(org_sums)
    # compliers who start far below the quota: the bunching weights see only the missing
    # mass near it; the same users' own low weeks bound each bunched week's top-up
    own = np.zeros(len(g))
    if own_weeks is not None:
        own = np.array([own_weeks.get(k, 0.0) for k in g["user_key"]], dtype=float)
    t_r = a @ own
    lo = float(np.quantile(np.clip((f_r + e_low_r) / den, 0.0, 1.0), tail))
    top_hi = np.maximum(f_r * (1.0 + u), t_r) * (1.0 + d)
    hi = float(np.quantile(np.clip((top_hi + e_r) / den, 0.0, 1.0), 1.0 - tail))
    if hi - lo < 5e-5:
        # no replicate moved (e.g. no weight and no excess anywhere): not an exact figure,
        # other users could have shown one; the Wilson interval over the org's users
        w_lo, w_hi = wilson(share, len(g), confidence)
        lo, hi = min(lo, w_lo), max(hi, w_hi)
    return OrgShare(
        org,
        round(float(share), 6),
        round(min(float(lo), float(share)), 6),
        round(max(float(hi), float(share)), 6),
        round(float(f / total), 6),
        round(float(e / total), 6),
        round(float(sd), 3),
        {
            k: [round(float(x), 6) for x in np.quantile(v / den, [tail, 1 - tail])]
            for k, v in (
                ("filler", f_r),
                ("burst", e_r),
                ("burst_lower_end", e_low_r),
                ("filler_own_weeks", t_r),
            )
        },
        round(float(e_low / total), 6),
    )


def _displaced_share(sums) -> float:
    """Window days over ordinary days of an org's calendar (0 without one): the most of the
    top-ups' ordinary daily level that the window days could have carried and bursts displaced."""
    if sums is None:
        return 0.0
    s = sums[0]
    return s.n_window / s.day_tot.shape[0] if s.day_tot.shape[0] else 0.0


def _review_excess(sums, a: np.ndarray, rng, with_unused: bool):
    """``(E, its replicates, E's lower end, its replicates, day-shock sd)`` of the org's review
    windows over the same users' ordinary days (zeros where the org has no calendar or too few
    ordinary days). The lower end is the part of E backed by the excess of usage without
    evidence of use (:func:`org_shares`); E itself where that is not known."""
    r = a.shape[0]
    if sums is None:
        z = np.zeros(r)
        return 0.0, z, 0.0, z, 0.0
    s_all, s_unused, _ = sums
    b = rng.poisson(1.0, (r, s_all.day_tot.shape[0])).astype(float)
    shock_z = rng.standard_normal(r)
    e, e_r, sd = checkpoint_burst.excess_from_sums(s_all, a, b, shock_z)
    if not with_unused or s_unused is None:
        return e, e_r, e, e_r, sd
    eu, eu_r, _ = checkpoint_burst.excess_from_sums(s_unused, a, b, shock_z)
    tot = s_all.day_tot.sum()
    g = s_unused.day_tot.sum() / tot if tot > 0 else 0.0
    lev = (s_all.per_day * b).sum(axis=1)
    g_r = np.where(lev > 0, (s_unused.per_day * b).sum(axis=1) / np.maximum(lev, 1e-12), g)
    g_r = np.minimum(g_r, 1.0 - 1e-9)
    low = (eu - g * e) / (1.0 - g) if g < 1.0 else e
    low_r = np.minimum((eu_r - g_r * e_r) / (1.0 - g_r), e_r)
    return e, e_r, min(low, e), low_r, sd


#: Fewest replicates behind the percentile interval of :func:`org_shares`.
MIN_SHARE_REPLICATES = 200


def filler_sum() -> Column:
    """Per (org, user) aggregate of incentive units: the usage times the bunching weight where
    it is measured (``filler``, :func:`org_shares`)."""
    # rounded: fractional weights make the float sum order-dependent
    return F.round(F.sum(F.when(F.col("w_q").isNotNull(), F.col("n") * F.col("w_q"))), 9).alias(
        "filler"
    )


def compute_org_shares(units: DataFrame, inc, boot, users: DataFrame | None = None) -> None:
    """Set ``inc.org_shares`` (:func:`org_shares`) from the incentive units (org_id, user_key,
    n, w_q, ...): per (org, user) all usage and the usage times the bunching weight.
    ``boot``: the bootstrap settings (at least ``MIN_SHARE_REPLICATES`` replicates).
    ``users``: those per-(org, user) sums already aggregated from ``units`` (``usage`` and
    :func:`filler_sum`, over the units with ``n`` > 0), read instead of ``units``."""
    if inc is None:
        return
    if users is None:
        users = (
            units.where(F.col("n").isNotNull() & (F.col("n") > 0))
            .groupBy("org_id", "user_key")
            .agg(F.sum("n").alias("usage"), filler_sum())
        )
    users = (
        users.where(F.col("org_id").isNotNull())
        .select("org_id", "user_key", "usage", "filler")
        .toPandas()
    )
    if inc.day_rows is not None and inc.day_chunks is None:
        # users x days bounds the user-day rows: buckets of about bucket_rows each
        span = (inc.period[1] - inc.period[0]).days if inc.period else 0
        days = max([len(m) for m in (inc.calendar or {}).values()] + [span, 1])
        n = bucket_count(len(users) * days, inc.bucket_rows)
        if inc.day_table is not None:
            inc.day_chunks = table_chunks(inc.day_table, n)
        else:
            inc.day_chunks = day_chunks(inc.day_rows, n)
    if not users.empty:
        inc.org_shares = org_shares(
            inc, users, max(boot.replicates, MIN_SHARE_REPLICATES), boot.confidence, boot.seed
        )


def share_columns(inc) -> dict[str, dict]:
    """{org: incentive_excess, _ci_low, _ci_high} in percent (2 decimals) where measurable."""
    out = {}
    for s in inc.org_shares if inc is not None else []:
        if s.share is not None:
            out[s.org_id] = {
                "incentive_excess": round(100 * s.share, 2),
                "incentive_excess_ci_low": round(100 * s.low, 2),
                "incentive_excess_ci_high": round(100 * s.high, 2),
            }
    return out


def wilson(p: float, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a share ``p`` over ``n`` units (reaches 0 at p = 0)."""
    if n <= 0:
        return 0.0, 1.0
    z = float(NormalDist().inv_cdf(0.5 + confidence / 2.0))
    d = 1.0 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)

"""Outcome decoupling (methodology 5, recipe step 5): did usage bought by a mandate move outcomes?

Per org with a mandate (policies ``kind = mandate``; an org's own row wins over ``*``; the
earliest start applies): pre is [mandate - ``max_pre_weeks``, mandate), cut at the first day
with data (so weeks before the logs began never count as zero usage), and post is
[mandate, period end). Usage may also come from user-day aggregates: a row with ``_n`` stands for
that many interactions (silver/user_days requests). The interactions passed may reach back before the period (the score
stage passes up to ``max_pre_weeks`` of silver history), so an org whose mandate fell late in a
quarter, or in an earlier quarter, still gets the methodology's 8+ pre weeks when history
exists. An org needs at least ``min_pre_weeks`` pre and ``min_post_weeks`` post weeks:

- within users: for every user active in the org on both sides, the change in weekly usage
  ``du = post interactions / post weeks - pre interactions / pre weeks`` (weeks = days / 7) and
  the change in an
  outcome index ``dy = y_post - y_pre``. Outcomes are the user's work items, dated by their start
  (``opened_ts``): cycle time (days, closed items), reopen rate (reopened_count > 0) and
  escalation rate. ``y = -(cycle/sd_cycle + reopen/sd_reopen + escalation/sd_escalation) / k``
  over the k components measured on both sides, with item-level standard deviations pooled over
  the history floor to the period end: higher is better.
- against controls: the same changes, at the same calendar split, for users of orgs with no
  mandate in force before the end of the period (never or not yet treated); the difference in
  differences ``dU = mean_T du - mean_C du``, ``dY = mean_T dy - mean_C dy`` (within-user changes
  only when no control org exists).
- ``outcome_decoupling = dY / dU``: outcome change (SD units) per extra interaction per user-week
  (a Wald / fuzzy DiD). Interval: user-clustered Poisson bootstrap, percentile: the per-user
  changes are aggregated in the engine, the replicates summed on the driver with the engine's
  own hash weights (:mod:`.hash_weights`).

``decoupled`` is true when usage rose (the interval of dU above 0) and the interval of the ratio
reaches 0 or below: usage moved without outcomes. Fewer than ``min_users`` treated users with
outcomes on both sides, or no usable mandate: NA.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping, Sequence

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..buckets import bucket_of, materialize
from ..config import OutcomeDecoupling
from . import hash_weights
from .quota_bunching import POINT, require_settings

log = logging.getLogger(__name__)

NAME = "outcome_decoupling"
COLUMNS = (
    "usage_change",
    "outcome_change",
    "outcome_decoupling",
    "outcome_decoupling_low",
    "outcome_decoupling_high",
    "decoupled",
)


@dataclass
class _Cell:
    sw: float
    swu: float
    swy_n: float
    swy: float
    n_y: int


@dataclass
class Estimate:
    org_id: str
    mandate: date
    status: str  # ok | insufficient_weeks | insufficient_sample
    n_treated: int = 0
    n_control: int = 0
    usage_change: float | None = None
    usage_low: float | None = None
    usage_high: float | None = None
    outcome_change: float | None = None
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    decoupled: bool | None = None


def mandates(policies: DataFrame, orgs: list[str]) -> dict[str, date]:
    rows = (
        policies.where((F.col("kind") == "mandate") & F.col("start_date").isNotNull())
        .groupBy("org_id")
        .agg(F.min("start_date").alias("d"))
        .collect()
    )
    own = {r.org_id: r.d for r in rows if r.org_id != "*"}
    star = next((r.d for r in rows if r.org_id == "*"), None)
    out = {}
    for o in orgs:
        if o in own:
            out[o] = own[o]
        elif star is not None:
            out[o] = star
    return out


@dataclass(frozen=True)
class Splits:
    """The decoupling's calendar (driver side): per treated org its pre/post split and the
    control group sharing that split. ``events``: rows (event, org_id, grp T|C, pre_from,
    pre_to, post_from, post_to, pre weeks, post weeks); ``group_of``: org -> its control
    group's event."""

    events: list
    group_of: dict


def split_events(
    mandate_of: Mapping[str, date],
    orgs: Sequence[str],
    floor: date,
    end: date,
    settings: OutcomeDecoupling,
) -> tuple[list[Estimate], Splits]:
    """Estimates (status ``insufficient_weeks`` until the weeks suffice) and the split events.

    A control user's change depends on the calendar split, not on the treated org: one control
    group per distinct split (pre_from, mandate), shared by the orgs that have it (an org that
    is itself a control, mandated at the period end, gets its own group without itself). Rows:
    orgs x splits, not orgs x treated orgs."""
    s = settings
    controls = [o for o in orgs if o not in mandate_of or mandate_of[o] >= end]
    ests, events, group_of, splits = [], [], {}, {}
    for o, d in sorted(mandate_of.items()):
        pre_from = floor
        if s.max_pre_weeks:
            pre_from = max(floor, d - timedelta(days=round(7 * s.max_pre_weeks)))
        pre_w, post_w = (d - pre_from).days / 7.0, (end - d).days / 7.0
        e = Estimate(o, d, "insufficient_weeks")
        ests.append(e)
        if pre_w < s.min_pre_weeks or post_w < s.min_post_weeks:
            continue
        e.status = "insufficient_sample"
        events.append((o, o, "T", pre_from, d, d, end, pre_w, post_w))
        key = (pre_from, d, o if o in controls else None)
        if key not in splits:
            splits[key] = f"split-{len(splits)}"
            events += [
                (splits[key], c, "C", pre_from, d, d, end, pre_w, post_w)
                for c in controls
                if c != o or key[2] is None
            ]
        group_of[o] = splits[key]
    return ests, Splits(events, group_of)


def estimate(
    spark: SparkSession,
    interactions: DataFrame,
    work_items: DataFrame | None,
    policies: DataFrame,
    start: date,
    end: date,
    settings: OutcomeDecoupling,
    seed: int,
    staging: str | None = None,
    buckets: int = 1,
) -> list[Estimate]:
    """``settings``: the typed ``incentives.outcome_decoupling`` section. ``staging``: a
    scratch folder; given, the user-day usage is written there once and the bootstrap runs in
    ``buckets`` user-hash buckets, one after the other, each bucket's per-user changes written
    once and read back (memory follows the bucket, not the history). The bootstrap sums are
    integers, added bucket by bucket: the estimate does not depend on ``buckets``."""
    require_settings(settings, OutcomeDecoupling, NAME)
    if work_items is None:
        return []
    orgs = [
        r.org_id
        for r in interactions.where(F.col("org_id").isNotNull())
        .select("org_id")
        .distinct()
        .collect()
    ]
    m = mandates(policies, orgs)
    if not m:
        return []
    # history floor: the first day with data, never later than the period start
    first = interactions.agg(F.min("event_date").alias("d")).collect()[0].d
    floor = min(first, start) if first is not None else start
    ests, splits = split_events(m, orgs, floor, end, settings)
    if not splits.events:
        return ests
    items = outcome_items(work_items, floor, end)
    sd = items.agg(*[F.stddev(c).alias(c) for c in ("cycle", "reopen", "escal")]).collect()[0]
    comps = [c for c in ("cycle", "reopen", "escal") if sd[c] and sd[c] > 0]
    if not comps:
        return ests
    if staging is not None:
        days = staged_usage_days(
            spark, interactions, os.path.join(staging, "decoupling-days"), buckets
        )
    else:
        days = usage_days(interactions)
        buckets = 1
    ev = spark.createDataFrame(
        splits.events,
        "event string, org_id string, grp string, pre_from date, "
        "pre_to date, post_from date, post_to date, "
        "n_pre double, n_post double",
    )
    cells = _summed_cells(spark, days, items, ev, comps, sd, settings, seed, staging, buckets)
    by_org = {e.org_id: e for e in ests}
    for o in sorted(splits.group_of):  # orgs without a treated or control cell keep their status
        g = splits.group_of[o]
        if (o, "T", POINT) in cells or (g, "C", POINT) in cells:
            _finish(by_org[o], cells, o, g, settings)
    return ests


def usage_days(interactions: DataFrame) -> DataFrame:
    """(org_id, user_key, _d, n): interactions per user-day; a row counts ``_n`` interactions
    when given (user-day aggregates: requests), else 1."""
    count = F.sum("_n") if "_n" in interactions.columns else F.count("*")
    return (
        interactions.where(F.col("org_id").isNotNull())
        .groupBy("org_id", "user_key", F.col("event_date").alias("_d"))
        .agg(count.alias("n"))
    )


def staged_usage_days(spark: SparkSession, interactions: DataFrame, path: str, buckets: int):
    """:func:`usage_days` written once under ``path`` and read back. With ``buckets`` > 1 it
    is aggregated one user-hash bucket at a time (each a filtered read of ``interactions``),
    appended: a user's days all fall in one bucket, so the rows are those of one aggregate,
    while the aggregate holds a bucket's user-days, not the whole history's."""
    if buckets <= 1:
        return materialize(spark, usage_days(interactions), path)
    schema = None
    for b in range(buckets):
        part = usage_days(interactions.where(bucket_of(buckets, "user_key") == b))
        part.write.mode("append" if schema is not None else "overwrite").parquet(path)
        schema = part.schema
    return spark.read.schema(schema).parquet(path)


def outcome_items(work_items: DataFrame, floor: date, end: date) -> DataFrame:
    """Work items opened in [floor, end) with their outcome components: cycle time (days),
    reopened, escalated."""
    cycle = (F.col("closed_ts").cast("long") - F.col("opened_ts").cast("long")) / 86400.0
    return (
        work_items.where(F.col("user_key").isNotNull() & F.col("opened_ts").isNotNull())
        .select(
            "user_key",
            F.to_date("opened_ts").alias("_d"),
            cycle.alias("cycle"),
            (F.col("reopened_count") > 0).cast("double").alias("reopen"),
            F.col("escalated").cast("double").alias("escal"),
        )
        .where((F.col("_d") >= F.lit(floor)) & (F.col("_d") < F.lit(end)))
    )


def _summed_cells(spark, days, items, ev, comps, sd, s, seed, staging, buckets) -> dict:
    """{(event, grp, rep): _Cell}: the bootstrap sums added over the user buckets."""
    sums: dict = {}  # (event, grp, rep) -> [sw, swu, swy_n, swy, n_y], integers
    for b in range(buckets):
        mine = bucket_of(buckets, "user_key") == b if buckets > 1 else None
        part = _bootstrap_sums(
            spark,
            days if mine is None else days.where(mine),
            items if mine is None else items.where(mine),
            ev,
            comps,
            sd,
            s.bootstrap_replicates,
            seed,
            staging,
        )
        for r in part:
            acc = sums.setdefault((r.event, r.grp, int(r.rep)), [0, 0, 0, 0, 0])
            for i, v in enumerate((r.sw, r.swu, r.swy_n, r.swy, r.n_y)):
                acc[i] += int(v or 0)
        if buckets > 1:
            log.info("score: outcome decoupling, user bucket %d of %d", b + 1, buckets)
    return {
        k: _Cell(float(sw), swu / 1e6, float(swy_n), swy / 1e6, n_y)
        for k, (sw, swu, swy_n, swy, n_y) in sums.items()
    }


def _finish(e: Estimate, cells: Mapping, o: str, group: str, s: OutcomeDecoupling) -> None:
    """One org's changes, ratio, percentile intervals and ``decoupled`` from its cells."""
    t0, c0 = cells.get((o, "T", POINT)), cells.get((group, "C", POINT))
    e.n_treated = int(t0.n_y or 0) if t0 else 0
    e.n_control = int(c0.n_y or 0) if c0 else 0
    if e.n_treated < s.min_users:
        return

    def changes(rep):
        t, c = cells.get((o, "T", rep)), cells.get((group, "C", rep))
        if t is None or not t.sw or not t.swy_n:
            return None
        du, dy_ = t.swu / t.sw, t.swy / t.swy_n
        if c is not None and c.sw and c.swy_n and e.n_control >= s.min_users:
            du, dy_ = du - c.swu / c.sw, dy_ - c.swy / c.swy_n
        return du, dy_

    point = changes(POINT)
    if point is None:
        return
    boot = [x for x in (changes(r) for r in range(s.bootstrap_replicates)) if x]
    e.status = "ok"
    e.usage_change, e.outcome_change = round(point[0], 6), round(point[1], 6)
    e.ratio = round(point[1] / point[0], 6) if point[0] != 0 else None
    alpha = (1.0 - s.confidence) / 2.0
    if len(boot) >= 2:
        du_b = np.array([b[0] for b in boot])
        ratio_b = np.array([b[1] / b[0] for b in boot if b[0] != 0])
        e.usage_low = round(float(np.quantile(du_b, alpha)), 6)
        e.usage_high = round(float(np.quantile(du_b, 1 - alpha)), 6)
        if len(ratio_b) >= 2:
            e.ratio_low = round(float(np.quantile(ratio_b, alpha)), 6)
            e.ratio_high = round(float(np.quantile(ratio_b, 1 - alpha)), 6)
    if e.usage_low is not None and e.ratio_low is not None:
        e.decoupled = bool(e.usage_low > 0 and e.ratio_low <= 0)


def _bootstrap_sums(spark, days, items, ev, comps, sd, replicates, seed, staging) -> list:
    """Per (event, grp, rep): the bootstrap sums over the users of ``days`` (one user bucket or
    all): sw, swu and swy (changes in millionths, as integers), swy_n and n_y."""
    side = F.when((F.col("_d") >= F.col("pre_from")) & (F.col("_d") < F.col("pre_to")), "pre").when(
        (F.col("_d") >= F.col("post_from")) & (F.col("_d") < F.col("post_to")), "post"
    )
    usage = (
        days.join(F.broadcast(ev), on="org_id", how="inner")
        .withColumn("side", side)
        .where(F.col("side").isNotNull())
        .groupBy("event", "grp", "org_id", "user_key", "n_pre", "n_post")
        .agg(
            F.sum(F.when(F.col("side") == "pre", F.col("n"))).alias("u_pre"),
            F.sum(F.when(F.col("side") == "post", F.col("n"))).alias("u_post"),
        )
        .where(F.col("u_pre").isNotNull() & F.col("u_post").isNotNull())
        .withColumn(
            "du", F.round(F.col("u_post") / F.col("n_post") - F.col("u_pre") / F.col("n_pre"), 6)
        )
    )
    if staging is not None:  # used twice below: computed once
        usage = materialize(spark, usage, os.path.join(staging, "decoupling-usage"))
    bounds = ev.select("event", "grp", "org_id", "pre_from", "pre_to", "post_from", "post_to")
    it = (
        usage.select("event", "grp", "org_id", "user_key")
        .join(F.broadcast(bounds), on=["event", "grp", "org_id"])
        .join(items, on="user_key", how="inner")
        .withColumn("side", side)
        .where(F.col("side").isNotNull())
        .groupBy("event", "grp", "org_id", "user_key")
        .agg(
            *[
                F.avg(F.when(F.col("side") == sd_, F.col(c))).alias(f"{c}_{sd_}")
                for c in comps
                for sd_ in ("pre", "post")
            ]
        )
    )
    parts = [(F.col(f"{c}_post") - F.col(f"{c}_pre")) / F.lit(float(sd[c])) for c in comps]
    n_ok = sum((p.isNotNull().cast("double") for p in parts), F.lit(0.0))
    tot = sum((F.coalesce(p, F.lit(0.0)) for p in parts), F.lit(0.0))
    dy = F.when(n_ok > 0, F.round(-tot / n_ok, 6))
    per_user = usage.join(
        it.withColumn("dy", dy).select("event", "grp", "org_id", "user_key", "dy"),
        on=["event", "grp", "org_id", "user_key"],
        how="left",
    )
    has_y = F.col("dy").isNotNull().cast("long")
    # changes in millionths as integers: exact sums, independent of the summation order
    du_m = F.round(F.col("du") * 1_000_000).cast("long")
    dy_m = F.coalesce(F.round(F.col("dy") * 1_000_000).cast("long"), F.lit(0).cast("long"))
    # one collect of the per-user changes (a row per event, group and user), the replicates
    # on the driver: the engine's weights (:mod:`.hash_weights`), integer sums
    users = per_user.select(
        "event",
        "grp",
        "user_key",
        du_m.alias("du_m"),
        has_y.alias("has_y"),
        dy_m.alias("dy_m"),
    ).toPandas()
    return replicate_sums(users, replicates, seed)


@dataclass
class _Sums:
    """One (event, grp, rep) row of :func:`replicate_sums`."""

    event: str
    grp: str
    rep: int
    sw: int
    swu: int
    swy_n: int
    swy: int
    n_y: int | None


def replicate_sums(users, replicates: int, seed: int) -> list[_Sums]:
    """Per (event, grp, rep) with rep in [POINT, replicates): the sums over ``users`` (event,
    grp, user_key, du_m, has_y, dy_m: integers) weighted by ``poisson_rep_weight(seed,
    user_key, rep)`` (1 for the point estimate): sw, swu, swy_n, swy, and n_y (the point's
    users with an outcome change; None for the other replicates). The same figures as summing
    the users crossed with the replicates in the engine: the same weights, integer sums."""
    reps = np.arange(POINT, replicates, dtype=np.int64)
    point = reps == POINT
    out = []
    if users is None or len(users) == 0:
        return out
    for (event, grp), g in users.groupby(["event", "grp"], sort=True):
        units = [None if u is None or u != u else str(u) for u in g["user_key"]]
        w = hash_weights.poisson_weights(seed, units, reps).astype(np.int64)
        w[:, point] = 1
        # a null change adds nothing to the engine's sums
        du, hy, dy = (g[c].fillna(0).to_numpy(np.int64) for c in ("du_m", "has_y", "dy_m"))
        sw, swu, swy_n, swy = w.sum(axis=0), du @ w, hy @ w, dy @ w
        for j, rep in enumerate(reps):
            out.append(
                _Sums(
                    event,
                    grp,
                    int(rep),
                    int(sw[j]),
                    int(swu[j]),
                    int(swy_n[j]),
                    int(swy[j]),
                    int(hy.sum()) if rep == POINT else None,
                )
            )
    return out

"""Checkpoint bursts (methodology 3, recipe step 2): usage in the working days before a review
checkpoint above the same users' ordinary level.

Definitions (DESIGN "Definitions"): the window of a checkpoint is the ``working_days_before``
(3) working days (Mon-Fri) before the checkpoint date, not the day itself; ``*`` and
org-specific checkpoints both apply; policy dates are UTC dates, interactions are placed by
their UTC ``event_date``.

Per org, over the period:
- ``obs_u``: user u's interactions on window days; ``ordinary_u``: on the other working days
  (not in a window and not in the ``working_days_before`` days from the checkpoint on, which are
  kept apart for the reversion check);
- counterfactual ``cf_u = ordinary_u / n_ordinary_days * n_window_days`` (the same user's
  ordinary daily level);
- excess ``e_u = obs_u - cf_u``; org excess ``E = sum e_u`` with the user-clustered (sandwich)
  standard error ``sqrt(sum e_u^2)``; the org's burst ratio ``E / sum obs_u`` is the recipe's
  ``(obs - counterfactual) / obs``.

Weight, only when ``E / SE >= min_z``. No double counting (recipe step 4): interactions that a
per-interaction flag already explains (``explained``, the unused-output flag in the pipeline; the
other flags but fragmentation require it) get p = 1 anyway, so the weight goes on the others and
carries only the excess they show: with ``r_u`` the same excess computed on user u's unexplained
interactions and ``R = sum r_u``, ``w_u = (max(R, 0) / sum_v max(r_v, 0)) * max(r_u, 0) /
rest_obs_u`` (clipped to [0, 1]), on u's window-day interactions. Summed over them the weights
equal R, while users who did not burst get (close to) none. Without ``explained`` r = e.
The org signal (mean weight) is therefore the burst share beyond what the flags explain.
Orgs without any checkpoint in the period, or with fewer than ``min_users`` users active in the
windows, are NA. The fall afterwards is reported as ``reversion`` = (after - cf_after) / cf_after
over the checkpoint day and the working days after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Mapping, Sequence

import numpy as np
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ..config import CheckpointBurst
from .quota_bunching import require_settings

NAME = "checkpoint_burst"
# candidate leads: reviews are prepared up to a working week ahead; beyond it a "lead" is the
# ordinary level of a team with frequent reviews
MAX_LEAD_DAYS = 6


def working_days_before(day: date, k: int) -> list[date]:
    out, d = [], day - timedelta(days=1)
    while len(out) < k:
        if d.weekday() < 5:
            out.append(d)
        d -= timedelta(days=1)
    return sorted(out)


def working_days_from(day: date, k: int) -> list[date]:
    out, d = [], day
    while len(out) < k:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def calendar(
    orgs: Iterable[str], checkpoints: Sequence[tuple[str, date]], start: date, end: date, k: int
) -> dict[str, dict[date, str]]:
    """Per org: each working day of [start, end) -> 'window' | 'after' | 'ordinary'.

    Orgs with no checkpoint window inside the period are left out (NA).
    """
    out = {}
    for org in orgs:
        dates = sorted({d for o, d in checkpoints if o in ("*", org)})
        window = {x for d in dates for x in working_days_before(d, k)}
        after = {x for d in dates for x in working_days_from(d, k)} - window
        days, d = {}, start
        while d < end:
            if d.weekday() < 5:
                days[d] = "window" if d in window else "after" if d in after else "ordinary"
            d += timedelta(days=1)
        if any(v == "window" for v in days.values()):
            out[org] = days
    return out


def lead_calendar(
    orgs: Iterable[str],
    checkpoints: Sequence[tuple[str, date]],
    start: date,
    end: date,
    after_days: int,
    max_lead: int,
) -> dict[str, dict[date, tuple[str, int | None]]]:
    """Per org: each working day of [start, end) -> (day type, lead). Days within ``max_lead``
    working days before a checkpoint are 'window' with their lead (1 = the working day before;
    the nearest checkpoint's), the ``after_days`` from a checkpoint on 'after', the rest
    'ordinary' (lead None). Orgs with no window day inside the period are left out (NA).

    Reviews are prepared over leads nobody announced: the window is this span's candidate days,
    of which :func:`kept_leads` keeps those the data show an excess on, and ordinary days are
    only those beyond any candidate lead, so that a long lead does not raise the ordinary level.
    """
    out = {}
    for org in orgs:
        dates = sorted({d for o, d in checkpoints if o in ("*", org)})
        lead: dict[date, int] = {}
        for d in dates:
            for pos, x in enumerate(reversed(working_days_before(d, max_lead)), start=1):
                lead[x] = min(pos, lead.get(x, pos))
        after = {x for d in dates for x in working_days_from(d, after_days)} - set(lead)
        days, d = {}, start
        while d < end:
            if d.weekday() < 5:
                days[d] = (
                    ("window", lead[d])
                    if d in lead
                    else ("after", None)
                    if d in after
                    else ("ordinary", None)
                )
            d += timedelta(days=1)
        if any(t == "window" for t, _ in days.values()):
            out[org] = days
    return out


def lead_frame(spark: SparkSession, cal: Mapping[str, Mapping[date, tuple]]) -> DataFrame:
    """:func:`lead_calendar` as a frame: org_id, event_date, day_type, lead."""
    return spark.createDataFrame(
        [(o, d, t, p) for o, m in sorted(cal.items()) for d, (t, p) in sorted(m.items())],
        "org_id string, event_date date, day_type string, lead int",
    )


@dataclass
class Lead:
    """One org's excess at one lead (working days before its checkpoints)."""

    org_id: str
    lead: int
    days: int  # calendar days at this lead
    obs: float  # interactions on them
    excess: float  # sum of user excesses over the same users' ordinary level
    se: float  # user-clustered
    rest_obs: float  # interactions no flag explains
    rest_excess: float  # their excess
    ordinary: float = 0.0  # the same org's interactions on ordinary days
    ordinary_rest: float = 0.0  # of which no flag explains

    @property
    def z(self) -> float | None:
        return self.excess / self.se if self.se > 0 else None

    def looks_like_theater(self, min_z: float) -> bool:
        """The lead's interactions are explained by a flag (output unused) significantly more
        often than ordinary days' (one-sided z >= ``min_z``, binomial over rows: a screen, as
        rows cluster in users). Work that rises before a deadline (a release crunch) raises
        usage with outputs used as usual; a burst for the review brings unused outputs."""
        if self.obs <= 0 or self.ordinary <= 0:
            return False
        s = 1.0 - self.rest_obs / self.obs
        g = 1.0 - self.ordinary_rest / self.ordinary
        se = math.sqrt(s * (1 - s) / self.obs + g * (1 - g) / self.ordinary)
        return s > g and se > 0 and (s - g) / se >= min_z


#: A column of per-day sums (:func:`theater.stages.incentives.checkpoint_day_table`): the
#: interactions of the row that no flag explains, in place of a per-row ``explained`` flag.
REST = "_n_rest"


def _with_counts(interactions: DataFrame, explained: Column | None) -> DataFrame:
    """The rows of an org with ``_cnt`` (the interactions a row stands for: ``_n`` when given,
    user-day aggregates carrying their request count or a user-day's sum; else 1) and
    ``_rest_cnt`` (of which no flag explains: ``REST`` when given, else ``_cnt`` where
    ``explained`` is not true)."""
    cnt = (F.col("_n") if "_n" in interactions.columns else F.lit(1.0)).cast("double")
    if REST in interactions.columns:
        rest_cnt = F.col(REST).cast("double")
    else:
        rest = ~F.coalesce(explained, F.lit(False)) if explained is not None else F.lit(True)
        rest_cnt = F.when(rest, cnt).otherwise(0.0)
    return (
        interactions.where(F.col("org_id").isNotNull())
        .withColumn("_cnt", cnt)
        .withColumn("_rest_cnt", rest_cnt)
    )


def lead_profile(
    interactions: DataFrame, days: DataFrame, max_lead: int, explained: Column | None = None
) -> dict[str, dict[int, Lead]]:
    """{org: {lead: Lead}} over a :func:`lead_frame` calendar: per lead, each user's
    interactions against their ordinary daily level times the lead's days (the user-clustered
    excess of :func:`estimate`, one lead at a time). ``explained`` as in :func:`estimate`."""
    leads = range(1, max_lead + 1)
    nd = days.groupBy("org_id").agg(
        F.sum((F.col("day_type") == "ordinary").cast("double")).alias("n_ord"),
        *[F.sum((F.col("lead") == p).cast("double")).alias(f"n{p}") for p in leads],
    )

    def total(cond, only_rest=False):
        return F.sum(F.when(cond, F.col("_rest_cnt" if only_rest else "_cnt")).otherwise(0.0))

    ordinary = F.col("day_type") == "ordinary"
    per_user = (
        _with_counts(interactions, explained)
        .join(F.broadcast(days), on=["org_id", "event_date"], how="inner")
        .groupBy("org_id", "user_key")
        .agg(
            total(ordinary).alias("o"),
            total(ordinary, True).alias("o_rest"),
            *[total(F.col("lead") == p).alias(f"w{p}") for p in leads],
            *[total(F.col("lead") == p, True).alias(f"r{p}") for p in leads],
        )
        .join(F.broadcast(nd), on="org_id", how="inner")
        .where(F.col("n_ord") > 0)
    )
    # excesses scaled by n_ord: integer-valued, exact org sums (as in ``estimate``)
    aggs = []
    for p in leads:
        e = F.col(f"w{p}") * F.col("n_ord") - F.col("o") * F.col(f"n{p}")
        r = F.col(f"r{p}") * F.col("n_ord") - F.col("o_rest") * F.col(f"n{p}")
        aggs += [
            F.sum(f"w{p}").alias(f"obs{p}"),
            F.sum(e).alias(f"E{p}"),
            F.sum(e * e).alias(f"S{p}"),
            F.sum(f"r{p}").alias(f"rest{p}"),
            F.sum(r).alias(f"R{p}"),
            F.first(f"n{p}").alias(f"n{p}"),
        ]
    aggs += [F.sum("o").alias("o"), F.sum("o_rest").alias("o_rest")]
    out: dict[str, dict[int, Lead]] = {}
    for row in per_user.groupBy("org_id", "n_ord").agg(*aggs).collect():
        n = float(row.n_ord)
        out[row.org_id] = {
            p: Lead(
                row.org_id,
                p,
                int(row[f"n{p}"] or 0),
                float(row[f"obs{p}"]),
                float(row[f"E{p}"]) / n,
                math.sqrt(float(row[f"S{p}"])) / n,
                float(row[f"rest{p}"]),
                float(row[f"R{p}"]) / n,
                float(row.o),
                float(row.o_rest),
            )
            for p in leads
        }
    return out


def kept_leads(profile: Mapping[int, Lead], base: int, min_z: float) -> list[int]:
    """Leads 1..``base`` always (the configured window), then each further lead while its own
    excess is significant (z >= ``min_z``) and looks like theater (``Lead.looks_like_theater``),
    stopping at the first that does not."""
    kept = [p for p in sorted(profile) if p <= base]
    for p in sorted(q for q in profile if q > base):
        lead, z = profile[p], profile[p].z
        if lead.days == 0 or z is None or z < min_z or lead.excess <= 0:
            break
        if not lead.looks_like_theater(min_z):
            break
        kept.append(p)
    return kept


def lead_tilts(profile: Mapping[int, Lead], kept: Sequence[int]) -> dict[int, float]:
    """{lead: t}: how much of a kept lead's unexplained interactions are excess against the
    window's mean, ``t = min(1, (R_p+ / rest_p) / (sum R+ / sum rest))``: a user's window
    weight times t is lowered on the leads where the org shows less excess than on average
    (bursts that rise towards the review leave the early leads light). Never raised: on the
    day before a review a burster's genuine interactions and their used-looking burst ones are
    the same (user, day), and raising the weight there flagged them at P ~ 0.5 (held-out family
    B: hard-negative FP 0.96% pooled, 3 of 8 worlds over 1%, for +0.05 burst recall).
    ``min_z`` is kept for the signature's sake of callers that screen leads."""
    pos = {p: max(profile[p].rest_excess, 0.0) for p in kept}
    rest = {p: profile[p].rest_obs for p in kept}
    total_rest = sum(rest.values())
    mean = sum(pos.values()) / total_rest if total_rest > 0 else 0.0
    if mean <= 0:
        return {p: 1.0 for p in kept}
    out = {p: (pos[p] / rest[p]) / mean if rest[p] > 0 else 1.0 for p in kept}
    return {p: round(min(t, 1.0), 6) for p, t in out.items()}


def window_calendar(
    cal: Mapping[str, Mapping[date, tuple]], kept: Mapping[str, Sequence[int]]
) -> dict[str, dict[date, str]]:
    """:func:`lead_calendar` with each org's kept leads as 'window' and its other candidate
    leads 'near' (neither window nor ordinary: left out of both), for :func:`estimate`."""
    return {
        o: {
            d: ("window" if p in kept.get(o, ()) else "near") if t == "window" else t
            for d, (t, p) in m.items()
        }
        for o, m in cal.items()
    }


def tilted(frame: DataFrame, tilts: DataFrame) -> DataFrame:
    """The weight table of :func:`estimate` with each window day's weight times its lead's
    tilt; ``tilts``: org_id, event_date, _tilt."""
    col = f"sig_{NAME}"
    t = F.coalesce(F.col("_tilt"), F.lit(1.0))
    return (
        frame.join(F.broadcast(tilts), on=["org_id", "event_date"], how="left")
        .withColumn(col, F.round(F.least(F.lit(1.0), F.col(col) * t), 6))
        .drop("_tilt")
    )


@dataclass
class Estimate:
    org_id: str
    status: str  # ok | insufficient_sample
    n_users: int = 0
    obs: float = 0.0
    excess: float | None = None  # E
    se: float | None = None
    z: float | None = None
    burst_ratio: float | None = None  # E / obs
    reversion: float | None = None
    scale: float | None = None  # E / sum of positive user excess (0 when not significant)
    leads: list | None = None  # the window's leads (working days before), when chosen by data
    tilts: dict | None = None  # {lead: weight factor} (``lead_tilts``)


def calendar_frame(spark: SparkSession, cal: Mapping[str, Mapping[date, str]]) -> DataFrame:
    """:func:`calendar` as a frame: org_id, event_date, day_type (driver side, small)."""
    return spark.createDataFrame(
        [(o, d, t) for o, m in sorted(cal.items()) for d, t in sorted(m.items())],
        "org_id string, event_date date, day_type string",
    )


def estimate(
    spark: SparkSession,
    interactions: DataFrame,
    days: DataFrame,
    settings: CheckpointBurst,
    explained: Column | None = None,
) -> tuple[list[Estimate], DataFrame]:
    """Org estimates and the per-(org, user, day) weight table.

    ``interactions``: the period's rows with org_id, user_key, event_date and optionally
    ``_n`` (the interactions a row stands for: user-day aggregates carry their request
    count; default 1). ``days``: the checkpoint calendar (org_id, event_date, day_type in
    window | after | ordinary, other types ignored; :func:`calendar_frame`), built by the caller
    from the policies; orgs absent from it are not measured. ``settings``: the typed
    ``incentives.checkpoint_burst`` section. Returns (estimates, frame with org_id, user_key,
    event_date, sig_checkpoint_burst for window days of the measured orgs).
    """
    require_settings(settings, CheckpointBurst, "checkpoint_burst")
    empty = spark.createDataFrame(
        [], "org_id string, user_key string, event_date date, sig_checkpoint_burst double"
    )
    # day counts per org and type, from the calendar itself (an org without window days has
    # nothing to measure)
    nd = (
        days.groupBy("org_id")
        .agg(
            *[
                F.sum((F.col("day_type") == t).cast("double")).alias(f"n_{t}")
                for t in ("window", "after", "ordinary")
            ]
        )
        .where(F.col("n_window") > 0)
    )
    days = days.join(nd.select("org_id"), on="org_id", how="left_semi")
    per_user = _per_user(interactions, days, nd, explained)
    ests, scales = _org_estimates(_org_sums(per_user), settings)
    if not scales:
        return ests, empty
    return ests, _weights(spark, per_user, days, scales)


def _per_user(interactions: DataFrame, days: DataFrame, nd: DataFrame, explained) -> DataFrame:
    """Per (org, user): interactions on window, after and ordinary days (all and those no flag
    explains), with the excesses ``e_n``, ``r_n`` and ``cf_after_n`` scaled by n_ordinary."""
    return (
        _with_counts(interactions, explained)
        .join(F.broadcast(days), on=["org_id", "event_date"], how="inner")
        .groupBy("org_id", "user_key")
        .agg(
            *[
                F.sum(F.when(F.col("day_type") == t, F.col("_cnt")).otherwise(0.0)).alias(t)
                for t in ("window", "after", "ordinary")
            ],
            *[
                F.sum(F.when(F.col("day_type") == t, F.col("_rest_cnt")).otherwise(0.0)).alias(
                    f"{t}_rest"
                )
                for t in ("window", "ordinary")
            ],
        )
        .join(F.broadcast(nd), on="org_id", how="inner")
        .where(F.col("n_ordinary") > 0)
        # e_u scaled by n_ordinary: integer-valued, so the org sums are exact and do not
        # depend on the summation order (re-runs give identical figures)
        .withColumn(
            "e_n", F.col("window") * F.col("n_ordinary") - F.col("ordinary") * F.col("n_window")
        )
        .withColumn("cf_after_n", F.col("ordinary") * F.col("n_after"))
        .withColumn(
            "r_n",
            F.col("window_rest") * F.col("n_ordinary") - F.col("ordinary_rest") * F.col("n_window"),
        )
    )


def _org_sums(per_user: DataFrame) -> list:
    """Per org (collected, small): users, obs and the scaled sums of the excesses."""
    return (
        per_user.groupBy("org_id", "n_ordinary")
        .agg(
            F.sum((F.col("window") > 0).cast("int")).alias("users"),
            F.sum("window").alias("obs"),
            F.sum("e_n").alias("E_n"),
            F.sum(F.col("e_n") * F.col("e_n")).alias("S2_n"),
            F.sum(F.greatest(F.col("e_n"), F.lit(0.0))).alias("Epos_n"),
            F.sum("after").alias("after"),
            F.sum("cf_after_n").alias("cf_after_n"),
            F.sum("r_n").alias("R_n"),
            F.sum(F.greatest(F.col("r_n"), F.lit(0.0))).alias("Rpos_n"),
        )
        .collect()
    )


def _org_estimates(org_rows: Sequence, settings: CheckpointBurst) -> tuple[list, list]:
    """(estimates, [(org, scale)] of the measured orgs) from :func:`_org_sums` (driver)."""
    ests, scales = [], []
    for r in sorted(org_rows, key=lambda r: r.org_id):
        e = Estimate(r.org_id, "insufficient_sample", n_users=int(r.users), obs=float(r.obs))
        ests.append(e)
        if not (r.users >= settings.min_users and r.obs > 0):
            continue
        n = float(r.n_ordinary)
        E, cf_after = r.E_n / n, r.cf_after_n / n
        e.status = "ok"
        e.excess = round(float(E), 6)
        e.se = round(math.sqrt(float(r.S2_n / (n * n))), 6)
        e.z = round(e.excess / e.se, 6) if e.se > 0 else None
        e.burst_ratio = round(float(E) / float(r.obs), 6)
        e.reversion = (
            round((float(r.after) - float(cf_after)) / float(cf_after), 6) if cf_after else None
        )
        significant = e.z is not None and e.z >= settings.min_z and E > 0
        rest_excess, rest_pos = float(r.R_n), float(r.Rpos_n)
        e.scale = max(rest_excess, 0.0) / rest_pos if significant and rest_pos > 0 else 0.0
        scales.append((e.org_id, e.scale))
    return ests, scales


def _weights(spark, per_user: DataFrame, days: DataFrame, scales: list) -> DataFrame:
    """(org_id, user_key, event_date, sig_checkpoint_burst) on every window day of the
    measured orgs: ``scale * max(r_u, 0) / window_rest_u`` (clipped to 1; 0 without rows)."""
    sc = spark.createDataFrame(scales, "org_id string, _scale double")
    r_u = F.greatest(F.col("r_n"), F.lit(0.0)) / F.col("n_ordinary")
    w = F.least(F.lit(1.0), F.col("_scale") * r_u / F.col("window_rest"))
    user_w = per_user.join(F.broadcast(sc), on="org_id", how="inner").select(
        "org_id",
        "user_key",
        F.when(F.col("window_rest") > 0, F.round(w, 6)).otherwise(F.lit(0.0)).alias("_w"),
    )
    # the weight table covers every measured org's window days; other days of measured orgs: 0
    window_days = days.where(F.col("day_type") == "window").join(F.broadcast(sc), "org_id")
    return user_w.join(window_days.select("org_id", "event_date"), on="org_id", how="inner").select(
        "org_id", "user_key", "event_date", F.col("_w").alias(f"sig_{NAME}")
    )


def apply(interactions: DataFrame, frame: DataFrame, measured: Sequence[str]) -> DataFrame:
    """Add ``sig_checkpoint_burst``: the user's weight on window days, 0 on other days of a
    measured org, null (NA) elsewhere."""
    col = f"sig_{NAME}"
    if not measured:
        return interactions.withColumn(col, F.lit(None).cast("double"))
    # the measured orgs as an expression, not a join that copies every column of every row
    in_measured = F.col("org_id").isin(*sorted(set(measured)))
    return interactions.join(
        F.broadcast(frame), on=["org_id", "user_key", "event_date"], how="left"
    ).withColumn(col, F.when(in_measured, F.coalesce(F.col(col), F.lit(0.0))))


@dataclass
class DaySums:
    """One org's user-day usage reduced to what the review-window excess needs, so that it can
    be summed a user bucket at a time (every user's days lie in one bucket): per user the usage
    on the window days; per replicate and ordinary day the user-weighted usage (``a @
    ordinary``); the org's usage per ordinary day; the sum over users of the variance of their
    own ordinary days. Driver memory: users + replicates x days, not users x days."""

    window: np.ndarray
    per_day: np.ndarray
    day_tot: np.ndarray
    user_var: float
    n_window: int

    @classmethod
    def empty(cls, users: int, replicates: int, n_ordinary: int, n_window: int) -> "DaySums":
        return cls(
            np.zeros(users),
            np.zeros((replicates, n_ordinary)),
            np.zeros(n_ordinary),
            0.0,
            n_window,
        )

    def add(self, idx: np.ndarray, window: np.ndarray, ordinary: np.ndarray, a: np.ndarray):
        """Add users ``idx`` (positions in ``a``'s columns): their window usage and their
        users x ordinary days usage."""
        self.window[idx] += window
        # ``a`` may be held compact (whole numbers as bytes): the product of the same doubles
        self.per_day += np.asarray(a[:, idx], dtype=float) @ ordinary
        self.day_tot += ordinary.sum(axis=0)
        if ordinary.shape[1] >= 2 and len(idx):
            self.user_var += float(ordinary.var(axis=1, ddof=1).sum())


def excess_from_sums(
    s: DaySums, a: np.ndarray, b: np.ndarray, shock_z: np.ndarray | None
) -> tuple[float, np.ndarray, float]:
    """``(E, E per replicate, common day shock sd)`` from an org's :class:`DaySums`
    (:func:`excess_replicates`); ``shock_z``: standard normal draws per replicate for the
    window's common day shock (shared between the usage and its unused part, a shock being
    common to the day), None: drawn by the caller only where the shock is not 0."""
    no = s.day_tot.shape[0]
    e = float(s.window.sum() - s.n_window * s.day_tot.sum() / no)
    shock_var = 0.0
    if no >= 3:
        shock_var = max(float(s.day_tot.var(ddof=1)) - s.user_var, 0.0)
    level = (s.per_day * b).sum(axis=1) / np.maximum(b.sum(axis=1), 1)
    shock = (
        math.sqrt(s.n_window * shock_var) * shock_z if shock_var and shock_z is not None else 0.0
    )
    return e, a @ s.window - s.n_window * level + shock, math.sqrt(shock_var)


def excess_replicates(
    window: np.ndarray, ordinary: np.ndarray, n_window: int, a: np.ndarray, b: np.ndarray, rng
) -> tuple[float, np.ndarray, float]:
    """The org's aggregate burst excess and its replicates (driver side, small arrays).

    ``window[u]``: user u's interactions on the window days (``n_window`` days);
    ``ordinary[u, d]``: on each ordinary day. The excess is ``E = sum_u window_u - n_window *
    mean_d ordinary_.d``: the window's usage above the same users' ordinary daily level. Its
    replicates carry the counterfactual's uncertainty at both levels: ``a`` (replicates x users,
    Poisson(1) weights) resamples users, ``b`` (replicates x ordinary days) the ordinary days
    the level is read from, and the window's own days get a common day shock drawn from the
    ordinary days' (a review window may fall on a busy day for everyone: a crunch, a launch).
    The common shock variance is the method-of-moments part of the org's day-total variance
    that the users' own day-to-day variation does not explain (floored at 0).
    Returns (E, E per replicate, the common day shock's standard deviation).
    """
    s = DaySums.empty(len(window), a.shape[0], ordinary.shape[1], n_window)
    s.add(np.arange(len(window)), window, ordinary, a)
    no = ordinary.shape[1]
    shock_var = 0.0
    if no >= 3:
        shock_var = max(float(s.day_tot.var(ddof=1)) - s.user_var, 0.0)
    z = rng.standard_normal(a.shape[0]) if shock_var else None
    return excess_from_sums(s, a, b, z)

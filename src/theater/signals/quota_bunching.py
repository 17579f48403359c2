"""Quota bunching (methodology 1; recipe step 2): excess mass of weekly interaction counts at
and just above an org's weekly usage quota z*, against a polynomial counterfactual.

Estimator (Chetty et al. 2011; Kleven & Waseem 2013 for a notch from below)::

    c_j = sum_{i<=p} beta_i z_j^i + sum_{k in [zL, zU]} gamma_k 1[z_j = k] + e_j

Fitting the polynomial with one dummy per excluded bin is the same as fitting it on the bins
outside [zL, zU]; the counterfactual ĉ_j is the polynomial part. Excess mass
B = sum_{z*..zU} (c_j - ĉ_j), missing mass M = sum_{zL..z*-1} (ĉ_j - c_j), b = B / ĉ_{z*}.
zU = z* + ``exclude_above``; zL starts at z* - ``exclude_below`` and, with ``choose_exclusion``,
is chosen from the data as the start where B and M are closest (the integration constraint of a
notch). Standard errors: user-clustered bootstrap (Poisson weights per user, the engine's
``poisson_weight`` hash draws computed on the driver by :mod:`.hash_weights`).

Sample rule: an org-quota regime is estimated only with >= ``min_user_weeks`` user-weeks and
>= ``min_users`` users in the window; otherwise it is NA (not 0). Weeks cut by the period edges
do not enter. Where the org has enough full weeks without a quota (pre-quota weeks), the same
estimator at the same z* on those weeks gives the round-number heaping to subtract
(difference in bunching): B_adj = B - b_pre * ĉ_{z*}.

Weight on the interactions of bunched user-weeks (counts z*..zU), only when B_adj / SE >= min_z:

    w_q = (B_adj / n_bunch) * (Δ / z*)

where n_bunch is the observed number of user-weeks at z*..zU and Δ the mean shortfall of the
compliers, estimated as the missing-mass-weighted mean of (z* - j) over [zL, z*-1]
(≈ (z* - zL)/2 for a flat notch, the methodology's approximation).

Per interaction (``evidence_split``, ``with_evidence``): the weight of a bunched week moves onto
its interactions without evidence of use, by their excess over the regime's other weeks, with
the share bounded below by that excess; after a quota change, regimes under the sample rule are
measured on the org's weeks stacked by distance to their own quota (``stack_changed_quotas``).
docs/methodology.md, "Robust incentive detection", gives the statistics.

Binning the user-weeks runs in Spark; the binned rows (org, quota, sample, user, bin: small)
are collected once, and the replicate tables (regimes x replicates x bins) and the fits are
computed from them in numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..buckets import bucket_of
from ..columns import poisson_weight
from ..config import QuotaBunching
from . import hash_weights

NAME = "quota_bunching"
POINT = -1  # replicate id of the point estimate (weight 1 for every user)


def require_settings(settings, cls, name: str) -> None:
    """The estimators read typed config sections; a plain mapping (``asdict``) is refused by
    name rather than failing later on a missing attribute."""
    if not isinstance(settings, cls):
        raise TypeError(
            f"{name}: settings must be theater.config.{cls.__name__} (the typed "
            f"incentives.{name} section), got {type(settings).__name__}"
        )


# ----------------------------------------------------------------------------- numpy estimator


@dataclass
class Fit:
    """One bunching fit on binned counts."""

    B: float  # excess mass at z*..zU (user-weeks)
    M: float  # missing mass at zL..z*-1
    b: float  # B / ĉ(z*)
    c_hat_z: float  # counterfactual count at z*
    n_bunch: float  # observed user-weeks at z*..zU
    z_low: int  # zL (interactions)
    shortfall: float  # mean shortfall of compliers (interactions)
    counterfactual: np.ndarray = field(repr=False, default=None)


def fit_bunching(
    z: Sequence[float],
    counts: Sequence[float],
    z_star: float,
    *,
    order: int,
    exclude_below: int,
    exclude_above: int,
    choose_exclusion: bool = False,
    max_exclude_below: int = 8,
    bin_width: int = 1,
) -> Fit | None:
    """Fit the bunching estimator on bins ``z`` (bin starts, interactions) with ``counts``.

    Returns None when too few bins lie outside the excluded window for the polynomial.
    """
    z = np.asarray(z, dtype=float)
    c = np.asarray(counts, dtype=float)
    rel = np.round((z - z_star) / bin_width).astype(int)  # bin offset from z*
    candidates = (
        [exclude_below] if not choose_exclusion else list(range(1, max(max_exclude_below, 1) + 1))
    )
    if not (rel == 0).any():
        return None
    # what no candidate window changes, once per call: the design matrix and the bunched bins
    scale = max(float(np.abs(z - z_star).max()), 1.0)
    V = np.vander((z - z_star) / scale, order + 1, increasing=True)  # scaled: conditioning
    bunch = (rel >= 0) & (rel <= exclude_above)
    c_bunch = c[bunch]
    at_z = int(np.flatnonzero(rel == 0)[0])
    best = None
    for lo in candidates:
        fit = _fit_once(c, rel, V, bunch, c_bunch, order, lo, exclude_above)
        if fit is None:
            continue
        if not choose_exclusion:
            return _fit_result(z, c, rel, z_star, lo, bin_width, fit, c_bunch, at_z)
        key = (round(abs(fit[0] - fit[1]), 6), lo)  # ties (to 1e-6): the narrowest window
        if best is None or key < best[0]:
            best = (key, lo, fit)
    if best is None:
        return None
    return _fit_result(z, c, rel, z_star, best[1], bin_width, best[2], c_bunch, at_z)


def _fit_once(c, rel, V, bunch, c_bunch, order, lo, hi):
    """``(B, M, c_hat)`` of one excluded window (``lo`` bins below z*, ``hi`` from z* up),
    or None when too few bins lie outside it for the polynomial."""
    keep = (rel < -lo) | (rel > hi)
    if np.count_nonzero(keep) < order + 3:
        return None
    beta, *_ = np.linalg.lstsq(V[keep], c[keep], rcond=None)
    c_hat = V @ beta
    below = (rel >= -lo) & (rel < 0)
    B = float((c_bunch - c_hat[bunch]).sum())
    M = float((c_hat[below] - c[below]).sum())
    return B, M, c_hat


def _fit_result(z, c, rel, z_star, lo, bin_width, fit, c_bunch, at_z) -> Fit:
    """The :class:`Fit` of the window chosen by :func:`fit_bunching`."""
    B, M, c_hat = fit
    below = (rel >= -lo) & (rel < 0)
    c_hat_z = float(c_hat[at_z])
    miss = np.clip(c_hat[below] - c[below], 0.0, None)
    gap = (z_star - z[below]).astype(float)
    shortfall = float((miss * gap).sum() / miss.sum()) if miss.sum() > 0 else (lo * bin_width) / 2.0
    return Fit(
        B=B,
        M=M,
        b=B / c_hat_z if c_hat_z > 0 else math.nan,
        c_hat_z=c_hat_z,
        n_bunch=float(c_bunch.sum()),
        z_low=int(z_star - lo * bin_width),
        shortfall=shortfall,
        counterfactual=c_hat,
    )


def quota_weight(B: float, n_bunch: float, shortfall: float, z_star: float) -> float:
    """w_q = (B / n_bunch) * (shortfall / z*), clipped to [0, 1]."""
    if n_bunch <= 0 or z_star <= 0 or not np.isfinite(B):
        return 0.0
    return float(min(1.0, max(0.0, (B / n_bunch) * (shortfall / z_star))))


def bin_edges(z_star: int, window: int, bin_width: int) -> np.ndarray:
    """Bin starts of the window around z* (user-week counts are >= 1)."""
    starts = z_star + bin_width * np.arange(-window, window + 1)
    return starts[starts >= 1]


# ----------------------------------------------------------------------------- estimates


@dataclass
class Estimate:
    org_id: str
    weekly_quota: int
    status: str  # ok | insufficient_sample | fit_failed
    n_user_weeks: int = 0
    n_users: int = 0
    B: float | None = None
    M: float | None = None
    b: float | None = None
    se: float | None = None
    b_low: float | None = None
    b_high: float | None = None
    z: float | None = None
    reference: str = "none"  # pre_quota | none | stacked:pre_quota | stacked:none
    b_pre: float | None = None
    z_low: int | None = None
    z_high: int | None = None
    weight: float | None = None  # None: NA
    weights_by_order: dict = field(default_factory=dict)
    # evidence split (see ``evidence_split``): share of interactions without evidence of use in
    # the bunched weeks and in the regime's other full weeks, and the resulting weights
    no_use_bunched: float | None = None
    no_use_reference: float | None = None
    weight_evidence: float | None = None  # excess_lower_bound
    weight_no_use: float | None = None
    weight_use: float | None = None
    # cell split (see ``cell_split``): {cell: P(filler | cell, bunched week)}; empty: no split
    weight_cells: float | None = None  # cells_lower_bound
    cell_weights: dict = field(default_factory=dict)


def estimate_regime(
    org_id: str,
    z_star: int,
    table: Mapping,
    sizes: Mapping,
    s: QuotaBunching,
    orders: Sequence[int] = (),
) -> Estimate:
    """Estimate one (org, z*) regime from binned replicate counts.

    ``table[(sample, rep)]`` = counts over ``bin_edges`` (sample 'q' quota weeks, 'pre' weeks
    without a quota); ``sizes[sample]`` = (user_weeks, users) in the window.
    """
    bw = s.bin_width
    edges = bin_edges(z_star, s.window, bw)
    uw, users = sizes.get("q", (0, 0))
    est = Estimate(org_id, z_star, "insufficient_sample", n_user_weeks=int(uw), n_users=int(users))
    if uw < s.min_user_weeks or users < s.min_users:
        return est
    pre_uw = sizes.get("pre", (0, 0))[0]
    use_pre = pre_uw >= s.min_pre_user_weeks
    kw = dict(
        exclude_below=s.exclude_below,
        exclude_above=s.exclude_above,
        choose_exclusion=s.choose_exclusion,
        max_exclude_below=s.max_exclude_below,
        bin_width=bw,
    )

    def one(rep, order):
        f = fit_bunching(edges, table[("q", rep)], z_star, order=order, **kw)
        if f is None:
            return None, None
        b_pre = None
        B = f.B
        if use_pre and ("pre", rep) in table:
            g = fit_bunching(edges, table[("pre", rep)], z_star, order=order, **kw)
            if g is not None and np.isfinite(g.b):
                b_pre = g.b
                B = f.B - g.b * f.c_hat_z
        return f, (B, b_pre)

    order = s.poly_order
    point, adj = one(POINT, order)
    if point is None:
        est.status = "fit_failed"
        return est
    reps = sorted({r for (smp, r) in table if smp == "q" and r != POINT})
    boot = []
    for r in reps:
        f, a = one(r, order)
        if f is not None and f.c_hat_z > 0:
            boot.append((a[0], a[0] / f.c_hat_z))
    B_adj, b_pre = adj
    est.status = "ok"
    est.B, est.M = round(B_adj, 6), round(point.M, 6)
    est.b = round(B_adj / point.c_hat_z, 6) if point.c_hat_z > 0 else None
    est.reference = "pre_quota" if b_pre is not None else "none"
    est.b_pre = None if b_pre is None else round(b_pre, 6)
    est.z_low, est.z_high = point.z_low, z_star + s.exclude_above * bw
    if len(boot) >= 2:
        Bs = np.array([x[0] for x in boot])
        bs = np.array([x[1] for x in boot])
        est.se = round(float(Bs.std(ddof=1)), 6)
        est.b_low = round(float(np.quantile(bs, 0.05)), 6)
        est.b_high = round(float(np.quantile(bs, 0.95)), 6)
        est.z = round(B_adj / est.se, 6) if est.se > 0 else None
    significant = est.z is not None and est.z >= s.min_z and B_adj > 0
    est.weight = (
        round(quota_weight(B_adj, point.n_bunch, point.shortfall, z_star), 6)
        if significant
        else 0.0
    )
    est.weights_by_order = _weights_by_order(one, order, est.weight, orders, significant, z_star)
    return est


def _weights_by_order(one, order: int, weight: float, orders, significant: bool, z_star: int):
    """{order: w_q under that polynomial order} (sensitivity); 0 where the headline is not
    significant."""
    out = {}
    for o in orders:
        if o == order:
            out[o] = weight
            continue
        f, a = one(POINT, o)
        out[o] = (
            round(quota_weight(a[0], f.n_bunch, f.shortfall, z_star), 6)
            if (f is not None and significant)
            else 0.0
        )
    return out


# ----------------------------------------------------------------------------- evidence split

MIN_EVIDENCE_ROWS = 200  # interactions in each sample (bunched weeks, other weeks) for the split


def evidence_split(w: float, s: float | None, g: float | None) -> tuple[float, float]:
    """Split the regime's weight w_q between interactions without and with evidence of use.

    ``w``: share of the interactions of bunched user-weeks that are the compliers' extra ones
    (w_q); ``s``: share of those interactions without evidence of use; ``g``: the same share
    among the regime's other full user-weeks (genuine usage). Assuming genuine interactions in
    bunched weeks lack evidence of use as often as elsewhere in the regime, ``s = (1-w) g +
    w f`` where f is the fillers' no-use share, so (method of moments, f clipped to [0, 1])::

        f = (s - (1-w) g) / w,   p_no_use = w f / s,   p_use = w (1-f) / (1-s)

    Bayes' rule with the prior w: P(filler | no evidence of use, bunched week) and P(filler |
    used, bunched week). ``s p_no_use + (1-s) p_use = w``: the regime's excess mass is kept,
    only moved onto the interactions that look like it. Without both rates (NA or degenerate),
    both weights are w.
    """
    if not (w > 0) or s is None or g is None or not (0.0 < s < 1.0) or not (0.0 <= g <= 1.0):
        return w, w
    f = min(1.0, max(0.0, (s - (1.0 - w) * g) / w))
    p_n = min(1.0, max(0.0, w * f / s))
    p_u = min(1.0, max(0.0, w * (1.0 - f) / (1.0 - s)))
    return p_n, p_u


def excess_lower_bound(s: float, g: float, nb: int, nr: int, min_z: float) -> float:
    """Lower bound on the compliers' share w of the bunched weeks' interactions from their
    excess of interactions without evidence of use: ``s = (1-w) g + w f`` with f <= 1 gives
    ``w >= (s - g) / (1 - g)``. 0 unless s - g is significant (one-sided, z >= ``min_z``, a
    binomial SE over ``nb`` and ``nr`` rows: rows are clustered in users, so this is a screen,
    not an exact test) or g == 1."""
    if g >= 1.0:
        return 0.0
    se = math.sqrt(s * (1 - s) / max(nb, 1) + g * (1 - g) / max(nr, 1))
    if s - g <= 0 or se <= 0 or (s - g) / se < min_z:
        return 0.0
    return (s - g) / (1.0 - g)


def with_evidence(estimates: Sequence[Estimate], rates: Mapping, min_z: float) -> None:
    """Fill each measured regime's split from ``rates[(org, z*)] = {True: (rows, no_use rows),
    False: (...)}`` (True: bunched weeks). Fewer than ``MIN_EVIDENCE_ROWS`` rows in either
    sample: no split (both weights w).

    Only where the bunching itself is significant (w_q > 0), the share split is
    ``w = max(w_q, excess_lower_bound)``: w_q's mean shortfall counts only the missing mass in
    [zL, z*), so it understates the extra interactions of compliers who start far below z*;
    the excess of unused interactions bounds that share from below without that window."""
    for e in estimates:
        if e.status != "ok" or e.weight is None:
            continue
        r = rates.get((e.org_id, int(e.weekly_quota)), {})
        (nb, kb), (nr, kr) = r.get(True, (0, 0)), r.get(False, (0, 0))
        s = kb / nb if nb >= MIN_EVIDENCE_ROWS else None
        g = kr / nr if nr >= MIN_EVIDENCE_ROWS else None
        e.no_use_bunched = None if s is None else round(s, 6)
        e.no_use_reference = None if g is None else round(g, 6)
        w = e.weight
        if w > 0 and s is not None and g is not None:
            e.weight_evidence = round(excess_lower_bound(s, g, nb, nr, min_z), 6)
            w = max(w, e.weight_evidence)
        p_n, p_u = evidence_split(w, s, g)
        e.weight_no_use, e.weight_use = round(p_n, 6), round(p_u, 6)


def cell_split(
    w: float, bunched: Mapping[int, int], reference: Mapping[int, int], min_z: float
) -> dict[int, float]:
    """{cell: P(filler | cell, bunched week)}: the evidence split over any partition of the
    interactions into cells (evidence of use x how and when in the week they were sent).

    ``bunched`` / ``reference``: rows per cell in the regime's bunched weeks and in its other
    full weeks. With s_c, g_c the two samples' shares, ``s_c = (1-w) g_c + w f_c`` gives the
    fillers' share f_c of cell c. A cell gets only the part of its excess that is significant,
    ``max(0, s_c - (1-w) g_c - min_z * se_c) / w`` (se_c binomial over both samples: rows are
    clustered in users, so this is a screen, not an exact test); what is left of the fillers'
    mass goes over the cells like genuine usage (``g_c``), so a cell without a significant
    excess gets the fillers of an unremarkable week and noise does not pick cells. Then
    ``P(filler | c) = w f_c / s_c`` (clipped to 1): summed over the bunched weeks' rows these
    give w, the regime's excess is only moved onto the rows that look like it. Empty when
    w <= 0 or either sample has fewer than ``MIN_EVIDENCE_ROWS`` rows."""
    nb, nr = sum(bunched.values()), sum(reference.values())
    if not (w > 0) or nb < MIN_EVIDENCE_ROWS or nr < MIN_EVIDENCE_ROWS:
        return {}
    cells = sorted(set(bunched) | set(reference))
    s = {c: bunched.get(c, 0) / nb for c in cells}
    g = {c: reference.get(c, 0) / nr for c in cells}
    f = {}
    for c in cells:
        se = math.sqrt(s[c] * (1 - s[c]) / nb + g[c] * (1 - g[c]) / nr)
        f[c] = max(0.0, s[c] - (1.0 - w) * g[c] - min_z * se) / w
    total = sum(f.values())
    if total > 1.0:
        f, rest = {c: v / total for c, v in f.items()}, 0.0
    else:
        rest = 1.0 - total
    return {
        c: round(min(1.0, w * (f[c] + rest * g[c]) / s[c]), 6) if s[c] > 0 else round(w, 6)
        for c in cells
    }


def cells_lower_bound(
    bunched: Mapping[int, int], reference: Mapping[int, int], min_z: float
) -> float:
    """Lower bound on the fillers' share w of the bunched weeks' rows from the cells where they
    show: for any set C of cells, ``s_C = (1-w) g_C + w f_C`` with f_C <= 1 gives ``w >= (s_C -
    g_C) / (1 - g_C)``. C: the cells whose own excess is significant (z >= ``min_z``); the
    bound is taken at s_C minus ``min_z`` standard errors (binomial over rows: a screen). 0
    without such cells or with fewer than ``MIN_EVIDENCE_ROWS`` rows in either sample."""
    nb, nr = sum(bunched.values()), sum(reference.values())
    if nb < MIN_EVIDENCE_ROWS or nr < MIN_EVIDENCE_ROWS:
        return 0.0

    def z(s, g):
        se = math.sqrt(s * (1 - s) / nb + g * (1 - g) / nr)
        return (s - g) / se if se > 0 else 0.0

    shares = {
        c: (bunched.get(c, 0) / nb, reference.get(c, 0) / nr) for c in set(bunched) | set(reference)
    }
    C = [c for c, (s, g) in shares.items() if s > g and z(s, g) >= min_z]
    if not C:
        return 0.0
    s_C, g_C = sum(shares[c][0] for c in C), sum(shares[c][1] for c in C)
    if g_C >= 1.0:
        return 0.0
    se = math.sqrt(s_C * (1 - s_C) / nb + g_C * (1 - g_C) / nr)
    return max(0.0, (s_C - g_C - min_z * se) / (1.0 - g_C))


def with_cells(estimates: Sequence[Estimate], rates: Mapping, min_z: float) -> None:
    """Fill each measured regime's ``cell_weights`` from ``rates[(org, z*)] = {True: {cell:
    rows}, False: {...}}`` (:func:`cell_rates`), after :func:`with_evidence`: only where the
    bunching itself is significant (w_q > 0), the split weight is ``max(w_q, weight_evidence,
    cells_lower_bound)`` (w_q counts only the missing mass just below z*, which understates the
    extra rows of compliers who start far below it; ``weight_cells`` keeps the bound)."""
    for e in estimates:
        if e.status != "ok" or e.weight is None or not e.weight > 0:
            continue
        r = rates.get((e.org_id, int(e.weekly_quota)), {})
        b, g = r.get(True, {}), r.get(False, {})
        e.weight_cells = round(cells_lower_bound(b, g, min_z), 6)
        w = max(e.weight, e.weight_evidence or 0.0, e.weight_cells)
        e.cell_weights = cell_split(w, b, g, min_z)


def no_use_rates(cells: Mapping, no_use_bit: int) -> dict:
    """:func:`cell_rates` reduced to :func:`evidence_rates`' form: (rows, rows without evidence
    of use), a cell being without evidence of use when its ``no_use_bit`` is set."""
    return {
        key: {
            b: (sum(c.values()), sum(n for k, n in c.items() if k & no_use_bit))
            for b, c in by.items()
        }
        for key, by in cells.items()
    }


# ----------------------------------------------------------------------------- Spark side


def poisson_rep_weight(seed: int, unit, rep):
    return F.when(rep == F.lit(POINT), F.lit(1)).otherwise(poisson_weight(seed, unit, rep))


def binned_replicates(
    spark: SparkSession, user_weeks: DataFrame, settings: QuotaBunching, seed: int
) -> tuple[dict, dict, list]:
    """Bin full user-weeks around each org's quota, with user-clustered bootstrap replicates.

    ``user_weeks``: org_id, user_key, n_interactions, weekly_quota (null: no quota), full_week.
    Returns ({(org, z*): {(sample, rep): counts}}, {(org, z*): {sample: (uw, users)}},
    regimes) where only small binned tables have been collected.
    """
    s = settings
    bw, window = s.bin_width, s.window
    full = user_weeks.where(F.col("full_week") & F.col("org_id").isNotNull())
    regimes = (
        full.where(F.col("weekly_quota").isNotNull())
        .select("org_id", F.col("weekly_quota").alias("z_star"))
        .distinct()
    )
    q_rows = full.where(F.col("weekly_quota").isNotNull()).select(
        "org_id",
        "user_key",
        "n_interactions",
        F.col("weekly_quota").alias("z_star"),
        F.lit("q").alias("sample"),
    )
    pre_rows = (
        full.where(F.col("weekly_quota").isNull())
        .select("org_id", "user_key", "n_interactions")
        .join(F.broadcast(regimes), on="org_id", how="inner")
        .withColumn("sample", F.lit("pre"))
    )
    rows = q_rows.unionByName(pre_rows.select(*q_rows.columns))
    rel = F.floor((F.col("n_interactions") - F.col("z_star")) / F.lit(bw))
    in_window = (rel >= -window) & (rel <= window) & (F.col("n_interactions") >= 1)
    binned = (
        rows.withColumn("bin", rel.cast("int"))
        .where(in_window)
        .groupBy("org_id", "z_star", "sample", "user_key", "bin")
        .agg(F.count("*").alias("c"))
    )
    # one collect of the binned user-weeks (a row per org, quota, sample, user and bin: small):
    # the sizes and the replicates are computed from it on the driver
    rows_pd = binned.toPandas()
    sizes: dict = {}
    if len(rows_pd):
        g = rows_pd.groupby(["org_id", "z_star", "sample"], sort=True)
        per = pd.DataFrame({"uw": g["c"].sum(), "users": g["user_key"].nunique()})
        for (o, z, smp), r in per.iterrows():
            sizes.setdefault((o, int(z)), {})[smp] = (int(r["uw"]), int(r["users"]))
    # only regimes that pass the sample rule need replicates
    ok = [
        (o, z)
        for (o, z), d in sizes.items()
        if d.get("q", (0, 0))[0] >= s.min_user_weeks and d.get("q", (0, 0))[1] >= s.min_users
    ]
    table = _replicate_table(rows_pd, ok, s, seed) if ok else {}
    return table, sizes, sorted(sizes)


def _replicate_table(binned: pd.DataFrame, ok: list, s: QuotaBunching, seed: int) -> dict:
    """{(org, z*): {(sample, rep): counts over ``bin_edges``}} of the regimes ``ok``, with
    user-clustered Poisson bootstrap weights (rep -1: the point estimate): for each replicate,
    the bins' counts with each user's rows weighted by ``poisson_rep_weight(seed, "org|user",
    rep)``. ``binned``: the collected (org_id, z_star, sample, user_key, bin, c) rows. The
    weights are the engine's column computed in numpy (:mod:`.hash_weights`), and the sums are
    of integers: the same table as a cross join with the replicates in the engine."""
    bw, window = s.bin_width, s.window
    reps = np.arange(-1, s.bootstrap_replicates)
    table: dict = {}
    by_regime = dict(tuple(binned.groupby(["org_id", "z_star"], sort=True)))
    for o, z in ok:
        rows = by_regime.get((o, z))
        if rows is None:
            continue
        z = int(z)
        edges = bin_edges(z, window, bw)
        starts = z + bw * rows["bin"].to_numpy(np.int64)
        idx = np.searchsorted(edges, starts)
        hit = idx < len(edges)
        hit[hit] = edges[idx[hit]] == starts[hit]
        # the unit is concat_ws("|", org_id, user_key): a null user_key is left out
        units = [o if u is None or u != u else f"{o}|{u}" for u in rows["user_key"]]
        names, inverse = np.unique(np.array(units, dtype=object), return_inverse=True)
        w = hash_weights.poisson_weights(seed, list(names), reps).astype(np.int64)
        w[:, reps == POINT] = 1
        c = rows["c"].to_numpy(np.int64)
        cells = table.setdefault((o, z), {})
        samples = rows["sample"].to_numpy()
        for smp in sorted(set(samples)):
            m = (samples == smp) & hit
            onehot = np.zeros((len(edges), int(m.sum())), dtype=np.int64)
            onehot[idx[m], np.arange(int(m.sum()))] = c[m]
            counts = onehot @ w[inverse[m]]  # (bins, replicates): integer sums, exact
            for j, rep in enumerate(reps):
                cells[(smp, int(rep))] = counts[:, j].astype(float)
    return table


def estimate_all(
    spark: SparkSession,
    user_weeks: DataFrame,
    settings: QuotaBunching,
    seed: int,
    orders: Sequence[int] = (),
) -> list[Estimate]:
    """Every (org, quota) regime of ``user_weeks`` (see :func:`binned_replicates`), with
    quota changes stacked (:func:`stack_changed_quotas`). ``settings``: the typed
    ``incentives.quota_bunching`` section; ``seed``: the bootstrap's; ``orders``: polynomial
    orders to report weights for besides ``settings.poly_order`` (sensitivity)."""
    require_settings(settings, QuotaBunching, "quota_bunching")
    table, sizes, regimes = binned_replicates(spark, user_weeks, settings, seed)
    ests = [
        estimate_regime(o, z, table.get((o, z), {}), sizes.get((o, z), {}), settings, orders)
        for o, z in regimes
    ]
    ests = stack_changed_quotas(spark, user_weeks, ests, settings, seed, orders)
    return pool_small_regimes(spark, user_weeks, ests, settings, seed, orders)


POOL = "~pooled"  # the org id of the pooled small regimes (never a real org: "~" sorts last)


def pool_small_regimes(
    spark: SparkSession,
    user_weeks: DataFrame,
    ests: list[Estimate],
    settings: QuotaBunching,
    seed: int,
    orders: Sequence[int] = (),
) -> list[Estimate]:
    """Regimes still under the sample rule after stacking (teams too small to show their own
    bunching), when there are two or more orgs of them: one estimate on all their weeks stacked
    by distance to their own quota (the common reference z0 the median of their quotas; each
    org's weeks without a quota shifted by its lowest small quota), given to each as
    :func:`stack_changed_quotas` does, with ``reference`` "pooled:...". It assumes the pooled
    teams comply alike; each regime's own interactions still decide where its weight goes
    (``with_cells``). Regimes measured on their own keep their own estimate."""
    small = [e for e in ests if e.status == "insufficient_sample"]
    if len({e.org_id for e in small}) < 2:
        return ests
    z0 = int(np.median([int(e.weekly_quota) for e in small]))
    own = spark.createDataFrame(
        [(e.org_id, int(e.weekly_quota)) for e in small], "org_id string, _zq long"
    )
    lowest = spark.createDataFrame(
        [
            (o, min(int(e.weekly_quota) for e in small if e.org_id == o))
            for o in sorted({e.org_id for e in small})
        ],
        "org_id string, _zl long",
    )
    q = F.col("weekly_quota")
    quota_weeks = user_weeks.join(
        F.broadcast(own), on=(user_weeks.org_id == own.org_id) & (q == own._zq), how="inner"
    ).drop(own.org_id)
    pre_weeks = (
        user_weeks.where(q.isNull())
        .join(F.broadcast(lowest), on="org_id", how="inner")
        .withColumnRenamed("_zl", "_zq")
    )
    cols = ["user_key", "n_interactions", "weekly_quota", "full_week", "_zq"]
    pooled = (
        quota_weeks.select(*cols)
        .unionByName(pre_weeks.select(*cols))
        .withColumn("n_interactions", F.col("n_interactions") - F.col("_zq") + F.lit(z0))
        .withColumn("weekly_quota", F.when(q.isNotNull(), F.lit(z0).cast("long")))
        .withColumn("org_id", F.lit(POOL))
        .where(F.col("n_interactions") >= 1)
        .drop("_zq")
    )
    table, sizes, _ = binned_replicates(spark, pooled, settings, seed)
    p = estimate_regime(
        POOL, z0, table.get((POOL, z0), {}), sizes.get((POOL, z0), {}), settings, orders
    )
    if p.status != "ok":
        return ests
    out = []
    for e in ests:
        if e.status != "insufficient_sample":
            out.append(e)
            continue
        z = int(e.weekly_quota)
        ratio = z0 / z
        out.append(
            replace(
                p,
                org_id=e.org_id,
                weekly_quota=z,
                reference=f"pooled:{p.reference}",
                z_low=z - (z0 - p.z_low),
                z_high=z + (p.z_high - z0),
                weight=round(min(1.0, p.weight * ratio), 6) if p.weight is not None else None,
                weights_by_order={
                    k: round(min(1.0, v * ratio), 6) for k, v in p.weights_by_order.items()
                },
            )
        )
    return out


def stacked_user_weeks(user_weeks: DataFrame, quotas: Mapping[str, Sequence[int]]) -> DataFrame:
    """The user-weeks of orgs whose quota changed, stacked on their lowest quota z0: a week
    under quota z counts ``n - z + z0`` (its distance to its own quota), weeks with
    ``n - z + z0 < 1`` dropped so that every regime covers the same support; weeks without a
    quota stay as they are (the pre-quota reference at z0)."""
    z0 = user_weeks.sparkSession.createDataFrame(
        [(o, int(min(zs))) for o, zs in quotas.items()], "org_id string, _z0 long"
    )
    df = user_weeks.join(F.broadcast(z0), on="org_id", how="inner")
    q = F.col("weekly_quota")
    n = F.when(q.isNull(), F.col("n_interactions")).otherwise(
        F.col("n_interactions") - q + F.col("_z0")
    )
    return (
        df.withColumn("n_interactions", n)
        .withColumn("weekly_quota", F.when(q.isNull(), q).otherwise(F.col("_z0")))
        .where(F.col("n_interactions") >= 1)
        .drop("_z0")
    )


def stack_changed_quotas(
    spark: SparkSession,
    user_weeks: DataFrame,
    ests: list[Estimate],
    settings: QuotaBunching,
    seed: int,
    orders: Sequence[int] = (),
) -> list[Estimate]:
    """Quota changes split an org's weeks into regimes that may each fall under the sample rule.
    For an org with several regimes of which one is NA for its sample, estimate once on the
    weeks stacked by distance to their own quota (:func:`stacked_user_weeks`; pooled bunching
    over thresholds) and give each NA regime that estimate: its bunching window is z..z +
    (zU - z0) and its weight the pooled one times z0 / z (w_q's shortfall is in interactions,
    its share of a week at quota z is shortfall / z). Regimes measured on their own keep their
    own estimate."""
    by_org: dict[str, list[Estimate]] = {}
    for e in ests:
        by_org.setdefault(e.org_id, []).append(e)
    quotas = {
        o: sorted(int(e.weekly_quota) for e in es)
        for o, es in by_org.items()
        if len(es) > 1 and any(e.status == "insufficient_sample" for e in es)
    }
    if not quotas:
        return ests
    stacked = stacked_user_weeks(user_weeks, quotas)
    table, sizes, _ = binned_replicates(spark, stacked, settings, seed)
    out = []
    for e in ests:
        if e.org_id not in quotas or e.status != "insufficient_sample":
            out.append(e)
            continue
        z0 = quotas[e.org_id][0]
        p = estimate_regime(
            e.org_id,
            z0,
            table.get((e.org_id, z0), {}),
            sizes.get((e.org_id, z0), {}),
            settings,
            orders,
        )
        if p.status != "ok":
            out.append(e)
            continue
        z = int(e.weekly_quota)
        p.weekly_quota = z
        p.reference = f"stacked:{p.reference}"
        p.z_low, p.z_high = z - (z0 - p.z_low), z + (p.z_high - z0)
        p.weight = round(p.weight * z0 / z, 6) if p.weight is not None else None
        p.weights_by_order = {k: round(v * z0 / z, 6) for k, v in p.weights_by_order.items()}
        out.append(p)
    return out


def evidence_rates(interactions: DataFrame, weighted_weeks: DataFrame, no_use) -> dict:
    """{(org, z*): {bunched: (rows, rows without evidence of use)}} over the interactions of
    the measured regimes' full user-weeks (bunched: ``sig_quota_bunching`` > 0)."""
    week = F.date_trunc("week", F.col("event_ts")).cast("date")
    sig = f"sig_{NAME}"
    # per user-week first (rows, rows without evidence of use), then the join: the join's
    # sides are both one row per user-week, not one per interaction (memory)
    per_week = (
        interactions.where(F.col("org_id").isNotNull())
        .select("org_id", "user_key", week.alias("week_start"), no_use.alias("_nouse"))
        .groupBy("org_id", "user_key", "week_start")
        .agg(F.count("*").alias("_n"), F.sum(F.col("_nouse").cast("long")).alias("_k"))
    )
    ev = (
        per_week.join(
            weighted_weeks.where(F.col(sig).isNotNull()).select(
                "org_id", "user_key", "week_start", "weekly_quota", sig
            ),
            on=["org_id", "user_key", "week_start"],
            how="inner",
        )
        .groupBy("org_id", "weekly_quota", (F.col(sig) > 0).alias("_bunched"))
        .agg(F.sum("_n").alias("n"), F.sum("_k").alias("k"))
    )
    out: dict = {}
    for r in ev.collect():
        out.setdefault((r.org_id, int(r.weekly_quota)), {})[bool(r._bunched)] = (
            int(r.n),
            int(r.k or 0),
        )
    return out


def cell_rates(
    interactions: DataFrame,
    weighted_weeks: DataFrame,
    cell,
    buckets: int = 1,
    counted: bool = False,
) -> dict:
    """{(org, z*): {bunched: {cell: rows}}} over the interactions of the measured regimes'
    full user-weeks (bunched: ``sig_quota_bunching`` > 0); ``cell``: an int column.
    ``counted``: ``interactions`` are already counted per user-week and cell
    (:func:`cell_week_counts`; ``cell`` is then not read).

    ``buckets`` > 1: one plan per user-hash bucket (``buckets.bucket_of`` on ``user_key``, the
    labels' bucketing), both sides filtered to the bucket's users, each small result collected
    and the integer counts added: the join is on the user, so every pair of rows meets in one
    bucket and the sums are those of one plan, while the per-(user, week, cell) hash tables
    hold one bucket's users, not the whole period's."""
    out: dict = {}
    for b in range(max(1, buckets)):
        rows, weeks = interactions, weighted_weeks
        if buckets > 1:
            mine = bucket_of(buckets, "user_key") == b
            rows, weeks = rows.where(mine), weeks.where(mine)
        per_week = rows if counted else cell_week_counts(rows, cell)
        for r in _cell_counts(per_week, weeks).collect():
            by = out.setdefault((r.org_id, int(r.weekly_quota)), {})
            cells = by.setdefault(bool(r._bunched), {})
            cells[int(r._cell)] = cells.get(int(r._cell), 0) + int(r.n)
    return out


def cell_week_counts(interactions: DataFrame, cell) -> DataFrame:
    """(org_id, user_key, week_start, _cell, _n): the interactions of each user-week (ISO week
    of ``event_ts``) in each cell (``cell``: an int column); rows without an org left out."""
    week = F.date_trunc("week", F.col("event_ts")).cast("date")
    return (
        interactions.where(F.col("org_id").isNotNull())
        .select("org_id", "user_key", week.alias("week_start"), cell.alias("_cell"))
        .groupBy("org_id", "user_key", "week_start", "_cell")
        .agg(F.count("*").alias("_n"))
    )


def _cell_counts(per_week: DataFrame, weighted_weeks: DataFrame) -> DataFrame:
    """(org_id, weekly_quota, _bunched, _cell, n): :func:`cell_rates`' plan over the counts
    given (:func:`cell_week_counts`)."""
    sig = f"sig_{NAME}"
    return (
        per_week.join(
            weighted_weeks.where(F.col(sig).isNotNull()).select(
                "org_id", "user_key", "week_start", "weekly_quota", sig
            ),
            on=["org_id", "user_key", "week_start"],
            how="inner",
        )
        .groupBy("org_id", "weekly_quota", (F.col(sig) > 0).alias("_bunched"), "_cell")
        .agg(F.sum("_n").alias("n"))
    )


def cells_frame(spark: SparkSession, estimates: Sequence[Estimate]) -> DataFrame | None:
    """(org_id, _cz, _cell, _wc): the measured regimes' cell weights; None when none has any."""
    rows = [
        (e.org_id, int(e.weekly_quota), int(c), float(p))
        for e in estimates
        if e.status == "ok" and e.cell_weights
        for c, p in sorted(e.cell_weights.items())
    ]
    if not rows:
        return None
    return spark.createDataFrame(rows, "org_id string, _cz long, _cell int, _wc double")


def weights_frame(
    spark: SparkSession,
    user_weeks: DataFrame,
    estimates: Sequence[Estimate],
    settings: QuotaBunching,
) -> DataFrame:
    """Per user-week: ``sig_quota_bunching`` = w_q in bunched weeks (z*..zU) of a measured
    regime, 0 in its other full weeks, null (NA) otherwise (no quota, cut week, NA regime);
    ``_wq_no_use`` / ``_wq_use``: the weight of an interaction of that week without / with
    evidence of use (``evidence_split``; both w_q where no split was made)."""

    def split(e, k):
        v = getattr(e, k)
        return float(e.weight) if v is None else float(v)

    rows = [
        (
            e.org_id,
            int(e.weekly_quota),
            float(e.weight),
            int(e.weekly_quota),
            int(e.z_high + settings.bin_width - 1),
            split(e, "weight_no_use"),
            split(e, "weight_use"),
        )
        for e in estimates
        if e.status == "ok" and e.weight is not None
    ]
    est = spark.createDataFrame(
        rows,
        "org_id string, _z long, _w double, _lo long, _hi long, _wn double, _wu double",
    )
    joined = user_weeks.join(
        F.broadcast(est),
        on=(user_weeks.org_id == est.org_id) & (user_weeks.weekly_quota == est._z),
        how="left",
    ).drop(est.org_id)
    n = F.col("n_interactions")
    sig = (
        F.when(~F.col("full_week") | F.col("_w").isNull(), F.lit(None).cast("double"))
        .when((n >= F.col("_lo")) & (n <= F.col("_hi")), F.col("_w"))
        .otherwise(F.lit(0.0))
    )
    w = F.col(f"sig_{NAME}")
    return (
        joined.withColumn(f"sig_{NAME}", sig)
        .withColumn("_wq_no_use", F.when(w > 0, F.col("_wn")).otherwise(w))
        .withColumn("_wq_use", F.when(w > 0, F.col("_wu")).otherwise(w))
        .drop("_z", "_w", "_lo", "_hi", "_wn", "_wu")
    )

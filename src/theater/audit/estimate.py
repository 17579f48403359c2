"""Debiased org theater share from the detector's output on everything plus an audit sample.

Pure numpy/pandas. The estimator (assumptions and references in docs/methodology.md, "Audit"):

Every interaction i of org o falls in a detector-output stratum h (:mod:`theater.audit.sample`)
and has the detector's probability f_i. The org's true share in the period is

    theta_o = sum_h W_oh * R_oh,     W_oh = N_oh / N_o,

with R_oh the (unknown) share of theater among the org's N_oh interactions in stratum h. The
detector gives W_oh and the cell mean F_oh of f exactly; the org's *own* labels, a probability
sample within each cell, give the rest. Per cell, the prediction-powered (PPI++) estimate of
the rate of the unlabelled interactions is

    m_oh(lambda) = Hajek mean over the cell's labels of z_i,   z_i = y_i - lambda (f_i - F_oh),

(the rectifier of PPI, weighted by inverse inclusion probability) and
R_oh = (k_oh + (N_oh - n_oh) m_oh) / N_oh, where the n_oh labelled interactions count with their
labels (finite population). lambda is tuned per org (PPI++): the minimiser of the stratified
variance, sum_h c_h Cov_h(y, f) / sum_h c_h Var_h(f) with c_h = W_h^2 (1 - n_h/N_h) / n_h,
clipped to [0, 1]; 0 when f does not vary within the org's cells (then every lambda gives the
same estimate: the post-stratified one).

Pooling (:mod:`theater.audit.pool`, on with 8 or more orgs with labels): the orgs' own
estimates, with their stratified sampling variances, enter a random-effects model on the
detector's share whose between-org spread is estimated and taken at the upper end of its
interval; the published figure and interval are the robust empirical-Bayes ones. An org whose
detector errs unlike the others' keeps (nearly) its own figure, because the spread the others
give it is large; an org none of whose labels is theater keeps a lower end of 0. Without
pooling, each org's interval is the bounded one on its own labels, below.

Interval on the org's own labels (bounded: it can reach 0 and 1 and is not symmetric by
construction): for each cell,
B draws of the unlabelled rate from a Bayesian bootstrap of the z_i with pseudo-observations
at the bounds (Dirichlet(1, ..., 1, c0, c1)); for binary z (lambda = 0) that is exactly the
Beta(k + c1, n - k + c0) distribution. The unlabelled theater count is Binomial(N - n, draw)
and theta* = sum_h W_h (k + count) / N. The upper end is the ``confidence`` upper quantile of
theta* with c0 = c1 = ``bound_weight`` (1/2: the Jeffreys interval); the lower end the lower
quantile with c0 = ``bound_weight``, c1 = 0, so that a cell none of whose labels is theater
adds nothing to the lower end (with c1 = 1/2 every such cell would lift it, by half a
pseudo-label each, and orgs near zero got lower ends above their true share). The interval
is widened if needed to contain the point. A cell without labels draws from the whole of
[0, 1] (its weight is uncertain), so an org with few labels gets a wide interval, and an org
whose every interaction is labelled gets the exact figure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from . import pool

log = logging.getLogger(__name__)

SAMPLING, SAMPLING_DETECTOR = "sampling", "sampling+detector"


@dataclass(frozen=True)
class Settings:
    replicates: int = 2000  # posterior draws per org
    confidence: float = 0.90
    seed: int = 20261130
    bound_weight: float = 0.5  # pseudo-labels at the bounds per cell (1/2: Jeffreys)
    user_bootstrap: bool = False  # also re-weight users (a superpopulation target; wider)
    power_tuning: bool = True  # PPI++ lambda from the labels' detector probability (else 0)
    pool: bool = True  # random-effects pooling across orgs (theater.audit.pool)
    pool_tau_level: float = 0.9  # one-sided level of the between-org variance's upper end
    pool_interval: str = "robust"  # robust EBCI; "parametric" (normal effects) to compare
    pool_min_weight: float = 0.1  # least weight of an org's own labels in its pooled estimate

    @classmethod
    def from_config(cls, cfg) -> "Settings":
        a = cfg.data.get("audit") or {}
        return cls(
            replicates=int(a.get("replicates", cls.replicates)),
            confidence=float(a.get("confidence", cls.confidence)),
            seed=int(a.get("seed", cls.seed)),
            bound_weight=float(a.get("bound_weight", cls.bound_weight)),
            user_bootstrap=bool(a.get("user_bootstrap", cls.user_bootstrap)),
            pool=bool(a.get("pool", cls.pool)),
            pool_tau_level=float(a.get("pool_tau_level", cls.pool_tau_level)),
            pool_min_weight=float(a.get("pool_min_weight", cls.pool_min_weight)),
        )


@dataclass(frozen=True)
class Pooled:
    """Per stratum: pooled rate r_h, prior strength a_h, labels n_h (inclusion-weighted rate)."""

    strata: list
    rate: np.ndarray
    strength: np.ndarray
    n_labels: np.ndarray


def pooled_rates(
    labels: pd.DataFrame,
    strata: list,
    fallback: dict | None = None,
    min_strength: float = 2.0,
    max_strength: float = 100.0,
    weights: np.ndarray | None = None,
) -> Pooled:
    """Pooled rate and prior strength per stratum from the labels (``org_id, stratum, label,
    inclusion_probability``), for the calibration of probabilities and the audit plan (the
    org estimate pools differently: :mod:`theater.audit.pool`). ``weights`` (one per label) re-weights labels.

    Rate: Horvitz-Thompson ratio sum(w y / pi) / sum(w / pi), shrunk by half a pseudo-label
    toward 1/2 so that a stratum whose labels all agree keeps a non-degenerate prior.
    Strength: a = r (1 - r) / tau^2 - 1, tau^2 the between-org variance of the rates by
    moments, sum_o n_o [(p_o - r)^2 - r (1 - r) / n_o] / sum_o n_o (1 - 1/n_o), clipped.
    A stratum without labels takes ``fallback[h]`` (the detector's mean probability there, or
    1/2), clipped to [0.05, 0.95], with the weakest prior.
    """
    fallback = fallback or {}
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, float)
    y = labels["label"].to_numpy(float)
    ipw = 1.0 / labels["inclusion_probability"].to_numpy(float)
    st = labels["stratum"].to_numpy()
    org = labels["org_id"].to_numpy()
    rate, strength, n_lab = [], [], []
    for h in strata:
        m = (st == h) & (w > 0)
        n = float(w[m].sum())
        if n <= 0:
            # no label anywhere: the detector's own mean probability, kept off 0 and 1
            rate.append(min(max(float(fallback.get(h, 0.5)), 0.05), 0.95))
            strength.append(min_strength)
            n_lab.append(0.0)
            continue
        ht = float((w[m] * y[m] * ipw[m]).sum() / (w[m] * ipw[m]).sum())
        r = (ht * n + 0.5) / (n + 1.0)
        r = min(max(r, 1e-4), 1 - 1e-4)
        # between-org variance of the rates (method of moments)
        num = den = 0.0
        for o in np.unique(org[m]):
            mo = m & (org == o)
            n_o = float(w[mo].sum())
            if n_o < 1:
                continue
            p_o = float((w[mo] * y[mo]).sum() / n_o)
            num += n_o * ((p_o - r) ** 2 - r * (1 - r) / n_o)
            den += n_o * (1 - 1 / n_o) if n_o > 1 else 0.0
        tau2 = max(num / den, 0.0) if den > 0 else 0.0
        a = (r * (1 - r) / tau2 - 1.0) if tau2 > 0 else max_strength
        rate.append(r)
        strength.append(float(np.clip(a, min_strength, max_strength)))
        n_lab.append(n)
    return Pooled(list(strata), np.array(rate), np.array(strength), np.array(n_lab))


COLUMNS = [
    "org_id",
    "share",
    "ci_low",
    "ci_high",
    "detector_share",
    "audit_n",
    "ppi_lambda",
    "interval_kind",
]


def bounded_draws(z: np.ndarray, w: np.ndarray, at0: float, at1: float, B: int, rng) -> np.ndarray:
    """B draws of a cell's rate: the weighted Bayesian bootstrap of ``z`` (weights ``w``,
    1/inclusion probability) with a pseudo-observation at 0 of weight ``at0`` and one at 1 of
    weight ``at1`` (in labels). Binary ``z`` with equal weights: Beta(k + at1, n - k + at0)
    exactly (a zero shape is a point mass at the bound). Draws lie in [0, 1]."""
    n = len(z)
    binary = n == 0 or bool(np.all((z == 0) | (z == 1)))
    if binary and (n == 0 or np.allclose(w, w[0])):
        a, b = float(z.sum()) + at1, n - float(z.sum()) + at0
        if a <= 0:
            return np.zeros(B)
        if b <= 0:
            return np.ones(B)
        return rng.beta(a, b, B)
    wn = w / w.mean()  # the pseudo-observations count as average labels
    g = rng.gamma(1.0, 1.0, (B, n)) * wn
    g0 = rng.gamma(at0, 1.0, B) if at0 > 0 else np.zeros(B)
    g1 = rng.gamma(at1, 1.0, B) if at1 > 0 else np.zeros(B)
    return np.clip((g @ z + g1) / (g.sum(1) + g0 + g1), 0.0, 1.0)


def ppi_lambda(parts: list) -> float:
    """PPI++ power-tuning weight of one org: minimises sum_h c_h Var_h(y - lambda f), with
    c_h = W_h^2 (1 - n_h/N_h) / n_h (the stratified variance), so
    lambda = sum c_h Cov_h(y, f) / sum c_h Var_h(f), clipped to [0, 1]; 0 when f does not
    vary inside any labelled cell. ``parts``: per cell (W, N, y, f, w)."""
    num = den = 0.0
    for W, N, y, f, w in parts:
        n = len(y)
        if n < 2 or f is None:
            continue
        c = W**2 * max(1.0 - n / N, 0.0) / n
        fm, ym = np.average(f, weights=w), np.average(y, weights=w)
        num += c * float(np.average((f - fm) * (y - ym), weights=w))
        den += c * float(np.average((f - fm) ** 2, weights=w))
    if den <= 1e-12:
        return 0.0
    return float(np.clip(num / den, 0.0, 1.0))


def estimate(
    cells: pd.DataFrame, labels: pd.DataFrame, settings: Settings = Settings()
) -> pd.DataFrame:
    """Debiased share per org with an interval that carries the detector's error in that org.

    ``cells``: ``org_id, user_key, stratum, n`` (interactions) and optionally ``sum_p`` (summed
    detector probability: the detector-only share, the cell means F of PPI).
    ``labels``: ``org_id, stratum, label`` (0/1), ``inclusion_probability`` and optionally
    ``theater_probability`` (f, for the PPI++ weight); labels whose org or stratum has no
    interactions in ``cells`` are ignored.

    Returns one row per org of ``cells``: ``org_id, share, ci_low, ci_high`` (0-1),
    ``detector_share``, ``audit_n`` (the org's own labels: what its interval rests on),
    ``ppi_lambda`` and ``interval_kind``.
    """
    s = settings
    if not 0 < s.bound_weight <= 1:
        raise ValueError(f"audit.bound_weight must be in (0, 1], got {s.bound_weight}")
    cells = cells[cells["n"] > 0]
    if cells.empty:
        return pd.DataFrame(columns=COLUMNS)
    ctx = _context(cells, labels, s)
    rng = np.random.default_rng(s.seed)
    rows, direct = [], []
    for org in sorted(ctx.cell.index.get_level_values(0).unique()):
        row, d = _org_estimate(org, ctx, s, rng)
        rows.append(row)
        direct.append(d)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["own_low"], out["own_high"] = out["ci_low"], out["ci_high"]
    out["own_weight"] = np.where(out["audit_n"] > 0, 1.0, 0.0)
    out["pooled_n"] = 0
    if not ctx.will_pool:
        return out
    if not _pool_into(out, np.array(direct, float).reshape(-1, 4), s):
        # the pooling could not be fit: each org's own interval after all
        return estimate(cells, labels, replace(s, pool=False))
    return out


@dataclass(frozen=True)
class _Context:
    """What every org's estimate reads: cell totals, labels by cell and the switches."""

    cell: pd.DataFrame  # (org_id, stratum) -> n [, sum_p]
    by_cell: dict  # (org_id, stratum) -> the cell's labels, in a fixed order
    p_strat: dict  # each stratum's label rate over all orgs (the pooling's variance model)
    has_p: bool
    has_f: bool
    will_pool: bool
    users: pd.DataFrame | None  # (org_id, user_key) x stratum interactions, to re-weight users


def _context(cells: pd.DataFrame, labels: pd.DataFrame, s: Settings) -> _Context:
    has_p = "sum_p" in cells
    agg = {"n": ("n", "sum")}
    if has_p:
        agg["sum_p"] = ("sum_p", "sum")
    cell = cells.groupby(["org_id", "stratum"], sort=True).agg(**agg)
    keys = set(cell.index)
    labels = labels[[k in keys for k in zip(labels["org_id"], labels["stratum"])]]
    # a fixed order (draws are made by position), whatever order the reader gave
    order = [c for c in ("org_id", "stratum", "tool", "event_id") if c in labels]
    labels = labels.sort_values(order, kind="stable").reset_index(drop=True)
    has_f = (
        s.power_tuning
        and has_p
        and "theater_probability" in labels
        and labels["theater_probability"].notna().all()
    )
    users = None
    if s.user_bootstrap:
        users = cells.groupby(["org_id", "user_key", "stratum"])["n"].sum().unstack(fill_value=0.0)
    return _Context(
        cell=cell,
        by_cell=dict(tuple(labels.groupby(["org_id", "stratum"], sort=True))),
        p_strat=labels.groupby("stratum")["label"].mean().to_dict(),
        has_p=has_p,
        has_f=bool(has_f),
        # with pooling the own-label interval is not published: its draws are skipped (and
        # made after all, by a second pass without pooling, if the pooling cannot be fit)
        will_pool=s.pool and labels["org_id"].nunique() >= pool.MIN_ORGS,
        users=users,
    )


def _org_parts(org, ctx: _Context):
    """(strata, N, W, F, parts) of one org; ``parts`` per cell (W, N, y, f, w) as
    :func:`ppi_lambda` reads them, y the labels, w their inverse inclusion probabilities."""
    oc = ctx.cell.loc[org]
    strata = list(oc.index)
    N = oc["n"].to_numpy(float)
    W = N / N.sum()
    F = (oc["sum_p"] / oc["n"]).to_numpy(float) if ctx.has_p else np.full(len(N), np.nan)
    parts = []
    for j, h in enumerate(strata):
        lab = ctx.by_cell.get((org, h))
        if lab is None or lab.empty:
            parts.append((W[j], N[j], np.zeros(0), None, np.zeros(0)))
            continue
        lab = lab.iloc[: int(N[j])]  # never more labels than interactions
        y = lab["label"].to_numpy(float)
        w = 1.0 / lab["inclusion_probability"].to_numpy(float)
        f = lab["theater_probability"].to_numpy(float) if ctx.has_f else None
        parts.append((W[j], N[j], y, f, w))
    return strata, N, W, F, parts


def _org_estimate(org, ctx: _Context, s: Settings, rng) -> tuple[dict, tuple]:
    """(the org's row, (share, sampling variance, smoothed share, theater labels) for the
    pooling)."""
    strata, N, W, F, parts = _org_parts(org, ctx)
    lam = ppi_lambda(parts)
    B, c = s.replicates, s.bound_weight
    R_hat, R_s, V = np.empty(len(N)), np.empty(len(N)), np.empty(len(N))
    lo_d, hi_d = np.empty((B, len(N))), np.empty((B, len(N)))
    for j, (_, Nj, y, f, w) in enumerate(parts):
        n = len(y)
        z = y if f is None or lam == 0 else y - lam * (f - F[j])
        if n:
            m = float(np.clip(np.average(z, weights=w), 0.0, 1.0))
        else:  # no label: the detector's figure as the point, the whole range as the draw
            m = float(F[j]) if np.isfinite(F[j]) else 0.5
        k = float(y.sum())
        R_hat[j] = (k + (Nj - n) * m) / Nj
        R_s[j], V[j] = _cell_variance(y, z, w, Nj, c, ctx.p_strat.get(strata[j], 0.5))
        # upper end: Jeffreys (c at 0 and at 1); lower end: no pseudo-label at 1, so a
        # cell without a theater label adds nothing to it and the bound can reach 0
        for d, at0, at1 in ((lo_d, c, 0.0), (hi_d, c, c)) if not ctx.will_pool else ():
            rate = bounded_draws(z, w, at0, at1, B, rng)
            unl = rng.binomial(int(Nj - n), rate) if Nj > n else np.zeros(B)
            d[:, j] = (k + unl) / Nj
    share = float(W @ R_hat)
    direct = (share, float(W**2 @ V), float(W @ R_s), sum(float(p[2].sum()) for p in parts))
    lo = hi = np.nan
    if not ctx.will_pool:
        Wb = _user_weights(org, strata, W, ctx.users, B, rng)
        alpha = (1 - s.confidence) / 2
        lo = min(float(np.quantile((Wb * lo_d).sum(1), alpha, method="inverted_cdf")), share)
        hi = max(float(np.quantile((Wb * hi_d).sum(1), 1 - alpha, method="inverted_cdf")), share)
    elif ctx.users is not None:
        _user_weights(org, strata, W, ctx.users, B, rng)  # the same draws as without pooling
    oc = ctx.cell.loc[org]
    row = {
        "org_id": org,
        "share": share,
        "ci_low": lo,
        "ci_high": hi,
        "detector_share": float(oc["sum_p"].sum() / N.sum()) if ctx.has_p else np.nan,
        "audit_n": int(sum(len(p[2]) for p in parts)),
        "ppi_lambda": lam,
        "interval_kind": SAMPLING_DETECTOR,
    }
    return row, direct


def _user_weights(org, strata, W, users, B, rng) -> np.ndarray:
    """Cell weights per replicate: W itself, or with ``users`` re-weighted by Poisson(1)
    user weights (a replicate whose users all draw 0 keeps W)."""
    if users is None:
        return W
    blk = users.loc[org].reindex(columns=strata, fill_value=0.0).to_numpy(float)
    wu = rng.poisson(1.0, (B, blk.shape[0])).astype(float)
    tot = wu @ blk
    ok = tot.sum(1) > 0
    return np.where(ok[:, None], tot / np.maximum(tot.sum(1, keepdims=True), 1e-12), W)


def _pool_into(out: pd.DataFrame, d: np.ndarray, s: Settings) -> bool:
    """Replace the labelled orgs' figures in ``out`` by the pooled ones (:mod:`.pool`);
    False when too few orgs have a sampling variance to fit it. ``d``: per org (share,
    variance, smoothed share, theater labels)."""
    lab = (out["audit_n"] > 0).to_numpy() & np.isfinite(out["detector_share"].to_numpy(float))
    if (lab & (d[:, 1] > 0)).sum() < pool.MIN_ORGS:
        return False
    r = pool.shrink(
        d[lab, 0],
        d[lab, 1],
        d[lab, 2],
        out.loc[lab, "detector_share"].to_numpy(float),
        s.confidence,
        s.pool_tau_level,
        s.pool_interval,
        s.pool_min_weight,
    )
    for col in ("share", "ci_low", "ci_high"):
        out.loc[lab, col] = r[col]
    # an org none of whose own labels is theater: nothing of its own excludes 0, and the
    # line can sit above an org whose detector's false positives are all it flags (the
    # orgs near zero), so its lower end is its own one, 0 (a superset: coverage only rises)
    out.loc[lab & (d[:, 3] == 0), "ci_low"] = 0.0
    out.loc[lab, "own_weight"] = r["weight"]
    out.attrs["pool_tau2"] = float(r["tau2_used"])
    out.loc[lab, "pooled_n"] = int(out.loc[lab, "audit_n"].sum()) - out.loc[lab, "audit_n"]
    log.info(
        "audit pooling over %d orgs: tau^2 %.4g (used %.4g), line %s",
        int(lab.sum()),
        r["tau2"],
        r["tau2_used"],
        np.round(r["b"], 3),
    )
    return True


def _cell_variance(y, z, w, N, c, p_h, a=2.0):
    """(modelled rate R, sampling variance of the cell's rate estimate), for the pooling.

    Variance: R (1 - R) / n with R the cell's
    rate shrunk toward the stratum's rate over all orgs ``p_h`` by ``a`` pseudo-labels (a
    variance model: the raw variance of two or three labels is 0 or 1/2, and the pooling's
    between-org variance is the observed spread less these variances, so they must be right
    on average, not conservative), less what the PPI rectifier saves on the labels
    (Var y - Var z), times the finite-population correction. A cell without labels: 1/4."""
    n = len(y)
    if n == 0:
        return 0.5, 0.25
    k = float(y.sum())
    rbar = (k + a * p_h) / (n + a)
    s2 = rbar * (1 - rbar)
    if n >= 2:
        vz = float(np.average((z - np.average(z, weights=w)) ** 2, weights=w)) * n / (n - 1)
        vy = float(np.average((y - np.average(y, weights=w)) ** 2, weights=w)) * n / (n - 1)
        s2 = max(s2 - max(vy - vz, 0.0), 0.25 * s2)
    return rbar, s2 * max(1.0 - n / N, 0.0) / n


def audited_rates(labels: pd.DataFrame, flagged: str = "flagged") -> dict:
    """Audited precision and recall of the detector's ``is_theater`` (column ``flagged``), by
    Horvitz-Thompson over the stratified labels; None when there is nothing to estimate."""
    if labels.empty:
        return {"precision": None, "recall": None, "n": 0}
    y = labels["label"].to_numpy(float)
    f = labels[flagged].to_numpy(bool)
    ipw = 1.0 / labels["inclusion_probability"].to_numpy(float)
    tp = float((ipw * y * f).sum())
    flagged_w = float((ipw * f).sum())
    pos = float((ipw * y).sum())
    return {
        "precision": tp / flagged_w if flagged_w > 0 else None,
        "recall": tp / pos if pos > 0 else None,
        "n": int(len(labels)),
    }


def signal_precision(labels: pd.DataFrame, names) -> dict:
    """Audited precision of each signal: inclusion-weighted share of theater among labelled
    interactions where it fired (``signals`` column: list or comma-joined names)."""
    out = {}
    sig = labels["signals"].map(lambda v: set(v.split(",")) if isinstance(v, str) else set(v or []))
    y = labels["label"].to_numpy(float)
    ipw = 1.0 / labels["inclusion_probability"].to_numpy(float)
    for name in names:
        m = sig.map(lambda s: name in s).to_numpy(bool)
        if m.any():
            out[name] = float((ipw[m] * y[m]).sum() / ipw[m].sum())
    return out

"""Pooling the orgs' audited estimates: a random-effects (Fay-Herriot) model with the detector's
share as the covariate, and robust empirical-Bayes intervals (pure numpy/scipy).

Each org o has a direct estimate from its own labels (the stratified prediction-powered one of
:mod:`theater.audit.estimate`), y_o, with sampling variance v_o, both on the arcsine-square-root
scale with Anscombe's (1948) offset, y = asin(sqrt((share n + 3/8) / (n + 3/4))), n the design's
effective labels: the variance is then about 1/(4n) whatever the share, so an org with no
theater label is neither exact nor at the scale's edge. The model across orgs is

    y_o = theta_o + e_o,  e_o ~ (0, v_o);   theta_o = b0 + b1 x_o + u_o,  E u_o = 0, E u_o^2 = tau^2,

with x_o = asin(sqrt(detector share of the org)): the detector's error (the rectifier) is a
linear function of its output plus an org effect u_o, whose spread tau^2 is estimated from the
labels (Paule & Mandel 1982, the generalised-Q moment estimator of meta-analysis; DerSimonian &
Laird 1986 is its one-step version). Its uncertainty is carried by using, instead of the point
estimate, the upper end of its Q-profile confidence interval (Viechtbauer 2007): a larger tau^2
means less shrinkage and, for the interval below, a smaller assumed bias, which is conservative
(Armstrong, Kolesar & Plagborg-Moller 2022, section 4). The org's estimate is the shrunk one,
x'b + w_o (y_o - x'b), w_o = tau^2 / (tau^2 + v_o), at least ``min_weight``: an org whose own
labels are many or whose detector errs unlike the others' (a large tau^2) keeps its own figure.

Interval: the robust empirical-Bayes confidence interval of Armstrong, Kolesar & Plagborg-Moller
(Econometrica 90:2567, 2022), x'b + w_o (y_o - x'b) +- cva(v_o / tau^2) w_o sqrt(v_o), where
cva(m2) is the critical value that keeps the non-coverage at most alpha for *any* distribution
of the org effects with that second moment (not only a normal one): the orgs' average coverage
is nominal even when the org effects are skewed or in clumps (a detector anti-correlated in
some orgs). The uncertainty of b is added as (1 - w_o)^2 x' Var(b) x. The ends are mapped back
with sin^2 after clipping to [0, pi/2]: the interval can reach 0 (and 1), is not symmetric on
the share scale and never leaves [0, 1].
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr
from scipy.stats import chi2, norm

#: fewest orgs with labels for the model (fewer: each org keeps its own-label interval)
MIN_ORGS = 8


def _r(b, chi):
    """Non-coverage of [-chi, chi] for N(b, 1)."""
    return ndtr(-chi - b) + ndtr(-chi + b)


def _rho(m2: np.ndarray, chi: np.ndarray) -> np.ndarray:
    """Largest non-coverage E_F r(b, chi) over distributions F of b with E b^2 = m2: the
    concave envelope of t -> r(sqrt t, chi) at m2, attained by a two-point distribution on
    {0, t1}, t1 >= m2 (Armstrong, Kolesar & Plagborg-Moller 2022, appendix B). Vectorised
    over orgs (rows)."""
    m2 = np.maximum(np.asarray(m2, float), 1e-12)[:, None]
    chi = np.asarray(chi, float)[:, None]
    t1 = m2 * np.exp(np.linspace(0.0, np.log(1e4), 400))[None, :]
    r0 = _r(0.0, chi)
    return np.max(r0 + (m2 / t1) * (_r(np.sqrt(t1), chi) - r0), axis=1)


def cva(m2, alpha: float) -> np.ndarray:
    """Robust EBCI critical values: per element of ``m2``, the chi with
    _rho(m2, chi) = alpha (bisection); cva(0) is the normal quantile."""
    m2 = np.atleast_1d(np.asarray(m2, float))
    lo = np.zeros_like(m2)
    hi = norm.ppf(1 - alpha / 2) + 3 * np.sqrt(np.maximum(m2, 0.0)) + np.sqrt(m2 / alpha) + 5
    for _ in range(50):
        mid = (lo + hi) / 2
        over = _rho(m2, mid) > alpha
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return hi


def _wls(y, v, X, tau2):
    w = 1.0 / (tau2 + v)
    XtW = X.T * w
    cov = np.linalg.pinv(XtW @ X)
    b = cov @ (XtW @ y)
    q = float((w * (y - X @ b) ** 2).sum())
    return b, cov, q


def tau2_estimates(y, v, X, level: float = 0.9) -> tuple[float, float]:
    """(Paule-Mandel tau^2, upper end of its one-sided ``level`` Q-profile interval). The
    generalised Q(tau^2) = sum (y - X b(tau^2))^2 / (tau^2 + v) decreases in tau^2; the
    estimate solves Q = k - p, the upper end Q = the chi^2_{k-p} (1 - level) quantile."""
    k, p = X.shape
    df = k - p
    top = max(float(np.var(y)) * 10 + float(v.max()) * 10, 1e-6)

    def solve(target):
        if _wls(y, v, X, 0.0)[2] <= target:
            return 0.0
        lo, hi = 0.0, top
        while _wls(y, v, X, hi)[2] > target:
            hi *= 4
        for _ in range(80):
            mid = (lo + hi) / 2
            if _wls(y, v, X, mid)[2] > target:
                lo = mid
            else:
                hi = mid
        return hi

    return solve(float(df)), solve(float(chi2.ppf(1 - level, df)))


def shrink(
    share: np.ndarray,
    v_share: np.ndarray,
    smooth: np.ndarray,
    detector: np.ndarray,
    confidence: float = 0.90,
    tau_level: float = 0.9,
    kind: str = "robust",
    min_weight: float = 0.1,
) -> dict:
    """Pooled estimates and intervals of k orgs.

    ``share``: direct estimates (own labels), ``v_share`` their sampling variances (share
    scale), ``smooth``: a share kept off 0 and 1 for the variance's change of scale (the
    Jeffreys-smoothed one), ``detector``: the detector-only share. Returns per org arrays
    ``share, ci_low, ci_high, weight`` (w_o, the weight of the org's own labels) and the
    scalars ``tau2`` (point), ``tau2_used`` (upper end), ``b``.
    """
    share = np.clip(np.asarray(share, float), 0.0, 1.0)
    sm = np.clip(np.asarray(smooth, float), 1e-6, 1 - 1e-6)
    v_share = np.asarray(v_share, float)
    # effective labels of each org's design at its modelled share; Anscombe's (1948)
    # (k + 3/8) / (n + 3/4) keeps an org with no theater label off the scale's edge, where
    # the arcsine scale's normal interval would be too short upward
    with np.errstate(divide="ignore"):
        n_eff = np.where(v_share > 0, sm * (1 - sm) / v_share, np.inf)
    fin = np.isfinite(n_eff)
    adj = np.where(
        fin, (share * np.where(fin, n_eff, 0) + 0.375) / (np.where(fin, n_eff, 0) + 0.75), share
    )
    y = np.arcsin(np.sqrt(np.clip(adj, 0.0, 1.0)))
    v = np.where(fin, 1.0 / (4 * np.where(fin, n_eff, 1)), 0.0)
    x = np.arcsin(np.sqrt(np.clip(np.asarray(detector, float), 0.0, 1.0)))
    X = np.column_stack([np.ones_like(x), x])
    # an org whose every interaction is labelled is exact: it informs the line with no noise
    # but would take all its weight, so the line is fitted on the others
    fit = v > 0
    if fit.sum() < X.shape[1] + 2:
        raise ValueError("pooling needs at least 4 orgs with a sampling variance")
    tau2, tau2_u = tau2_estimates(y[fit], v[fit], X[fit], tau_level)
    b, cov, _ = _wls(y[fit], v[fit], X[fit], tau2_u)
    pred = X @ b
    var_pred = np.einsum("ij,jk,ik->i", X, cov, X)
    alpha = 1 - confidence
    z = norm.ppf(1 - alpha / 2)
    # own labels keep at least ``min_weight``: an org's share is never wholly the line's,
    # since a spread estimated at 0 from 20 orgs does not show that none is off the line
    t2 = np.maximum(tau2_u, min_weight / (1 - min_weight) * v)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(v > 0, t2 / (t2 + v), 1.0)
        if kind == "robust":
            m2 = np.where(v > 0, v / np.where(t2 > 0, t2, 1.0), 0.0)
            half = cva(m2, alpha) * np.sqrt(w**2 * v + (1 - w) ** 2 * var_pred)
        else:  # the parametric (normal random effects) interval, for comparison only
            half = z * np.sqrt(w * v + (1 - w) ** 2 * var_pred)
    half = np.where(v > 0, half, 0.0)  # every interaction labelled: the exact figure
    center = pred + w * (y - pred)
    lo, hi, weight = center - half, center + half, w
    top = np.pi / 2
    pc = np.sin(np.clip(center, 0, top)) ** 2
    point = np.where(
        fin, (pc * (np.where(fin, n_eff, 0) + 0.75) - 0.375) / np.where(fin, n_eff, 1), pc
    )
    lo_s, hi_s = np.sin(np.clip(lo, 0, top)) ** 2, np.sin(np.clip(hi, 0, top)) ** 2
    return {
        "share": np.clip(point, lo_s, hi_s),
        "ci_low": lo_s,
        "ci_high": hi_s,
        "weight": weight,
        "tau2": tau2,
        "tau2_used": tau2_u,
        "b": b,
    }

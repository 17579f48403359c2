"""How many audit labels a target interval width needs, per org and in all.

From the current detector output (interactions per org x stratum) and stratum rates (audited
ones when the lake holds labels, else guesses: ``audit.plan_precision`` for strata where a
signal fired, ``audit.plan_miss_rate`` where none did), the planned interval of each org is
approximated cell by cell with a score (Wilson-type) variance of the org's own-label estimate
(:mod:`theater.audit.estimate`, bounded):

    Var_o = sum_h W_oh^2 [r_h (1 - r_h) / n_oh + z^2 / (4 n_oh^2)] (1 - n_oh / N_oh)
            / (1 + z^2 / n_oh)^2,

and a cell without labels counts with W_oh^2 / 4 (its rate could be anything). With
``users`` the user-cluster (linearized) variance is added, for an estimator that also
re-weights users. Labels are allocated as :func:`theater.audit.sample.allocate` does for
the same ``min_per_cell`` and ``neyman`` (by default an equal split over orgs, proportional
within an org with a floor per cell). Width = 2 z
sqrt(Var_o), in index points: the interval on the org's own labels.

With ``tau2`` (the between-org variance on the arcsine scale that the last audit's pooling
used, :mod:`theater.audit.pool`), the width is the pooled one: Var_o moved to the arcsine
scale, shrunk with weight tau2 / (tau2 + Var) (at least the pooling's floor) and widened by
the robust critical value; a plan that assumes the next audit's orgs spread as the last
one's did.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from .design import GROUPED, check, design_strata
from .pool import cva
from .sample import MIN_PER_CELL, NONE, allocate


def rates_guess(strata, precision: float, miss_rate: float) -> dict:
    return {h: (miss_rate if h == NONE else precision) for h in strata}


#: an org planned at fewer labels than this gets the larger of the pooled and the own-label
#: width (:func:`_org_width`)
FEW_LABELS = 10


def _org_width(N, r, nl, z, usr=0.0, tau2=None, min_weight=0.1) -> float:
    W = N / N.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (r * (1 - r) / nl + z**2 / (4 * nl**2)) * (1 - nl / N) / (1 + z**2 / nl) ** 2
        plain = r * (1 - r) / nl * (1 - nl / N)
    det = np.where(nl > 0, W**2 * score, W**2 * 0.25)
    v = float(det.sum() + usr)
    if tau2 is None or v <= 0:
        return float(200 * z * np.sqrt(v))
    pooled = _pooled_width(W, r, v, z, tau2, min_weight)
    if nl.sum() >= FEW_LABELS:
        return pooled
    # a few labels an org: the pooled approximation planned a third to a half of the width
    # audits then gave (its normal own variance, score-shrunk, and the robust critical value
    # do not carry cells of one or two labels); the own-label width with the plain binomial
    # variance (capped at the whole range) was at or over it (benchmarks/RESULTS.md)
    vp = float(np.where(nl > 0, W**2 * plain, W**2 * 0.25).sum() + usr)
    return max(pooled, min(float(200 * z * np.sqrt(vp)), 100.0))


def _pooled_width(W, r, v, z, tau2, min_weight) -> float:
    # pooled (theater.audit.pool): on the arcsine scale the own variance is v / (4 s (1 - s)),
    # shrunk with the between-org variance of the last audit, and the robust critical value
    s = float(np.clip(W @ r, 1e-4, 1 - 1e-4))
    vp = v / (4 * s * (1 - s))
    t2 = max(tau2, min_weight / (1 - min_weight) * vp)
    w = t2 / (t2 + vp)
    alpha = 2 * (1 - NormalDist().cdf(z))
    half = float(cva(vp / t2, alpha)[0]) * w * np.sqrt(vp)
    return float(100 * 2 * half * 2 * np.sqrt(s * (1 - s)))


def _user_var(cells_o: pd.DataFrame, rates: dict) -> float:
    m = cells_o.groupby("user_key")["n"].sum()
    zu = (
        cells_o.assign(z=cells_o["n"] * cells_o["stratum"].map(rates).fillna(0.5))
        .groupby("user_key")["z"]
        .sum()
    )
    theta = zu.sum() / m.sum()
    return float(((zu - theta * m) ** 2).sum() / m.sum() ** 2)


def _in_design(cells: pd.DataFrame, design: str) -> pd.DataFrame:
    """``cells`` (strata by detector output) in the strata of ``design``."""
    if design != GROUPED:
        return cells
    return cells.assign(stratum=design_strata(cells["stratum"], GROUPED).to_numpy())


def _alloc_cells(cells: pd.DataFrame, neyman: bool) -> pd.DataFrame:
    """``org_id, stratum, N`` (and with ``neyman`` the detector's mean probability ``F``, from
    ``sum_p``) per cell: what :func:`theater.audit.sample.allocate` reads, so that the plan
    allocates as the sample will."""
    agg = {"N": ("n", "sum")}
    if neyman and "sum_p" in cells:
        agg["sum_p"] = ("sum_p", "sum")
    cell = cells.groupby(["org_id", "stratum"], as_index=False).agg(**agg)
    if "sum_p" in cell:
        cell["F"] = cell.pop("sum_p") / cell["N"]
    return cell


def widths(
    cells: pd.DataFrame,
    rates: dict,
    n: int,
    confidence: float = 0.90,
    min_per_cell: int = MIN_PER_CELL,
    users: bool = False,
    tau2: float | None = None,
    neyman: bool = False,
    design: str = "signal",
) -> pd.DataFrame:
    """Planned full width (index points) per org for a total of ``n`` labels drawn under
    ``design``. ``cells`` are by detector output; ``rates`` hold every stratum of the design."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    cells = _in_design(cells, check(design))
    alloc = allocate(_alloc_cells(cells, neyman), n, min_per_cell, neyman)
    out = []
    for org, a in alloc.groupby("org_id"):
        r = a["stratum"].map(rates).fillna(0.5).to_numpy(float)
        usr = _user_var(cells[cells["org_id"] == org], rates) if users else 0.0
        N, nl = a["N"].to_numpy(float), a["n"].to_numpy(float)
        w = _org_width(N, r, nl, z, usr, tau2)
        out.append({"org_id": org, "labels": int(nl.sum()), "width": w})
    return pd.DataFrame(out)


def org_needs(
    cells: pd.DataFrame,
    rates: dict,
    target_width: float,
    confidence: float = 0.90,
    min_per_cell: int = MIN_PER_CELL,
    tau2: float | None = None,
    neyman: bool = False,
    design: str = "signal",
) -> pd.DataFrame:
    """Per org: the fewest of its own labels (allocated within the org as the sample does,
    under ``design``) whose planned width is at or under ``target_width``; ``labels`` is None
    when even every interaction would not do (not possible: all labelled is exact) or the org
    is too small."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    cell = _alloc_cells(_in_design(cells, check(design)), neyman)
    out = []
    for org, c in cell.groupby("org_id"):
        total = int(c["N"].sum())

        def width(n, c=c):
            a = allocate(c, n, min_per_cell, neyman)
            r = a["stratum"].map(rates).fillna(0.5).to_numpy(float)
            return _org_width(a["N"].to_numpy(float), r, a["n"].to_numpy(float), z, tau2=tau2)

        lo, hi = 0, min(16, total)
        while hi < total and width(hi) > target_width:
            lo, hi = hi, min(2 * hi, total)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if width(mid) <= target_width:
                hi = mid
            else:
                lo = mid
        out.append({"org_id": org, "interactions": total, "labels": hi, "width": width(hi)})
    return pd.DataFrame(out)


def plan(
    cells: pd.DataFrame,
    rates: dict,
    target_width: float,
    confidence: float = 0.90,
    max_labels: int = 200_000,
    tau2: float | None = None,
    min_per_cell: int = MIN_PER_CELL,
    neyman: bool = False,
    design: str = "signal",
) -> dict:
    """Smallest total n (doubling, then bisection) whose mean org width <= ``target_width``
    under the sample's allocation (``min_per_cell``, ``neyman``), with the per-org needs
    (:func:`org_needs`): their sum is the audit that brings *every* org to the target when
    each org gets what it needs."""
    total = int(cells["n"].sum())
    hi_cap = min(max_labels, total)
    per_org = org_needs(cells, rates, target_width, confidence, min_per_cell, tau2, neyman, design)
    every = int(per_org["labels"].sum())

    def mean_w(n):
        w = widths(
            cells, rates, n, confidence, min_per_cell, tau2=tau2, neyman=neyman, design=design
        )
        return float(w["width"].mean()), float(w["width"].max())

    orgs = cells["org_id"].nunique()
    lo, hi = 0, max(2 * orgs, 50)
    while mean_w(hi)[0] > target_width:
        if hi >= hi_cap:
            mw, xw = mean_w(hi_cap)
            return {
                "labels": None,
                "reachable": False,
                "mean_width": mw,
                "max_width": xw,
                "per_org": per_org,
                "every_org": every,
                "note": f"even {hi_cap:,} labels give a mean width of {mw:.1f} points",
            }
        lo, hi = hi, min(2 * hi, hi_cap)
    while hi - lo > max(1, hi // 100):
        mid = (lo + hi) // 2
        if mean_w(mid)[0] <= target_width:
            hi = mid
        else:
            lo = mid
    mw, xw = mean_w(hi)
    return {
        "labels": hi,
        "reachable": True,
        "mean_width": mw,
        "max_width": xw,
        "per_org": per_org,
        "every_org": every,
    }

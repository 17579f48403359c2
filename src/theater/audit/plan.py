"""How many audit labels a target interval width needs, per org and in all.

From the current detector output (interactions per org x stratum) and stratum rates (audited
ones when the lake holds labels, else guesses: ``audit.plan_precision`` for strata where a
signal fired, ``audit.plan_miss_rate`` where none did), the planned interval of each org is
approximated cell by cell with a score (Wilson-type) variance, since the published interval
(:mod:`theater.audit.estimate`) rests on the org's own labels only and is bounded:

    Var_o = sum_h W_oh^2 [r_h (1 - r_h) / n_oh + z^2 / (4 n_oh^2)] (1 - n_oh / N_oh)
            / (1 + z^2 / n_oh)^2,

and a cell without labels counts with W_oh^2 / 4 (its rate could be anything). With
``users`` the user-cluster (linearized) variance is added, for an estimator that also
re-weights users. Labels are allocated as :func:`theater.audit.sample.allocate` does (an
equal split over orgs, proportional within an org with a floor per cell). Width = 2 z
sqrt(Var_o), in index points.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from .sample import NONE, allocate


def rates_guess(strata, precision: float, miss_rate: float) -> dict:
    return {h: (miss_rate if h == NONE else precision) for h in strata}


def _org_width(N, r, nl, z, usr=0.0) -> float:
    W = N / N.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (r * (1 - r) / nl + z**2 / (4 * nl**2)) * (1 - nl / N) / (1 + z**2 / nl) ** 2
    det = np.where(nl > 0, W**2 * score, W**2 * 0.25)
    return float(200 * z * np.sqrt(det.sum() + usr))


def _user_var(cells_o: pd.DataFrame, rates: dict) -> float:
    m = cells_o.groupby("user_key")["n"].sum()
    zu = (
        cells_o.assign(z=cells_o["n"] * cells_o["stratum"].map(rates).fillna(0.5))
        .groupby("user_key")["z"]
        .sum()
    )
    theta = zu.sum() / m.sum()
    return float(((zu - theta * m) ** 2).sum() / m.sum() ** 2)


def widths(
    cells: pd.DataFrame,
    rates: dict,
    n: int,
    confidence: float = 0.90,
    min_per_cell: int = 2,
    users: bool = False,
) -> pd.DataFrame:
    """Planned full width (index points) per org for a total of ``n`` labels."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    cell = (
        cells.groupby(["org_id", "stratum"], as_index=False)["n"].sum().rename(columns={"n": "N"})
    )
    alloc = allocate(cell, n, min_per_cell)
    out = []
    for org, a in alloc.groupby("org_id"):
        r = a["stratum"].map(rates).fillna(0.5).to_numpy(float)
        usr = _user_var(cells[cells["org_id"] == org], rates) if users else 0.0
        N, nl = a["N"].to_numpy(float), a["n"].to_numpy(float)
        out.append({"org_id": org, "labels": int(nl.sum()), "width": _org_width(N, r, nl, z, usr)})
    return pd.DataFrame(out)


def org_needs(
    cells: pd.DataFrame,
    rates: dict,
    target_width: float,
    confidence: float = 0.90,
    min_per_cell: int = 2,
) -> pd.DataFrame:
    """Per org: the fewest of its own labels (allocated within the org as the sample does)
    whose planned width is at or under ``target_width``; ``labels`` is None when even every
    interaction would not do (not possible: all labelled is exact) or the org is too small."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    cell = (
        cells.groupby(["org_id", "stratum"], as_index=False)["n"].sum().rename(columns={"n": "N"})
    )
    out = []
    for org, c in cell.groupby("org_id"):
        total = int(c["N"].sum())
        r = c.sort_values("stratum")["stratum"].map(rates).fillna(0.5).to_numpy(float)

        def width(n, c=c, r=r):
            a = allocate(c, n, min_per_cell)
            return _org_width(a["N"].to_numpy(float), r, a["n"].to_numpy(float), z)

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
) -> dict:
    """Smallest total n (doubling, then bisection) whose mean org width <= ``target_width``
    under the sample's equal split, with the per-org needs (:func:`org_needs`): their sum is
    the audit that brings *every* org to the target when each org gets what it needs."""
    total = int(cells["n"].sum())
    hi_cap = min(max_labels, total)
    per_org = org_needs(cells, rates, target_width, confidence)
    every = int(per_org["labels"].sum())

    def mean_w(n):
        w = widths(cells, rates, n, confidence)
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

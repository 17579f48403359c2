"""How many audit labels a target interval width needs.

From the current detector output (interactions per org x user x stratum) and stratum rates
(audited ones when the lake holds labels, else guesses: ``audit.plan_precision`` for strata
where a signal fired, ``audit.plan_miss_rate`` where none did), the planned interval of each org
is approximated by a normal interval around the stratified estimator, with

    Var_o = sum_h W_oh^2 r_h (1 - r_h) / n_oh (1 - n_oh / N_oh)        (detector error)
          + sum_u (z_u - theta_o m_u)^2 / (sum_u m_u)^2                  (user sampling)

for the allocation :func:`theater.audit.sample.allocate` gives to a total of n labels (m_u a
user's interactions, z_u = sum_h m_uh r_h). It ignores the borrowing of strength across orgs,
so it errs on the side of more labels. The smallest n whose *mean* org width (in index points,
full width) is at or under the target is returned, with the widest org at that n.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from .sample import NONE, allocate


def rates_guess(strata, precision: float, miss_rate: float) -> dict:
    return {h: (miss_rate if h == NONE else precision) for h in strata}


def widths(
    cells: pd.DataFrame, rates: dict, n: int, confidence: float = 0.90, min_per_cell: int = 2
) -> pd.DataFrame:
    """Planned full width (index points) per org for a total of ``n`` labels."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    cell = (
        cells.groupby(["org_id", "stratum"], as_index=False)["n"].sum().rename(columns={"n": "N"})
    )
    alloc = allocate(cell, n, min_per_cell)
    out = []
    for org, a in alloc.groupby("org_id"):
        N = a["N"].to_numpy(float)
        W = N / N.sum()
        r = a["stratum"].map(rates).fillna(0.5).to_numpy(float)
        nl = a["n"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            det = np.where(
                nl > 0, W**2 * r * (1 - r) / nl * (1 - nl / N), W**2 * 0.25
            )  # an unlabelled cell: the worst case
        u = cells[cells["org_id"] == org]
        m = u.groupby("user_key")["n"].sum()
        zu = u.assign(z=u["n"] * u["stratum"].map(rates).fillna(0.5)).groupby("user_key")["z"].sum()
        theta = zu.sum() / m.sum()
        usr = float(((zu - theta * m) ** 2).sum() / m.sum() ** 2)
        out.append(
            {
                "org_id": org,
                "labels": int(nl.sum()),
                "width": float(200 * z * np.sqrt(det.sum() + usr)),
            }
        )
    return pd.DataFrame(out)


def plan(
    cells: pd.DataFrame,
    rates: dict,
    target_width: float,
    confidence: float = 0.90,
    max_labels: int = 200_000,
) -> dict:
    """Smallest total n (doubling, then bisection) whose mean org width <= ``target_width``."""
    total = int(cells["n"].sum())
    hi_cap = min(max_labels, total)

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
                "note": f"even {hi_cap:,} labels give a mean width of {mw:.1f} points "
                "(user sampling alone sets a floor)",
            }
        lo, hi = hi, min(2 * hi, hi_cap)
    while hi - lo > max(1, hi // 100):
        mid = (lo + hi) // 2
        if mean_w(mid)[0] <= target_width:
            hi = mid
        else:
            lo = mid
    mw, xw = mean_w(hi)
    return {"labels": hi, "reachable": True, "mean_width": mw, "max_width": xw}

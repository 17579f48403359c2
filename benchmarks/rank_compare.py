"""Rank measures shared by the vendor ranking benchmarks: the two simple estimators read from
the same acceptance counts the published estimate reads, Spearman and top-quarter overlap.

- ``acceptance_rate``: per org 1 - accepted/shown, pooled over every counted output;
- ``user_excess``: per user and feature the unused rate minus the feature's median user rate,
  summed over the org's outputs (each user's unused rate above the tool's typical rate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def simple_estimators(acc: pd.DataFrame) -> pd.DataFrame:
    a = acc[acc["n"] > 0]
    a = a.groupby(["org_id", "user_key", "feature"], as_index=False)[["n", "k"]].sum()
    rate = a.groupby("org_id")[["k", "n"]].sum()
    out = pd.DataFrame({"acceptance_rate": rate["k"] / rate["n"]})
    med = (a["k"] / a["n"]).groupby(a["feature"]).median()
    ex = (a["k"] - a["n"] * a["feature"].map(med)).groupby(a["org_id"]).sum()
    out["user_excess"] = ex / rate["n"]
    return out.reset_index()


def rho(x: pd.Series, y: pd.Series) -> dict:
    """Spearman and the top-quarter overlap (share of the truly top quarter of orgs that the
    estimate also puts in its top quarter: precision = recall = F1 at equal sizes)."""
    ok = x.notna() & y.notna()
    n = int(ok.sum())
    if n < 4 or x[ok].nunique() < 2:
        return {"spearman": None, "top_quarter": None, "n": n}
    xs, ys = x[ok].to_numpy(float), y[ok].to_numpy(float)
    k = max(1, n // 4)
    top_x = set(np.argsort(-xs, kind="stable")[:k])
    top_y = set(np.argsort(-ys, kind="stable")[:k])
    return {
        "spearman": round(float(spearmanr(xs, ys).statistic), 3),
        "top_quarter": round(len(top_x & top_y) / k, 2),
        "n": n,
    }

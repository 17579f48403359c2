"""How narrow the orgs' own labels can make an org's interval: width floors and labels needed.

Usage: python benchmarks/audit_floors.py [--worlds-per-case 50] [--first-seed 20000]
       [--sizes 100,300,1000] [--target 12] [--out F.json]

On the worlds of ``benchmarks/audit_coverage.py --simulated`` (same seeds), for each detector
case and audit size, the mean over orgs of the normal-approximation 90% width that an org's
own labels give at best (:func:`theater.audit.simulate.width_floors`, from the truth): with
as many labels drawn at random from the org (``srs``) and under the sample's stratified
allocation with the cells' true rates (``strat``), for the earlier design (2 labels per cell
first) and the current one (1), and for Neyman-type allocation on the detector's probability
and on the cells' true rates (an oracle). And the labels each org needs for ``--target``
points: 4 z^2 p (1 - p) / w^2 at random, 4 z^2 sum_h W_h p_h (1 - p_h) / w^2 stratified
with proportional allocation (no floor, no finite-population correction), summed over orgs.
No estimator is run: these bound what any design-unbiased estimator on the org's own labels
can do; only pooling across orgs (borrowing) gets under them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

DESIGNS = (
    ("proportional, 2 first", 2, None),
    ("proportional, 1 first", 1, None),
    ("Neyman on probability, 1 first", 1, "theater_probability"),
    ("Neyman on true rates (oracle), 1 first", 1, "is_theater"),
)


def one_world(df: pd.DataFrame, sizes, target: float, z: float) -> list[dict]:
    from theater.audit import sample
    from theater.audit.simulate import width_floors

    g = df.groupby(["org_id", "stratum"], sort=True)
    base = g.size().rename("N").reset_index()
    rows = []
    for n in sizes:
        for name, mpc, col in DESIGNS:
            cells = base.copy()
            if col:
                cells["F"] = g[col].mean().to_numpy()
            a = sample.allocate(cells, n, mpc, neyman=col is not None)
            lab = a.loc[a.index.repeat(a["n"]), ["org_id", "stratum"]]
            f = width_floors(df, lab)
            rows.append(
                {
                    "labels": n,
                    "design": name,
                    "srs": 100 * f["srs"].mean(),
                    "strat": 100 * f["strat"].mean(),
                }
            )
    c = g["is_theater"].agg(["size", "mean"]).reset_index()
    c["W"] = c["size"] / c.groupby("org_id")["size"].transform("sum")
    c["v"] = c["W"] * c["mean"] * (1 - c["mean"])
    p = df.groupby("org_id")["is_theater"].mean()
    k = 4 * z**2 / (target / 100) ** 2
    rows.append(
        {
            "labels": None,
            "design": "needed",
            "srs": float(np.ceil(k * p * (1 - p)).sum()),
            "strat": float(np.ceil(k * c.groupby("org_id")["v"].sum()).sum()),
        }
    )
    return rows


def main() -> int:
    from theater.audit import sample, simworld

    p = argparse.ArgumentParser()
    p.add_argument("--worlds-per-case", type=int, default=50, dest="worlds_per_case")
    p.add_argument("--first-seed", type=int, default=20000, dest="first_seed")
    p.add_argument("--sizes", default="100,300,1000")
    p.add_argument("--target", type=float, default=12.0)
    p.add_argument("--out", default=str(HERE / "out" / "audit_floors.json"))
    a = p.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    z = NormalDist().inv_cdf(0.95)
    out = []
    for fi, case in enumerate(simworld.CASES):  # the same seeds as audit_coverage.py
        for w in range(a.worlds_per_case):
            df, _ = simworld.world(a.first_seed + 1000 * fi + w, case)
            df["stratum"] = sample.strata(df["flags"])
            out += [dict(r, case=case) for r in one_world(df, sizes, a.target, z)]
    r = pd.DataFrame(out)
    r["labels"] = r["labels"].fillna(0).astype(int)
    t = r.groupby(["case", "design", "labels"], sort=False)[["srs", "strat"]].mean().round(1)
    print(t.to_string())
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(t.reset_index().to_dict("records"), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

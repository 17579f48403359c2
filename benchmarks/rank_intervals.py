"""The acceptance estimate's ranking and its 90% intervals against planted truth, on kept
vendor-ranking runs and on the second world family, without rerunning the pipeline.

Usage: python benchmarks/rank_intervals.py [--runs RUN_DIR ...] [--alt-seeds 101 ...]
       [--replicates 200] [--estimator MODULE]

- ``--runs``: directories kept by ``vendor_ranking.py --keep`` (``s<seed>-<mix>``: ``ax/`` holds
  the estimator's inputs as the score stage handed them, ``lake/`` gold, ``world/truth``).
  Orgs with a per-interaction index keep gold's figure for the ranking (the score stage's
  rule); intervals are measured on the orgs whose figure is the acceptance estimate.
- ``--alt-seeds``: the second family (``alt_world.py``), every counted feature delivered.
- ``--estimator``: the module to measure (default ``theater.signals.acceptance_excess``; another
  module with the same ``estimate``/``Settings`` measures an earlier version for a before/after).

Per run: Spearman (top-quarter overlap) of the published figure, "user excess" and the plain
rate on the orgs all three have, with two ceilings on the same orgs (read from the truth, not
estimators: the realized theater share over the usage the delivered counts cover, and over all
usage); coverage of the planted org share by the 90% interval and
its median width (share units); at the end, coverage and median width pooled over the runs'
orgs. Prints Markdown.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from alt_world import world  # noqa: E402
from rank_compare import rho, simple_estimators  # noqa: E402
from vendor_ranking import oracle, realized_all  # noqa: E402


def _gold(lake: Path) -> pd.DataFrame:
    from deltalake import DeltaTable

    g = DeltaTable(str(lake / "gold" / "org_theater_index")).to_pandas()
    return g[~g.suppressed][["org_id", "theater_index", "index_basis"]]


def measure(acc, users, truth, ax, replicates, gold=None, ceilings=None) -> dict:
    """``ceilings``: per org ``oracle`` and ``realized_all`` read from the world's truth (see
    ``vendor_ranking.oracle``): measured on the same orgs as the estimators."""
    est = ax.estimate(acc, users, ax.Settings(replicates=replicates))
    m = truth.merge(est, on="org_id", how="left")
    if ceilings is not None:
        m = m.merge(ceilings, on="org_id", how="left")
    if gold is not None:  # the published figure: gold's own index where it is per-interaction
        m = m.merge(gold, on="org_id")
        own = m["index_basis"] == "interactions"
        m["published"] = m["theater_index"].where(own, m["share"] * 100)
        acc_org = ~own & m["share"].notna()
    else:
        m["published"] = m["share"]
        acc_org = m["share"].notna()
    m = m.merge(simple_estimators(acc), on="org_id", how="left")
    common = m[["published", "acceptance_rate", "user_excess"]].notna().all(axis=1)
    c = m[common]
    out = {k: rho(c[k], c["theater_share"]) for k in ("published", "user_excess")}
    out["acceptance_rate"] = rho(c["acceptance_rate"], c["theater_share"])
    for k in ("oracle", "realized_all"):
        none = {"spearman": None, "top_quarter": None, "n": 0}
        out[k] = rho(c[k], c["theater_share"]) if k in c else none
    iv = m[acc_org]
    inside = (iv["ci_low"] <= iv["theater_share"]) & (iv["theater_share"] <= iv["ci_high"])
    out["intervals"] = {
        "orgs": int(len(iv)),
        "coverage": round(float(inside.mean()), 3) if len(iv) else None,
        "median_width": round(float((iv["ci_high"] - iv["ci_low"]).median()), 3)
        if len(iv)
        else None,
        "below": int((iv["theater_share"] < iv["ci_low"]).sum()),
        "above": int((iv["theater_share"] > iv["ci_high"]).sum()),
        "covered": int(inside.sum()),
        "widths": [round(float(x), 4) for x in (iv["ci_high"] - iv["ci_low"])],
    }
    return out


def _brief(res):
    """The run's figures without the per-org widths."""
    iv = {k: v for k, v in res["intervals"].items() if k != "widths"}
    return {**res, "intervals": iv}


def _cell(r):
    return "—" if r["spearman"] is None else f"{r['spearman']:.3f} ({r['top_quarter']:.2f})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", nargs="*", default=[])
    ap.add_argument("--alt-seeds", type=int, nargs="*", default=[])
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--estimator", default="theater.signals.acceptance_excess")
    args = ap.parse_args(argv)
    ax = importlib.import_module(args.estimator)
    rows = []
    for d in map(Path, args.runs):
        truth = pd.read_csv(d / "world" / "truth" / "orgs.csv")[["org_id", "theater_share"]]
        acc = pd.read_parquet(d / "ax" / "acc.parquet")
        users = pd.read_parquet(d / "ax" / "users.parquet")
        tdir = d / "world" / "truth"
        ceil = oracle(acc, tdir).merge(realized_all(tdir), on="org_id", how="outer")
        res = measure(acc, users, truth, ax, args.replicates, _gold(d / "lake"), ceil)
        rows.append((d.name, res))
        print(d.name, _brief(res), flush=True)
    for seed in args.alt_seeds:
        acc, users, truth = world(seed, with_perf=True)
        g = acc.groupby("org_id")[["perf", "n"]].sum()
        ceil = (g["perf"] / g["n"]).rename("oracle").reset_index()
        ceil = ceil.merge(truth.rename(columns={"theater_share": "realized_all"}), on="org_id")
        acc = acc.drop(columns="perf")
        res = measure(acc, users, truth, ax, args.replicates, None, ceil)
        rows.append((f"second family {seed}", res))
        print(seed, _brief(res), flush=True)
    print(
        "\n| run | orgs | published | user excess | 1 - accepted/shown "
        "| ceiling: realized, covered usage | realized, all usage "
        "| 90% interval: coverage | median width | below / above |"
    )
    print("|---|---:|---|---|---|---|---|---:|---:|---|")
    for name, r in rows:
        iv = r["intervals"]
        print(
            f"| {name} | {r['published']['n']} | {_cell(r['published'])} | "
            f"{_cell(r['user_excess'])} | {_cell(r['acceptance_rate'])} | "
            f"{_cell(r['oracle'])} | {_cell(r['realized_all'])} | "
            f"{iv['coverage']} (of {iv['orgs']}) | {iv['median_width']} | "
            f"{iv['below']} / {iv['above']} |"
        )
    if rows:  # pooled over the runs: every org's interval counts once
        cov = sum(r["intervals"]["covered"] for _, r in rows)
        orgs = sum(r["intervals"]["orgs"] for _, r in rows)
        widths = [x for _, r in rows for x in r["intervals"]["widths"]]
        print(
            f"\npooled: {cov} of {orgs} orgs covered ({cov / max(orgs, 1):.1%}); median width "
            f"{np.median(widths) if widths else float('nan'):.3f} over {len(widths)} intervals"
        )
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

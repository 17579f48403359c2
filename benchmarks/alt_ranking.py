"""The acceptance ranking on the second world family (``benchmarks/alt_world.py``): the
published estimator (``theater.signals.acceptance_excess.estimate``) against the two simple
estimators (``rank_compare``), per seed and per mix of features delivered.

Usage: python benchmarks/alt_ranking.py [--seeds 101 102 ...] [--sources X0 X1 ...]

Seeds 1-6 were looked at while the world was written; report on others. Mixes: ``all`` (every
counted feature), and one feature alone (``ide/inline_completion``, ``ide/chat``): the counts
of the other features are dropped, their usage still counts as usage (as when one export
arrives and the others do not). ``--sources``: the world delivered by several sources that count
outputs differently (``alt_world.vendor_delivery``, one inflation per source, e.g. ``0 0.5 0 1
0.2 0``); a one-feature mix then keeps that feature of every source. Pure pandas, seconds per
seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from alt_world import vendor_delivery, world  # noqa: E402
from rank_compare import rho, simple_estimators  # noqa: E402

from theater.signals import acceptance_excess as ax  # noqa: E402

MIXES = ("all", "ide/inline_completion", "ide/chat")
KEYS = ("published", "acceptance_rate", "user_excess", "ceiling")


def run(seed: int, mix: str, sources=None) -> dict:
    acc, users, truth = world(seed, with_perf=True)
    if sources:
        acc = vendor_delivery(acc, seed, sources)
    if mix != "all":
        acc = acc[(acc["feature"] == mix) | acc["feature"].str.endswith("/" + mix)]
    # the ceiling: the planted performative share of exactly the delivered counts (what a
    # perfect reading of them could rank by; it reads the truth, it is not an estimator)
    g = acc.groupby("org_id")[["perf", "n"]].sum()
    ceiling = (g["perf"] / g["n"]).rename("ceiling").reset_index()
    acc = acc.drop(columns="perf")
    est = ax.estimate(acc, users, ax.Settings(replicates=0))
    m = truth.merge(est.rename(columns={"share": "published"}), on="org_id", how="left")
    m = m.merge(simple_estimators(acc), on="org_id", how="left")
    m = m.merge(ceiling, on="org_id", how="left")
    common = m[list(KEYS)].notna().all(axis=1)
    return {
        "seed": seed,
        "mix": mix,
        **{k: rho(m.loc[common, k], m.loc[common, "theater_share"]) for k in KEYS},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(101, 111)))
    ap.add_argument("--mixes", nargs="+", default=list(MIXES))
    ap.add_argument("--sources", type=float, nargs="+")
    args = ap.parse_args(argv)
    rows = [run(s, m, args.sources) for m in args.mixes for s in args.seeds]
    print("| seed | mix | orgs | published | 1 - accepted/shown | user excess | ceiling |")
    print("|---|---|---:|---|---|---|---|")
    for r in rows:
        cells = " | ".join(
            f"{r[k]['spearman']:.3f} ({r[k]['top_quarter']:.2f})"
            if r[k]["spearman"] is not None
            else "—"
            for k in KEYS
        )
        print(f"| {r['seed']} | {r['mix']} | {r['published']['n']} | {cells} |")
    print(
        "\n| mix | mean Spearman: published | 1 - accepted/shown | user excess | ceiling | runs |"
    )
    print("|---|---|---|---|---|---:|")
    for mix in args.mixes:
        rr = [r for r in rows if r["mix"] == mix]
        means = [np.nanmean([r[k]["spearman"] or np.nan for r in rr]) for k in KEYS]
        print(f"| {mix} | " + " | ".join(f"{x:.3f}" for x in means) + f" | {len(rr)} |")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    pd.set_option("mode.chained_assignment", None)
    sys.exit(main())

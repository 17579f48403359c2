"""The acceptance ranking on many synthetic worlds quickly, without the pipeline: the native
world (``theater.synth.generate``) reduced to the counts a GitHub Copilot users report of its
IDE tool would give (per user and feature: interactions shown, those without a used
disposition; the vendor delivery's feature mapping), then the published estimator against the
two simple estimators (``rank_compare``) and the planted share of the IDE tool's interactions
(a ceiling: what a perfect reading of these counts could rank by).

Usage: python benchmarks/fast_ranking.py --seeds 1001 1002 ... [--out DIR]

The estimator's inputs are built here, not by ingest/refine/score, so the figures check the
estimator, not the pipeline (``vendor_ranking.py`` does both). Users frame: usage = the user's
counted outputs, no incentive. Orgs: those with at least 10 users (the privacy floor).
Seeds 1001-1012 were used while choosing how measured outputs carry each user's excess.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as pads

sys.path.insert(0, str(Path(__file__).parent))
from rank_compare import rho, simple_estimators  # noqa: E402

from theater.columns import USED  # noqa: E402
from theater.signals import acceptance_excess as ax  # noqa: E402
from theater.synth import generate  # noqa: E402
from theater.synth.exports.github_copilot_users import GH_FEATURE  # noqa: E402

KEYS = ("published", "acceptance_rate", "user_excess", "oracle")


def counts(seed: int, root: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    out = root / f"w{seed}"
    generate(
        out,
        seed=seed,
        n_orgs=24,
        n_users=1200,
        start=date(2026, 7, 1),
        end=date(2026, 8, 26),
        formats="parquet",
        progress=lambda m: None,
    )
    files = sorted(str(p) for p in (out / "landing" / "interactions").rglob("*.parquet"))
    cols = ["event_id", "user_id", "tool", "action", "output_disposition"]
    d = pads.dataset(files, format="parquet").to_table(columns=cols).to_pandas()
    t = pd.read_csv(
        out / "truth" / "interactions.csv", usecols=["event_id", "tool", "org_id"], dtype=str
    )
    ide = d.merge(t, on=["event_id", "tool"]).query("tool == 'ide'").copy()
    ide["feature"] = "gh/" + ide["action"].map(GH_FEATURE).fillna("chat_panel_ask_mode")
    ide["k"] = (~ide["output_disposition"].isin(USED)).astype(float)
    acc = (
        ide.groupby(["org_id", "user_id", "feature"])
        .agg(n=("k", "size"), k=("k", "sum"))
        .reset_index()
        .rename(columns={"user_id": "user_key"})
    )
    acc["n"] = acc["n"].astype(float)
    users = acc.groupby(["org_id", "user_key"])["n"].sum().rename("usage").reset_index()
    users["incentive"] = np.nan
    orgs = pd.read_csv(out / "truth" / "orgs.csv")
    ti = pd.read_csv(out / "truth" / "interactions.csv", usecols=["tool", "is_theater", "org_id"])
    ceiling = ti[ti["tool"] == "ide"].groupby("org_id")["is_theater"].mean().rename("oracle")
    truth = orgs[orgs["n_users"] >= 10][["org_id", "theater_share"]].merge(
        ceiling.reset_index(), on="org_id"
    )
    shutil.rmtree(out, ignore_errors=True)
    return acc, users, truth


def run(seed: int, root: Path) -> dict:
    acc, users, truth = counts(seed, root)
    est = ax.estimate(acc, users, ax.Settings(replicates=0))
    m = truth.merge(
        est.rename(columns={"share": "published"})[["org_id", "published"]], on="org_id"
    )
    m = m.merge(simple_estimators(acc), on="org_id").dropna()  # the orgs every figure has
    return {"seed": seed, **{k: rho(m[k], m["theater_share"]) for k in KEYS}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(2001, 2011)))
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="fast-rank-"))
    rows = []
    for s in args.seeds:
        rows.append(run(s, root))
        print(rows[-1], flush=True)
    print(
        "\n| seed | orgs | published | 1 - accepted/shown | user excess | ceiling (planted IDE) |"
    )
    print("|---|---:|---|---|---|---|")
    for r in rows:
        cells = " | ".join(f"{r[k]['spearman']:.3f} ({r[k]['top_quarter']:.2f})" for k in KEYS)
        print(f"| {r['seed']} | {r['published']['n']} | {cells} |")
    means = [np.mean([r[k]["spearman"] for r in rows]) for k in KEYS]
    print("| mean | | " + " | ".join(f"{x:.3f}" for x in means) + " |")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

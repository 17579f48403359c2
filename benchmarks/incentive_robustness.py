"""Quota-filler recall and hard-negative false positives on varied generated worlds.

Usage: python benchmarks/incentive_robustness.py [--set tuning|held-out|both] [--quick]
       [--orgs 6 --users 900] [--out benchmarks/out/incentive_robustness]

Seed sets (fixed here, never changed after the figures in RESULTS.md were taken):

- TUNING seeds 2001-2016: the only worlds looked at while changing the detector (2001-2004
  were run for the 2026-11-30 change).
- HELD-OUT seeds 3001-3016: run once the detector was settled; their figures are the ones
  reported (3001-3008 on 2026-11-30, one world per family). ``--quick`` runs the first 4 seeds of a set (one world per variation family for
  four families).

Each seed picks a variation family (``seed % len(FAMILIES)``) and draws that family's knobs from
its own generator (:func:`variation_for`):

==================  =========================================================================
standard            the standard world (``Variation()``)
quota_levels        quotas drawn from {6, 8, 12, 18, 24, 30, 40} instead of 10/15/20/25
quota_change        every quota org's quota changes mid-period (up or down) with p 0.8
quota_share         share of orgs with a quota 0.15-0.6 (the rest have none)
heterogeneity       sd of log weekly activity 0.7-1.0 (standard 0.45)
holidays            1-2 holiday weeks, 60-85% of users away
hidden_fillers      only 30-50% of fillers' outputs detectably unused (standard 75%)
mixed               all of the above at once
==================  =========================================================================

For each world: ``theater.synth.generate`` a quarter (2026Q3; ``--orgs`` orgs, ``--users``
users; defaults 6 and 1,500: a regime needs >= 100 users and 1,000 user-weeks near its quota
to be measured at all), then ingest,
refine and score on Sail + Delta (MLflow and GX off, 50 bootstrap replicates), then compare
gold/interaction_labels with truth/interactions.csv and truth/hard_negatives.csv:

- quota-filler recall, **interaction level**: share of the planted quota_filler interactions
  with ``is_theater`` true (NA counts as not flagged). This is how the e2e test and the issue's
  0.75 / 0.48 figures are measured (per-mechanism recall of is_theater).
- hidden-filler recall: the same over fillers whose output is not detectably unused (no
  disposition, no dwell): what only the bunching signal can find.
- hard-negative FP rate: share of the generator's hard negatives (heavy users, iterative chats,
  shared templates, long summaries, exact 10/20-a-week heapers) with ``is_theater`` true; and
  the share of hard negatives the bunching signal touched at all (weight > 0).

Writes one JSON line per world to ``<out>/<set>.jsonl`` (a world already there is skipped, so a
run can be resumed) and prints per-family and overall figures (interaction-weighted, pooled over
worlds).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TUNING = list(range(2001, 2017))
HELD_OUT = list(range(3001, 3017))
FAMILIES = (
    "standard",
    "quota_levels",
    "quota_change",
    "quota_share",
    "heterogeneity",
    "holidays",
    "hidden_fillers",
    "mixed",
)


def variation_for(seed: int):
    """(family, Variation) of a seed: the family from ``seed % 8``, knobs from the seed."""
    from theater.synth import Variation

    fam = FAMILIES[seed % len(FAMILIES)]
    r = np.random.default_rng([seed, 6])
    levels = tuple(int(x) for x in sorted(r.choice([6, 8, 12, 18, 24, 30, 40], 3, replace=False)))
    knobs = {
        "quota_levels": {"quota_levels": levels},
        "quota_change": {"quota_change": 0.8},
        "quota_share": {"quota_share": round(float(r.uniform(0.15, 0.6)), 2)},
        "heterogeneity": {"rate_sigma": round(float(r.uniform(0.7, 1.0)), 2)},
        "holidays": {
            "holiday_weeks": int(r.integers(1, 3)),
            "holiday_away": round(float(r.uniform(0.6, 0.85)), 2),
        },
        "hidden_fillers": {"filler_unused": round(float(r.uniform(0.3, 0.5)), 2)},
    }
    if fam == "standard":
        return fam, Variation()
    if fam == "mixed":
        merged: dict = {}
        for k in knobs.values():
            merged.update(k)
        return fam, Variation(**merged)
    return fam, Variation(**knobs[fam])


def one_world(seed: int, work_root: Path, n_orgs: int, n_users: int) -> dict:
    import pandas as pd
    from pyspark.sql import functions as F

    from theater import synth
    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake
    from theater.period import Period
    from theater.pipeline import run_pipeline

    fam, var = variation_for(seed)
    period = Period.quarter("2026Q3")
    work = work_root / f"tmp_{seed}"
    if work.exists():
        shutil.rmtree(work)
    t0 = time.time()
    synth.generate(
        work,
        seed=seed,
        n_orgs=n_orgs,
        n_users=n_users,
        start=period.start,
        end=period.end,
        formats="parquet",
        variation=var,
    )
    cfg = load_config(
        env="local",
        overrides={
            "paths.state": str(work / "state"),
            "tracking.enabled": False,
            "quality.enabled": False,
            "scoring.bootstrap.replicates": 50,
        },
    )
    metrics = run_pipeline(
        cfg,
        period,
        landing=str(work / "landing"),
        lake_root=str(work / "lake"),
        progress=lambda m: None,
    )
    with session(cfg) as spark:
        labels = (
            Lake(str(work / "lake"))
            .read(spark, "gold/interaction_labels")
            .select(
                "tool",
                "event_id",
                F.col("is_theater").alias("flag"),
                F.coalesce(F.col("sig_quota_bunching"), F.lit(0.0)).alias("w_q"),
                F.coalesce(F.col("sig_unused_output"), F.lit(False)).alias("unused"),
            )
            .toPandas()
        )
    truth = pd.read_csv(work / "truth" / "interactions.csv", dtype={"event_id": str})
    hard = pd.read_csv(work / "truth" / "hard_negatives.csv", dtype={"event_id": str})
    row = summarize(labels, truth, hard)
    regimes = metrics.get("score", {}).get("incentives", {}).get("quota_bunching", [])
    row.update(
        seed=seed,
        family=fam,
        variation=var.as_dict(),
        regimes=[
            {
                k: e.get(k)
                for k in (
                    "org_id",
                    "weekly_quota",
                    "status",
                    "b",
                    "z",
                    "weight",
                    "no_use_bunched",
                    "no_use_reference",
                    "weight_evidence",
                    "weight_no_use",
                    "weight_use",
                )
            }
            for e in regimes
        ],
        seconds=round(time.time() - t0, 1),
    )
    shutil.rmtree(work)
    return row


def summarize(labels, truth, hard) -> dict:
    """Counts for recall and FP rates from the labels, the truth and the hard negatives."""
    m = truth.merge(labels, on=["tool", "event_id"], how="left")
    flagged = m["flag"].astype("boolean").fillna(False).astype(bool)
    w_q = m["w_q"].fillna(0.0)
    fill = (m["mechanism"] == "quota_filler").to_numpy()
    hidden = fill & ~m["unused"].astype("boolean").fillna(False).astype(bool).to_numpy()
    h = hard.merge(
        m.assign(flagged=flagged, w_q=w_q)[["tool", "event_id", "flagged", "w_q"]],
        on=["tool", "event_id"],
        how="left",
    )
    h_flag = h["flagged"].fillna(False).astype(bool)
    hw = h["w_q"].fillna(0.0) > 0
    clean = h["honest_failure"] == 0
    genuine = (m["is_theater"] == 0).to_numpy()
    return {
        "genuine": int(genuine.sum()),
        "genuine_flagged": int(flagged[genuine].sum()),
        "genuine_flagged_weighted": int((flagged & (w_q > 0))[genuine].sum()),
        "fillers": int(fill.sum()),
        "fillers_flagged": int(flagged[fill].sum()),
        "fillers_weighted": int((w_q[fill] > 0).sum()),
        "hidden": int(hidden.sum()),
        "hidden_flagged": int(flagged[hidden].sum()),
        "hard_negatives": int(len(h)),
        "hard_flagged": int(h_flag.sum()),
        "hard_weighted": int(hw.sum()),
        "hard_flagged_weighted": int((h_flag & hw).sum()),
        "hard_clean": int(clean.sum()),
        "hard_clean_flagged": int((h_flag & clean).sum()),
        "hard_by_kind": {
            k: [int(len(g)), int(h_flag[g.index].sum())] for k, g in h.groupby("kind")
        },
    }


def report(rows: list[dict], title: str) -> None:
    def fig(rs):
        f = sum(r["fillers"] for r in rs)
        ff = sum(r["fillers_flagged"] for r in rs)
        fw = sum(r["fillers_weighted"] for r in rs)
        hd = sum(r["hidden"] for r in rs)
        hdf = sum(r["hidden_flagged"] for r in rs)
        h = sum(r["hard_negatives"] for r in rs)
        hf = sum(r["hard_flagged"] for r in rs)
        hw = sum(r["hard_flagged_weighted"] for r in rs)
        hc = sum(r["hard_clean"] for r in rs)
        hcf = sum(r["hard_clean_flagged"] for r in rs)
        gn = sum(r["genuine"] for r in rs)
        gfw = sum(r["genuine_flagged_weighted"] for r in rs)
        per_world = [r["fillers_flagged"] / r["fillers"] for r in rs if r["fillers"]]
        return (
            f"{len(rs):>2} worlds  fillers {f:>6}  recall {ff / f if f else float('nan'):.3f}"
            f" (worst world {min(per_world) if per_world else float('nan'):.3f})"
            f"  hidden {hdf / hd if hd else float('nan'):.3f}"
            f"  bunching weight on {fw / f if f else float('nan'):.3f}"
            f"  hard-neg FP {hf / h if h else float('nan'):.4f}"
            f" (excl. honest failures {hcf / hc if hc else float('nan'):.4f};"
            f" flagged with bunching weight {hw / h if h else float('nan'):.4f})"
            f"  genuine flagged with bunching weight {gfw / gn if gn else float('nan'):.4f}"
        )

    print(f"\n{title}")
    for fam in FAMILIES:
        rs = [r for r in rows if r["family"] == fam]
        if rs:
            print(f"  {fam:<15} {fig(rs)}")
    print(f"  {'overall':<15} {fig(rows)}")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--set", choices=("tuning", "held-out", "both"), default="held-out")
    p.add_argument("--quick", action="store_true", help="first 4 seeds of each set")
    p.add_argument("--seeds", default=None, help="explicit seeds (comma list), overrides --set")
    p.add_argument("--orgs", type=int, default=6)
    p.add_argument("--users", type=int, default=1500)
    p.add_argument("--out", default=str(HERE / "out" / "incentive_robustness"))
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    sets = {"tuning": TUNING, "held-out": HELD_OUT}
    chosen = ["tuning", "held-out"] if a.set == "both" else [a.set]
    for name in chosen:
        seeds = sets[name][:4] if a.quick else sets[name]
        if a.seeds:
            seeds = [int(s) for s in a.seeds.split(",") if int(s) in sets[name]]
        path = out / f"{name}.jsonl"
        done = {}
        if path.exists():
            for line in path.read_text().splitlines():
                r = json.loads(line)
                done[r["seed"]] = r
        for seed in seeds:
            if seed in done:
                continue
            r = one_world(seed, out, a.orgs, a.users)
            with path.open("a") as fh:
                fh.write(json.dumps(r) + "\n")
            done[seed] = r
            print(
                f"{name} seed {seed} {r['family']}: recall "
                f"{r['fillers_flagged']}/{r['fillers']}, hard FP "
                f"{r['hard_flagged']}/{r['hard_negatives']} ({r['seconds']} s)",
                flush=True,
            )
        report([done[s] for s in seeds if s in done], f"{name} seeds {seeds[0]}-{seeds[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

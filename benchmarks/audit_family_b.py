"""The audit loop on family-B worlds: the real detector on worlds we did not design.

Usage: python benchmarks/audit_family_b.py --seeds 5001,5002 [--teams 20] [--users-scale 0.5]
       [--sizes 100,300,1000] [--out benchmarks/out/audit_family_b]

Per seed: ``theater.synth.family_b.generate_b`` a quarter (2026Q3; its own episode mechanics:
quota fillers and checkpoint bursts are its only theater, with hard negatives the detector was
not built on), then ingest, refine and score (embedded Sail, Delta; MLflow and GX off), and
keep ``world_<seed>.parquet`` (one row per scored interaction of a published org, with the
truth's ``is_theater``) and ``world_<seed>_orgs.csv`` (each published org's realized share).
A world already written is reused.

Then, for every size and both sample designs (``signal``: org x detector output; ``grouped``:
org x flagged / not), the audit the CLI would run: :func:`theater.audit.sample.draw` (what
``theater audit sample`` draws), labels from the truth (a perfect reviewer), the labels'
calibration of the detector's probability (:func:`theater.audit.calibrate.fit`, as the score
stage re-run applies it), and the score stage's estimator on the cells the labels' design
reads (:func:`theater.audit.design.align`). Coverage of the 90% interval and its mean width
against each org's realized share. Appends one JSON line per (seed, size, design) to
``<out>/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def build_world(seed: int, out: Path, teams: int, users_scale: float) -> None:
    from pyspark.sql import functions as F

    from theater.audit.sample import published_orgs
    from theater.audit.simulate import scored_world
    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake
    from theater.period import Period
    from theater.pipeline import run_pipeline
    from theater.synth.family_b import generate_b

    period = Period.quarter("2026Q3")
    work = out / f"tmp_{seed}"
    if work.exists():
        shutil.rmtree(work)
    t0 = time.time()
    generate_b(
        work, seed=seed, n_teams=teams, start=period.start, end=period.end, users_scale=users_scale
    )
    cfg = load_config(
        env="local",
        environ={},
        overrides={
            "paths.state": str(work / "state"),
            "tracking.enabled": False,
            "quality.enabled": False,
            "scoring.bootstrap.replicates": 50,
        },
    )
    run_pipeline(
        cfg,
        period,
        landing=str(work / "landing"),
        lake_root=str(work / "lake"),
        progress=lambda m: None,
    )
    lake = Lake(str(work / "lake"))
    with session(cfg) as spark:
        df = scored_world(spark, lake, work / "truth")
        pub = published_orgs(spark, lake, period)
        keep = set(pub.toPandas()["org_id"]) if pub is not None else set()
        idx = (
            lake.read(spark, "gold/org_theater_index")
            .select("org_id", F.col("theater_index").alias("detector_index"))
            .toPandas()
        )
    df = df[df["org_id"].isin(keep)]
    orgs = (
        df.groupby("org_id")
        .agg(theater_share=("is_theater", "mean"), interactions=("event_id", "size"))
        .reset_index()
        .merge(idx, on="org_id", how="left")
    )
    df.to_parquet(out / f"world_{seed}.parquet", index=False)
    orgs.to_csv(out / f"world_{seed}_orgs.csv", index=False)
    shutil.rmtree(work)
    print(
        json.dumps(
            {
                "seed": seed,
                "interactions": len(df),
                "orgs": len(orgs),
                "seconds": round(time.time() - t0, 1),
            }
        ),
        flush=True,
    )


def audit(df: pd.DataFrame, orgs: pd.DataFrame, size: int, seed: int, design: str) -> dict:
    from theater.audit import calibrate, plan, sample
    from theater.audit import design as dsg
    from theater.audit.estimate import Settings, estimate, pooled_rates

    drawn = sample.draw(df, size, seed, design=design)
    labels = drawn.assign(label=drawn["is_theater"].astype(int))
    labels["signals"] = labels["flags"]
    # the score stage re-run calibrates the probability per detector output, then estimates
    mapping = calibrate.fit(dsg.output_strata(labels))
    out_st = df["stratum_signal"]
    flagged_rate = mapping.get(sample.FLAGGED)
    p = out_st.map(mapping)
    if flagged_rate is not None:
        p = p.fillna(pd.Series(np.where(out_st != sample.NONE, flagged_rate, np.nan), df.index))
    cal = df.assign(theater_probability=p.fillna(df["theater_probability"]))
    labels["theater_probability"] = (
        cal.set_index(["tool", "event_id"])
        .loc[list(zip(labels["tool"], labels["event_id"])), "theater_probability"]
        .to_numpy()
    )
    cal = cal.assign(stratum=cal["stratum_signal"])
    cells = cal.groupby(["org_id", "user_key", "stratum"], as_index=False).agg(
        n=("event_id", "size"), sum_p=("theater_probability", "sum")
    )
    cells, lab = dsg.align(cells, labels)
    est = estimate(cells, lab, Settings(replicates=2000))
    # what `theater audit plan` would then plan for the same audit (pooled once labelled)
    strata = sorted(cells["stratum"].unique())
    pr = pooled_rates(lab, strata)
    rates = dict(zip(pr.strata, pr.rate))
    planned = {
        "plan_own": round(float(plan.widths(cells, rates, size)["width"].mean()), 2),
        "plan_pooled": round(
            float(plan.widths(cells, rates, size, tau2=est.attrs.get("pool_tau2"))["width"].mean()),
            2,
        ),
    }
    est = est.merge(orgs, on="org_id")
    est["covered"] = (est["ci_low"] <= est["theater_share"] + 1e-9) & (
        est["theater_share"] <= est["ci_high"] + 1e-9
    )
    w = 100 * (est["ci_high"] - est["ci_low"])
    return {
        "seed": seed,
        "labels": size,
        "design": design,
        "orgs": len(est),
        "covered": int(est["covered"].sum()),
        "coverage": round(float(est["covered"].mean()), 4),
        "mean_width_points": round(float(w.mean()), 2),
        "median_width_points": round(float(w.median()), 2),
        "mae": round(float((est["share"] - est["theater_share"]).abs().mean()), 4),
        "detector_mae": round(
            float((est["detector_share"] - est["theater_share"]).abs().mean()), 4
        ),
        **planned,
        "per_org": [
            [
                r.org_id,
                round(float(r.theater_share), 4),
                round(float(r.ci_low), 4),
                round(float(r.ci_high), 4),
                int(r.audit_n),
            ]
            for r in est.itertuples(index=False)
        ],
    }


def _planned(rs: list[dict]) -> str:
    p = [r for r in rs if "plan_pooled" in r]
    if not p:
        return ""
    own = np.mean([r["plan_own"] for r in p])
    seen = np.mean([r["mean_width_points"] for r in p])
    return f"{np.mean([r['plan_pooled'] for r in p]):.1f} ({own:.1f}) against {seen:.1f}, {len(p)} draws"


def summarize(path: Path) -> str:
    """Markdown table of ``results.jsonl``: per size and design, pooled over worlds and draws."""
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    lines = [
        "| labels | design | worlds | draws | org intervals | coverage of the 90% interval "
        "(binomial 95%) | mean width (points) | median width | MAE | detector-only MAE "
        "(calibrated) | planned width, pooled (own labels) against observed on the same draws |",
        "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    keys = sorted(
        {(r["labels"], r["design"]) for r in rows}, key=lambda k: (k[0], k[1] != "signal")
    )
    for n, d in keys:
        rs = [r for r in rows if r["labels"] == n and r["design"] == d]
        orgs = [o for r in rs for o in r["per_org"]]
        cov = np.array([lo - 1e-9 <= t <= hi + 1e-9 for _, t, lo, hi, _ in orgs], float)
        w = np.array([100 * (hi - lo) for _, _, lo, hi, _ in orgs])
        m, k = len(cov), cov.mean()
        se = np.sqrt(k * (1 - k) / m)
        worlds = {r.get("world", r["seed"]) for r in rs}
        lines.append(
            f"| {n:,} | {d} | {len(worlds)} | {len(rs)} | {m:,} | **{k:.3f}** "
            f"({max(k - 1.96 * se, 0):.3f}-{min(k + 1.96 * se, 1):.3f}) | {w.mean():.1f} | "
            f"{np.median(w):.1f} | {np.mean([r['mae'] for r in rs]):.4f} | "
            f"{np.mean([r['detector_mae'] for r in rs]):.4f} | {_planned(rs)} |"
        )
    raw = []
    for wseed in sorted({r.get("world", r["seed"]) for r in rows}):
        o = pd.read_csv(path.parent / f"world_{wseed}_orgs.csv")
        raw.append(float((o["detector_index"] / 100 - o["theater_share"]).abs().mean()))
        lines.append(
            f"\nworld {wseed}: {len(o)} orgs, realized shares {o['theater_share'].min():.3f}-"
            f"{o['theater_share'].max():.3f}, detector-only index MAE (no audit) {raw[-1]:.4f}"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", default="5001")
    p.add_argument("--teams", type=int, default=20)
    p.add_argument("--users-scale", type=float, default=0.5)
    p.add_argument("--sizes", default="100,300,1000")
    p.add_argument("--designs", default="signal,grouped")
    p.add_argument(
        "--redraws",
        default="0",
        help="audit draws per world and size, e.g. 0 or 1-3: draw r has seed 100 seed + r "
        "(0: the seed itself)",
    )
    p.add_argument("--build-only", action="store_true")
    p.add_argument("--summary", action="store_true", help="print the table of results.jsonl")
    p.add_argument("--out", default=str(HERE / "out" / "audit_family_b"))
    a = p.parse_args()
    out = Path(a.out)
    if a.summary:
        print(summarize(out / "results.jsonl"))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for seed in [int(s) for s in a.seeds.split(",")]:
        if not (out / f"world_{seed}.parquet").exists():
            build_world(seed, out, a.teams, a.users_scale)
        if a.build_only:
            continue
        from theater.audit import sample

        df = pd.read_parquet(out / f"world_{seed}.parquet")
        df["stratum_signal"] = sample.strata(df["flags"])
        orgs = pd.read_csv(out / f"world_{seed}_orgs.csv")[["org_id", "theater_share"]]
        lo, _, hi = a.redraws.partition("-")
        for k in range(int(lo), int(hi or lo) + 1):
            draw_seed = seed if k == 0 else 100 * seed + k
            for n in [int(x) for x in a.sizes.split(",")]:
                for d in a.designs.split(","):
                    r = audit(df, orgs, n, draw_seed, d)
                    r.update(world=seed, redraw=k)
                    with open(out / "results.jsonl", "a") as fh:
                        fh.write(json.dumps(r) + "\n")
                    print(
                        f"seed {seed} draw {k} labels {n} {d}: coverage "
                        f"{r['covered']}/{r['orgs']}, "
                        f"width {r['mean_width_points']}, MAE {r['mae']} (detector "
                        f"{r['detector_mae']})",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

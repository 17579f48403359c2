"""Coverage of the audited (sampling+detector) interval over generated worlds.

Usage: python benchmarks/audit_coverage.py --simulated [--worlds-per-case 50]
       [--first-seed 20000] [--sizes 100,300,1000] [--cases good,anti] [--out F.json]
       [--set bound_weight=0.5] [--min-per-cell 2] [--neyman] [--grouped]
       python benchmarks/audit_coverage.py [--worlds benchmarks/out/audit_worlds]
       [--seeds 1001-1060] [--labels-per-org 42] [--redraws 1] [--set replicates=200]

``--simulated``: worlds from :mod:`theater.audit.simworld` (its own mechanics, not the
project's generator; 20 orgs each), one per seed, for each detector case (good, random,
constantly biased, anti-correlated in about half of the orgs, mixed) and a near-zero family
(8 of 20 orgs at 0-1%); every world is audited once at each size (``theater audit sample``'s
design, labels from the truth). Prints a markdown table of coverage of the 90% interval,
mean width, MAE and detector-only MAE per case and size, and writes JSON. Seeds from
``--first-seed`` on: the method was chosen on seeds 100-119, 500-519 and 900-929 and the CI
test uses 7000-7430.

Without ``--simulated``:
Reads the worlds ``benchmarks/audit_worlds.py`` wrote (one pipeline run each). For every world
and redraw: draw the stratified audit sample of ``theater audit sample`` (labels-per-org x orgs
labels), label it from the generator's truth, estimate every org's share with its 90% interval
(:func:`theater.audit.estimate.estimate`, the score stage's estimator) and compare with the
planted share (truth/orgs.csv). Orgs below privacy.min_users (10) are left out, as the index
suppresses them. Prints coverage (with its binomial 95% interval), mean width in index points,
MAE, Spearman, the org-level calibration slope and the held-out reliability slope of the
calibrated probabilities, and writes ``coverage.json`` beside the worlds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from audit_worlds import seeds_arg  # noqa: E402


def spearman(a, b):
    return float(pd.Series(a).rank().corr(pd.Series(b).rank()))


def summarize(all_est: pd.DataFrame, rels: list) -> dict:
    n = len(all_est)
    k = int(all_est["covered"].sum())
    cov = k / n
    se = np.sqrt(cov * (1 - cov) / n)
    by_world = all_est.groupby(["seed", "redraw"])
    sp = [spearman(g["share"], g["theater_share"]) for _, g in by_world]
    slope = np.polyfit(all_est["share"], all_est["theater_share"], 1)[0]
    det_slope = np.polyfit(all_est["detector_share"], all_est["theater_share"], 1)[0]
    rs = [r["slope"] for r in rels if r["slope"] is not None and np.isfinite(r["slope"])]
    raw = [r["raw_slope"] for r in rels if r.get("raw_slope") is not None]
    return {
        "org_quarters": n,
        "covered": k,
        "coverage": round(cov, 4),
        "coverage_ci95": [round(cov - 1.96 * se, 4), round(cov + 1.96 * se, 4)],
        "mean_width_points": round(float(100 * (all_est["ci_high"] - all_est["ci_low"]).mean()), 2),
        "mae": round(float((all_est["share"] - all_est["theater_share"]).abs().mean()), 4),
        "detector_mae": round(
            float((all_est["detector_share"] - all_est["theater_share"]).abs().mean()), 4
        ),
        "spearman_mean_per_world": round(float(np.nanmean(sp)), 4),
        "org_calibration_slope": round(float(slope), 3),
        "detector_org_calibration_slope": round(float(det_slope), 3),
        "reliability_slope_heldout_median": round(float(np.median(rs)), 3) if rs else None,
        "reliability_slope_heldout_mean": round(float(np.mean(rs)), 3) if rs else None,
        "raw_probability_slope_median": round(float(np.median(raw)), 3) if raw else None,
        "worlds": int(all_est["seed"].nunique()),
    }


def simulated(a) -> int:
    from theater.audit import sample, simworld
    from theater.audit.estimate import Settings
    from theater.audit.simulate import audit_once, width_floors, world_cells

    settings = Settings(**_settings_kw(a.set, {"replicates": a.replicates}))
    sizes = [int(x) for x in a.sizes.split(",")]
    families = [(c, c, 0) for c in simworld.CASES] + [("near-zero (8 of 20 orgs)", "mixed", 8)]
    # after the near-zero family, so that the earlier families keep their seeds
    families += [(c, c, 0) for c in simworld.EXTRA_CASES]
    want = set(a.cases.split(",")) if a.cases else None
    out, lines = [], []
    lines.append(
        "| detector | labels | worlds | org intervals | coverage of the 90% interval "
        "(binomial 95%) | mean width (points) | median width | MAE | detector-only MAE "
        "| floor: random labels | floor: stratified |"
    )
    lines.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for fi, (name, case, nz) in enumerate(families):
        if want and name.split(" ")[0] not in want:
            continue
        per_size = {n: [] for n in sizes}
        for w in range(a.worlds_per_case):
            seed = a.first_seed + 1000 * fi + w
            df, orgs = simworld.world(seed, case, near_zero=nz)
            df["stratum"] = sample.strata(df["flags"])  # once per world, not per audit
            if a.grouped:
                df["stratum"] = sample.grouped(df["stratum"])
            cells = world_cells(df)
            for n in sizes:
                est, labels = audit_once(
                    df, orgs, n, seed, settings, cells, a.neyman, a.min_per_cell
                )
                est = est.merge(orgs[["org_id", "near_zero"]], on="org_id")
                est = est.merge(width_floors(df, labels, settings.confidence), on="org_id")
                per_size[n].append(est.assign(seed=seed))
        for n in sizes:
            r = pd.concat(per_size[n], ignore_index=True)
            if nz:
                r = r[r["near_zero"]]
            k, m = int(r["covered"].sum()), len(r)
            cov = k / m
            se = np.sqrt(cov * (1 - cov) / m)
            width = 100 * (r["ci_high"] - r["ci_low"])
            row = {
                "detector": name,
                "labels": n,
                "worlds": a.worlds_per_case,
                "intervals": m,
                "coverage": round(cov, 4),
                "coverage_ci95": [round(cov - 1.96 * se, 4), round(min(cov + 1.96 * se, 1), 4)],
                "mean_width_points": round(float(width.mean()), 2),
                "median_width_points": round(float(width.median()), 2),
                "mae": round(float((r["share"] - r["theater_share"]).abs().mean()), 4),
                "detector_mae": round(
                    float((r["detector_share"] - r["theater_share"]).abs().mean()), 4
                ),
                "floor_srs_points": round(float(100 * r["srs"].mean()), 2),
                "floor_strat_points": round(float(100 * r["strat"].mean()), 2),
            }
            out.append(row)
            lines.append(
                f"| {name} | {n:,} | {row['worlds']} | {m:,} | **{cov:.3f}** "
                f"({row['coverage_ci95'][0]:.3f}-{row['coverage_ci95'][1]:.3f}) | "
                f"{row['mean_width_points']:.1f} | {row['median_width_points']:.1f} | "
                f"{row['mae']:.4f} | {row['detector_mae']:.4f} | "
                f"{row['floor_srs_points']:.1f} | {row['floor_strat_points']:.1f} |"
            )
            print(lines[-1], flush=True)
    print("\n".join(lines))
    path = Path(a.out) if a.out else HERE / "out" / "audit_coverage_simulated.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "settings": a.set,
        "allocation": "neyman" if a.neyman else "proportional",
        "min_per_cell": a.min_per_cell,
        "design": "grouped (none / flagged)" if a.grouped else "by detector output",
    }
    path.write_text(json.dumps({**meta, "results": out}, indent=2) + "\n")
    return 0


def _settings_kw(items, kw):
    from theater.audit.estimate import Settings

    for item in items:
        k, _, v = item.partition("=")
        kw[k] = (
            type(getattr(Settings, k))(v)
            if not isinstance(getattr(Settings, k), bool)
            else v.lower() in ("1", "true", "yes")
        )
    return kw


def main() -> int:
    from theater.audit import sample
    from theater.audit.estimate import Settings
    from theater.audit.simulate import audit_world

    p = argparse.ArgumentParser()
    p.add_argument("--worlds", default=str(HERE / "out" / "audit_worlds"))
    p.add_argument("--seeds", type=seeds_arg, default=None)
    p.add_argument("--labels-per-org", type=int, default=42, dest="labels_per_org")
    p.add_argument("--redraws", type=int, default=1)
    p.add_argument("--replicates", type=int, default=500)
    p.add_argument("--set", action="append", default=[], help="Settings field=value")
    p.add_argument("--out", help="JSON file (default: <worlds>/coverage.json)")
    p.add_argument("--simulated", action="store_true", help="theater.audit.simworld worlds")
    p.add_argument("--worlds-per-case", type=int, default=50, dest="worlds_per_case")
    p.add_argument("--first-seed", type=int, default=20000, dest="first_seed")
    p.add_argument("--sizes", default="100,300,1000", help="labels per audit, comma-separated")
    p.add_argument("--cases", help="only these detector cases (comma-separated; near-zero)")
    p.add_argument("--min-per-cell", type=int, default=2, dest="min_per_cell")
    p.add_argument(
        "--neyman",
        action="store_true",
        help="Neyman-type allocation on the detector's probability (theater.audit.sample)",
    )
    p.add_argument(
        "--grouped",
        action="store_true",
        help="two design strata per org, none / flagged (theater.audit.sample.grouped)",
    )
    a = p.parse_args()
    if a.simulated:
        return simulated(a)
    folder = Path(a.worlds)
    files = sorted(folder.glob("world_*.parquet"))
    if a.seeds:
        files = [f for f in files if int(f.stem.split("_")[1]) in set(a.seeds)]
    kw = _settings_kw(a.set, {"replicates": a.replicates})
    settings = Settings(**kw)
    rows, rels = [], []
    for f in files:
        seed = int(f.stem.split("_")[1])
        df = pd.read_parquet(f)
        df["stratum"] = sample.strata(df["flags"])
        orgs = pd.read_csv(folder / f"world_{seed}_orgs.csv")
        for r in range(a.redraws):
            est, rel, n_lab = audit_world(df, orgs, a.labels_per_org, seed * 1000 + r, settings)
            rows.append(est.assign(seed=seed, redraw=r, labels=n_lab))
            rels.append(rel)
    all_est = pd.concat(rows, ignore_index=True)
    res = {
        "settings": kw,
        "labels_per_org": a.labels_per_org,
        "redraws": a.redraws,
        **summarize(all_est, rels),
    }
    print(json.dumps(res, indent=2))
    out = Path(a.out) if a.out else folder / "coverage.json"
    out.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Incentive detection per interaction on two independent world families.

Usage: python benchmarks/incentive_families.py --family A|B [--seeds 3001,3002] [--teams 6]
       [--out benchmarks/out/incentive_families]

- Family A: ``theater.synth.generate`` with the robustness harness's varied worlds
  (``incentive_robustness.variation_for``; 6 orgs, 1,500 users, 2026Q3). The detectors were
  designed and tuned on this family (tuning seeds 2001-2016); its held-out seeds are 3001-3016.
- Family B: ``theater.synth.family_b.generate_b`` (new code, shares nothing with family A: other
  top-up timing, fillers that look used, a quota per team, other review cadences, release
  crunches and on-call weeks as hard negatives). Held out: seeds 5001-5016, never used to change
  the detector; tuning: 5101-5116 (looked at while changing it).

Per world: generate, then ingest, refine, score on Sail + Delta (MLflow and GX off, 50
bootstrap replicates), then compare gold/interaction_labels with the truth:

- recall per mechanism (quota_filler, checkpoint_burst): share of the planted interactions with
  ``is_theater`` true (NA counts as not flagged), and the share that got any incentive weight;
- hard-negative FP: share of the hard negatives with ``is_theater`` true, all and without their
  honest failures (genuinely unused outputs, which the unused-output signal flags whatever the
  incentives), and per kind;
- per org: planted incentive share (fillers + bursts) against the org's mean incentive weight
  (the org-level figure the incentive index publishes), to see what reaches the org level when
  individual interactions cannot be told apart.

Writes one JSON line per world to ``<out>/<family>.jsonl`` (worlds already there are skipped;
with the planted top-up and burst shares per org) and prints pooled figures
(interaction-weighted over worlds); keeps the org-level share's inputs per world in
``<out>/share_inputs_<family>_<seed>.pkl`` for ``incentive_org_share.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
A_TUNING = list(range(2001, 2017))
A_HELD_OUT = list(range(3001, 3017))
B_HELD_OUT = list(range(5001, 5017))


def generate(family: str, seed: int, work: Path, teams: int) -> dict:
    from theater.period import Period

    period = Period.quarter("2026Q3")
    if family == "B":
        from theater.synth.family_b import generate_b

        s = generate_b(work, seed=seed, n_teams=teams, start=period.start, end=period.end)
        return {"family_detail": "B", "mechanisms": s["mechanisms"]}
    sys.path.insert(0, str(HERE))
    from incentive_robustness import variation_for

    from theater import synth

    fam, var = variation_for(seed)
    s = synth.generate(
        work,
        seed=seed,
        n_orgs=6,
        n_users=1500,
        start=period.start,
        end=period.end,
        formats="parquet",
        variation=var,
    )
    return {"family_detail": fam, "mechanisms": s["mechanisms"]}


def keep_share_inputs(path: Path | None):
    """Wrap ``stages.incentives.org_shares`` so that its inputs (the org-level share's driver
    side: bunching estimates, checkpoint calendar, user-day counts, per-user usage) are pickled
    to ``path``: the org-level estimator can then be re-run on the world without the pipeline
    (``benchmarks/incentive_org_share.py``). Returns a function that restores the original."""
    from theater.stages import incentives

    orig = incentives.org_shares
    if path is None:
        return lambda: None

    def wrapped(inc, users, replicates, confidence, seed):
        import pickle

        import pandas as pd

        day_counts = inc.day_counts if inc else None
        if inc is not None and inc.day_chunks is not None:
            # collected once here; the estimate below reads the same parts
            parts = [c for c in inc.day_chunks() if c is not None]
            inc.day_chunks = lambda: parts
            day_counts = pd.concat(parts, ignore_index=True) if parts else None
        with path.open("wb") as fh:
            pickle.dump(
                {
                    "bunching": inc.bunching if inc else [],
                    "calendar": inc.calendar if inc else None,
                    "day_counts": day_counts,
                    "users": users,
                    "replicates": replicates,
                    "confidence": confidence,
                    "seed": seed,
                    "period": inc.period if inc else None,
                },
                fh,
            )
        return orig(inc, users, replicates, confidence, seed)

    incentives.org_shares = wrapped

    def restore():
        incentives.org_shares = orig

    return restore


def score_world(
    work: Path, replicates: int = 50, partitions: int | None = None, keep: Path | None = None
) -> dict:
    """Run the pipeline on ``work/landing``; return the labels (pandas) and the run's metrics.
    ``keep``: where to pickle the org-level share's inputs (:func:`keep_share_inputs`)."""
    from pyspark.sql import functions as F

    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake
    from theater.period import Period
    from theater.pipeline import run_pipeline

    period = Period.quarter("2026Q3")
    over = {
        "paths.state": str(work / "state"),
        "tracking.enabled": False,
        "quality.enabled": False,
        "scoring.bootstrap.replicates": replicates,
    }
    if partitions:
        over["spark.shuffle_partitions"] = partitions
    cfg = load_config(env="local", environ={}, overrides=over)
    restore = keep_share_inputs(keep)
    try:
        metrics = run_pipeline(
            cfg,
            period,
            landing=str(work / "landing"),
            lake_root=str(work / "lake"),
            progress=lambda m: None,
        )
    finally:
        restore()
    with session(cfg) as spark:
        labels = (
            Lake(str(work / "lake"))
            .read(spark, "gold/interaction_labels")
            .select(
                "tool",
                "event_id",
                F.col("is_theater").alias("flag"),
                F.coalesce(F.col("sig_quota_bunching"), F.lit(0.0)).alias("w_q"),
                F.coalesce(F.col("sig_checkpoint_burst"), F.lit(0.0)).alias("w_c"),
            )
            .toPandas()
        )
        orgs = (
            Lake(str(work / "lake"))
            .read(spark, "gold/org_theater_index")
            .select(
                "org_id",
                "incentive_index",
                "incentive_ci_low",
                "incentive_ci_high",
                "incentive_excess",
                "incentive_excess_ci_low",
                "incentive_excess_ci_high",
            )
            .toPandas()
        )
    return {"labels": labels, "metrics": metrics, "orgs": orgs}


def summarize(labels, truth, hard) -> dict:
    """Counts per mechanism and per hard-negative kind (pooled later)."""
    m = truth.merge(labels, on=["tool", "event_id"], how="left")
    flag = m["flag"].astype("boolean").fillna(False).astype(bool)
    wq, wc = m["w_q"].fillna(0.0), m["w_c"].fillna(0.0)
    out: dict = {"interactions": int(len(m))}
    for mech in ("quota_filler", "checkpoint_burst"):
        sel = (m["mechanism"] == mech).to_numpy()
        w = wq if mech == "quota_filler" else wc
        out[mech] = [int(sel.sum()), int(flag[sel].sum()), int((w[sel] > 0).sum())]
    genuine = (m["is_theater"] == 0).to_numpy()
    out["genuine"] = [int(genuine.sum()), int(flag[genuine].sum())]
    h = hard.merge(
        m.assign(flagged=flag)[["tool", "event_id", "flagged"]], on=["tool", "event_id"], how="left"
    )
    hf = h["flagged"].fillna(False).astype(bool)
    clean = h["honest_failure"] == 0
    out["hard"] = [int(len(h)), int(hf.sum()), int(clean.sum()), int((hf & clean).sum())]
    out["hard_by_kind"] = {
        k: [int(len(g)), int(hf[g.index].sum()), int((hf[g.index] & clean[g.index]).sum())]
        for k, g in h.groupby("kind")
    }
    # per org: planted incentive share vs mean incentive weight (1 - (1-wq)(1-wc))
    m["_inc"] = (m["mechanism"].isin(["quota_filler", "checkpoint_burst"])).astype(float)
    m["_w"] = 1 - (1 - wq) * (1 - wc)
    # what the flags miss of it, and the incentive weight carried on the unflagged interactions
    m["_missed"] = m["_inc"] * (~flag)
    m["_carried"] = m["_w"] * (~flag)
    g = m.groupby("org_id").agg(
        planted=("_inc", "mean"),
        weight=("_w", "mean"),
        n=("_w", "size"),
        missed=("_missed", "mean"),
        carried=("_carried", "mean"),
    )
    # per org: the planted shares of quota top-ups and of review bursts (the org-level parts)
    out["planted_parts"] = {
        o: [
            round(float((g2["mechanism"] == "quota_filler").mean()), 5),
            round(float((g2["mechanism"] == "checkpoint_burst").mean()), 5),
        ]
        for o, g2 in m.groupby("org_id")
    }
    # per org: planted share, mean weight, interactions, planted share unflagged, weight on
    # unflagged interactions (then the published incentive index and interval, in percent)
    out["orgs"] = {
        o: [
            round(float(r.planted), 5),
            round(float(r.weight), 5),
            int(r.n),
            round(float(r.missed), 5),
            round(float(r.carried), 5),
        ]
        for o, r in g.iterrows()
    }
    return out


def one_world(family: str, seed: int, root: Path, teams: int) -> dict:
    import pandas as pd

    work = root / f"tmp_{family}_{seed}"
    if work.exists():
        shutil.rmtree(work)
    t0 = time.time()
    info = generate(family, seed, work, teams)
    res = score_world(work, keep=root / f"share_inputs_{family}_{seed}.pkl")
    truth = pd.read_csv(work / "truth" / "interactions.csv", dtype={"event_id": str})
    hard = pd.read_csv(work / "truth" / "hard_negatives.csv", dtype={"event_id": str})
    row = summarize(res["labels"], truth, hard)
    # the org level: the published incentive index and its interval (percent) against the
    # planted incentive share
    for r in res["orgs"].itertuples():
        if r.org_id in row["orgs"]:
            row["orgs"][r.org_id] += [
                None if pd.isna(v) else round(float(v), 4)
                for v in (
                    r.incentive_index,
                    r.incentive_ci_low,
                    r.incentive_ci_high,
                    r.incentive_excess,
                    r.incentive_excess_ci_low,
                    r.incentive_excess_ci_high,
                )
            ]
    inc = res["metrics"].get("score", {}).get("incentives", {})
    # the aggregate-excess parts behind the published figure (shares 0-1): top-ups, windows
    row["org_parts"] = {e["org_id"]: e for e in inc.get("org_shares", [])}
    row.update(
        family=family,
        seed=seed,
        **info,
        regimes=inc.get("quota_bunching", []),
        checkpoints=[
            {k: e.get(k) for k in ("org_id", "status", "z", "burst_ratio", "scale")}
            for e in inc.get("checkpoint_burst", [])
        ],
        seconds=round(time.time() - t0, 1),
    )
    shutil.rmtree(work)
    return row


def pooled(rows: list[dict]) -> dict:
    def rate(key, i=1):
        n = sum(r[key][0] for r in rows)
        return (sum(r[key][i] for r in rows) / n) if n else float("nan"), n

    h = sum(r["hard"][0] for r in rows)
    hc = sum(r["hard"][2] for r in rows)
    kinds: dict = {}
    for r in rows:
        for k, v in r["hard_by_kind"].items():
            a = kinds.setdefault(k, [0, 0, 0])
            for i in range(3):
                a[i] += v[i]
    return {
        "worlds": len(rows),
        "filler_recall": rate("quota_filler"),
        "filler_weighted": rate("quota_filler", 2),
        "burst_recall": rate("checkpoint_burst"),
        "burst_weighted": rate("checkpoint_burst", 2),
        "genuine_flagged": rate("genuine"),
        "hard_fp": sum(r["hard"][1] for r in rows) / h if h else float("nan"),
        "hard_fp_clean": sum(r["hard"][3] for r in rows) / hc if hc else float("nan"),
        "hard_by_kind": kinds,
        "per_world_filler": [
            round(r["quota_filler"][1] / r["quota_filler"][0], 3) if r["quota_filler"][0] else None
            for r in rows
        ],
        "per_world_burst": [
            round(r["checkpoint_burst"][1] / r["checkpoint_burst"][0], 3)
            if r["checkpoint_burst"][0]
            else None
            for r in rows
        ],
    }


def org_level(rows: list[dict]) -> dict:
    """Across the worlds' orgs with a published incentive index: its rank correlation with the
    planted incentive share, how often its interval covers that share, and the planted share the
    flags miss against the weight carried on unflagged interactions (mean absolute gap)."""
    import numpy as np
    from scipy.stats import spearmanr

    pts = [v for r in rows for v in r["orgs"].values() if len(v) >= 8 and v[5] is not None]
    if not pts:
        return {"orgs": 0}
    planted = np.array([v[0] for v in pts]) * 100
    index = np.array([v[5] for v in pts])
    low, high = np.array([v[6] for v in pts]), np.array([v[7] for v in pts])
    missed, carried = np.array([v[3] for v in pts]) * 100, np.array([v[4] for v in pts]) * 100
    return {
        "orgs": len(pts),
        "spearman_index_vs_planted": round(float(spearmanr(index, planted).statistic), 3),
        "mae_points": round(float(np.abs(index - planted).mean()), 2),
        "interval_covers": round(float(((low <= planted) & (planted <= high)).mean()), 3),
        "missed_mean_points": round(float(missed.mean()), 2),
        "carried_mean_points": round(float(carried.mean()), 2),
        "missed_vs_carried_mae_points": round(float(np.abs(missed - carried).mean()), 2),
    }


def excess_level(rows: list[dict]) -> dict:
    """The org-level incentive share from the aggregate excess (``incentive_excess``) against
    the planted incentive share: coverage of its interval, width, error; orgs where it is NA."""
    import numpy as np

    allv = [v for r in rows for v in r["orgs"].values() if len(v) >= 11]
    pts = [v for v in allv if v[8] is not None]
    if not pts:
        return {"orgs": 0, "na": len(allv)}
    planted = np.array([v[0] for v in pts]) * 100
    est = np.array([v[8] for v in pts])
    low, high = np.array([v[9] for v in pts]), np.array([v[10] for v in pts])
    cov = (low <= planted) & (planted <= high)
    return {
        "orgs": len(pts),
        "na": len(allv) - len(pts),
        "interval_covers": round(float(cov.mean()), 3),
        "covered": int(cov.sum()),
        "mean_width_points": round(float((high - low).mean()), 2),
        "mae_points": round(float(np.abs(est - planted).mean()), 2),
        "bias_points": round(float((est - planted).mean()), 2),
        "misses": [
            [round(float(p), 2), round(float(e), 2), round(float(lo), 2), round(float(h), 2)]
            for p, e, lo, h, c in zip(planted, est, low, high, cov)
            if not c
        ],
    }


def markdown(rows: list[dict]) -> str:
    """One table row per world, then the pooled row."""
    out = [
        "| world (seed) | fillers | filler recall | fillers weighted | bursts | burst recall |"
        " bursts weighted | hard-neg FP all / excl. honest failures |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cells(label, f, b, h):
        def r(x, i):
            return f"{x[i] / x[0]:.3f}" if x[0] else "n/a"

        hf = f"{h[1] / h[0]:.4f} / {h[3] / h[2]:.4f}" if h[0] else "n/a"
        return (
            f"| {label} | {f[0]:,} | {r(f, 1)} | {r(f, 2)} | {b[0]:,} | {r(b, 1)} | {r(b, 2)} "
            f"| {hf} |"
        )

    for r in rows:
        out.append(
            cells(
                f"{r['family_detail']} ({r['seed']})",
                r["quota_filler"],
                r["checkpoint_burst"],
                r["hard"],
            )
        )

    def tot(key, n):
        return [sum(r[key][i] for r in rows) for i in range(n)]

    out.append(
        cells(
            f"**pooled, {len(rows)} worlds**",
            tot("quota_filler", 3),
            tot("checkpoint_burst", 3),
            tot("hard", 4),
        )
    )
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--family", choices=("A", "B"), required=True)
    p.add_argument("--seeds", default=None, help="comma list (default: the family's held-out)")
    p.add_argument("--teams", type=int, default=6, help="family B: teams (orgs) per world")
    p.add_argument("--out", default=str(HERE / "out" / "incentive_families"))
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = (
        [int(s) for s in a.seeds.split(",")]
        if a.seeds
        else (B_HELD_OUT if a.family == "B" else A_HELD_OUT)
    )
    path = out / f"{a.family}.jsonl"
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            done[r["seed"]] = r
    for seed in seeds:
        if seed in done:
            continue
        r = one_world(a.family, seed, out, a.teams)
        with path.open("a") as fh:
            fh.write(json.dumps(r) + "\n")
        done[seed] = r
        f, b = r["quota_filler"], r["checkpoint_burst"]
        print(
            f"{a.family} {seed} {r['family_detail']}: fillers {f[1]}/{f[0]}, bursts {b[1]}/{b[0]},"
            f" hard FP {r['hard'][1]}/{r['hard'][0]} ({r['seconds']} s)",
            flush=True,
        )
    rows = [done[s] for s in seeds if s in done]
    print(json.dumps(pooled(rows), indent=1))
    print(json.dumps(org_level(rows), indent=1))
    print(json.dumps(excess_level(rows), indent=1))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

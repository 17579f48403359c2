"""Acceptance of the audit loop on a held-out generated quarter, through the CLI.

Usage: python benchmarks/audit_acceptance.py [--seed 9001] [--labels 1000] [--dirty]
       [--out benchmarks/out/audit_acceptance]

1. ``theater generate`` a quarter (24 orgs, 1,500 users; a seed never used for tuning);
2. ``theater run`` (ingest, refine, score): the detector-only index;
3. ``theater audit sample --size 1000``; the labels are filled in from truth/interactions.csv
   (a perfect reviewer); ``theater audit load``;
4. ``theater run --stage score``: the debiased index;
5. compare both with truth/orgs.csv: coverage of the 90% intervals, mean width (points), MAE,
   Spearman, org-level calibration slope (truth on index); and the held-out reliability slope
   and per-signal precision logged to MLflow. Writes ``acceptance.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def figures(rows: pd.DataFrame, truth: pd.Series, col: str) -> dict:
    pub = rows[~rows["suppressed"]].copy()
    pub["truth"] = pub["org_id"].map(truth) * 100
    cov = (pub["ci_low"] <= pub["truth"]) & (pub["truth"] <= pub["ci_high"])
    out = {
        "orgs": len(pub),
        "mae": round(float((pub[col] - pub["truth"]).abs().mean() / 100), 4),
        "spearman": round(float(pub[col].rank().corr(pub["truth"].rank())), 4),
        "org_calibration_slope": round(float(np.polyfit(pub[col], pub["truth"], 1)[0]), 3),
    }
    if col == "theater_index":
        out.update(
            coverage=round(float(cov.mean()), 4),
            covered=int(cov.sum()),
            mean_width_points=round(float((pub["ci_high"] - pub["ci_low"]).mean()), 2),
        )
    return out


def main() -> int:
    from theater.cli import main as cli

    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=9001)
    p.add_argument("--labels", type=int, default=1000)
    p.add_argument("--dirty", action="store_true")
    p.add_argument("--out", default=str(HERE / "out" / "audit_acceptance"))
    a = p.parse_args()
    out = Path(a.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    lake, landing = str(out / "lake"), str(out / "landing")
    import os

    os.environ["THEATER_PATHS__STATE"] = str(out / "state")
    gen = ["generate", "--out", str(out), "--seed", str(a.seed), "--quarter", "2026Q3"]
    assert cli(gen + (["--dirty"] if a.dirty else [])) == 0
    assert cli(["run", "--landing", landing, "--lake", lake, "--quarter", "2026Q3"]) == 0
    sample_csv = out / "audit_sample.csv"
    assert (
        cli(
            [
                "audit",
                "sample",
                "--lake",
                lake,
                "--quarter",
                "2026Q3",
                "--size",
                str(a.labels),
                "--out",
                str(sample_csv),
                "--seed",
                str(a.seed),
            ]
        )
        == 0
    )
    s = pd.read_csv(sample_csv, dtype={"event_id": str})
    t = pd.read_csv(
        out / "truth" / "interactions.csv",
        dtype={"event_id": str},
        usecols=["tool", "event_id", "is_theater"],
    )
    s = s.drop(columns=["label"]).merge(t, on=["tool", "event_id"], how="left")
    if s["is_theater"].isna().any():
        print(f"{int(s['is_theater'].isna().sum())} sampled rows have no truth", file=sys.stderr)
        return 1
    s = s.rename(columns={"is_theater": "label"})
    s["label"] = s["label"].astype(int)
    labelled = out / "audit_labels.csv"
    s.to_csv(labelled, index=False)
    assert cli(["audit", "load", "--lake", lake, "--labels", str(labelled)]) == 0
    assert cli(["run", "--lake", lake, "--quarter", "2026Q3", "--stage", "score"]) == 0
    from theater.tables import read_table

    rows = read_table(lake, "gold/org_theater_index").rows
    truth = pd.read_csv(out / "truth" / "orgs.csv").set_index("org_id")["theater_share"]
    res = {
        "seed": a.seed,
        "labels": a.labels,
        "dirty": a.dirty,
        "debiased": figures(rows, truth, "theater_index"),
        "detector_only": figures(rows, truth, "detector_index"),
        "interval_kinds": rows["interval_kind"].value_counts().to_dict(),
    }
    import mlflow

    from theater.config import load_config
    from theater.tracking import tracking_uri

    run_id = rows["run_id"].iloc[0]
    m = mlflow.MlflowClient(tracking_uri(load_config(env="local"))).get_run(run_id).data.metrics
    res["mlflow_audit"] = {k: round(v, 4) for k, v in m.items() if k.startswith("score.audit.")}
    print(json.dumps(res, indent=2))
    (out / "acceptance.json").write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

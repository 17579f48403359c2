"""Generate small worlds, run the pipeline on each, keep what an audit simulation needs.

Usage: python benchmarks/audit_worlds.py --seeds 1001-1060 [--orgs 8 --users 480]
       [--out benchmarks/out/audit_worlds] [--dirty]

For each seed: ``theater.synth.generate`` a quarter (2026Q3), run ingest, refine and score
(embedded Sail, Delta; MLflow off), then write ``world_<seed>.parquet``: one row per scored
interaction (``event_id, tool, org_id, user_key, theater_probability, flags`` from
gold/interaction_labels, ``is_theater`` from the generator's truth) and
``world_<seed>_orgs.csv`` (the planted ``theater_share`` per org). The lake and landing zone are
removed afterwards. The cheap part (drawing audits, labelling them from truth, estimating) is
``benchmarks/audit_coverage.py``, which reads these files.

A world already written is skipped, so the script can be resumed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def seeds_arg(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def one_world(seed: int, out: Path, n_orgs: int, n_users: int, dirty: bool) -> dict:
    from theater import synth
    from theater.audit.simulate import scored_world
    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake
    from theater.period import Period
    from theater.pipeline import run_pipeline

    period = Period.quarter("2026Q3")
    work = out / f"tmp_{seed}"
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
        dirty=dirty,
        formats="parquet",
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
    run_pipeline(
        cfg,
        period,
        landing=str(work / "landing"),
        lake_root=str(work / "lake"),
        progress=lambda m: None,
    )
    with session(cfg) as spark:
        df = scored_world(spark, Lake(str(work / "lake")), work / "truth")
    df.to_parquet(out / f"world_{seed}.parquet", index=False)
    shutil.copy(work / "truth" / "orgs.csv", out / f"world_{seed}_orgs.csv")
    shutil.rmtree(work)
    return {"seed": seed, "interactions": len(df), "seconds": round(time.time() - t0, 1)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=seeds_arg, default=seeds_arg("1001-1060"))
    p.add_argument("--orgs", type=int, default=8)
    p.add_argument("--users", type=int, default=480)
    p.add_argument("--dirty", action="store_true")
    p.add_argument("--out", default=str(HERE / "out" / "audit_worlds"))
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed in a.seeds:
        if (out / f"world_{seed}.parquet").exists():
            continue
        r = one_world(seed, out, a.orgs, a.users, a.dirty)
        print(r, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throughput benchmark: generate N interactions, time each stage, report rate and peak memory.

Usage: python benchmarks/run.py [--users 4000 40000] [--out benchmarks/out] [--engine sail]
       [--set quality.enabled=false ...]

Each size runs in a fresh subprocess so that peak memory (ru_maxrss of the process, which
hosts the embedded Sail engine, plus its children) is measured per size. Prints a Markdown
table to paste into benchmarks/RESULTS.md and writes benchmarks/out/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def one(users: int, out: Path, engine: str, settings: list[str] = ()) -> dict:
    from theater import synth
    from theater.config import load_config
    from theater.period import Period
    from theater.pipeline import run_pipeline

    period = Period.quarter("2026Q3")
    if out.exists():
        shutil.rmtree(out)
    t0 = time.time()
    summary = synth.generate(
        out,
        seed=11,
        n_orgs=max(24, users // 600),
        n_users=users,
        start=period.start,
        end=period.end,
        formats="parquet",
        progress=lambda m: print("  gen:", m, flush=True),
    )
    gen_s = time.time() - t0
    overrides = {"engine": engine, "paths.state": str(out / "state")}
    for item in settings:  # --set quality.enabled=false (YAML value)
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    cfg = load_config(env="local", overrides=overrides)
    t = time.time()
    res = run_pipeline(
        cfg,
        period,
        landing=str(out / "landing"),
        lake_root=str(out / "lake"),
        progress=lambda m: print("  run:", m, flush=True),
    )
    total = time.time() - t
    stage_s = {stage: res[stage]["seconds"] for stage in ("ingest", "refine", "score")}
    stage_s["overhead"] = total - sum(stage_s.values())  # session start, MLflow, summary
    # parts of the stage times: data-quality validation (GX, metric frames, results, docs), the
    # staged copy it validates (computing the frame, which the write needs anyway, plus one
    # Parquet write and read), and the incentive signals inside score
    dq_s = {
        stage: round(res[stage].get("dq_seconds", 0.0), 1)
        for stage in ("ingest", "refine", "score")
    }
    staging_s = {
        stage: round(res[stage].get("dq_staging_seconds", 0.0), 1)
        for stage in ("ingest", "refine", "score")
    }
    n = summary["interactions"]
    peak_mb = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ) / 1024
    return {
        "interactions": n,
        "users": users,
        "generate_s": round(gen_s, 1),
        "stages_s": {k: round(v, 1) for k, v in stage_s.items()},
        "pipeline_s": round(total, 1),
        "dq_s": dq_s,
        "staging_s": staging_s,
        "dq_share": {k: round(v / stage_s[k], 3) if stage_s[k] else None for k, v in dq_s.items()},
        "settings": list(settings),
        "incentives_s": round(res["score"].get("seconds_incentives", 0.0), 1),
        "interactions_per_s": round(n / total),
        "peak_rss_mb": round(peak_mb),
        "engine": engine,
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, nargs="+", default=[4000, 40000])
    p.add_argument("--out", default=str(HERE / "out"))
    p.add_argument("--engine", default="sail")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="settings",
        metavar="KEY=VALUE",
        help="configuration override, e.g. --set quality.enabled=false (repeatable)",
    )
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        r = one(args.one, Path(args.out) / f"u{args.one}", args.engine, args.settings)
        print("RESULT " + json.dumps(r), flush=True)
        return 0
    results = []
    for users in args.users:
        print(f"== {users} users", flush=True)
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(users),
                "--out",
                args.out,
                "--engine",
                args.engine,
                *[f"--set={x}" for x in args.settings],
            ],
            capture_output=True,
            text=True,
        )
        lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            return 1
        results.append(json.loads(lines[0][7:]))
        shutil.rmtree(Path(args.out) / f"u{users}", ignore_errors=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(results, indent=2))
    print(
        f"\nmachine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}"
    )
    print(
        "| interactions | generate s | ingest s | refine s | score s | pipeline s | interactions/s | peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        s = r["stages_s"]
        print(
            f"| {r['interactions']:,} | {r['generate_s']} | {s['ingest']} | {s['refine']} | "
            f"{s['score']} | {r['pipeline_s']} | {r['interactions_per_s']:,} | {r['peak_rss_mb']:,} |"
        )
    print(
        "\n| interactions | GX validation s (share of stage), staged frame s: ingest | refine | score | incentive signals s |"
    )
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        d, sh, st = r["dq_s"], r["dq_share"], r["staging_s"]
        print(
            f"| {r['interactions']:,} | "
            + " | ".join(f"{d[k]} ({sh[k]:.0%}), {st[k]}" for k in ("ingest", "refine", "score"))
            + f" | {r['incentives_s']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

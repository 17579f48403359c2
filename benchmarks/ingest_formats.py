"""Ingest throughput per landing format, on one fixed quarter (before/after comparisons).

    python benchmarks/ingest_formats.py [--users 800] [--out benchmarks/out/ingest-formats]
                                        [--formats jsonl jsonl.gz csv parquet] [--label NAME]

The quarter is generated once as Parquet (``compare.child_generate``) and its interaction files
rewritten as all .jsonl, .jsonl.gz and .csv (``compare.rewrite_landing``); both are kept under
--out and reused by later runs, so two runs (e.g. before and after a change) read the same
bytes. Each format's ingest stage alone runs in a fresh subprocess (``compare.measured``: wall,
process CPU s of the process tree, peak RSS). Prints a Markdown table with the load average
at the start and end of each run; appends the rows to ``results-<label>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import compare

HERE = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, default=800)
    p.add_argument("--out", default=str(HERE / "out" / "ingest-formats"))
    p.add_argument("--formats", nargs="*", default=["jsonl", "jsonl.gz", "csv", "parquet"])
    p.add_argument("--label", default="run")
    a = p.parse_args()
    d = Path(a.out).resolve() / f"u{a.users}"
    src = d / "parquet-src"
    if not (src / "landing").is_dir():
        print(f"== generating {a.users} users (Parquet)", flush=True)
        gen = compare.run_child("generate", [str(src), str(a.users), "parquet", "1.0"], d / "gen")
        (d / "gen.json").write_text(json.dumps(gen["result"]))
    interactions = json.loads((d / "gen.json").read_text())["interactions"]
    rows = []
    for fmt in a.formats:
        landing = d / f"landing-{fmt}"
        if not landing.is_dir():
            compare.rewrite_landing(src / "landing", landing, fmt)
        lake = d / f"lake-{fmt}-{a.label}"
        shutil.rmtree(lake, ignore_errors=True)
        shutil.rmtree(d / "state", ignore_errors=True)
        mb = compare.size_mb(landing / "interactions")
        load0 = os.getloadavg()[0]
        th = compare.run_child(
            "theater",
            [str(landing), str(lake), "ingest"],
            d / f"theater-{fmt}-{a.label}",
            compare.clean_env(),
        )
        load1 = os.getloadavg()[0]
        ing = th["result"]["stages_s"]["ingest"]
        row = {
            "label": a.label,
            "format": fmt,
            "interactions": interactions,
            "interaction_files_mb": round(mb, 1),
            "ingest_stage_s": ing,
            "mb_per_s_wall": round(mb / ing, 2),
            "process_cpu_s": th["cpu_s"],
            "process_wall_s": th["wall_s"],
            "peak_rss_mb": th["peak_rss_mb"],
            "load_start": round(load0, 1),
            "load_end": round(load1, 1),
            "at": time.strftime("%H:%M UTC", time.gmtime()),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
        shutil.rmtree(lake, ignore_errors=True)
    out = d / f"results-{a.label}.json"
    old = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps(old + rows, indent=2))
    print(
        "\n| format | interactions | MB | ingest stage s | MB/s (wall) | process CPU s "
        "| peak RSS MB | load (start-end) |\n|---|---:|---:|---:|---:|---:|---:|---|"
    )
    for r in rows:
        print(
            f"| {r['format']} | {r['interactions']:,} | {r['interaction_files_mb']:,.0f} "
            f"| {r['ingest_stage_s']} | {r['mb_per_s_wall']} | {r['process_cpu_s']} "
            f"| {r['peak_rss_mb']:,} | {r['load_start']}-{r['load_end']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

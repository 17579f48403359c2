"""Two source trees of theater on the same landing zone, in one run, alternating, with the
DuckDB reference on the same files: wall, CPU, peak RSS, per stage, and the gates' share.

    python benchmarks/before_after.py LANDING OUT --tree before=/tmp/main/src \\
        --tree after=src [--tree after-2m=src@scoring.bucket_rows=2000000] [--repeat 2]
        [--set KEY=VALUE ...] [--no-duckdb]

Each run is ``compare.py``'s theater child (``run_pipeline``, all stages, default settings) in
a fresh process with ``PYTHONPATH`` set to the tree, measured like ``compare.py`` (wall, CPU
from wait4, peak RSS of the process tree sampled every 0.2 s). Per stage: the CPU seconds of
each stage process (``spark.stage_processes``; sampled from /proc every 0.2 s, so a stage's
figure can miss up to 0.2 s) and its wall seconds and data-quality seconds as the pipeline
reports them. The trees alternate (before, after, before, after, ...) so that a change in the
machine's load falls on both. Prints a Markdown table and writes results.json into OUT.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import clean_env, run_duckdb  # noqa: E402
from process_use import rss_of, tree_of  # noqa: E402


def measured_tree(cmd: list[str], cwd: Path, env: dict) -> dict:
    """``cmd`` measured; also the CPU seconds of each spawned stage process, in start order."""
    import psutil

    cwd.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with open(cwd / "stdout.log", "w") as out, open(cwd / "stderr.log", "w") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
    root = psutil.Process(proc.pid)
    peak, status, usage = 0, None, None
    children: dict[int, dict] = {}
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        procs = tree_of(root)
        total = rss_of(procs)
        for p in procs:
            try:
                if p.pid != proc.pid and "spawn_main" in " ".join(p.cmdline()):
                    c = p.cpu_times()
                    rec = children.setdefault(p.pid, {"start": p.create_time(), "cpu": 0.0})
                    rec["cpu"] = max(rec["cpu"], c.user + c.system)
            except psutil.NoSuchProcess:
                pass
        peak = max(peak, total)
        time.sleep(0.2)
    rc = os.waitstatus_to_exitcode(status)
    stdout = (cwd / "stdout.log").read_text(errors="replace")
    result = next((json.loads(x[7:]) for x in stdout.splitlines() if x.startswith("RESULT ")), None)
    if rc != 0 or result is None:
        raise RuntimeError(f"{cmd[:4]} failed ({rc}): {(cwd / 'stderr.log').read_text()[-3000:]}")
    stage_cpu = [round(c["cpu"], 1) for c in sorted(children.values(), key=lambda c: c["start"])]
    return {
        "wall_s": round(time.time() - t0, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(peak / 2**20),
        "stage_process_cpu_s": stage_cpu,
        "result": result,
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("landing")
    p.add_argument("out")
    p.add_argument("--tree", action="append", required=True, metavar="NAME=SRC[@KEY=VALUE]")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    p.add_argument("--no-duckdb", action="store_true")
    a = p.parse_args()
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    trees = dict(t.split("=", 1) for t in a.tree)
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    results = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": runs}
    for i in range(a.repeat):
        for name, tree in trees.items():
            src, *own = tree.split("@")
            d = out / f"{name}-{i}"
            for sub in ("lake", "state"):
                shutil.rmtree(d / sub, ignore_errors=True)
            env = clean_env(PYTHONPATH=str(Path(src).resolve()))
            cmd = [sys.executable, str(HERE / "compare.py"), "--child", "theater"]
            cmd += [a.landing, str(d / "lake"), "ingest,refine,score"]
            cmd += [f"--set={s}" for s in [*a.settings, *own]]
            r = measured_tree(cmd, d, env)
            runs[name].append(r)
            print(f"{name} #{i}: {json.dumps(r)}", flush=True)
            shutil.rmtree(d / "lake", ignore_errors=True)
            (out / "results.json").write_text(json.dumps(results, indent=2))
    if not a.no_duckdb:
        duck = run_duckdb(Path(a.landing), out / "duck", [])
        results["duckdb"] = {k: duck[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")}
        print(f"duckdb: {results['duckdb']}", flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def table(results: dict) -> str:
    med = statistics.median
    lines = [
        "| tree | runs | CPU s | wall s | peak RSS MB | stage CPU s (ingest / refine / score) "
        "| stage wall s | gates s (share of wall) |",
        "|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for name, rs in results["runs"].items():
        if not rs:
            continue
        stages = ("ingest", "refine", "score")
        per_stage = all(len(r["stage_process_cpu_s"]) == 3 for r in rs)
        cpu = (
            [med([r["stage_process_cpu_s"][k] for r in rs]) for k in range(3)] if per_stage else []
        )
        wall = [med([r["result"]["stages_s"][s] for r in rs]) for s in stages]
        dq = med([sum(r["result"].get("dq_s", {}).values()) for r in rs])
        total = med([r["wall_s"] for r in rs])
        lines.append(
            f"| {name} | {len(rs)} | {med([r['cpu_s'] for r in rs]):.1f} | {total:.1f} "
            f"| {med([r['peak_rss_mb'] for r in rs]):,.0f} "
            f"| {' / '.join(f'{c:.1f}' for c in cpu) or '(one process)'} "
            f"| {' / '.join(f'{w:.1f}' for w in wall)} "
            f"| {dq:.1f} ({100 * dq / total:.0f}%) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

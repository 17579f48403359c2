"""Which stage, and which step of it, sets the pipeline's peak memory: RSS of every process of
one run sampled over time, beside the pipeline's log lines.

    python benchmarks/peak_timeline.py LANDING OUT [--stages ingest,refine,score]
        [--set KEY=VALUE ...] [--keep-lake] [--interval 0.25]

The pipeline (``run_pipeline``, default settings unless ``--set``; under
``spark.stage_processes`` each stage in its own process) runs in a child process; this one
samples the RSS of that child and each of its descendants from /proc every ``--interval``
seconds. The child writes each log record of the ``theater`` loggers (the stage processes'
records are relayed to it) with its creation time. Per process the report gives its peak RSS,
when, and the step it fell in (the last log line before it); per step (from one log line to
the next) the largest RSS of the process that ran it, and of the whole tree. Writes
``rss.tsv`` (time, pid, role, RSS MB), ``log.tsv`` and ``summary.json`` into ``OUT``; the lake
is ``OUT/lake`` (emptied first unless ``--keep-lake``, e.g. to run ``--stages score`` again on
a refined lake). Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from process_use import tree_of

HERE = Path(__file__).resolve().parent
START, END = "2026-07-01", "2026-10-01"


class _Lines(logging.Handler):
    def __init__(self, path: Path):
        super().__init__()
        self.f = open(path, "a", buffering=1)

    def emit(self, record):
        msg = record.getMessage().replace("\t", " ").replace("\n", " ")[:200]
        self.f.write(f"{record.created:.3f}\t{record.process}\t{record.name}\t{msg}\n")


def child(landing: str, out: Path, stages: list[str], settings: list[str]) -> int:
    import yaml

    from theater.config import load_config
    from theater.period import Period
    from theater.pipeline import run_pipeline

    overrides = {"paths.state": str(out / "state")}
    for item in settings:
        k, _, v = item.partition("=")
        overrides[k] = yaml.safe_load(v)
    cfg = load_config(env="local", overrides=overrides)
    logging.getLogger("theater").addHandler(_Lines(out / "log.tsv"))
    logging.getLogger("theater").setLevel(logging.INFO)
    res = run_pipeline(
        cfg,
        Period.parse(start=START, end=END),
        stages,
        landing=landing,
        lake_root=str(out / "lake"),
    )
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(
        "RESULT "
        + json.dumps(
            {
                "stages_s": {s: res[s]["seconds"] for s in stages},
                "seconds": res["seconds"],
                "own_max_rss_mb": r.ru_maxrss >> 10,
            }
        ),
        flush=True,
    )
    return 0


def sample(cmd: list[str], out: Path, interval: float) -> tuple[int, list[tuple]]:
    """Run ``cmd``; every ``interval`` s the RSS (MB) of it and each descendant: rows of
    (time, pid, create time, cmdline tag, MB)."""
    import psutil

    rows: list[tuple] = []
    with open(out / "stdout.log", "w") as so, open(out / "stderr.log", "w") as se:
        proc = subprocess.Popen(cmd, stdout=so, stderr=se)
    # written as sampled: a run stopped part-way still leaves its samples
    tsv = open(out / "rss.tsv", "w", buffering=1)
    root = psutil.Process(proc.pid)
    tags: dict[int, tuple] = {}
    while True:
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        now = time.time()
        for p in tree_of(root):
            try:
                if p.pid not in tags:
                    line = " ".join(p.cmdline())
                    kind = (
                        "driver"
                        if p.pid == proc.pid
                        else ("stage" if "spawn_main" in line else "other")
                    )
                    tags[p.pid] = (p.create_time(), kind)
                rows.append((now, p.pid, *tags[p.pid], p.memory_info().rss >> 20))
                tsv.write(f"{now:.2f}\t{p.pid}\t{tags[p.pid][1]}\t{rows[-1][-1]}\n")
            except psutil.NoSuchProcess:
                pass
        time.sleep(interval)
    tsv.close()
    return os.waitstatus_to_exitcode(status), rows


def summarize(rows: list[tuple], log_lines: list[tuple], stages: list[str]) -> dict:
    """Per process: its peak and the step it fell in; per step: largest RSS of each process
    and of the tree."""
    stage_pids = sorted({(r[2], r[1]) for r in rows if r[3] == "stage"})
    role = {
        pid: stages[i] if i < len(stages) else f"stage{i}" for i, (_, pid) in enumerate(stage_pids)
    }
    for r in rows:
        role.setdefault(r[1], r[3])
    times = [t for t, *_ in log_lines]

    def step_at(t: float) -> str:
        i = bisect.bisect_right(times, t) - 1
        return log_lines[i][3] if i >= 0 else "(before the first log line)"

    per_proc: dict[str, dict] = {}
    for t, pid, _, _, mb in rows:
        p = per_proc.setdefault(role[pid], {"pid": pid, "peak_mb": 0, "at": None})
        if mb > p["peak_mb"]:
            p.update(peak_mb=mb, at=round(t - rows[0][0], 1), step=step_at(t))
    tree: dict[float, int] = {}
    for t, _, _, _, mb in rows:
        tree[t] = tree.get(t, 0) + mb
    steps: dict[int, dict] = {}
    for t, pid, _, _, mb in rows:
        i = bisect.bisect_right(times, t) - 1
        s = steps.setdefault(i, {"step": step_at(t), "t0": t, "t1": t, "max_mb": {}, "tree_mb": 0})
        s["t1"] = t
        s["max_mb"][role[pid]] = max(s["max_mb"].get(role[pid], 0), mb)
        s["tree_mb"] = max(s["tree_mb"], tree[t])
    return {
        "tree_peak_mb": max(tree.values()) if tree else 0,
        "processes": per_proc,
        "steps": [
            {**s, "seconds": round(s["t1"] - s["t0"], 1), "t0": round(s["t0"] - rows[0][0], 1)}
            for _, s in sorted(steps.items())
        ],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("landing")
    p.add_argument("out")
    p.add_argument("--stages", default="ingest,refine,score")
    p.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    p.add_argument("--keep-lake", action="store_true")
    p.add_argument("--interval", type=float, default=0.25)
    p.add_argument(
        "--summarize",
        action="store_true",
        help="only summarize OUT's rss.tsv and log.tsv (e.g. of a run stopped part-way)",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    out = Path(a.out).resolve()
    stages = a.stages.split(",")
    if a.child:
        return child(a.landing, out, stages, a.settings)
    if a.summarize:
        rows, first = [], {}
        for line in (out / "rss.tsv").read_text().splitlines():
            t, pid, kind, mb = line.split("\t")
            first.setdefault(int(pid), float(t))
            rows.append((float(t), int(pid), first[int(pid)], kind, int(mb)))
        return report(out, rows, stages, None, None)
    if not a.keep_lake:
        shutil.rmtree(out / "lake", ignore_errors=True)
        shutil.rmtree(out / "state", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "log.tsv").unlink(missing_ok=True)
    cmd = [sys.executable, __file__, a.landing, str(out), "--stages", a.stages, "--child"]
    cmd += [f"--set={s}" for s in a.settings]
    t0 = time.time()
    rc, rows = sample(cmd, out, a.interval)
    return report(out, rows, stages, rc, time.time() - t0)


def report(out: Path, rows: list[tuple], stages: list[str], rc, wall) -> int:
    log_lines = []
    if (out / "log.tsv").exists():
        for line in (out / "log.tsv").read_text().splitlines():
            t, pid, name, msg = line.split("\t", 3)
            log_lines.append((float(t), int(pid), name, msg))
    log_lines.sort()
    s = summarize(rows, log_lines, stages)
    s["wall_s"], s["rc"] = round(wall or 0, 1), rc
    so = out / "stdout.log"
    stdout = so.read_text(errors="replace") if so.exists() else ""
    s["result"] = next(
        (json.loads(x[7:]) for x in stdout.splitlines() if x.startswith("RESULT ")), None
    )
    (out / "summary.json").write_text(json.dumps(s, indent=2))
    print(f"rc {rc}, wall {s['wall_s']:.0f} s, tree peak {s['tree_peak_mb']:,} MB")
    for name, pr in s["processes"].items():
        print(f"  {name:8} peak {pr['peak_mb']:6,} MB at {pr['at']:7.1f} s  in: {pr.get('step')}")
    print(f"\n{'t0 s':>7} {'secs':>6} {'tree MB':>8}  per process MB  step")
    for st in s["steps"]:
        mb = " ".join(f"{k}={v}" for k, v in st["max_mb"].items())
        print(f"{st['t0']:7.1f} {st['seconds']:6.1f} {st['tree_mb']:8,}  {mb}  {st['step'][:90]}")
    if rc:
        print((out / "stderr.log").read_text()[-3000:])
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())

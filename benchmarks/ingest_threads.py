"""Where each stage's CPU goes by thread, in a pipeline run as ``theater run`` makes it.

Runs ``run_pipeline`` (``--stages``, ingest by default; MLflow tracking and the Data Docs as
configured, in this process) on the embedded Sail engine and samples every thread of the
process from ``/proc/self/task`` every ``--every`` seconds (0.1 by default). Each thread's CPU
inside each stage (between ``stage S: start`` and ``done``) is charged to a group:
``main``, the Python threads by name (``mlflow-start``, ``mlflow-log``, ``gx-prewarm``,
``inspect``, ``data-docs``) and the engine's native threads by their name (``comm``). A thread
that ends between two samples loses at most one interval of CPU (the report gives the
process's CPU from ``getrusage`` beside the sum).

    PYTHONPATH=TREE/src python benchmarks/ingest_threads.py LANDING OUT [--stages ingest]
        [--set KEY=VALUE ...] [--every 0.1] [--json FILE]

``OUT`` is emptied first (lake and state under it). Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import re
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def task_cpu() -> dict[int, tuple[str, float]]:
    """tid -> (comm, CPU seconds) of every thread of this process."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as fh:
                s = fh.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1 : s.rindex(")")]
        fields = s[s.rindex(")") + 2 :].split()
        out[int(tid)] = (comm, (int(fields[11]) + int(fields[12])) / TICK)
    return out


class Sampler:
    def __init__(self, every: float):
        self.every = every
        self.names: dict[int, str] = {}  # tid -> group name
        self.last: dict[int, float] = {}
        self.snaps: dict[str, dict[int, float]] = {}  # "<stage> start|done" -> tid -> CPU s
        self.marks: dict[str, tuple[float, float]] = {}  # "<stage> start|done" -> (wall, CPU)
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def sample(self) -> None:
        py = {t.native_id: t.name for t in threading.enumerate() if t.native_id}
        main = threading.main_thread().native_id
        with self.lock:
            for tid, (comm, c) in task_cpu().items():
                # a Python thread seen before it set its native id is named again later
                if tid not in self.names or tid in py and self.names[tid].startswith("native:"):
                    name = "main" if tid == main else py.get(tid)
                    if name is not None and name != "main":
                        name = re.sub(r"_\d+$", "", name)  # ThreadPoolExecutor's suffix
                    native = "native:" + re.sub(r"[-_ ]?\d+$", "", comm)
                    self.names[tid] = name or native
                self.last[tid] = c

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.sample()

    def mark(self, what: str) -> None:
        self.sample()
        with self.lock:
            self.marks[what] = (time.time(), process_cpu())
            self.snaps[what] = dict(self.last)

    def by_group(self, stage: str) -> dict[str, float]:
        start = self.snaps[f"{stage} start"]
        done = self.snaps.get(f"{stage} done", self.last)
        out: dict[str, float] = collections.defaultdict(float)
        for tid, c in done.items():
            out[self.names[tid]] += c - start.get(tid, 0.0)
        out.pop("sampler", None)
        return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda x: -x[1]) if v >= 0.01}


class Marks(logging.Handler):
    def __init__(self, sampler: Sampler):
        super().__init__()
        self.sampler = sampler

    def emit(self, record):
        m = re.match(r"stage (\w+): (start|done)", record.getMessage())
        if m:
            self.sampler.mark(f"{m.group(1)} {m.group(2)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("landing")
    ap.add_argument("out")
    ap.add_argument("--stages", default="ingest")
    ap.add_argument("--start", default="2026-07-01")
    ap.add_argument("--end", default="2026-10-01")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--json")
    a = ap.parse_args()
    import yaml

    from theater.config import load_config
    from theater.period import Period
    from theater.pipeline import run_pipeline

    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    overrides = {"paths.state": str(out / "state")}
    for item in a.set:
        k, _, v = item.partition("=")
        overrides[k] = yaml.safe_load(v)
    cfg = load_config(env="local", overrides=overrides)
    sampler = Sampler(a.every)
    logging.basicConfig(level=logging.WARNING)
    lg = logging.getLogger("theater.pipeline")
    lg.addHandler(Marks(sampler))
    lg.setLevel(logging.INFO)
    t = threading.Thread(target=sampler.run, name="sampler", daemon=True)
    t.start()
    t0, c0 = time.time(), process_cpu()
    res = run_pipeline(
        cfg,
        Period.parse(start=a.start, end=a.end),
        a.stages.split(","),
        landing=a.landing,
        lake_root=str(out / "lake"),
    )
    sampler.stop.set()
    stages = [s for s in a.stages.split(",") if f"{s} done" in sampler.marks]
    report: dict = {"stages": {}}
    for s in stages:
        (w0, p0), (w1, p1) = sampler.marks[f"{s} start"], sampler.marks[f"{s} done"]
        report["stages"][s] = {
            "wall_s": round(w1 - w0, 2),
            "cpu_s": round(p1 - p0, 2),
            "threads_cpu_s": sampler.by_group(s),
        }
    report.update(
        {
            "run_wall_s": round(time.time() - t0, 2),
            "run_cpu_s": round(process_cpu() - c0, 2),
            "load": round(os.getloadavg()[0], 1),
            "seconds": {s: res[s].get("seconds") for s in stages},
        }
    )
    print(json.dumps(report), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())

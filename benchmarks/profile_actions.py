"""Where the pipeline's CPU and memory go: every Spark action of one run, timed.

Runs the whole pipeline (or some stages) in this process on the embedded Sail engine, which
runs inside it, and wraps the Spark Connect client's execute and analyze calls. Each action
is charged to the innermost frames of ``theater`` code that issued it; per place the report
gives the calls, the process CPU seconds spent during them (Sail's threads included), the wall
seconds and the largest RSS seen during them (sampled every 0.1 s). RSS is a high-water mark:
an action that runs after a large one may show the large one's memory.

    python benchmarks/profile_actions.py LANDING OUT [--stages ingest,refine,score]
        [--start 2026-07-01 --end 2026-10-01] [--set KEY=VALUE ...] [--keep-lake]

``OUT`` is emptied first (lake and state under it) unless ``--keep-lake``: then the stages
run on the lake already there (e.g. ``--stages refine,score`` on an ingested lake). A log line
of the pipeline is printed with the process CPU and wall time elapsed since the previous one.
Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import resource
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Profile:
    """Per place: [calls, wall s, CPU s, peak RSS MB]."""

    def __init__(self, depth: int = 3):
        self.depth = depth
        self.stats: dict = collections.defaultdict(lambda: [0, 0.0, 0.0, 0])
        self.peak = 0
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        import psutil

        proc = psutil.Process(os.getpid())
        while True:
            self.peak = max(self.peak, proc.memory_info().rss >> 20)
            time.sleep(0.1)

    def place(self) -> str:
        frames = [f for f in traceback.extract_stack()[:-3] if "/theater/" in f.filename]
        return " < ".join(
            f"{f.filename.split('/theater/')[-1]}:{f.lineno}:{f.name}"
            for f in frames[::-1][: self.depth]
        )

    def wrap(self, cls, name: str) -> None:
        original = getattr(cls, name)
        profile = self

        def timed(client, *args, **kwargs):
            t, c = time.time(), cpu_seconds()
            profile.peak = 0
            try:
                return original(client, *args, **kwargs)
            finally:
                s = profile.stats[(name, profile.place())]
                s[0] += 1
                s[1] += time.time() - t
                s[2] += cpu_seconds() - c
                s[3] = max(s[3], profile.peak)

        setattr(cls, name, timed)

    def report(self, most: int = 30) -> str:
        rows = sorted(self.stats.items(), key=lambda kv: -kv[1][2])
        total = sum(s[2] for _, s in rows)
        out = [f"Spark actions by CPU (all actions: {total:.1f} CPU s)"]
        out.append(f"{'CPU s':>8} {'wall s':>8} {'peak MB':>8} {'calls':>6}  place")
        for (kind, place), s in rows[:most]:
            out.append(f"{s[2]:8.1f} {s[1]:8.1f} {s[3]:8d} {s[0]:6d}  {kind}: {place}")
        out.append("\nby peak RSS")
        for (kind, place), s in sorted(self.stats.items(), key=lambda kv: -kv[1][3])[:12]:
            out.append(f"{s[3]:8d} MB {s[2]:8.1f} CPU s  {kind}: {place}")
        return "\n".join(out)


class Elapsed(logging.Handler):
    def __init__(self):
        super().__init__()
        self.t0, self.last = time.time(), (0.0, cpu_seconds())

    def emit(self, record):
        w, c = time.time() - self.t0, cpu_seconds()
        dw, dc = w - self.last[0], c - self.last[1]
        self.last = (w, c)
        print(f"{w:8.1f} s {c:8.1f} CPU s  (+{dw:6.1f} / +{dc:6.1f})  {record.getMessage()[:120]}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("landing")
    p.add_argument("out")
    p.add_argument("--stages", default="ingest,refine,score")
    p.add_argument("--start", default="2026-07-01")
    p.add_argument("--end", default="2026-10-01")
    p.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    p.add_argument("--keep-lake", action="store_true")
    p.add_argument("--most", type=int, default=30)
    a = p.parse_args()

    import pyspark.sql.connect.client.core as connect
    import yaml

    profile = Profile()
    for name in ("_execute_and_fetch", "_execute_and_fetch_as_iterator", "_analyze"):
        profile.wrap(connect.SparkConnectClient, name)

    from theater.config import load_config
    from theater.period import Period
    from theater.pipeline import run_pipeline

    out = Path(a.out)
    if not a.keep_lake:
        shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("theater").addHandler(Elapsed())
    logging.getLogger("theater").setLevel(logging.INFO)
    overrides = {"paths.state": str(out / "state")}
    for item in a.settings:
        k, _, v = item.partition("=")
        overrides[k] = yaml.safe_load(v)
    cfg = load_config(env="local", overrides=overrides)
    stages = a.stages.split(",")
    res = run_pipeline(
        cfg,
        Period.parse(start=a.start, end=a.end),
        stages,
        landing=a.landing,
        lake_root=str(out / "lake"),
    )
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(
        {s: res[s]["seconds"] for s in stages},
        f"process CPU {cpu_seconds():.1f} s,",
        f"max RSS {r.ru_maxrss >> 10} MB",
    )
    print(profile.report(a.most))
    return 0


if __name__ == "__main__":
    sys.exit(main())

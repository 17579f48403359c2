"""Where a pipeline run's wall goes and how busy the cores are in each step.

Runs ``run_pipeline`` (all stages by default) in this process on the embedded Sail engine and
samples, every ``--every`` seconds (0.1 by default):

* the process's CPU seconds (all threads: the engine's, the main thread, MLflow's, GX's);
* the main thread's own CPU seconds;
* whether an engine call (a Spark Connect execute or analyze, from any thread) is in flight,
  and whether the main thread is the one waiting on it;
* the main thread's innermost frames in ``theater`` code (where it is).

Then prints, per step between two of the pipeline's log lines: wall, process CPU, cores busy
(CPU / wall), the main thread's CPU, and the share of wall with an engine call in flight. And
the wall during which no engine call was in flight (the engine idle; only Python, a wait or
start-up ran), by the main thread's place: the candidates for overlap. The machine's other
load distorts wall; compare runs alternated in the same period.

    PYTHONPATH=TREE/src python benchmarks/wall_timeline.py LANDING OUT
        [--stages ingest,refine,score] [--start 2026-07-01 --end 2026-10-01]
        [--set KEY=VALUE ...] [--every 0.1] [--json FILE] [--lake-from LAKE]

``OUT`` is emptied first (lake and state under it). Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    t = os.times()
    return t.user + t.system


class Timeline:
    def __init__(self, every: float):
        self.every = every
        self.main = threading.main_thread()
        self.main_clock = time.pthread_getcpuclockid(self.main.ident)
        self.in_flight = 0  # engine calls in flight, any thread
        self.main_in_flight = 0
        self.lock = threading.Lock()
        self.local = threading.local()
        self.samples: list[tuple] = []  # (wall, cpu, main cpu, in flight, main waits, place)
        self.marks: list[tuple] = []  # (wall, cpu, main cpu, message)
        self.runnable: list[tuple] = []  # (wall, threads running or runnable)
        self.calls: list[tuple] = []  # (start, wall, cpu, kind, caller place, overlapped)
        self.t0 = time.time()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="timeline", daemon=True)

    def start(self):
        self.thread.start()

    def _place(self, frame=None) -> str:
        if frame is None:
            frame = sys._current_frames().get(self.main.ident)
        inner, places = None, []
        while frame is not None:
            name = frame.f_code.co_filename
            if inner is None and "/theater/" not in name:
                inner = name.rsplit("/site-packages/", 1)[-1].split("/")[0]
            if "/theater/" in name and "/benchmarks/" not in name:
                places.append(
                    f"{name.split('/theater/')[-1]}:{frame.f_lineno}:{frame.f_code.co_name}"
                )
                if len(places) == 2:
                    break
            frame = frame.f_back
        where = " < ".join(places) or "(outside theater)"
        return f"{where} [{inner or 'theater'}]"

    def _runnable(self) -> int:
        """Threads of this process running or waiting for a core (state R), but this
        sampler: the parallelism the process asks for, whatever the machine's load gives."""
        n = 0
        for tid in os.listdir("/proc/self/task"):
            if int(tid) == self.own_tid:
                continue
            try:
                with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            n += stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] == b"R"
        return n

    def _run(self):
        self.own_tid = threading.get_native_id()
        while not self.stop.is_set():
            self.runnable.append((time.time() - self.t0, self._runnable()))
            self.samples.append(
                (
                    time.time() - self.t0,
                    process_cpu(),
                    time.clock_gettime(self.main_clock),
                    self.in_flight,
                    self.main_in_flight,
                    self._place(),
                )
            )
            time.sleep(self.every)

    def wrap(self, cls, name: str) -> None:
        original = getattr(cls, name)
        tl = self

        def counted(client, *args, **kwargs):
            # _execute_and_fetch drains _execute_and_fetch_as_iterator: count the outer call
            if getattr(tl.local, "depth", 0):
                return original(client, *args, **kwargs)
            tl.local.depth = 1
            try:
                return outer(client, *args, **kwargs)
            finally:
                tl.local.depth = 0

        def outer(client, *args, **kwargs):
            main = threading.current_thread() is tl.main
            with tl.lock:
                tl.in_flight += 1
                tl.main_in_flight += main
                overlapped = tl.in_flight > 1
            w0, c0 = time.time(), process_cpu()
            try:
                result = original(client, *args, **kwargs)
                if hasattr(result, "__next__"):  # an iterator: in flight until drained
                    result = list(result)
                return result
            finally:
                w1, c1 = time.time(), process_cpu()
                with tl.lock:
                    overlapped = overlapped or tl.in_flight > 1
                    tl.in_flight -= 1
                    tl.main_in_flight -= main
                    place = tl._place(sys._getframe(2))
                    tl.calls.append((w0 - tl.t0, w1 - w0, c1 - c0, name, place, overlapped))

        setattr(cls, name, counted)

    def mark(self, message: str) -> None:
        self.marks.append(
            (time.time() - self.t0, process_cpu(), time.clock_gettime(self.main_clock), message)
        )


class Marks(logging.Handler):
    def __init__(self, tl: Timeline):
        super().__init__()
        self.tl = tl

    def emit(self, record):
        self.tl.mark(record.getMessage()[:90])


def steps(tl: Timeline) -> list[dict]:
    """Per step between two marks: wall, CPU, cores busy, main CPU, share with a call in
    flight (from the samples inside it)."""
    rows = []
    for (w0, c0, m0, msg), (w1, c1, m1, _) in zip(tl.marks, tl.marks[1:]):
        inside = [s for s in tl.samples if w0 <= s[0] < w1]
        flight = sum(1 for s in inside if s[3]) / len(inside) if inside else 0.0
        idle = collections.defaultdict(lambda: [0.0, 0.0])  # engine idle: place -> wall, main
        for a, b in zip(inside, inside[1:]):
            if not a[3]:
                idle[a[5]][0] += b[0] - a[0]
                idle[a[5]][1] += b[2] - a[2]
        top = sorted(idle.items(), key=lambda kv: -kv[1][0])[:4]
        runq = [r for t, r in tl.runnable if w0 <= t < w1]
        rows.append(
            {
                "step": msg,
                "wall": round(w1 - w0, 2),
                "cpu": round(c1 - c0, 2),
                "cores": round((c1 - c0) / (w1 - w0), 2) if w1 > w0 else None,
                "main_cpu": round(m1 - m0, 2),
                "engine_share": round(flight, 2),
                "runq": round(sum(runq) / len(runq), 2) if runq else None,
                "idle_places": [[k, round(v[0], 2), round(v[1], 2)] for k, v in top],
            }
        )
    return rows


def idle_places(tl: Timeline) -> list[tuple]:
    """Wall and CPU between samples with no engine call in flight, by the main thread's
    place; and with one in flight, the main thread's (the waiter's) place."""
    by = collections.defaultdict(lambda: [0.0, 0.0, 0.0])  # wall, cpu, main cpu
    for a, b in zip(tl.samples, tl.samples[1:]):
        key = ("engine idle" if not a[3] else "engine busy", a[5])
        v = by[key]
        v[0] += b[0] - a[0]
        v[1] += b[1] - a[1]
        v[2] += b[2] - a[2]
    return sorted(((k, v) for k, v in by.items()), key=lambda kv: -kv[1][0])


def print_calls(tl: Timeline, most: int) -> None:
    """Engine calls by the caller's place: how many, wall, process CPU, cores busy while they
    ran, the idle core-seconds (cores x wall - CPU) they left on a machine of
    ``os.cpu_count()`` cores, and runq: the mean number of this process's threads running or
    waiting for a core while they ran (what the plan asks for: under the machine's load cores
    busy falls, runq does not) and the share of their samples with at most one (<=1: a plan,
    or a phase of one, on one core); a call overlapping another counts the other's CPU too."""
    cores = os.cpu_count() or 1
    by = collections.defaultdict(lambda: [0, 0.0, 0.0, 0, 0, 0, 0])
    for start, wall, cpu, _, place, overlapped in tl.calls:
        v = by[place]
        v[0] += 1
        v[1] += wall
        v[2] += cpu
        v[3] += overlapped
        inside = [r for t, r in tl.runnable if start <= t < start + wall]
        v[4] += sum(inside)
        v[5] += len(inside)
        v[6] += sum(1 for r in inside if r <= 1)
    rows = sorted(by.items(), key=lambda kv: -(cores * kv[1][1] - kv[1][2]))
    total_w = sum(v[1] for v in by.values())
    total_c = sum(v[2] for v in by.values())
    print(f"\nengine calls: {len(tl.calls)}, {total_w:.1f} s wall, {total_c:.1f} CPU s")
    print(
        f"{'calls':>5} {'wall s':>7} {'CPU s':>7} {'cores':>5} {'idle':>6} {'runq':>5}"
        f" {'<=1':>4}  caller"
    )
    for place, (n, wall, cpu, ov, rsum, rn, one) in rows[:most]:
        note = f" ({ov} overlapped)" if ov else ""
        runq = f"{rsum / rn:5.2f} {one / rn:4.0%}" if rn else "    -    -"
        print(
            f"{n:5d} {wall:7.2f} {cpu:7.2f} {cpu / wall if wall else 0:5.2f}"
            f" {cores * wall - cpu:6.2f} {runq}  {place}{note}"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("landing")
    p.add_argument("out")
    p.add_argument("--stages", default="ingest,refine,score")
    p.add_argument("--start", default="2026-07-01")
    p.add_argument("--end", default="2026-10-01")
    p.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    p.add_argument("--every", type=float, default=0.1)
    p.add_argument("--most", type=int, default=40)
    p.add_argument("--json")
    p.add_argument("--lake-from", help="copy this lake into OUT first (later stages on it)")
    a = p.parse_args()

    tl = Timeline(a.every)
    tl.start()
    tl.mark("interpreter and this script")
    import pyspark.sql.connect.client.core as connect
    import yaml

    for name in ("_execute_and_fetch", "_execute_and_fetch_as_iterator", "_analyze"):
        tl.wrap(connect.SparkConnectClient, name)

    from theater.config import load_config
    from theater.period import Period
    from theater.pipeline import run_pipeline

    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    if a.lake_from:
        shutil.copytree(a.lake_from, out / "lake")
    logging.getLogger("theater").addHandler(Marks(tl))
    logging.getLogger("theater").setLevel(logging.INFO)
    overrides = {"paths.state": str(out / "state")}
    for item in a.settings:
        k, _, v = item.partition("=")
        overrides[k] = yaml.safe_load(v)
    cfg = load_config(env="local", overrides=overrides)
    stages = a.stages.split(",")
    tl.mark("imports")
    res = run_pipeline(
        cfg,
        Period.parse(start=a.start, end=a.end),
        stages,
        landing=a.landing,
        lake_root=str(out / "lake"),
    )
    tl.mark("run_pipeline returned")
    tl.stop.set()
    tl.thread.join()

    rows = steps(tl)
    total_w, total_c = tl.marks[-1][0], tl.marks[-1][1]
    print(f"{'wall s':>7} {'CPU s':>7} {'cores':>5} {'main':>6} {'engine':>6} {'runq':>5}  step")
    for r in rows:
        print(
            f"{r['wall']:7.2f} {r['cpu']:7.2f} {r['cores'] or 0:5.2f} {r['main_cpu']:6.2f}"
            f" {r['engine_share']:6.0%} {r['runq'] or 0:5.2f}  {r['step']}"
        )
        for place, wall, main_cpu in r["idle_places"] if r["wall"] >= 1.0 else ():
            if wall >= 0.15:
                print(f"{'':27}engine idle {wall:5.2f} s (main {main_cpu:4.2f}): {place}")
    print(f"total: {total_w:.1f} s wall, {total_c:.1f} CPU s, {total_c / total_w:.2f} cores")
    stage_s = {s: res[s]["seconds"] for s in stages if s in res}
    print("stages (their own seconds):", stage_s)
    places = idle_places(tl)
    idle = sum(v[0] for k, v in places if k[0] == "engine idle")
    print(f"\nwall with no engine call in flight: {idle:.1f} s; by the main thread's place")
    print(f"{'wall s':>7} {'CPU s':>7} {'main':>6}  state: place [innermost package]")
    for (state, place), v in places[: a.most]:
        print(f"{v[0]:7.2f} {v[1]:7.2f} {v[2]:6.2f}  {state}: {place}")
    print_calls(tl, a.most)
    if a.json:
        Path(a.json).write_text(
            json.dumps(
                {
                    "wall": total_w,
                    "cpu": total_c,
                    "stages": stage_s,
                    "steps": rows,
                    "idle_wall": idle,
                    "places": [[k[0], k[1], *[round(x, 3) for x in v]] for k, v in places],
                    "runnable": tl.runnable,
                    "calls": [
                        [round(x, 3) if isinstance(x, float) else x for x in c] for c in tl.calls
                    ],
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

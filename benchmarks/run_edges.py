"""What a whole ``theater run`` spends outside its three stages, call by call.

Runs ``theater run`` (``theater.cli.entry``: the console script, its exit included) in a fresh
child process on a lake and state of its own, with timers around the calls a run makes before
its first stage, between its stages and after its last: wall, process CPU and main-thread CPU
of each (a call's children included in its figures). The outside of the process is measured
too: the interpreter's start to the first line of the child's code, and the child's last
line to its exit as seen by this process.

    PYTHONPATH=TREE/src python benchmarks/run_edges.py OUT [--landing DIR] [--quarter 2026Q3]
        [--stage S ...]

``OUT`` must not exist. One JSON object on stdout: ``calls`` (name: [wall s, process CPU s,
main-thread CPU s, count]), ``marks`` (log line, wall s since the interpreter's start, process
CPU s), ``gc`` (the cyclic collector per generation, from ``gc.callbacks``: collections, wall
s, CPU s of the collecting thread), ``wall`` and ``cpu`` of the child (wait4), ``to_code`` and
``exit_wall``.
Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, logging, os, sys, time
T0 = float(sys.argv.pop(1))
START = time.time()
def cpu():
    t = os.times()
    return t.user + t.system
marks = [("code", round(START - T0, 3), round(cpu(), 3))]
import gc
GC = {}  # generation: [collections, wall s, CPU s of the collecting thread]
_gc_t = {}
def _gc_cb(phase, info):
    import threading
    key = threading.get_ident()
    if phase == "start":
        _gc_t[key] = (time.perf_counter(), time.thread_time())
    elif key in _gc_t:
        e = GC.setdefault(str(info["generation"]), [0, 0.0, 0.0])
        w, c = _gc_t.pop(key)
        e[0] += 1
        e[1] += time.perf_counter() - w
        e[2] += time.thread_time() - c
gc.callbacks.append(_gc_cb)
calls = {}
def timed(owner, name, key=None):
    key = key or name
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        w, c, m = time.time(), cpu(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            e = calls.setdefault(key, [0.0, 0.0, 0.0, 0])
            e[0] += time.time() - w
            e[1] += cpu() - c
            e[2] += time.thread_time() - m
            e[3] += 1
    setattr(owner, name, wrapper)
class Mark(logging.Handler):
    def emit(self, record):
        marks.append((record.getMessage()[:50], round(time.time() - T0, 3), round(cpu(), 3)))
import theater.cli as cli
marks.append(("cli imported", round(time.time() - T0, 3), round(cpu(), 3)))
from theater import config, engine, lock, pipeline, tracking
timed(cli, "_config", "config")
timed(pipeline, "_refuse_early", "refuse early")
timed(pipeline, "stage_processes", "stage_processes")
timed(pipeline, "return_freed_memory", "return_freed_memory")
timed(engine._SailServer, "url", "server start")
timed(engine._SailServer, "stop", "server stop")
timed(engine, "build_session", "build_session")
timed(tracking.PipelineRun, "__enter__", "tracking enter")
timed(tracking.PipelineRun, "ready", "tracking ready")
timed(tracking.PipelineRun, "__exit__", "tracking exit")
timed(tracking.PipelineRun, "record_stage", "record_stage")
timed(tracking.PipelineRun, "record_index", "record_index")
timed(pipeline._DocsAhead, "wait", "docs ahead wait")
timed(pipeline, "run_pipeline", "run_pipeline")
timed(pipeline, "run_stage", "run_stage")
import theater.console as console
timed(console, "print_summary", "print_summary")
for _n in ("__enter__", "__exit__", "refuse_if_held"):
    timed(lock.LakeLock, _n, "lock " + _n)
_preload = engine.preload_client
def preload_client(cfg):
    # the engine client's stop is timed once the client is imported (not before: importing
    # it here would move its import out of the run)
    _preload(cfg)
    from pyspark.sql.connect import session as _cs
    if not hasattr(_cs.SparkSession.stop, "__wrapped_by_edges__"):
        timed(_cs.SparkSession, "stop", "spark.stop")
        _cs.SparkSession.stop.__wrapped_by_edges__ = True
engine.preload_client = preload_client
timed(engine, "preload_client", "preload_client")
logging.getLogger("theater").addHandler(Mark())
real_main = cli.main
def main():
    code = real_main(sys.argv[1:])
    marks.append(("main returned", round(time.time() - T0, 3), round(cpu(), 3)))
    out = {k: [round(x, 3) for x in v] for k, v in calls.items()}
    gcs = {k: [v[0], round(v[1], 3), round(v[2], 3)] for k, v in GC.items()}
    sys.stderr.write("EDGES " + json.dumps({"calls": out, "marks": marks, "gc": gcs, "frozen": gc.get_freeze_count()}) + "\n")
    sys.stderr.flush()
    return code
cli.main = main
sys.argv = ["theater"] + sys.argv[1:]
cli.entry()
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--landing", default="/tmp/speed/data/landing")
    p.add_argument("--quarter", default="2026Q3")
    p.add_argument("--stage", action="append", dest="stages")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=False)
    conf = os.path.join(a.out, "conf.yaml")
    with open(conf, "w") as f:
        f.write(f"paths:\n  state: {a.out}/state\n")
    t0 = time.time()
    cmd = [sys.executable, "-c", CHILD, repr(t0), "run", "--conf", conf]
    cmd += ["--landing", a.landing, "--lake", f"{a.out}/lake", "--quarter", a.quarter]
    for s in a.stages or []:
        cmd += ["--stage", s]
    load0 = os.getloadavg()[0]
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = child.stderr.read()
    _, status, ru = os.wait4(child.pid, 0)
    wall = time.time() - t0
    edges = next((json.loads(x[6:]) for x in err.splitlines() if x.startswith("EDGES ")), None)
    if edges is None or os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(err[-3000:])
        return 1
    r = {
        "wall": round(wall, 2),
        "cpu": round(ru.ru_utime + ru.ru_stime, 2),
        "load": [load0, os.getloadavg()[0]],
        "to_code": edges["marks"][0][1],
        "exit_wall": round(wall - edges["marks"][-1][1], 3),
        "exit_cpu": round(ru.ru_utime + ru.ru_stime - edges["marks"][-1][2], 3),
        **edges,
    }
    with open(os.path.join(a.out, "edges.json"), "w") as f:
        json.dump(r, f, indent=1)
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a pipeline run costs outside its stages' engine work: start-up, each step of it, exit.

Runs ``theater run`` (``theater.cli.main``, then the console script's exit) in a fresh child
process per run, on a lake and state of its own under OUT, and prints the child's CPU seconds
(user + system, children included: ``git rev-parse``) at each pipeline log line, from the
interpreter's start to its exit:

    python benchmarks/startup_cost.py OUT [--landing DIR] [--stage ingest ...] [--runs 2]
        [--quarter 2026Q3] [--fresh-store] [--no-gates]

Without ``--landing`` the landing zone is an empty folder and the stage is ingest: the run is
start-up (imports, MLflow store and run, engine start), an ingest that finds no new file, and
the end of the run. ``--runs N`` repeats on the same state (the first run creates the MLflow
SQLite store; ``--fresh-store`` removes it before each run); ``--no-gates``: with
``quality.enabled: false``. Besides the log lines: CPU per thread (engine, main, the MLflow
and GX start threads), and the CPU (main thread plus engine threads) and wall time spent in
the gates (``Gate.check``, ``check_files``, ``finish``), in their staged copies and in the Data
Docs. One JSON line per run.
Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, logging, os, resource, sys, time
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime, 3)
marks = [("interpreter", cpu(), time.time())]
class Mark(logging.Handler):
    def emit(self, record):
        marks.append((record.getMessage()[:60], cpu(), time.time()))
import threading
TICK = os.sysconf("SC_CLK_TCK")
threads = {}  # tid: [name, cpu s]
def sample():
    names = {t.native_id: t.name for t in threading.enumerate()}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / TICK
        entry = threads.setdefault(int(tid), [comm, 0.0])
        entry[0] = names.get(int(tid), entry[0])
        entry[1] = max(entry[1], used)
def sampler():
    while True:
        sample()
        time.sleep(0.25)
threading.Thread(target=sampler, name="sampler", daemon=True).start()
import theater.cli as cli
marks.append(("imports", cpu(), time.time()))
parts = {}  # place: [main thread + engine CPU s, main thread CPU s, wall s, calls]
def engine_cpu():
    # CPU s of the threads that are not Python threads (the engine's, gRPC's)
    python = {t.native_id for t in threading.enumerate()}
    used = 0.0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) in python:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        used += (int(fields[11]) + int(fields[12])) / TICK
    return used
def timed(owner, name, key):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        e, t, w = engine_cpu(), time.thread_time(), time.time()
        try:
            return original(*args, **kwargs)
        finally:
            p = parts.setdefault(key, [0.0, 0.0, 0.0, 0])
            main = time.thread_time() - t
            p[0] += main + engine_cpu() - e
            p[1] += main
            p[2] += time.time() - w
            p[3] += 1
    setattr(owner, name, wrapper)
from theater.quality import docs as _docs, gate as _gate, measure as _measure
for _name in ("check", "check_files", "finish"):
    timed(_gate.Gate, _name, "gate")
timed(_measure.Staging, "copy", "gate staged copy")
timed(_docs, "build_docs", "data docs")
logging.getLogger("theater").addHandler(Mark())
real_main = cli.main
def main():
    code = real_main(sys.argv[1:])
    marks.append(("main returned", cpu(), time.time()))
    sample()
    by = {}
    for name, used in threads.values():
        key = name if not name.startswith("Thread-") else "Thread-n"
        by[key] = round(by.get(key, 0.0) + used, 2)
    sys.stderr.write("THREADS " + json.dumps(by) + "\n")
    sys.stderr.write("PARTS " + json.dumps({k: [round(x, 3) for x in v] for k, v in parts.items()}) + "\n")
    t0 = marks[0][2]
    sys.stderr.write("MARKS " + json.dumps([(m, c, round(t - t0, 3)) for m, c, t in marks]) + "\n")
    return code
cli.main = main
sys.argv = ["theater"] + sys.argv[1:]
cli.entry()
"""


def run_once(out: Path, landing: str, stages: list[str], quarter: str | None, gates=True) -> dict:
    conf = out / "conf.yaml"
    conf.write_text(
        f"paths:\n  state: {out / 'state'}\n" + ("" if gates else "quality:\n  enabled: false\n")
    )
    cmd = [sys.executable, "-c", CHILD, "run", "--conf", str(conf), "--landing", landing]
    cmd += ["--lake", str(out / "lake")]
    for s in stages:
        cmd += ["--stage", s]
    if quarter:
        cmd += ["--quarter", quarter]
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, _, ru = os.wait4(proc.pid, 0)
    wall = time.time() - t0
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    marks, threads, parts = [], {}, {}
    for line in stderr.splitlines():
        if line.startswith("MARKS "):
            marks = json.loads(line[len("MARKS ") :])
        elif line.startswith("THREADS "):
            threads = json.loads(line[len("THREADS ") :])
        elif line.startswith("PARTS "):
            parts = json.loads(line[len("PARTS ") :])
    if not marks:
        sys.stderr.write(stdout + stderr)
        raise SystemExit("the run failed")
    total = ru.ru_utime + ru.ru_stime
    return {
        "cpu_total": round(total, 3),
        "wall_total": round(wall, 2),
        "exit_cpu": round(total - marks[-1][1], 3),
        "threads": threads,
        "parts": parts,
        "marks": marks,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--landing")
    p.add_argument("--stage", action="append", dest="stages")
    p.add_argument("--quarter")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--fresh-store", action="store_true")
    p.add_argument("--no-gates", action="store_true", help="quality.enabled: false")
    a = p.parse_args()
    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    landing = a.landing
    if landing is None:
        landing = str(out / "landing")
        os.makedirs(landing)
    for i in range(a.runs):
        if a.fresh_store:
            shutil.rmtree(out / "state", ignore_errors=True)
            shutil.rmtree(out / "lake", ignore_errors=True)
        r = run_once(out, landing, a.stages or ["ingest"], a.quarter, not a.no_gates)
        r["run"] = i + 1
        print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

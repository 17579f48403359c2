"""One stage in its own process, as ``spark.stage_processes`` runs it, with the child's CPU
taken apart: to its entry point (interpreter, unpickling, imports), the engine's start, the
stage, the engine's stop, and from the result sent to the process's end (the interpreter's
teardown unless the process skips it); the cyclic collector's CPU too.

    PYTHONPATH=src python benchmarks/stage_process_cpu.py LANDING OUT [--stage ingest]
        [--repeat N] [--set KEY=VALUE ...]

Each run: a fresh lake and state under OUT/run<i>, the stage in a spawned child through
``theater.pipeline._stage_main`` (the entry point of a stage process), wrapped to record the
child's own CPU (getrusage) at each mark into a JSON file; the child's total CPU is the parent's
``RUSAGE_CHILDREN`` difference once it is reaped (what ``floor.py`` counts as the stage's CPU
when the pipeline runs a process per stage: the process's whole CPU). ``refine`` and ``score``
need a lake that holds the stages before; this harness runs ingest only unless OUT holds one.
Prints one ``RUN`` JSON line per run. Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _probe_main(marks_file, *args):
    """``_stage_main`` with marks: CPU and time at entry, engine up, stage done, engine
    stopped, result sent; the collector's CPU by generation."""
    import gc

    marks = {"entry": (_cpu(), time.time())}
    gc_cpu = [0.0, 0.0, 0.0]
    gc_n = [0, 0, 0]
    started = {}

    def on_gc(phase, info):
        if phase == "start":
            started[threading.get_ident()] = time.thread_time()
        else:
            t0 = started.pop(threading.get_ident(), None)
            if t0 is not None:
                g = info["generation"]
                gc_cpu[g] += time.thread_time() - t0
                gc_n[g] += 1

    gc.callbacks.append(on_gc)

    import theater.engine as E
    import theater.pipeline as P

    real_session, real_run_stage = E.session, P.run_stage

    from contextlib import contextmanager

    @contextmanager
    def session(cfg):
        with real_session(cfg) as spark:
            marks["engine_up"] = (_cpu(), time.time())
            yield spark
            marks["stage_done"] = (_cpu(), time.time())
        marks["engine_stopped"] = (_cpu(), time.time())

    E.session = session

    def write():
        marks["gc_cpu"] = [round(x, 3) for x in gc_cpu]
        marks["gc_n"] = gc_n
        marks["gc_threshold"] = gc.get_threshold()
        Path(marks_file).write_text(json.dumps(marks))

    # _stage_main ends the process itself where it skips the teardown: record before that
    real_exit = os._exit

    def exit_marked(code):
        marks["returned"] = (_cpu(), time.time())
        marks["os_exit"] = True
        write()
        real_exit(code)

    os._exit = exit_marked
    try:
        P._stage_main(*args)
    finally:
        os._exit = real_exit
        E.session, P.run_stage = real_session, real_run_stage
    marks["returned"] = (_cpu(), time.time())
    write()


def one_run(stage, landing, out: Path, settings: list[str]) -> dict:
    import yaml

    from theater import logs
    from theater.config import load_config

    for sub in ("lake", "state"):
        if stage == "ingest":
            shutil.rmtree(out / sub, ignore_errors=True)
    overrides = {"paths.state": str(out / "state")}
    for item in settings:
        k, _, v = item.partition("=")
        overrides[k] = yaml.safe_load(v)
    cfg = load_config(env="local", overrides=overrides)
    lake_root = str(out / "lake")
    marks_file = out / "marks.json"
    marks_file.unlink(missing_ok=True)
    ctx = multiprocessing.get_context("spawn")
    records = ctx.Queue()
    receive, send = ctx.Pipe(duplex=False)
    period = None
    if stage != "ingest":
        from theater.period import Period

        period = Period.parse(start="2026-07-01", end="2026-10-01")
    args = (send, records, logs.settings(), os.getpid(), stage, cfg, lake_root, landing)
    args += (period, "probe-run", time.time())
    c0, t0 = _children_cpu(), time.time()
    child = ctx.Process(target=_probe_main, args=(str(marks_file), *args))
    stop = threading.Event()
    relay = threading.Thread(target=logs.relay, args=(records, stop), daemon=True)
    relay.start()
    child.start()
    send.close()
    outcome = receive.recv()
    t_result = time.time()
    child.join()
    t_end = time.time()
    stop.set()
    relay.join(timeout=10)
    if outcome[0] != "ok":
        raise RuntimeError(outcome[2] + "\n" + outcome[3])
    total = _children_cpu() - c0
    m = json.loads(marks_file.read_text())

    def cpu(a, b):
        return round(m[b][0] - m[a][0], 2) if a in m and b in m else None

    return {
        "stage": stage,
        "load": os.getloadavg()[0],
        "child_cpu": round(total, 2),
        "to_entry_cpu": round(m["entry"][0], 2),
        "engine_start_cpu": cpu("entry", "engine_up"),
        "stage_cpu": cpu("engine_up", "stage_done"),
        "engine_stop_cpu": cpu("stage_done", "engine_stopped"),
        "send_cpu": cpu("engine_stopped", "returned"),
        "after_return_cpu": round(total - m["returned"][0], 2),
        "os_exit": m.get("os_exit", False),
        "gc_cpu": m["gc_cpu"],
        "gc_n": m["gc_n"],
        "wall": round(t_end - t0, 2),
        "stage_wall": round(m["stage_done"][1] - m["engine_up"][1], 2),
        "result_to_end_wall": round(t_end - t_result, 2),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("landing")
    p.add_argument("out")
    p.add_argument("--stage", default="ingest")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    a = p.parse_args()
    out = Path(a.out).resolve()
    for i in range(a.repeat):
        d = out / f"run{i}"
        d.mkdir(parents=True, exist_ok=True)
        r = one_run(a.stage, a.landing, d, a.settings)
        print("RUN " + json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

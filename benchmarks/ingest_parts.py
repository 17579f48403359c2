"""Ingest's Python-side parts, timed: CPU seconds of the process inside each of the stage's
steps (listing and inspection of the landing files, the JSON arrays' re-framing, the checked
write and the rest), on top of ``benchmarks/profile_actions.py``'s report of engine actions.

    PYTHONPATH=src python benchmarks/ingest_parts.py LANDING OUT --stages ingest [options of
        profile_actions.py]

Each line ``TIMED <step> calls N cpu S`` (on stderr, after the run) is the process CPU during
that step's calls, the embedded engine's threads included (steps nest: ``_checked`` holds
``prepare``, which holds ``json_to_lines``). The line ``STAGE`` gives the process CPU and wall
between ``stage ingest: start`` and ``done`` and the CPU of GX's import on its prewarm thread
(which a pipeline run starts from the first gate result: it runs beside the stage, and its CPU
counts in the stage's). ``--no-prewarm``: that thread is not started (GX is imported when the
Data Docs are rendered, after the stage). Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import collections
import functools
import logging
import resource
import runpy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import theater.quality.runner as R  # noqa: E402
import theater.sources.landing as L  # noqa: E402
import theater.stages.ingest as I  # noqa: E402

TIMES: dict = collections.defaultdict(lambda: [0, 0.0])


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(module, name: str, label: str | None = None) -> None:
    f = getattr(module, name)

    @functools.wraps(f)
    def call(*a, **k):
        c = cpu()
        try:
            return f(*a, **k)
        finally:
            t = TIMES[label or name]
            t[0] += 1
            t[1] += cpu() - c

    setattr(module, name, call)


GX_CPU: dict = {}
MARKS: dict = {}


def watch_gx(prewarm: bool) -> None:
    """Time GX's prewarm thread (its own CPU), or keep it from starting."""
    if not prewarm:
        R.GX.prewarm = classmethod(lambda cls: None)
        return
    original = R.GX._prewarm.__func__

    def timed_prewarm(cls):
        t = time.thread_time()
        try:
            original(cls)
        finally:
            GX_CPU["cpu"] = time.thread_time() - t

    R.GX._prewarm = classmethod(timed_prewarm)


class StageMarks(logging.Handler):
    def emit(self, record):
        msg = record.getMessage()
        for mark in ("start", "done"):
            if msg.startswith(f"stage ingest: {mark}"):
                MARKS[mark] = (cpu(), time.time(), GX_CPU.get("cpu"))


def main() -> None:
    prewarm = "--no-prewarm" not in sys.argv
    sys.argv = [a for a in sys.argv if a != "--no-prewarm"]
    watch_gx(prewarm)
    logging.getLogger("theater").addHandler(StageMarks())
    for name in ("_list_dataset", "_checked", "_commit_files", "_record_dataset", "_finish"):
        timed(I, name)
    timed(I, "prepare")
    timed(I, "read_batch")
    timed(L, "_inspect")
    timed(L, "json_to_lines")
    sys.argv = ["profile_actions.py", *sys.argv[1:]]
    try:
        runpy.run_path(str(HERE / "profile_actions.py"), run_name="__main__")
    finally:
        for k, (n, s) in sorted(TIMES.items(), key=lambda x: -x[1][1]):
            print(f"TIMED {k:20s} calls {n:4d}  cpu {s:6.2f}", file=sys.stderr)
        if "start" in MARKS and "done" in MARKS:
            (c0, w0, _), (c1, w1, gx_done) = MARKS["start"], MARKS["done"]
            print(
                f"STAGE cpu {c1 - c0:.2f} wall {w1 - w0:.2f} gx_prewarm_cpu {GX_CPU.get('cpu')} "
                f"(ended before done: {gx_done is not None}) process_cpu {cpu():.2f}",
                file=sys.stderr,
            )


if __name__ == "__main__":
    main()

"""Ingest's Python-side parts, timed: CPU seconds of the process inside each of the stage's
steps (listing and inspection of the landing files, the JSON arrays' re-framing, the checked
write and the rest), on top of ``benchmarks/profile_actions.py``'s report of engine actions.

    PYTHONPATH=src python benchmarks/ingest_parts.py LANDING OUT --stages ingest [options of
        profile_actions.py]

Each line ``TIMED <step> calls N cpu S`` (on stderr, after the run) is the process CPU during
that step's calls, the embedded engine's threads included (steps nest: ``_checked`` holds
``prepare``, which holds ``json_to_lines``). Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import collections
import functools
import resource
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

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


def main() -> None:
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


if __name__ == "__main__":
    main()

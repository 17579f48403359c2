"""Ingest's listing alone (``sources.landing.list_files`` of the four datasets: SHA-256, gzip,
UTF-8, JSON depth and CSV shape, in Python, no engine): process CPU and wall; with ``--profile``
a ``cProfile`` report instead (its own overhead included). Run it from each tree to compare.

    PYTHONPATH=src python benchmarks/ingest_listing_cpu.py LANDING [--profile]

Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import cProfile
import pstats
import resource
import sys
import tempfile
import time

from theater.config import load_config
from theater.sources import landing as L
from theater.sources import limits as RL


def run(landing: str) -> None:
    for d in ("interactions", "directory", "work_items", "policies"):
        L.list_files(landing, d)


def main() -> None:
    RL.set_current(load_config(env="local"))
    landing = sys.argv[1]
    if "--profile" in sys.argv:
        out = tempfile.mktemp(suffix=".prof")
        cProfile.runctx("run(landing)", globals(), {"landing": landing}, out)
        pstats.Stats(out).sort_stats("tottime").print_stats(18)
        return
    w0, r0 = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    run(landing)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    used = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    print(f"cpu {used:.2f} wall {time.time() - w0:.2f}")


if __name__ == "__main__":
    main()

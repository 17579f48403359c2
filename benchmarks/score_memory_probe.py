"""Where a score run's carried memory sits: score on a refined lake (in place, in this
process) with the process's memory taken apart at outcome decoupling's start and end and at
the adoption step's start.

    python benchmarks/score_memory_probe.py OUT    # OUT/lake: a refined lake, OUT/state

Each probe prints one ``PROBE`` JSON line: RSS and ``/proc/self/smaps_rollup`` (MB), the bytes
pyarrow's pool holds live, the pandas frames alive and their bytes, then the RSS after
``gc.collect``, after glibc's ``malloc_trim(0)`` and after pyarrow's ``release_unused`` (in
that order; each gives back what the one before left). What none of them gives back is held
by the embedded engine (its allocator's cache or its live state). The probes free memory, so
the run's later peaks are not the pipeline's: measure peaks with ``peak_timeline.py``.
Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import sys
import time
from pathlib import Path

from process_use import rss_mb


def _smaps() -> dict:
    out = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "Anonymous", "Private_Dirty", "Shared_Clean", "Private_Clean"):
                out[k] = int(v.split()[0]) // 1024
    return out


def probe(label: str) -> None:
    import pandas as pd
    import pyarrow as pa

    frames = [o for o in gc.get_objects() if isinstance(o, pd.DataFrame)]
    rec = {
        "at": label,
        "rss": rss_mb(),
        "smaps": _smaps(),
        "pa_live_mb": pa.total_allocated_bytes() >> 20,
        "pandas_frames": len(frames),
        "pandas_mb": sum(int(f.memory_usage(deep=False).sum()) for f in frames) >> 20,
    }
    del frames
    gc.collect()
    rec["after_gc"] = rss_mb()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    rec["after_malloc_trim"] = rss_mb()
    pa.default_memory_pool().release_unused()
    rec["after_pa_release"] = rss_mb()
    print("PROBE " + json.dumps(rec), flush=True)


def _wrap(module, name: str, before: str, after: str | None = None) -> None:
    fn = getattr(module, name)

    def inner(*a, **kw):
        probe(before)
        out = fn(*a, **kw)
        if after:
            probe(after)
        return out

    setattr(module, name, inner)


def main() -> None:
    from theater.config import load_config
    from theater.period import Period
    from theater.pipeline import run_pipeline
    from theater.signals import outcome_decoupling
    from theater.stages import score

    _wrap(score, "adoption_frame", "adoption start")
    _wrap(outcome_decoupling, "_summed_cells", "decoupling start", "decoupling end")
    out = Path(sys.argv[1])
    cfg = load_config(env="local", overrides={"paths.state": str(out / "state")})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("theater").setLevel(logging.INFO)
    t = time.time()
    period = Period.parse(start="2026-07-01", end="2026-10-01")
    run_pipeline(cfg, period, ["score"], landing="/nonexistent", lake_root=str(out / "lake"))
    probe("score end")
    print("DONE", round(time.time() - t), flush=True)


if __name__ == "__main__":
    main()

"""What publishing a period into silver/interactions costs: Delta MERGE against replaceWhere.

Copies ``LAKE/silver/interactions`` to a scratch folder and publishes rows of it back into the
copy, one way per fresh process, on the embedded Sail engine; prints the process's peak RSS
(sampled every 50 ms) before and during the publish, and its wall and CPU seconds. Figures:
``benchmarks/RESULTS.md``, sessions 9 and 10.

``moved-in`` measures what the replaceWhere publish adds on a lake with history: refine's
search for events whose silver row lies outside the period (``refine._moved_in``: a semi-join
on 64-bit key hashes). It reads ``LAKE`` without copying it and takes September as the period,
so the quarter's July and August stand for the history (two thirds of the rows) and September's
rows for the period's.

    python benchmarks/publish_cost.py LAKE SCRATCH [merge|merge-nodelete|merge-day|merge-day-nodelete|replace|moved-in ...]
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

QUARTER = "t.event_ts >= TIMESTAMP '2026-07-01' AND t.event_ts < TIMESTAMP '2026-10-01'"
DAY = "2026-08-05"


def peak_rss() -> list[int]:
    """A one-item list that a thread keeps at this process's peak RSS in MB (every 50 ms)."""
    import psutil

    peak = [0]

    def sample():
        proc = psutil.Process()
        while True:
            peak[0] = max(peak[0], proc.memory_info().rss >> 20)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    return peak


def one(lake_root: str, scratch: str, way: str) -> str:

    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake

    root = Path(scratch) / way
    shutil.rmtree(root, ignore_errors=True)
    if way == "moved-in":
        return moved_in(lake_root, root)
    shutil.copytree(Path(lake_root) / "silver" / "interactions", root / "silver" / "interactions")
    peak = peak_rss()
    cfg = load_config(env="local", overrides={"paths.state": str(root / "state")})
    with session(cfg) as spark:
        lake = Lake(str(root), "delta")
        src = lake.read(spark, "silver/interactions")
        if "day" in way:
            src = src.where(f"event_date = DATE '{DAY}'")
        src.write.mode("overwrite").parquet(str(root / "src"))  # the staged copy refine has
        src = spark.read.schema(src.schema).parquet(str(root / "src"))
        rows = src.count()
        before, t0 = peak[0], time.time()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        if way == "replace":
            lake.replace_where(src, "silver/interactions", QUARTER.replace("t.", ""))
        else:
            kw = {"update_condition": "t._row_hash IS NULL OR t._row_hash <> s._row_hash"}
            if "nodelete" not in way:
                day = f"t.event_date = DATE '{DAY}'"
                kw["delete_unmatched_condition"] = day if "day" in way else QUARTER
            lake.merge(src, "silver/interactions", on=["tool", "event_id"], **kw)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
        after = lake.read(spark, "silver/interactions").count()
    shutil.rmtree(root, ignore_errors=True)
    return (
        f"{way}: {rows:,} source rows, peak RSS {peak[0]:,} MB (before {before:,}), "
        f"{time.time() - t0:.1f} s wall, {cpu:.1f} CPU s; table {after:,} rows"
    )


def moved_in(lake_root: str, root: Path) -> str:
    from datetime import date

    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake
    from theater.period import Period
    from theater.stages.refine import _moved_in

    peak = peak_rss()
    period = Period(date(2026, 9, 1), date(2026, 10, 1))
    cfg = load_config(env="local", overrides={"paths.state": str(root / "state")})
    with session(cfg) as spark:
        lake = Lake(lake_root, "delta")
        silver = lake.read(spark, "silver/interactions")
        src = silver.where(period.ts_col("event_ts")).select("tool", "event_id")
        src.write.mode("overwrite").parquet(str(root / "src"))  # the staged copy refine has
        src = spark.read.schema(src.schema).parquet(str(root / "src"))
        rows, history = src.count(), silver.count() - src.count()
        before, t0 = peak[0], time.time()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        found = _moved_in(spark, lake, src, period)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    shutil.rmtree(root, ignore_errors=True)
    return (
        f"moved-in: {rows:,} period rows against {history:,} rows outside it, "
        f"{'more than the limit' if found is None else len(found)} moved in; peak RSS "
        f"{peak[0]:,} MB (before {before:,}), {time.time() - t0:.1f} s wall, {cpu:.1f} CPU s"
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(one(*sys.argv[2:5]), flush=True)
        return 0
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    lake, scratch, ways = sys.argv[1], sys.argv[2], sys.argv[3:] or ["merge", "replace"]
    for way in ways:  # one process each: the engine keeps what it freed
        out = subprocess.run(
            [sys.executable, __file__, "--one", lake, scratch, way],
            capture_output=True,
            text=True,
            check=True,
        )
        print(out.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

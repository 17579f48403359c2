"""Peak RSS of score's adoption step alone, call by call, on a scored lake (read only).

    python benchmarks/adoption_peak.py LAKE OUT [--dump adoption.parquet] [--interval 0.1]

Reads the lake's silver inputs, its ``gold/interaction_labels`` and ``gold/org_theater_index``
of the period (nothing is written to the lake: the staging folder is ``OUT/staging``), writes
the period's interactions by user bucket as score does (``score._interaction_parts``, not
measured), then runs ``score.adoption_frame`` as ``compute_gold`` calls it and writes its rows
once (``OUT/adoption``, what the quality gate's staged copy computes before the commit), with
the calls below wrapped. This process's RSS (the embedded engine is in it) is sampled every
``--interval`` seconds; per wrapped call the report gives its peak RSS, wall and process CPU
seconds (inclusive). ``--dump`` writes the rows (sorted ``toPandas``) to compare two trees'
results. Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from datetime import date

from org_index_peak import ACTIVE, CALLS, cpu, fresh_staging, rss_mb, sampler, wrap


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("lake")
    p.add_argument("out")
    p.add_argument("--dump")
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument(
        "--parts",
        action="store_true",
        help="also write each per-person and per-org part of the table alone (its peak)",
    )
    a = p.parse_args()
    threading.Thread(target=sampler, args=(a.interval,), daemon=True).start()

    from pyspark.sql.connect.dataframe import DataFrame

    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake
    from theater.period import Period
    from theater.stages import score
    from theater.transforms import adoption as adopt

    cfg = load_config(env="local")
    period = Period(date(2026, 7, 1), date(2026, 10, 1))
    staging = fresh_staging(a.out)
    with session(cfg) as spark:
        lake = Lake(a.lake, cfg.table_format)
        inputs = score.read_inputs(spark, lake, period, cfg)
        t = time.time()
        parts = score._interaction_parts(spark, inputs, period, cfg, staging)
        in_period = parts.where(period.ts_col("event_ts")) if parts is not None else None
        print(json.dumps({"parts_s": round(time.time() - t, 1), "rss_mb": rss_mb()}), flush=True)
        labels = lake.read(spark, "gold/interaction_labels").where(period.ts_col("event_ts"))
        index = lake.read(spark, "gold/org_theater_index").where(period.matches_col())
        for mod, name in (
            (adopt, "staged_event_activity"),
            (score, "materialize"),
            (adopt, "seat_figures"),
            (adopt, "days_to_first_use"),
            (DataFrame, "collect"),
            (DataFrame, "toPandas"),
        ):
            wrap(mod, name)
        kept = {}
        activity_of = score._adoption_activity

        def keep_activity(*args, **kw):
            kept["activity"] = activity_of(*args, **kw)
            return kept["activity"]

        score._adoption_activity = keep_activity
        start, t0, c0 = rss_mb(), time.time(), cpu()
        rec = {"call": "adoption step", "start_mb": start, "peak_mb": start}
        ACTIVE.append(rec)
        frame = score.adoption_frame(
            inputs, index, period, cfg, "run", labels, staging=staging, parts=in_period
        )
        built = {"call": "adoption_frame (plans, staged activity)", "peak_mb": rec["peak_mb"]}
        built.update(wall_s=round(time.time() - t0, 2), cpu_s=round(cpu() - c0, 2))
        print(json.dumps(built), flush=True)
        w = {"call": "the table's rows written", "start_mb": rss_mb(), "peak_mb": rss_mb()}
        ACTIVE.append(w)
        t1, c1 = time.time(), cpu()
        frame.write.mode("overwrite").parquet(os.path.join(a.out, "adoption"))
        w.update(wall_s=round(time.time() - t1, 2), cpu_s=round(cpu() - c1, 2))
        ACTIVE.remove(w)
        print(json.dumps(w), flush=True)
        rec.update(wall_s=round(time.time() - t0, 2), cpu_s=round(cpu() - c0, 2))
        ACTIVE.remove(rec)
        print(json.dumps(rec), flush=True)
        CALLS.extend([built, w, rec])
        if a.parts:
            activity = kept["activity"]  # (activity, by bucket) where staged by bucket
            activity = activity[0] if isinstance(activity, tuple) else activity
            write_parts(spark, activity, labels, a.out)
        if a.dump:
            rows = spark.read.parquet(os.path.join(a.out, "adoption")).toPandas()
            rows = rows.drop(columns=["run_id"]).sort_values(["org_id", "source_format"])
            rows.reset_index(drop=True).to_parquet(a.dump)
    shutil.rmtree(staging, ignore_errors=True)
    with open(os.path.join(a.out, "adoption_peak.json"), "w") as f:
        json.dump(CALLS, f, indent=1)


def write_parts(spark, activity, labels, out: str) -> None:
    """Each part of the adoption table's plan written alone from the staged activity: its
    peak RSS, wall and CPU (a record each in CALLS)."""
    from theater.transforms import adoption as adopt

    frames = {
        "person rows (_person_rows)": lambda: adopt._person_rows(activity),
        "person theater (labels per person)": lambda: adopt.person_theater(labels),
        "cohorts (current only)": lambda: adopt.cohorts(
            activity, None, date(2026, 4, 1), date(2026, 7, 1)
        ),
    }
    for name, make in frames.items():
        rec = {"call": name, "start_mb": rss_mb(), "peak_mb": rss_mb()}
        ACTIVE.append(rec)
        t, c = time.time(), cpu()
        make().write.mode("overwrite").parquet(os.path.join(out, "part"))
        rec.update(wall_s=round(time.time() - t, 2), cpu_s=round(cpu() - c, 2))
        ACTIVE.remove(rec)
        CALLS.append(rec)
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()

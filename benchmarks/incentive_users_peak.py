"""Peak RSS of one per-(org, user) aggregate of a scored lake's labels, in a fresh process.

    python benchmarks/incentive_users_peak.py LAKE VARIANT OUT

Reads ``gold/interaction_labels`` of the lake (read only), builds the incentive units of the
events (``aggregates.event_units``; a lake's aggregate units are left out) and writes one
aggregate to Parquet at ``OUT``, sampling this process's RSS (the embedded engine is in it)
every 0.1 s. VARIANT: ``tree`` (``aggregates.incentive_users`` of this tree, with score's extra
sums), ``set`` (the same aggregate with the measured bases as a ``collect_set``, the form
before the integer flags), ``orgusers`` (``agg_org_users``), ``orgsources`` (``org_sources``
over the period's silver rows: a set aggregate per org), ``count`` (rows per (org, user)).
Prints the base, the peak, wall and CPU seconds and about 30 samples of the write.
Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import date
from unittest import mock

from process_use import RssSampler, cpu


def frame(spark, lake_dir: str, variant: str, cfg, period):
    from pyspark.sql import functions as F

    from theater.lake import Lake
    from theater.stages import incentives
    from theater.stages.score import FLAG_NAMES, org_sources
    from theater.transforms import aggregates as agg
    from theater.transforms.score import agg_org_users

    lake = Lake(lake_dir, cfg.table_format)
    labels = lake.read(spark, "gold/interaction_labels").where(period.ts_col("event_ts"))
    units = agg.event_units(labels)
    pi = agg.explained(("w_q", "w_cp"))
    extra = (
        F.sum(F.col("n") * pi).alias("_num"),
        F.sum(F.when(pi.isNotNull(), F.col("n"))).alias("_den"),
        incentives.filler_sum(),
    )
    if variant == "tree":
        return agg.incentive_users(units, extra)
    if variant == "set":

        def as_set(measured):  # the measured bases as one set, not a flag per basis
            return F.collect_set(F.when(measured, F.col("basis")))

        with mock.patch.object(agg, "measured_bases", as_set):
            return agg.incentive_users(units, extra)
    if variant == "orgusers":
        return agg_org_users(labels, FLAG_NAMES)
    if variant == "orgsources":
        silver = lake.read(spark, "silver/interactions").where(period.ts_col("event_ts"))
        return org_sources(silver, None)
    if variant == "count":
        rows = labels.where(F.col("org_id").isNotNull())
        return rows.groupBy("org_id", "user_key").agg(F.count("*").alias("n"))
    raise SystemExit(f"unknown variant {variant}")


def main() -> None:
    lake_dir, variant, out = sys.argv[1:4]
    rss = RssSampler(0.1).start()
    from theater.config import load_config
    from theater.engine import session
    from theater.period import Period

    cfg = load_config(env="local")
    period = Period(date(2026, 7, 1), date(2026, 10, 1))
    shutil.rmtree(out, ignore_errors=True)
    with session(cfg) as spark:
        df = frame(spark, lake_dir, variant, cfg, period)
        base = rss.reset()
        t, c = time.time(), cpu()
        rss.t0 = t
        df.write.parquet(out)
        rss.t0 = 0.0
        rec = {"variant": variant, "lake": lake_dir, "base_mb": base, "peak_mb": rss.peak}
        rec.update(wall_s=round(time.time() - t, 1), cpu_s=round(cpu() - c, 2))
        rec["rows"] = spark.read.parquet(out).count()
        print(json.dumps(rec), flush=True)
        print("SAMPLES " + json.dumps(rss.samples[:: max(1, len(rss.samples) // 30)]), flush=True)


if __name__ == "__main__":
    main()

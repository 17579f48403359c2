"""The engine's set aggregate against groups and rows, on synthetic rows (fresh process).

    python benchmarks/set_aggregate_groups.py ROWS GROUPS set|max

Groups ``ROWS`` rows of ``spark.range`` into ``GROUPS`` string keys and writes, per key, a
count and either ``collect_set`` of a constant string where a condition holds (``set``) or a
max of an integer flag under the same condition (``max``); prints the process's base and peak
RSS (sampled every 0.05 s) and the write's CPU seconds. Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
import sys

from process_use import RssSampler, cpu


def main() -> None:
    rows, groups, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rss = RssSampler(0.05).start()
    from pyspark.sql import functions as F

    from theater.config import load_config
    from theater.engine import session

    with session(load_config(env="local")) as spark:
        df = spark.range(rows).select(
            F.concat(F.lit("user-"), (F.col("id") % groups).cast("string")).alias("k"),
            F.lit("events").alias("basis"),
            (F.col("id") % 3).alias("v"),
        )
        cond = F.col("v") > 0
        if kind == "set":
            a = F.collect_set(F.when(cond, F.col("basis")))
        else:
            a = F.max(F.when(cond, F.lit(1)))
        out = df.groupBy("k").agg(F.count("*").alias("n"), a.alias("a"))
        base = rss.reset()
        c = cpu()
        out.write.mode("overwrite").parquet(f"/tmp/set_aggregate_groups_{kind}")
        rec = {"rows": rows, "groups": groups, "kind": kind, "base_mb": base}
        rec.update(peak_mb=rss.peak, cpu_s=round(cpu() - c, 2))
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()

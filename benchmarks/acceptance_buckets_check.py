"""The acceptance estimate from counts collected a user bucket at a time equals the one plan's.

    python benchmarks/acceptance_buckets_check.py LAKE BUCKETS [--staged DIR] [--replicates R]

On a refined lake (read only): ``acceptance_excess.estimate`` of ``acceptance_counts(...)``
collected in one plan (as score did before) against ``acceptance_codes.estimate_counts`` of
the counts collected in ``BUCKETS`` user buckets (filtered from the period's rows, or read from
a staged copy by user bucket written under ``--staged``, as score's labels write it), with the
same per-user usage frame (the org index step's, without incentives; ``--replicates``: the bootstrap's, default
``scoring.bootstrap.replicates``). Prints the largest
difference per column, the rows, and each side's process CPU seconds and peak RSS growth.
Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date

import numpy as np
from process_use import RssSampler, cpu

RSS = RssSampler(0.1)


def measured(label, fn):
    time.sleep(0.3)
    base = RSS.reset()
    c = cpu()
    out = fn()
    print(f"{label}: {cpu() - c:.1f} CPU s, peak {RSS.peak} MB (base {base})", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("lake")
    p.add_argument("buckets", type=int)
    p.add_argument("--staged")
    p.add_argument("--replicates", type=int)
    a = p.parse_args()
    RSS.start()
    from theater.buckets import user_bucket, write_partitioned
    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake
    from theater.period import Period
    from theater.signals import acceptance_codes as codes
    from theater.signals import acceptance_excess as ax
    from theater.stages import score

    cfg = load_config(env="local")
    period = Period(date(2026, 7, 1), date(2026, 10, 1))
    b = cfg.scoring.bootstrap
    reps = a.replicates if a.replicates is not None else b.replicates
    s = ax.Settings(replicates=reps, confidence=b.confidence, seed=b.seed)
    with session(cfg) as spark:
        lake = Lake(a.lake, cfg.table_format)
        inputs = score.read_inputs(spark, lake, period, cfg)
        aggs = score.aggregate_units(inputs, period, cfg)
        events = inputs.interactions.where(period.ts_col("event_ts"))
        labels = lake.read(spark, "gold/interaction_labels").where(period.ts_col("event_ts"))
        _, usage = score.incentive_frames(spark, labels, aggs, None, cfg)
        users = usage.toPandas()
        staging = None
        if a.staged:
            shutil.rmtree(a.staged, ignore_errors=True)
            src = score.staged_interactions(a.staged)
            chunks = inputs.chunks(a.buckets) if inputs.chunks else [inputs.interactions]
            for i, part in enumerate(chunks):  # as score's labels write it
                write_partitioned(part, user_bucket(a.buckets), src, i > 0, a.buckets)
            staging = a.staged
        ud = aggs.user_days if aggs is not None else None

        def old():
            return ax.estimate(ax.acceptance_counts(ud, events).toPandas(), users, s)

        def new():
            parts = score.acceptance_parts(spark, events, aggs, period, staging, a.buckets)
            return codes.estimate_counts(codes.collect_counts(parts or [(ud, events)]), users, s)

        # the buckets first: the engine keeps memory it once held, which would hide their peak
        many = measured(f"{a.buckets} buckets", new).sort_values("org_id").reset_index(drop=True)
        one = measured("one plan", old).sort_values("org_id").reset_index(drop=True)
        assert list(one["org_id"]) == list(many["org_id"])
        for c in one.columns:
            x, y = one[c], many[c]
            if x.dtype.kind == "f":
                same = np.array_equal(x.to_numpy(float), y.to_numpy(float), equal_nan=True)
                print(c, "equal" if same else np.nanmax(np.abs(x - y)))
            else:
                print(c, "equal" if x.astype(str).equals(y.astype(str)) else "DIFFERENT")
        print("orgs", len(one), "published", int(one["share"].notna().sum()))
    if a.staged:
        shutil.rmtree(a.staged, ignore_errors=True)


if __name__ == "__main__":
    main()

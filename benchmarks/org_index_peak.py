"""Peak RSS of score's org index step alone, call by call, on a scored lake (read only).

    python benchmarks/org_index_peak.py LAKE OUT [--dump index.parquet] [--interval 0.1]
        [--until incentive_frames] [--timeline samples.jsonl]

Reads the lake's silver inputs and its ``gold/interaction_labels`` (nothing is written to the
lake: the staging folder is ``OUT/staging``), computes the incentive signals as score does
(``incentives.compute``, not measured), then runs ``score.index_frame`` as ``compute_gold``
calls it, with the functions below wrapped. This process's RSS (the embedded engine is in it)
is sampled every ``--interval`` seconds; per wrapped call the report gives its peak RSS, wall
and process CPU seconds (inclusive). ``index_frame up to org_columns`` is what score's log
calls the org index step (decoupling and the rank bands log their own lines). ``--dump``
writes the step's org rows (``toPandas`` of its output) to compare two trees' results.
``--until NAME`` stops the process when the wrapped call NAME (e.g. ``incentive_frames``)
returns, for a step whose later calls are not the question. ``--timeline`` writes every
sample (seconds since the step's start, RSS, the innermost wrapped call running) as JSON
lines, to tell which call a climb of the RSS falls in.
Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import threading
import time
from datetime import date

from process_use import cpu, rss_mb

ACTIVE: list[dict] = []
CALLS: list[dict] = []
TIMELINE: list[tuple] = []
T0 = [0.0]
UNTIL: list[str] = []


def sampler(interval: float) -> None:
    while True:
        now = rss_mb()
        active = list(ACTIVE)
        for rec in active:
            rec["peak_mb"] = max(rec["peak_mb"], now)
        if T0[0]:
            call = active[-1]["call"] if active else None
            TIMELINE.append((round(time.time() - T0[0], 2), now, call))
        time.sleep(interval)


def fresh_staging(out: str) -> str:
    """``OUT/staging``, emptied: the step's scratch folder (the lake is only read)."""
    staging = os.path.join(out, "staging")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    return staging


def wrap(module, name: str, label: str | None = None) -> None:
    fn = getattr(module, name)
    label = label or f"{module.__name__.rsplit('.', 1)[-1]}.{name}"

    @functools.wraps(fn)
    def inner(*a, **kw):
        start = rss_mb()
        rec = {"call": label, "start_mb": start, "peak_mb": start}
        ACTIVE.append(rec)
        t, c = time.time(), cpu()
        try:
            out = fn(*a, **kw)
        finally:
            rec["peak_mb"] = max(rec["peak_mb"], rss_mb())
            rec["wall_s"] = round(time.time() - t, 2)
            rec["cpu_s"] = round(cpu() - c, 2)
            ACTIVE.remove(rec)
            CALLS.append(rec)
            print(json.dumps(rec), flush=True)
        if label.rsplit(".", 1)[-1] in UNTIL or label in UNTIL:
            raise SystemExit(f"--until {label}")
        return out

    setattr(module, name, inner)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("lake")
    p.add_argument("out")
    p.add_argument("--dump")
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--until")
    p.add_argument("--timeline")
    a = p.parse_args()
    if a.until:
        UNTIL.append(a.until)
    threading.Thread(target=sampler, args=(a.interval,), daemon=True).start()

    from pyspark.sql.connect.dataframe import DataFrame

    from theater.buckets import user_bucket, write_partitioned
    from theater.config import load_config
    from theater.engine import session
    from theater.lake import Lake
    from theater.period import Period
    from theater.signals import acceptance_excess as ax

    try:
        from theater.signals import acceptance_codes as codes
    except ImportError:  # a tree from before the counts were collected by user bucket
        codes = None
    from theater.stages import incentives, score
    from theater.transforms import aggregates as agg

    cfg = load_config(env="local")
    period = Period(date(2026, 7, 1), date(2026, 10, 1))
    staging = fresh_staging(a.out)
    with session(cfg) as spark:
        lake = Lake(a.lake, cfg.table_format)
        inputs = score.read_inputs(spark, lake, period, cfg)
        aggs = score.aggregate_units(inputs, period, cfg)
        rows = inputs.interactions.where(period.ts_col("event_ts"))
        t = time.time()
        inc = incentives.compute(
            spark,
            rows,
            inputs.policies,
            period.start,
            period.end,
            cfg,
            aggs.period if aggs is not None else None,
            staging=staging,
        )
        print(json.dumps({"incentives_s": round(time.time() - t, 1)}), flush=True)
        n = score.label_buckets(inputs.interactions, period, cfg)
        if n > 1:  # the labels' staged copy by user bucket (``score.bucketed_gold``)
            parts = inputs.chunks(n) if inputs.chunks is not None else [inputs.interactions]
            for i, part in enumerate(parts):
                src = os.path.join(staging, "interactions")
                write_partitioned(part, user_bucket(n), src, append=i > 0, files=n)
        labels = lake.read(spark, "gold/interaction_labels").where(period.ts_col("event_ts"))
        for mod, name in (
            (score, "agg_org_users"),
            (score, "bootstrap_interval"),
            (score, "materialize"),
            (agg, "incentive_users"),
            (score, "incentive_frames"),
            (incentives, "compute_org_shares"),
            (incentives, "org_shares"),
            (score, "acceptance_index"),
            (ax, "estimate"),
            (codes, "collect_counts"),
            (codes, "estimate_counts"),
            (DataFrame, "toPandas"),
            (DataFrame, "collect"),
        ):
            if mod is not None:
                wrap(mod, name)
        pre = {}
        org_columns = incentives.org_columns

        def until_columns(*args, **kw):  # the org index step ends where org_columns starts
            pre.update(peak_mb=max(r["peak_mb"] for r in ACTIVE), wall_s=time.time() - t0)
            pre.update(cpu_s=cpu() - c0)
            return org_columns(*args, **kw)

        incentives.org_columns = until_columns
        wrap(score, "index_frame")
        base = rss_mb()
        t0, c0 = time.time(), cpu()
        T0[0] = t0
        summary = {"lake": a.lake, "buckets": n, "base_mb": base}
        try:
            index = score.index_frame(
                spark,
                labels,
                period,
                cfg,
                "trace",
                policies=inputs.policies,
                work_items=inputs.work_items,
                inc=inc,
                history=score.decoupling_history(inputs.history, aggs),
                aggs=aggs,
                period_rows=rows,
                staging=staging,
                buckets=n,
                org_days=inputs.org_days,
            )
            got = index.toPandas()
        except SystemExit as stop:  # --until: the step's later calls are not measured
            summary["stopped"] = str(stop)
            got = None
        finally:
            if a.timeline:
                with open(a.timeline, "w") as f:
                    for t_s, mb, call in list(TIMELINE):
                        f.write(json.dumps({"t": t_s, "rss_mb": mb, "call": call}) + "\n")
        summary["org_index_step"] = {k: round(v, 2) for k, v in pre.items()}
        if got is not None:
            summary["orgs"] = len(got)
        print("SUMMARY " + json.dumps(summary), flush=True)
        if a.dump and got is not None:
            got.to_parquet(a.dump)
    shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    main()

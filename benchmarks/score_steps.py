"""Where score's CPU goes, step by step: ``profile_actions.py`` with score's functions wrapped.

    python benchmarks/score_steps.py OUT.json [--gx-first] -- benchmarks/profile_actions.py \
        LANDING LAKE_DIR --stages score --keep-lake

Each listed function is charged, inclusively, the process CPU spent during its calls
(getrusage: the engine's threads are in it) and the main thread's CPU (``time.thread_time``:
the Python, the Spark Connect client included); ``other`` = process - main, mostly the engine.
``--gx-first``: Great Expectations imported before the run, so that the pipeline's background
import of it (it prewarms the Data Docs) does not fall into score's steps, as it does not in a
whole pipeline run, where it happens during ingest. The table is printed and written to
OUT.json. Figures: ``benchmarks/RESULTS.md``.
"""

import collections
import functools
import importlib
import json
import resource
import runpy
import sys
import time

out = sys.argv[1]
args = sys.argv[sys.argv.index("--") + 1 :]
if "--gx-first" in sys.argv[: sys.argv.index("--")]:
    t = time.process_time()
    import great_expectations  # noqa: F401

    print("gx imported first", round(time.process_time() - t, 2), file=sys.stderr)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


stats = collections.defaultdict(lambda: [0, 0.0, 0.0])
TARGETS = {
    "theater.stages.score": [
        "read_inputs",
        "aggregate_units",
        "_labels",
        "_interaction_parts",
        "bucketed_gold",
        "user_weeks_frame",
        "index_frame",
        "incentive_frames",
        "acceptance_index",
        "org_sources",
        "org_index",
        "idle_org_rows",
        "adoption_frame",
        "_outcome",
        "label_buckets",
        "labels_frame",
        "decoupling_history",
        "agg_org_users",
        "agg_org_signals",
        "bootstrap_interval",
        "blank_suppressed",
        "materialize",
        "compute_gold",
    ],
    "theater.stages.incentives": [
        "compute",
        "_quota_bunching",
        "checkpoint_estimates",
        "cell_week_table",
        "checkpoint_day_table",
        "compute_org_shares",
        "org_columns",
        "_rank_bands",
        "with_org_columns",
        "org_shares",
        "lead_calendar",
        "diagnostics",
        "share_columns",
        "_decoupling_columns",
        "apply",
    ],
    "theater.signals.quota_bunching": [
        "estimate_all",
        "cell_rates",
        "binned_replicates",
        "pool_small_regimes",
        "estimate_regime",
    ],
    "theater.signals.acceptance_excess": ["estimate", "acceptance_counts"],
    "theater.signals.outcome_decoupling": ["estimate"],
    "theater.signals.sensitivity": ["org_shares"],
    "theater.audit.integrate": ["apply", "calibrate_labels"],
    "theater.pipeline": ["org_rows"],
    "theater.transforms.adoption": ["staged_event_activity", "org_adoption", "person_theater"],
}
METHODS = {
    "theater.quality.gate": {"Gate": ["check", "finish", "__post_init__"]},
    "theater.lake": {"Lake": ["commit_staged", "remove_unlisted", "read", "replace_where"]},
}


def wrap(name, f):
    @functools.wraps(f)
    def w(*a, **k):
        c, t = cpu(), time.thread_time()
        try:
            return f(*a, **k)
        finally:
            key = name + (":" + a[1] if name == "Gate.check" else "")
            s = stats[key]
            s[0] += 1
            s[1] += cpu() - c
            s[2] += time.thread_time() - t

    return w


def patch_all():
    for mod, names in TARGETS.items():
        m = importlib.import_module(mod)
        for n in names:
            if hasattr(m, n):
                setattr(m, n, wrap(f"{mod.split('.')[-1]}.{n}", getattr(m, n)))
            else:
                print("missing", mod, n, file=sys.stderr)

    for mod, clsd in METHODS.items():
        m = importlib.import_module(mod)
        for cls, names in clsd.items():
            if not hasattr(m, cls):
                print("missing", mod, cls, file=sys.stderr)
                continue
            C = getattr(m, cls)
            for n in names:
                setattr(C, n, wrap(f"{cls}.{n}", getattr(C, n)))


sys.path.insert(0, args[0].rsplit("/benchmarks/", 1)[0] + "/src")
patch_all()
t0 = cpu()
tt0 = time.thread_time()
sys.argv = args
try:
    runpy.run_path(args[0], run_name="__main__")
except SystemExit:
    pass
stats["TOTAL"] = [1, cpu() - t0, time.thread_time() - tt0]
json.dump(stats, open(out, "w"), indent=0)
print("%-45s %5s %8s %8s %8s" % ("function", "calls", "proc", "main", "other"))
for k, (n, c, t) in sorted(stats.items(), key=lambda kv: -kv[1][1]):
    print("%-45s %5d %8.2f %8.2f %8.2f" % (k, n, c, t, c - t))

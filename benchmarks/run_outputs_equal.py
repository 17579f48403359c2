"""Whether two whole pipeline runs wrote the same outputs: every Delta table under bronze,
silver, gold and ops of the two lakes (rows compared as sorted text, all columns but batch and
run ids and ``*_at`` times; the same columns in the same order), and, given their state
folders, the MLflow runs (parent and stages, by run name): status, params (but the lake and
state paths and the git commit), metrics (but seconds and rates), tag names and artifact names.
Prints SAME or DIFFERENT per item; exit 1 when any differ.

    python benchmarks/run_outputs_equal.py LAKE_A LAKE_B [--state STATE_A STATE_B]
"""

from __future__ import annotations

import argparse
import os
import sys

DROP = {"_batch_id", "_ingested_at", "batch_id", "ingested_at", "run_id", "validated_at"}
VARYING_PARAMS = {"lake", "cfg.paths.state", "git_commit"}


def tables_equal(a: str, b: str) -> int:
    from deltalake import DeltaTable

    bad = 0
    for layer in ("bronze", "silver", "gold", "ops"):
        if not os.path.isdir(os.path.join(a, layer)):  # e.g. a lake refined, not scored
            continue
        for t in sorted(os.listdir(os.path.join(a, layer))):
            p, q = os.path.join(a, layer, t), os.path.join(b, layer, t)
            if not os.path.isdir(os.path.join(p, "_delta_log")):
                continue
            da = DeltaTable(p).to_pandas()
            db = DeltaTable(q).to_pandas() if os.path.isdir(q) else None
            cols = sorted(c for c in da.columns if c not in DROP and not c.endswith("_at"))
            same = db is not None and list(da.columns) == list(db.columns)
            if same:
                x = da[cols].astype(str).sort_values(cols).reset_index(drop=True)
                y = db[cols].astype(str).sort_values(cols).reset_index(drop=True)
                same = x.equals(y)
            bad += not same
            print(f"{layer}/{t}: {da.shape} {'SAME' if same else 'DIFFERENT'}")
    return bad


def runs(state: str) -> dict:
    import mlflow

    c = mlflow.MlflowClient(tracking_uri=f"sqlite:///{os.path.abspath(state)}/mlflow.db")
    exps = [e.experiment_id for e in c.search_experiments() if e.name != "Default"]
    out = {}
    for r in c.search_runs(exps):
        out[r.data.tags.get("mlflow.runName")] = {
            "status": r.info.status,
            "params": {k: v for k, v in r.data.params.items() if k not in VARYING_PARAMS},
            "metrics": {
                k: v
                for k, v in r.data.metrics.items()
                if "seconds" not in k and "per_second" not in k
            },
            "tag names": sorted(r.data.tags),
            "artifacts": sorted(f.path for f in c.list_artifacts(r.info.run_id)),
        }
    return out


def runs_equal(a: str, b: str) -> int:
    ra, rb = runs(a), runs(b)
    bad = int(sorted(ra) != sorted(rb))
    for name in sorted(ra):
        for what, value in ra[name].items():
            same = name in rb and rb[name][what] == value
            bad += not same
            print(f"MLflow run {name!r} {what}: {'SAME' if same else 'DIFFERENT'}")
    return bad


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("lake_a")
    p.add_argument("lake_b")
    p.add_argument("--state", nargs=2)
    a = p.parse_args()
    bad = tables_equal(a.lake_a, a.lake_b)
    if a.state:
        bad += runs_equal(*a.state)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

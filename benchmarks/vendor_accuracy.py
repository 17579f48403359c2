"""Accuracy on vendor-delivered data: the same generated world delivered as vendor
exports and natively, each run through ``theater run`` (ingest, refine, score; embedded Sail,
Delta tables) on a temporary lake, then compared with the generator's planted truth.

Usage: python benchmarks/vendor_accuracy.py [--quick] [--seeds 41 42] [--orgs N] [--users N]
       [--out DIR] [--keep]
       [--reuse]  (measure the worlds and lakes an earlier --keep run left in --out)

Settings (a seed is one world; the seeds are not the ones the tests use: 1, 3, 5, 7, 11, 13):
- full (default): seeds 41 and 42, 24 orgs, 1,500 users, quarter 2026Q3 (2026-07-01..10-01);
- ``--quick``: seed 43, 12 orgs, 500 users, four weeks (2026-07-01..07-29).

Per seed it reports
- per vendor format: bronze rows (interactions, interaction_updates, user_days, org_days,
  quarantined) against ``truth/vendor_counts.json`` (exact match expected);
- per org: ``theater_index`` (where measurable) against the planted theater share, and
  ``incentive_index`` against the planted incentive share (quota-filler + checkpoint-burst
  interactions / interactions, ``truth/orgs.csv``) for orgs measured only by aggregates;
- Spearman with n for each group (orgs with an index; aggregate-only orgs; all orgs with an
  incentive index), the orgs with a null index by ``not_measurable_reason``, and a check that
  no published index rests on nothing measured (index 0 with no signal coverage);
- the same figures for the native delivery of the same world (baseline).

Prints Markdown tables and writes ``<out>/vendor_accuracy.json``. Timings are wall seconds
on a shared machine (the load average is printed with them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
FULL = {
    "seeds": [41, 42],
    "n_orgs": 24,
    "n_users": 1500,
    "start": "2026-07-01",
    "end": "2026-10-01",
}
QUICK = {"seeds": [43], "n_orgs": 12, "n_users": 500, "start": "2026-07-01", "end": "2026-07-29"}
TABLES = ("interactions", "interaction_updates", "user_days", "org_days", "quarantined")


def _table(path: Path) -> pd.DataFrame:
    from deltalake import DeltaTable

    return DeltaTable(str(path)).to_pandas()


def run_cli(landing: Path, lake: Path, state: Path, start: str, end: str) -> float:
    """``theater run`` in a subprocess (as a user starts it); returns wall seconds."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THEATER_") and k != "MLFLOW_TRACKING_URI"
    }
    env["THEATER_PATHS__STATE"] = str(state)
    cmd = [sys.executable, "-m", "theater.cli", "run", "--landing", str(landing)]
    cmd += ["--lake", str(lake), "--start", start, "--end", end]
    for s in ("ingest", "refine", "score"):
        cmd += ["--stage", s]
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"theater run failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return round(time.time() - t, 1)


def bronze_counts(lake: Path, formats) -> dict[str, dict[str, int]]:
    got: dict[str, Counter] = {f: Counter() for f in formats}
    for table in TABLES[:4]:
        path = lake / "bronze" / table
        if not (path / "_delta_log").exists():
            continue
        for fmt, n in _table(path)["source_format"].value_counts().items():
            got.setdefault(fmt, Counter())[table] += int(n)
    q = _table(lake / "bronze" / "quarantine")
    for ds, n in q["dataset"].value_counts().items():
        if ds.startswith("vendor/"):
            got.setdefault(ds.split("/", 1)[1], Counter())["quarantined"] += int(n)
    return {f: {t: int(c[t]) for t in TABLES} for f, c in got.items()}


def _rho(a: pd.Series, b: pd.Series) -> dict:
    n = int(len(a))
    if n < 3 or a.nunique() < 2 or b.nunique() < 2:
        return {"spearman": None, "n": n}
    return {"spearman": round(float(spearmanr(a, b).statistic), 3), "n": n}


# the vendor event id the delivery writes for a native event id (theater.synth.exports):
# Claude Code OTel prompt.id, M365 audit Id, Bedrock requestId
VENDOR_ID_PREFIXES = ("prompt|", "m365|", "bedrock|")


def measured_truth(lake: Path, truth: Path, vendor: bool) -> pd.DataFrame:
    """Per org: the interactions with at least one measured per-interaction flag and the planted
    theater share among them (what the index can see), matched to truth by event id."""
    from theater.signals import ALL
    from theater.synth.exports.common import uuid_of

    labels = _table(lake / "gold" / "interaction_labels")
    flags = [f"sig_{m.NAME}" for m in ALL]
    meas = labels[labels[flags].notna().any(axis=1)][["org_id", "event_id", "theater_probability"]]
    t = pd.read_csv(truth / "interactions.csv", usecols=["event_id", "is_theater"])
    if vendor:
        ids = set(meas.event_id)
        rows = [
            (v, th)
            for e, th in zip(t.event_id, t.is_theater)
            for v in (uuid_of(pre + e) for pre in VENDOR_ID_PREFIXES)
            if v in ids
        ]
        t = pd.DataFrame(rows, columns=["event_id", "is_theater"])
    m = meas.merge(t, on="event_id", how="left")
    return m.groupby("org_id").agg(
        n_flag_measured=("event_id", "size"),
        n_matched=("is_theater", "count"),
        measured_theater_share=("is_theater", "mean"),
        # diagnostic: 100 x the mean probability over these interactions only; the
        # published index is over the same interactions
        index_over_flag_measured=("theater_probability", lambda p: round(100 * p.mean(), 2)),
    )


def org_figures(
    lake: Path, truth: Path, start: str, end: str, vendor: bool
) -> tuple[pd.DataFrame, dict]:
    gold = _table(lake / "gold" / "org_theater_index")
    gold = gold[
        (pd.to_datetime(gold.period_start) == pd.Timestamp(start))
        & (pd.to_datetime(gold.period_end) == pd.Timestamp(end))
    ]
    orgs = pd.read_csv(truth / "orgs.csv")
    orgs["incentive_share"] = (orgs.n_quota_filler + orgs.n_checkpoint_burst) / orgs.n_interactions
    g = gold.merge(orgs, on="org_id", how="left", suffixes=("", "_truth"))
    g = g.merge(measured_truth(lake, truth, vendor), on="org_id", how="left")
    pub = g[~g.suppressed]
    idx = pub[pub.theater_index.notna()]
    agg_only = pub[pub.theater_index.isna() & pub.incentive_index.notna()]
    inc = pub[pub.incentive_index.notna()]
    from_agg = agg_only[agg_only.incentive_basis.fillna("").str.contains("aggregates")]
    cov_cols = [c for c in g.columns if c.startswith("coverage_")]
    unsupported = idx[
        ~((idx.signal_coverage.fillna(0) > 0) & (idx[cov_cols].fillna(0).gt(0).any(axis=1)))
    ]
    reasons = pub[pub.theater_index.isna()].not_measurable_reason.fillna("(none)")
    figures = {
        "orgs": int(len(g)),
        "published": int(len(pub)),
        "suppressed": int(g.suppressed.sum()),
        "with_index": int(len(idx)),
        "index_zero": int((idx.theater_index == 0).sum()),
        "index_without_measurement": sorted(unsupported.org_id),
        "null_index_reasons": {str(k): int(v) for k, v in reasons.value_counts().items()},
        "basis": {str(k): int(v) for k, v in pub.index_basis.value_counts().items()},
        "index_vs_theater_share": _rho(idx.theater_index, idx.theater_share),
        "index_vs_measured_theater_share": _rho(idx.theater_index, idx.measured_theater_share),
        "measured_unmatched": int((idx.n_flag_measured - idx.n_matched).sum()),
        "index_mae_vs_measured": round(
            float((idx.theater_index / 100 - idx.measured_theater_share).abs().mean()), 4
        )
        if len(idx)
        else None,
        "flag_measured_index_vs_measured_share": _rho(
            idx.index_over_flag_measured, idx.measured_theater_share
        ),
        "incentive_basis": {
            str(k): int(v) for k, v in pub.incentive_basis.fillna("(none)").value_counts().items()
        },
        "index_mae": round(float((idx.theater_index / 100 - idx.theater_share).abs().mean()), 4)
        if len(idx)
        else None,
        "aggonly_incentive_vs_incentive_share": _rho(
            agg_only.incentive_index, agg_only.incentive_share
        ),
        "aggonly_incentive_vs_theater_share": _rho(
            agg_only.incentive_index, agg_only.theater_share
        ),
        "all_incentive_vs_incentive_share": _rho(inc.incentive_index, inc.incentive_share),
        "aggbasis_incentive_vs_incentive_share": _rho(
            from_agg.incentive_index, from_agg.incentive_share
        ),
    }
    cols = [
        "org_id",
        "suppressed",
        "index_basis",
        "theater_index",
        "theater_share",
        "n_flag_measured",
        "measured_theater_share",
        "index_over_flag_measured",
        "incentive_index",
        "incentive_basis",
        "incentive_share",
        "signal_coverage",
        "not_measurable_reason",
    ]
    return g[cols].sort_values("org_id").reset_index(drop=True), figures


def _done(lake: Path) -> bool:
    return (lake / "gold" / "org_theater_index" / "_delta_log").exists()


def one_seed(seed: int, s: dict, root: Path, reuse: bool = False) -> dict:
    """Generate, run and measure one world in both deliveries; ``reuse``: take a world and
    lake kept by an earlier ``--keep`` run as they are (timings then NA)."""
    from theater import synth
    from theater.synth.exports import ALL_FORMATS, generate_vendor

    start, end = date.fromisoformat(s["start"]), date.fromisoformat(s["end"])
    world = {"n_orgs": s["n_orgs"], "n_users": s["n_users"], "start": start, "end": end}
    res: dict = {"seed": seed, **{k: s[k] for k in ("n_orgs", "n_users", "start", "end")}}
    vend, nat = root / f"s{seed}-vendor", root / f"s{seed}-native"
    for k in ("generate_vendor_s", "run_vendor_s", "generate_native_s", "run_native_s"):
        res[k] = None
    if reuse and _done(vend / "lake"):
        counts = json.loads((vend / "truth" / "vendor_counts.json").read_text())
    else:
        t = time.time()
        counts = generate_vendor(vend, seed=seed, progress=lambda m: None, **world)
        res["generate_vendor_s"] = round(time.time() - t, 1)
        res["run_vendor_s"] = run_cli(
            vend / "landing", vend / "lake", vend / "state", s["start"], s["end"]
        )
    res["native_interactions"] = counts["native_interactions"]
    res["stacks"] = counts["stacks"]
    truth = counts["formats"]
    got = bronze_counts(vend / "lake", ALL_FORMATS)
    res["formats"] = {
        f: {"truth": {t: int(truth[f].get(t, 0)) for t in TABLES}, "bronze": got.get(f, {})}
        for f in ALL_FORMATS
    }
    res["count_mismatches"] = [
        f
        for f, v in res["formats"].items()
        if v["truth"] != {t: v["bronze"].get(t, 0) for t in TABLES}
    ]
    vorgs, res["vendor"] = org_figures(vend / "lake", vend / "truth", s["start"], s["end"], True)
    res["vendor_orgs"] = vorgs.to_dict(orient="records")
    if not (reuse and _done(nat / "lake")):
        t = time.time()
        synth.generate(
            nat, seed=seed, dirty=False, formats="parquet", progress=lambda m: None, **world
        )
        res["generate_native_s"] = round(time.time() - t, 1)
        res["run_native_s"] = run_cli(
            nat / "landing", nat / "lake", nat / "state", s["start"], s["end"]
        )
    norgs, res["native"] = org_figures(nat / "lake", nat / "truth", s["start"], s["end"], False)
    res["native_orgs"] = norgs.to_dict(orient="records")
    return res


def pooled(results: list[dict], delivery: str) -> dict:
    """Spearman over the orgs of all seeds together (same generator, so comparable)."""
    o = pd.DataFrame([x for r in results for x in r[f"{delivery}_orgs"]])
    pub = o[~o.suppressed.astype(bool)]
    idx = pub[pub.theater_index.notna()]
    agg_only = pub[pub.theater_index.isna() & pub.incentive_index.notna()]
    inc = pub[pub.incentive_index.notna()]
    from_agg = agg_only[agg_only.incentive_basis.fillna("").str.contains("aggregates")]
    return {
        "published": int(len(pub)),
        "index_vs_theater_share": _rho(idx.theater_index, idx.theater_share),
        "index_vs_measured_theater_share": _rho(idx.theater_index, idx.measured_theater_share),
        "aggonly_incentive_vs_incentive_share": _rho(
            agg_only.incentive_index, agg_only.incentive_share
        ),
        "aggonly_incentive_vs_theater_share": _rho(
            agg_only.incentive_index, agg_only.theater_share
        ),
        "all_incentive_vs_incentive_share": _rho(inc.incentive_index, inc.incentive_share),
        "aggbasis_incentive_vs_incentive_share": _rho(
            from_agg.incentive_index, from_agg.incentive_share
        ),
        "flag_measured_index_vs_measured_share": _rho(
            idx.index_over_flag_measured, idx.measured_theater_share
        ),
    }


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "NA"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def _short(reason) -> str:
    """The reason code of a not_measurable_reason (its text up to the colon)."""
    return str(reason).split(":")[0] if reason else ""


def _rhos(x: dict, keys) -> str:
    return " | ".join(f"{_fmt(x[k]['spearman'])} (n={x[k]['n']})" for k in keys)


RHO_KEYS = (
    "index_vs_theater_share",
    "index_vs_measured_theater_share",
    "aggonly_incentive_vs_incentive_share",
    "aggonly_incentive_vs_theater_share",
    "all_incentive_vs_incentive_share",
    "flag_measured_index_vs_measured_share",
    "aggbasis_incentive_vs_incentive_share",
)
RHO_HEAD = (
    "index vs planted theater share | index vs planted share of its measured interactions | "
    "aggregate-only orgs: incentive vs planted incentive share | same vs planted theater share | "
    "all orgs with an incentive index: incentive vs planted incentive share | "
    "mean p over flag-measured interactions vs planted share among them | "
    "null-index orgs whose incentive_basis includes aggregates: incentive vs planted incentive share"
)


def report(results: list[dict]) -> None:
    print(f"\nload average at the end: {os.getloadavg()}, {os.cpu_count()} cores")
    for r in results:
        print(
            f"\n### seed {r['seed']}: {r['n_orgs']} orgs, {r['n_users']} users, "
            f"{r['start']}..{r['end']}, {r['native_interactions']:,} native interactions"
        )
        print(
            f"wall s: generate vendor {r['generate_vendor_s']}, run vendor {r['run_vendor_s']}, "
            f"generate native {r['generate_native_s']}, run native {r['run_native_s']}"
        )
        print("\nbronze rows / truth (truth/vendor_counts.json):\n")
        print("| format | " + " | ".join(TABLES) + " | match |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for f, v in r["formats"].items():
            cells = " | ".join(f"{v['bronze'].get(t, 0):,} / {v['truth'][t]:,}" for t in TABLES)
            ok = "yes" if f not in r["count_mismatches"] else "**NO**"
            print(f"| {f} | {cells} | {ok} |")
        print(
            "\n| delivery | published (suppressed) | with index | index_basis; incentive_basis | null index "
            "(reason) | MAE vs planted | MAE vs measured | index with nothing measured |"
        )
        print("|---|---|---:|---|---|---:|---:|---|")
        for d in ("vendor", "native"):
            x = r[d]
            reasons = {_short(k): v for k, v in x["null_index_reasons"].items()}
            print(
                f"| {d} | {x['published']} ({x['suppressed']}) | {x['with_index']} | "
                f"{x['basis']}; {x['incentive_basis']} | {reasons or 'none'} | {_fmt(x['index_mae'])} | "
                f"{_fmt(x['index_mae_vs_measured'])} | "
                f"{x['index_without_measurement'] or 'none'} |"
            )
        print(f"\nSpearman (n):\n\n| delivery | {RHO_HEAD} |\n|---|---|---|---|---|---|---|---|")
        for d in ("vendor", "native"):
            print(f"| {d} | {_rhos(r[d], RHO_KEYS)} |")
        print(
            "\n| org (vendor) | basis | theater index | planted theater % | flag-measured "
            "interactions | planted % among them | mean p among them | incentive index | "
            "planted incentive % | null index reason |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for o in r["vendor_orgs"]:
            if o["suppressed"]:
                continue
            ms = o["measured_theater_share"]
            print(
                f"| {o['org_id']} | {o['index_basis']} ({o['incentive_basis']}) | "
                f"{_fmt(o['theater_index'])} | "
                f"{_fmt(100 * o['theater_share'])} | {_fmt(o['n_flag_measured'])} | "
                f"{_fmt(None if ms is None else 100 * ms)} | "
                f"{_fmt(o['index_over_flag_measured'])} | {_fmt(o['incentive_index'])} | "
                f"{_fmt(100 * o['incentive_share'])} | {_short(o['not_measurable_reason'])} |"
            )
    if len(results) > 1:
        print(f"\nPooled over seeds {[r['seed'] for r in results]}, Spearman (n):\n")
        print(f"| delivery | {RHO_HEAD} |\n|---|---|---|---|---|---|---|---|")
        for d in ("vendor", "native"):
            print(f"| {d} | {_rhos(pooled(results, d), RHO_KEYS)} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one small world (seed 43)")
    p.add_argument("--seeds", type=int, nargs="+", help="override the setting's seeds")
    p.add_argument("--orgs", type=int, help="override the setting's number of orgs")
    p.add_argument("--users", type=int, help="override the setting's number of users")
    p.add_argument("--out", help="working folder (default: a temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the generated worlds and lakes")
    p.add_argument(
        "--reuse", action="store_true", help="measure worlds and lakes kept in --out again"
    )
    args = p.parse_args()
    s = dict(QUICK if args.quick else FULL)
    if args.seeds:
        s["seeds"] = args.seeds
    if args.orgs:
        s["n_orgs"] = args.orgs
    if args.users:
        s["n_users"] = args.users
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="vendor-acc-"))
    root.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for seed in s["seeds"]:
            print(f"== seed {seed}", flush=True)
            results.append(one_seed(seed, s, root, reuse=args.reuse))
            (root / "vendor_accuracy.json").write_text(json.dumps(results, indent=2, default=str))
    finally:
        if not (args.keep or args.reuse):
            for seed in s["seeds"]:
                for d in ("vendor", "native"):
                    shutil.rmtree(root / f"s{seed}-{d}", ignore_errors=True)
    report(results)
    print(f"\nresults: {root / 'vendor_accuracy.json'}")
    return 1 if any(r["count_mismatches"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())

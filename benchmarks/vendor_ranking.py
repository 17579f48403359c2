"""Vendor-only ranking: does the published per-org figure rank orgs by their planted theater
share better than a spreadsheet would?

Usage: python benchmarks/vendor_ranking.py [--seeds 301 302] [--orgs 24] [--users 1200]
       [--mixes mixed github_copilot_users amazon_q_user_activity heldback4 FMT+FMT...]
       [--out DIR] [--keep]

Per held-out seed (never used while the estimator was built: it was tuned on seeds 101, 102
and 201-204 only; 301-304, 401-404 and 405-408 are held out) and per format mix, the world is generated (``theater generate --delivery vendor``'s code,
``theater.synth.exports``) and run through ``theater run --stage ingest --stage refine
--stage score`` in a subprocess on a fresh lake. Mixes:

- ``mixed``: the delivery as generated (every org one format per tool; all 13 formats);
- ``<format>`` (``github_copilot_users``, ``amazon_q_user_activity``, ...): every org's IDE tool
  delivered in that format and ONLY that format's files kept: one export alone, as a team that
  has nothing else would have it;
- ``heldback4``, or formats joined by ``+`` (``github_copilot_users+m365_copilot_audit``): a
  delivery made of exactly those formats. Every tool's format is drawn (``assign_stacks``'s
  rotation) only from the given formats that can carry that tool (``STACK_OPTIONS``); a tool
  none of them can carry is delivered by none (its format empty in ``truth/vendor_stacks.csv``:
  a blind spot), and every other format's files are removed. ``heldback4`` is the shape of the
  vendor world held back from us: GitHub Copilot users, Amazon Q user activity, Claude Code OTel
  and the M365 Copilot audit log, so the IDE tool is one of the first three, the CLI tool Claude
  Code OTel, the docs tool the audit log, and the assistant tool no format (run it with
  ``--orgs 16`` to match that world's size).

Per run it reports Spearman (with n) against ``truth/orgs.csv`` ``theater_share`` of

- ``published``: gold ``theater_index`` (whatever its ``index_basis``), orgs that publish one;
- ``acceptance rate``: per org 1 - accepted / shown over silver/user_days rows with an accepted
  count (shown: ``suggestions_shown``, else ``requests``, else accepted + rejected + dismissed,
  at least accepted + rejected + dismissed: the same outputs the published estimate reads);
- ``user excess``: per user and feature the unused rate minus the feature's median user rate,
  summed per org over its outputs (the per-user unused rate above the tool's typical rate);
- two ceilings, read from the world's truth files (not estimators): ``oracle``, each org's
  realized theater share over the interactions of the tools whose delivered format reached the
  acceptance counts (what a perfect reading of exactly these exports could rank by), and
  ``realized_all``, the realized share over all the org's usage (1 by construction here: the
  planted share is that realized share);

each on the orgs where it has a figure and on the orgs where all three have one. Runs that
stop (exit code and the last error line) are reported, not hidden. Small worlds on purpose:
this is not part of CI. Writes ``<out>/vendor_ranking.json`` and prints Markdown.
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
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from rank_compare import rho, simple_estimators  # noqa: E402

START, END = "2026-07-01", "2026-08-26"
START_D, END_D = date(2026, 7, 1), date(2026, 8, 26)
MIXES = ("mixed", "github_copilot_users", "amazon_q_user_activity")
IDE = "ide"
#: named restricted deliveries (see the module docstring)
NAMED = {
    "heldback4": (
        "amazon_q_user_activity",
        "claude_code_otel",
        "github_copilot_users",
        "m365_copilot_audit",
    )
}


def restricted(mix: str) -> tuple[str, ...] | None:
    """The formats of a restricted mix (``heldback4`` or ``a+b+...``), else None."""
    if mix in NAMED:
        return NAMED[mix]
    return tuple(sorted(set(mix.split("+")))) if "+" in mix else None


def generate_restricted(out: Path, seed: int, world: dict, formats: tuple[str, ...]) -> None:
    """The seed's vendor delivery made of ``formats`` only: ``assign_stacks`` runs on the
    tools' options cut to those formats (tools with none left are delivered by none), and
    the other formats' files are removed."""
    from theater.synth import exports as vd

    unknown = sorted(set(formats) - set(vd.ALL_FORMATS))
    if unknown:
        raise SystemExit(f"--mixes: not a generated format: {', '.join(unknown)}")
    options = vd.STACK_OPTIONS
    cut = {t: tuple(f for f in o if f in formats) for t, o in options.items()}
    carried = {t: o for t, o in cut.items() if o}
    assign, all_formats = vd.assign_stacks, vd.ALL_FORMATS

    def restricted_stacks(orgs_, seed_):
        vd.STACK_OPTIONS = carried
        try:
            stacks = assign(orgs_, seed_)
        finally:
            vd.STACK_OPTIONS = options
        for s in stacks.values():
            for t in options:
                s.setdefault(t, None)  # no given format carries t: a blind spot
        return stacks

    vd.assign_stacks, vd.ALL_FORMATS = restricted_stacks, tuple(sorted(formats))
    try:
        vd.generate_vendor(out, seed=seed, progress=lambda m: None, **world)
    finally:
        vd.assign_stacks, vd.ALL_FORMATS = assign, all_formats
    for d in (out / "landing" / "vendor").iterdir():
        if d.name not in formats:
            shutil.rmtree(d)


def _table(path: Path) -> pd.DataFrame | None:
    from deltalake import DeltaTable

    return DeltaTable(str(path)).to_pandas() if (path / "_delta_log").exists() else None


def generate(out: Path, seed: int, orgs: int, users: int, mix: str) -> None:
    """The vendor delivery of the seed's world; for a one-format mix every org's IDE tool goes
    to that format and the other formats' files are removed; a restricted mix
    (:func:`restricted`) is :func:`generate_restricted`'s delivery."""
    from theater.synth import exports as vd

    world = dict(n_orgs=orgs, n_users=users, start=START_D, end=END_D)
    if mix == "mixed":
        vd.generate_vendor(out, seed=seed, progress=lambda m: None, **world)
        return
    if restricted(mix):
        generate_restricted(out, seed, world, restricted(mix))
        return
    if mix not in vd.STACK_OPTIONS[IDE]:
        raise SystemExit(
            f"--mixes: {mix} is not an IDE format ({', '.join(vd.STACK_OPTIONS[IDE])})"
        )
    assign, formats = vd.assign_stacks, vd.ALL_FORMATS

    def one_format(orgs_, seed_):
        stacks = assign(orgs_, seed_)
        for s in stacks.values():
            s[IDE] = mix
        return stacks

    used = tuple(sorted({mix} | {f for t, o in vd.STACK_OPTIONS.items() if t != IDE for f in o}))
    vd.assign_stacks, vd.ALL_FORMATS = one_format, used
    try:
        vd.generate_vendor(out, seed=seed, progress=lambda m: None, **world)
    finally:
        vd.assign_stacks, vd.ALL_FORMATS = assign, formats
    for d in (out / "landing" / "vendor").iterdir():
        if d.name != mix:
            shutil.rmtree(d)


def run(landing: Path, lake: Path, state: Path, dump: Path) -> tuple[int, str, float]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THEATER_") and k != "MLFLOW_TRACKING_URI"
    }
    env["THEATER_PATHS__STATE"] = str(state)
    env["AX_DUMP"] = str(dump)  # the acceptance estimator's inputs, for the baselines below
    cmd = [sys.executable, str(Path(__file__).with_name("ax_dump.py")), "run"]
    cmd += ["--landing", str(landing)]
    cmd += ["--lake", str(lake), "--start", START, "--end", END]
    for s in ("ingest", "refine", "score"):
        cmd += ["--stage", s]
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    out = (p.stdout + "\n" + p.stderr).splitlines()
    last = [x for x in out if "failed:" in x or "error:" in x or "Error" in x]
    return p.returncode, (last[-1] if last else "")[:300], round(time.time() - t, 1)


def oracle(acc: pd.DataFrame, truth: Path) -> pd.DataFrame:
    """Per org: the planted theater share of the interactions of the tools whose delivered
    format reached the acceptance counts (``truth/vendor_stacks.csv``, the formats in ``acc``):
    what a perfect reading of exactly these exports could rank by. Not an estimator: it reads
    the planted truth; it bounds how far any estimator can get past the simple ones."""
    stacks = pd.read_csv(truth / "vendor_stacks.csv")
    fmt = acc["feature"].str.split("/").str[0]
    seen = pd.DataFrame({"org_id": acc["org_id"], "format": fmt}).drop_duplicates()
    tools = stacks.merge(seen, on=["org_id", "format"])[["org_id", "tool"]]
    t = pd.read_csv(truth / "interactions.csv", usecols=["tool", "is_theater", "org_id"])
    t = t.merge(tools, on=["org_id", "tool"])
    return t.groupby("org_id")["is_theater"].mean().rename("oracle").reset_index()


def realized_all(truth: Path) -> pd.DataFrame:
    """Per org: the realized theater share over ALL its interactions (every tool, delivered or
    not). In these worlds the planted org share is defined as exactly this, so its Spearman is
    1 by construction: the gap between it and ``oracle`` is what the exports do not cover."""
    t = pd.read_csv(truth / "interactions.csv", usecols=["is_theater", "org_id"])
    return t.groupby("org_id")["is_theater"].mean().rename("realized_all").reset_index()


def recompute(g: pd.DataFrame, dump: Path) -> pd.DataFrame:
    """Gold's published figures with the acceptance-basis ones recomputed by the estimator as
    it is now, on the inputs the score stage handed it (``ax_dump.py``): orgs with a
    per-interaction index keep it; the others publish the estimate where it has one (the score
    stage's rule). Lets a kept run be measured again after the estimator changed, without
    rerunning ingest and refine."""
    from theater.signals import acceptance_excess as ax

    acc = pd.read_parquet(dump / "acc.parquet")
    users = pd.read_parquet(dump / "users.parquet")
    est = ax.estimate(acc, users, ax.Settings(replicates=0))[["org_id", "share"]]
    g = g.merge(est, on="org_id", how="left")
    own = g["index_basis"] == "interactions"
    g["theater_index"] = g["theater_index"].where(own, g["share"] * 100)
    g["index_basis"] = g["index_basis"].where(own | g["share"].isna(), "acceptance")
    return g.drop(columns="share")


def measure(lake: Path, truth: Path, dump: Path, again: bool = False) -> dict:
    gold = _table(lake / "gold" / "org_theater_index")
    orgs = pd.read_csv(truth / "orgs.csv")[["org_id", "theater_share"]]
    g = gold[~gold.suppressed][["org_id", "theater_index", "index_basis"]]
    if again:
        g = recompute(g, dump)
    acc = pd.read_parquet(dump / "acc.parquet")
    m = (
        orgs.merge(g, on="org_id")
        .merge(simple_estimators(acc), on="org_id", how="left")
        .merge(oracle(acc, truth), on="org_id", how="left")
        .merge(realized_all(truth), on="org_id", how="left")
    )
    cols = {
        "published": "theater_index",
        "acceptance_rate": "acceptance_rate",
        "user_excess": "user_excess",
        "oracle": "oracle",
        "realized_all": "realized_all",
    }
    common = m[["theater_index", "acceptance_rate", "user_excess"]].notna().all(axis=1)
    return {
        "orgs_published": int(len(m)),
        "basis": {str(k): int(v) for k, v in m.index_basis.value_counts().items()},
        "own": {k: rho(m[c], m.theater_share) for k, c in cols.items()},
        "common": {k: rho(m[c][common], m.theater_share[common]) for k, c in cols.items()},
    }


KEYS = ("published", "acceptance_rate", "user_excess", "oracle", "realized_all")


def markdown(results: list[dict]) -> str:
    """One row per run: Spearman (top-quarter overlap) of each figure, on the orgs all three
    estimates have, then the published figure's own n."""
    out = [
        "| seed | mix | exit | common orgs | published | 1 - accepted/shown | user excess "
        "| ceiling: realized share, delivered tools | realized share, all usage "
        "| published, all its orgs |",
        "|---|---|---:|---:|---|---|---|---|---|---|",
    ]

    def f(r):
        if r["spearman"] is None:
            return "—"
        return f"{r['spearman']:.3f} ({r['top_quarter']:.2f})"

    for r in results:
        if r["exit"] != 0:
            out.append(f"| {r['seed']} | {r['mix']} | {r['exit']} | — | stopped: {r['error']} |")
            continue
        c, o = r["common"], r["own"]["published"]
        out.append(
            f"| {r['seed']} | {r['mix']} | 0 | {c['published']['n']} | "
            + " | ".join(f(c[k]) for k in KEYS)
            + f" | {f(o)} (n {o['n']}) |"
        )
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[301, 302])
    ap.add_argument("--orgs", type=int, default=24)
    ap.add_argument("--users", type=int, default=1200)
    ap.add_argument("--mixes", nargs="+", default=list(MIXES))
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument(
        "--remeasure",
        nargs="+",
        metavar="RUN_DIR",
        help="measure kept runs (<out>/s<seed>-<mix>) again with the estimator as it is now",
    )
    args = ap.parse_args(argv)
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="vendor-rank-"))
    results = []
    if args.remeasure:
        for d in map(Path, args.remeasure):
            seed, mix = d.name[1:].split("-", 1)
            res = {"seed": int(seed), "mix": mix, "exit": 0, "remeasured": True}
            res.update(measure(d / "lake", d / "world" / "truth", d / "ax", again=True))
            results.append(res)
            print(json.dumps(res), flush=True)
        print(markdown(results))
        return 0
    for seed in args.seeds:
        for mix in args.mixes:
            d = root / f"s{seed}-{mix}"
            shutil.rmtree(d, ignore_errors=True)
            t = time.time()
            generate(d / "world", seed, args.orgs, args.users, mix)
            gen_s = round(time.time() - t, 1)
            rc, err, run_s = run(d / "world" / "landing", d / "lake", d / "state", d / "ax")
            res = {"seed": seed, "mix": mix, "exit": rc, "generate_s": gen_s, "run_s": run_s}
            if rc == 0:
                res.update(measure(d / "lake", d / "world" / "truth", d / "ax"))
            else:
                res["error"] = err
            results.append(res)
            print(json.dumps(res), flush=True)
            if not args.keep:
                shutil.rmtree(d, ignore_errors=True)
    (root / "vendor_ranking.json").write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"\nwritten {root / 'vendor_ranking.json'}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

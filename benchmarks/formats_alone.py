"""Each vendor format alone, including those ``vendor_ranking.py`` cannot isolate (formats of
the CLI, assistant and docs tools, and the org-level ones): what a team with only that export
gets out of ``theater run``.

Usage: python benchmarks/formats_alone.py --seed 417 --formats viva_person_query ... --out DIR
       python benchmarks/formats_alone.py --summarize RUN_DIR ...

Per format the seed's vendor world is generated with every org's tool(s) that the format can
deliver assigned to that format (``assign_stacks`` overridden, as ``vendor_ranking.generate``
does for the IDE tool), every other format's files removed (the directory, identities,
policies and work items stay: a team has its directory), and the landing run through ingest,
refine and score exactly as ``vendor_ranking.run`` does (fresh lake, estimator inputs kept
under ``ax/``). Per run: exit code and last error line, silver row counts (interactions,
user_days, org_days), gold orgs published / suppressed / n/a with their reasons and the
``index_basis`` of the published figures, and, where the acceptance estimator had inputs, the
Spearman columns of ``vendor_ranking.measure``. ``--summarize`` reads kept runs of either
script (``s<seed>-<mix>`` folders) without rerunning. Writes ``<out>/formats_alone.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import vendor_ranking as vr  # noqa: E402
from rank_compare import rho  # noqa: E402


def generate(out: Path, seed: int, orgs: int, users: int, fmt: str) -> list[str]:
    """The seed's vendor delivery with ``fmt`` the only format; returns the tools it covers."""
    from theater.synth import exports as vd

    tools = [t for t, opts in vd.STACK_OPTIONS.items() if fmt in opts]
    if not tools:
        raise SystemExit(f"{fmt}: not a generated format ({', '.join(vd.ALL_FORMATS)})")
    assign, formats = vd.assign_stacks, vd.ALL_FORMATS

    def one_format(orgs_, seed_):
        stacks = assign(orgs_, seed_)
        for s in stacks.values():
            for t in tools:
                s[t] = fmt
        return stacks

    others = {f for t, opts in vd.STACK_OPTIONS.items() if t not in tools for f in opts}
    used = tuple(sorted({fmt} | others))
    vd.assign_stacks, vd.ALL_FORMATS = one_format, used
    try:
        world = dict(n_orgs=orgs, n_users=users, start=vr.START_D, end=vr.END_D)
        vd.generate_vendor(out, seed=seed, progress=lambda m: None, **world)
    finally:
        vd.assign_stacks, vd.ALL_FORMATS = assign, formats
    for d in (out / "landing" / "vendor").iterdir():
        if d.name != fmt:
            shutil.rmtree(d)
    return tools


def summarize(d: Path) -> dict:
    """Silver counts and gold's per-org outcome of a kept run folder."""
    lake = d / "lake"
    res: dict = {"silver": {}}
    for t in ("interactions", "user_days", "org_days"):
        df = vr._table(lake / "silver" / t)
        res["silver"][t] = None if df is None else int(len(df))
    g = vr._table(lake / "gold" / "org_theater_index")
    if g is None:
        res["gold"] = None
        return res
    sup = g[g.suppressed.fillna(False)]
    shown = g[~g.suppressed.fillna(False)]
    pub = shown[shown.theater_index.notna()]
    na = shown[shown.theater_index.isna()]
    res["gold"] = {
        "orgs": int(len(g)),
        "published": int(len(pub)),
        "suppressed": int(len(sup)),
        "na": int(len(na)),
        "basis": dict(Counter(pub.index_basis.fillna("null"))),
        "suppression_reasons": dict(Counter(sup.suppression_reason.fillna("null"))),
        "na_reasons": dict(Counter(na.not_measurable_reason.fillna("null"))),
        "na_basis": dict(Counter(na.index_basis.fillna("null"))),
    }
    if "incentive_index" in g.columns:
        res["gold"]["incentive_published"] = int(shown.incentive_index.notna().sum())
    return res


def org_level(d: Path, res: dict) -> dict:
    """For runs without per-person acceptance: Spearman against the planted share of the
    published figure on all its orgs, of the incentive index (a lower bound, another quantity)
    where gold has one, and, from ``silver/org_days``, of the plain org rate 1 - accepted /
    shown over rows with shown outputs, with the ceiling: the realized share of the tools the
    delivered format covers (read from the truth)."""
    truth = d / "world" / "truth"
    orgs = vr.pd.read_csv(truth / "orgs.csv")[["org_id", "theater_share"]]
    g = vr._table(d / "lake" / "gold" / "org_theater_index")
    g = orgs.merge(g[~g.suppressed.fillna(False)], on="org_id")
    out = {"published_all": rho(g.theater_index, g.theater_share)}
    if "incentive_index" in g:
        out["incentive_index"] = rho(g.incentive_index, g.theater_share)
    od = vr._table(d / "lake" / "silver" / "org_days")
    if od is not None and len(od):
        od = od[od.suggestions_shown.fillna(0) > 0]
        r = od.groupby("org_id")[["accepted", "suggestions_shown"]].sum()
        rate = (1 - r.accepted / r.suggestions_shown).rename("org_rate").reset_index()
        stacks = vr.pd.read_csv(truth / "vendor_stacks.csv")
        fmt = d.name.split("-", 1)[1]
        tools = stacks[stacks["format"] == fmt][["org_id", "tool"]]
        t = vr.pd.read_csv(truth / "interactions.csv", usecols=["tool", "is_theater", "org_id"])
        ceil = t.merge(tools, on=["org_id", "tool"]).groupby("org_id")["is_theater"].mean()
        m = g.merge(rate, on="org_id", how="left").merge(
            ceil.rename("oracle").reset_index(), on="org_id", how="left"
        )
        common = m[["theater_index", "org_rate"]].notna().all(axis=1)
        c = m[common]
        for k, col in (
            ("published", "theater_index"),
            ("org_rate", "org_rate"),
            ("oracle", "oracle"),
        ):
            out[f"common_{k}"] = rho(c[col], c.theater_share)
    res["org_level"] = out
    return res


def with_ranking(d: Path, res: dict) -> dict:
    if res.get("gold") and res["gold"]["orgs"]:
        org_level(d, res)
    if (d / "ax" / "acc.parquet").exists() and res.get("gold"):
        try:
            res.update(vr.measure(d / "lake", d / "world" / "truth", d / "ax"))
        except Exception as e:  # a run with no acceptance rows at all: say so, do not stop
            res["ranking_error"] = f"{type(e).__name__}: {e}"[:200]
    else:
        res["ranking_error"] = "no acceptance inputs (ax/acc.parquet absent)"
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=417)
    ap.add_argument("--orgs", type=int, default=24)
    ap.add_argument("--users", type=int, default=1200)
    ap.add_argument("--formats", nargs="+", default=[])
    ap.add_argument("--out", default="/tmp/formats-alone")
    ap.add_argument("--summarize", nargs="+", metavar="RUN_DIR")
    args = ap.parse_args(argv)
    results = []
    if args.summarize:
        for d in map(Path, args.summarize):
            seed, mix = d.name[1:].split("-", 1)
            res = {"seed": int(seed), "mix": mix}
            res.update(with_ranking(d, summarize(d)))
            results.append(res)
            print(json.dumps(res), flush=True)
        return 0
    root = Path(args.out)
    for fmt in args.formats:
        d = root / f"s{args.seed}-{fmt}"
        shutil.rmtree(d, ignore_errors=True)
        t = time.time()
        tools = generate(d / "world", args.seed, args.orgs, args.users, fmt)
        gen_s = round(time.time() - t, 1)
        rc, err, run_s = vr.run(d / "world" / "landing", d / "lake", d / "state", d / "ax")
        res = {"seed": args.seed, "mix": fmt, "tools": tools, "exit": rc, "error": err}
        res.update(generate_s=gen_s, run_s=run_s)
        res.update(with_ranking(d, summarize(d)))
        results.append(res)
        print(json.dumps(res), flush=True)
    (root / "formats_alone.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

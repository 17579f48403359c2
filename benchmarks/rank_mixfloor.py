"""Why a mixed vendor delivery ranks below its ceiling, taken apart the way ``rank_floor.py``
takes one format alone apart: a ladder from the planted share to the published figure, each
step one thing the exports or the estimator lose.

Usage: python benchmarks/rank_mixfloor.py RUN_DIR NATIVE_DIR [RUN_DIR NATIVE_DIR ...]
       [--draws 200] [--csv DIR]

Benchmark only, and it READS THE TRUTH. ``RUN_DIR``: a mixed run kept by ``vendor_ranking.py
--keep``; ``NATIVE_DIR``: the native world of its seed (checked byte-equal truth, as in
``rank_diag_412.py``), whose IDE events give each counted output's disposition and feature.
Spearman against the planted org share on the orgs all three estimates have:

- ``oracle``: realized theater share of the org's delivered acceptance tool (the ceiling);
- ``counted``: the same over the outputs the format counts (features it has no count for out);
- ``visible``: the counted theater outputs that went unused, per counted output: what a count
  can see (used theater, e.g. half of a fragment's outputs, is counted as accepted);
- ``floor``: ``visible`` plus the genuine outputs' unused draws, Binomial(genuine outputs of
  the feature, the tool's genuine rate over all orgs), read at those exact rates
  (``sum (k_f - n_f g_f) / sum n_f (1 - g_f)``), mean over ``--draws``: sampling noise only;
- ``exact``: the same reading of the counts as they fell (the org's own genuine habits, which
  may differ from the tool's, and the draw as it fell);
- ``true_baselines``: the estimator with each feature's baseline set to the genuine rate (its
  steps 2-5 on the real counts: shrinkage, whole usage, incentive, the basis mix);
- ``published`` (the estimator now, point), ``plain`` (1 - accepted/shown), ``user_excess``.

Per run also: each format's baselines swapped for the genuine ones alone (which format's level
costs rank), the level error per format (mean of published - oracle over its orgs), and per org
the formats of its four tools, the share of its planted theater on the counted tool, its
counted theater by mechanism and the ranks on each rung. ``--csv``: the per-org rows.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rank_diag_412 as dg  # noqa: E402
import vendor_ranking as vr  # noqa: E402
from rank_compare import rho, simple_estimators  # noqa: E402

MECHS = ("discard", "padding", "repeat", "fragment", "quota_filler", "checkpoint_burst")
LADDER = ("oracle", "counted", "visible", "floor", "exact", "true_baselines", "published")
LADDER += ("plain", "user_excess")


def counted_frame(ev, stacks, gen) -> pd.DataFrame:
    """Per org and counted feature (native units): outputs, theater, unused theater, genuine
    outputs and their unused count, and the tool's genuine rate over all orgs."""
    ide = stacks[stacks["tool"] == "ide"].set_index("org_id")["format"]
    ev = ev[ev["org_id"].map(ide).notna()].copy()
    parts = []
    for fmt, e in ev.groupby(ev["org_id"].map(ide)):
        if not any(f.startswith(fmt + "/") for f in gen.index):
            continue
        e = e.assign(f=fmt + "/" + dg.feature_of(e, fmt)).dropna(subset=["f"])
        parts.append(e[e["f"].isin(gen.index)])
    e = pd.concat(parts)
    unit = e["f"].map(lambda f: dg.UNIT.get(tuple(f.split("/", 1)), 1.0))
    e["g"] = 1 - (1 - e["f"].map(gen["genuine_all"])) * unit
    e["th"] = e["is_theater"] == 1
    e["unused"] = ~e["used"]
    e["vis"] = e["th"] & e["unused"]
    e["gen_unused"] = ~e["th"] & e["unused"]
    out = e.groupby(["org_id", "f"]).agg(
        n=("th", "size"),
        th=("th", "sum"),
        vis=("vis", "sum"),
        gen_unused=("gen_unused", "sum"),
        g=("g", "first"),
    )
    out["gen"] = out["n"] - out["th"]
    return out.reset_index()


def exact_reading(c: pd.DataFrame, k: np.ndarray) -> pd.Series:
    num = (k - c["n"] * c["g"]).groupby(c["org_id"]).sum()
    den = (c["n"] * (1 - c["g"])).groupby(c["org_id"]).sum()
    return num / den


def per_org(run: Path, native: Path, ev) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    truth = run / "world" / "truth"
    if not filecmp.cmp(truth / "interactions.csv", native / "truth" / "interactions.csv", False):
        raise SystemExit(f"{native}: not the world of {run}")
    acc = pd.read_parquet(run / "ax" / "acc.parquet")
    users = pd.read_parquet(run / "ax" / "users.parquet")
    stacks = pd.read_csv(truth / "vendor_stacks.csv")
    gold = vr._table(run / "lake" / "gold" / "org_theater_index")
    g = vr.recompute(gold[~gold.suppressed][["org_id", "theater_index", "index_basis"]], run / "ax")
    feats = sorted(acc.loc[acc["n"] > 0, "feature"].astype(str).unique())
    gen = dg.genuine_rates(ev, stacks, feats)
    gen["baseline"] = pd.Series(dg.estimator_baselines(acc, users, True))
    c = counted_frame(ev, stacks, gen)
    t = pd.read_csv(
        truth / "interactions.csv", usecols=["tool", "is_theater", "mechanism", "org_id"]
    )
    ide = stacks[stacks["tool"] == "ide"].set_index("org_id")["format"]
    th = t[t["is_theater"] == 1]
    m = pd.read_csv(truth / "orgs.csv")[["org_id", "theater_share"]].merge(g, on="org_id")
    m = m.merge(simple_estimators(acc), on="org_id", how="left")
    m = m.merge(vr.oracle(acc, truth), on="org_id", how="left")
    m["published"] = m["theater_index"] / 100
    own = m["index_basis"] == "interactions"
    cf = dg.estimate_with(acc, users, gen["genuine_all"].to_dict())
    m["true_baselines"] = np.where(own, m["published"], m["org_id"].map(cf))
    co = c.groupby("org_id")[["n", "th", "vis"]].sum()
    m["counted"] = m["org_id"].map(co["th"] / co["n"])
    m["visible"] = m["org_id"].map(co["vis"] / co["n"])
    m["exact"] = m["org_id"].map(exact_reading(c, c["vis"] + c["gen_unused"]))
    m["ide_format"] = m["org_id"].map(ide)
    m["tools"] = m["org_id"].map(
        stacks[stacks["tool"] != "ide"]
        .set_index("org_id")
        .groupby(level=0)
        .apply(lambda s: ", ".join(f"{a}:{b}" for a, b in zip(s["tool"], s["format"], strict=True)))
    )
    on_ide = th[th["tool"] == "ide"].groupby("org_id").size()
    m["theater_on_ide"] = m["org_id"].map(on_ide / th.groupby("org_id").size()).fillna(0.0)
    ct = t[(t["tool"] == "ide") & (t["is_theater"] == 1)]
    mech = ct.groupby(["org_id", "mechanism"]).size().unstack(fill_value=0)
    mech = mech.div(mech.sum(axis=1), axis=0)
    m["ide_mechanisms"] = m["org_id"].map(
        mech.apply(lambda r: " ".join(f"{k[:4]}{v:.0%}" for k, v in r.items() if v >= 0.1), axis=1)
    )
    m["used_theater"] = m["org_id"].map(1 - co["vis"] / co["th"])
    m["counted_n"] = m["org_id"].map(co["n"])
    return m, c, gen


def floor(m: pd.DataFrame, c: pd.DataFrame, draws: int, rng) -> float:
    y = m.set_index("org_id")["theater_share"]
    cc = c[c["org_id"].isin(y.index)].reset_index(drop=True)
    out = []
    for _ in range(draws):
        k = cc["vis"] + rng.binomial(cc["gen"].to_numpy(int), cc["g"].to_numpy())
        r = exact_reading(cc, k.to_numpy())
        out.append(rho(r.reindex(y.index), y)["spearman"])
    return float(np.mean(out))


def swaps(run: Path, m: pd.DataFrame, gen: pd.DataFrame) -> dict:
    """Spearman with one format's baselines set to the genuine rates, the others as estimated."""
    acc = pd.read_parquet(run / "ax" / "acc.parquet")
    users = pd.read_parquet(run / "ax" / "users.parquet")
    own = (m["index_basis"] == "interactions").to_numpy()
    out = {}
    for fmt in sorted({f.split("/", 1)[0] for f in gen.index}):
        table = {
            f: (gen.loc[f, "genuine_all"] if f.startswith(fmt + "/") else gen.loc[f, "baseline"])
            for f in gen.index
        }
        cf = dg.estimate_with(acc, users, table)
        x = pd.Series(np.where(own, m["published"], m["org_id"].map(cf)), index=m.index)
        out[fmt] = rho(x, m["theater_share"])["spearman"]
    return out


def one(run: Path, native: Path, draws: int, rng) -> tuple[dict, pd.DataFrame]:
    ev = dg.native_ide(native)
    m, c, gen = per_org(run, native, ev)
    m = m[m[["theater_index", "acceptance_rate", "user_excess"]].notna().all(axis=1)].copy()
    m = m.rename(columns={"acceptance_rate": "plain"})
    y = m["theater_share"]
    res = {"run": run.name, "orgs": int(len(m))}
    for k in LADDER:
        if k != "floor":
            res[k] = rho(m[k], y)["spearman"]
    res["floor"] = floor(m, c, draws, rng)
    res["swap_one_format"] = swaps(run, m, gen)
    m["err"] = m["published"] - m["oracle"]
    m["err_true"] = m["true_baselines"] - m["oracle"]
    res["level_error"] = {
        f: [round(float(a), 3), round(float(b), 3)]
        for f, a, b in m.groupby("ide_format")[["err", "err_true"]].mean().itertuples()
    }
    res["baseline_minus_genuine"] = {
        f: round(float(v), 3) for f, v in (gen["baseline"] - gen["genuine_all"]).items()
    }
    for k in ("theater_share", "oracle", "visible", "exact", "true_baselines", "published"):
        m["r_" + k] = m[k].rank(ascending=False, method="min").astype(int)
    m["r_plain"] = m["plain"].rank(ascending=False, method="min").astype(int)
    return res, m.assign(run=run.name)


SHOW = [
    "org_id",
    "ide_format",
    "counted_n",
    "theater_share",
    "oracle",
    "visible",
    "exact",
    "true_baselines",
    "published",
    "plain",
    "theater_on_ide",
    "used_theater",
    "ide_mechanisms",
    "r_theater_share",
    "r_oracle",
    "r_visible",
    "r_exact",
    "r_true_baselines",
    "r_published",
    "r_plain",
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pairs", nargs="+")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--csv")
    args = ap.parse_args(argv)
    if len(args.pairs) % 2:
        raise SystemExit("RUN_DIR NATIVE_DIR pairs")
    pd.set_option("display.width", 300)
    pd.set_option("display.max_columns", 40)
    rng = np.random.default_rng(20261207)
    rows, frames = [], []
    for run, nat in zip(args.pairs[::2], args.pairs[1::2], strict=True):
        r, m = one(Path(run), Path(nat), args.draws, rng)
        rows.append(r)
        frames.append(m)
        print(json.dumps(r), flush=True)
        print(m.sort_values("theater_share", ascending=False)[SHOW].round(3).to_string(index=False))
        print(m[["org_id", "tools"]].to_string(index=False))
    print("\n| run | orgs | " + " | ".join(LADDER) + " |")
    print("|---|---:|" + "---:|" * len(LADDER))
    for r in rows:
        print(f"| {r['run']} | {r['orgs']} | " + " | ".join(f"{r[k]:.3f}" for k in LADDER) + " |")
    if args.csv:
        Path(args.csv).mkdir(parents=True, exist_ok=True)
        pd.concat(frames).to_csv(Path(args.csv) / "rank_mixfloor_orgs.csv", index=False)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

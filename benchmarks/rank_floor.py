"""Why one acceptance export alone ranks orgs no better than a spreadsheet: the distance from
the ceiling to the estimators, taken apart on kept vendor-ranking runs.

Usage: python benchmarks/rank_floor.py RUN_DIR ... [--draws 200] [--csv DIR]

Per run (a ``vendor_ranking.py --keep`` folder whose IDE tool was delivered in one acceptance
format; only the IDE tool's counts reach the estimator), Spearman against the planted org share
(``truth/orgs.csv``) on the orgs the estimator publishes, of a ladder of figures:

- ``oracle``: the realized theater share of the delivered tool's interactions (the ceiling of
  ``vendor_ranking.py``; it reads the truth);
- ``visible``: the same with the theater an acceptance count cannot see taken out: a fragment
  (one task split into many small requests) keeps half its outputs (``synth.episodes._outcomes``),
  which count as accepted; every other planted mechanism's outputs count as unused. Expected
  value (half of each org's fragment rows), from the truth;
- ``floor``: what the plain rate would be if every theater output were known and only the
  genuine outputs' unused/used draws were random: per org the visible theater outputs (scaled
  to the delivered count ``n``) plus Binomial(genuine outputs, one pooled genuine rate), mean
  Spearman over ``--draws`` draws. The genuine rate is read off the truth: per org
  ``(k - visible theater) / (n - theater)``, pooled over orgs;
- ``floor_over``: the same with the genuine draws' variance widened to the run's observed
  dispersion of the per-org genuine rates around the pooled one (``phi``: mean squared z; 1 is
  pure binomial), normal draws;
- ``plain`` (1 - accepted/shown), ``user_excess`` (``rank_compare``) and ``published`` (the
  estimator's point share as it is now, ``replicates=0``);
- ``shrunk``: ``published`` pulled toward the precision-weighted mean over orgs by its sampling
  variance (the plain rate's user-clustered variance; between-org variance by moments): ranking
  by posterior means, the statistical remedy for noisy small orgs, not a signal. Not adopted.

Also printed: ``phi``; the mean absolute rank error of the plain rate in the orgs below and above
the run's median delivered count; the org-level incentive share's Spearman against the
planted quota-filler and checkpoint-burst share of the delivered tool (the evidence the export
carries beside the counts). ``--csv``: one row per org per run. Pure pandas on kept files, seconds.

``--native DIR`` (GitHub Copilot users runs only): the seed's native world, regenerated into
``DIR/s<seed>`` when absent (``theater.synth.generate`` with ``vendor_ranking.py``'s world; its
truth is checked equal to the run's), gives each delivered output's own disposition and feature,
so the ladder is exact: ``visible`` from the drawn dispositions, the genuine unused rate per
feature, ``floor_feature`` (genuine draws binomial at each feature's own rate), ``phi`` around
the pooled rate and around the feature rates, and ``plain_mix_known``: the plain rate with the
feature mix's effect removed at the true per-feature genuine rates (what a perfect feature
baseline reaches). The run's counts are checked equal to the native world's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alt_world import world  # noqa: E402
from rank_compare import rho, simple_estimators  # noqa: E402
from vendor_ranking import oracle  # noqa: E402

from theater.signals import acceptance_excess as ax  # noqa: E402

MECHS = ("fragment", "quota_filler", "checkpoint_burst")


def org_frame(run: Path) -> pd.DataFrame:
    """Per org: planted share, the estimators, and the delivered tool's truth counts."""
    tr = run / "world" / "truth"
    acc = pd.read_parquet(run / "ax" / "acc.parquet")
    users = pd.read_parquet(run / "ax" / "users.parquet")
    est = ax.estimate(acc, users, ax.Settings(replicates=0))[["org_id", "share"]]
    stacks = pd.read_csv(tr / "vendor_stacks.csv")
    fmt = acc["feature"].str.split("/").str[0].unique()
    tools = stacks[stacks["format"].isin(fmt)][["org_id", "tool"]]
    t = pd.read_csv(tr / "interactions.csv", usecols=["tool", "is_theater", "mechanism", "org_id"])
    t = t.merge(tools, on=["org_id", "tool"])
    g = t.groupby("org_id")
    counts = pd.DataFrame({"n_tool": g.size(), "th_tool": g["is_theater"].sum()})
    for m in MECHS:
        counts[m] = (t["mechanism"] == m).groupby(t["org_id"]).sum()
    u = users.assign(iw=users["usage"] * users["incentive"].fillna(0.0))
    inc = u.groupby("org_id")[["iw", "usage"]].sum()
    nk = acc.groupby("org_id")[["n", "k"]].sum()
    x = (
        pd.read_csv(tr / "orgs.csv")[["org_id", "theater_share"]]
        .merge(est, on="org_id")
        .merge(simple_estimators(acc), on="org_id", how="left")
        .merge(oracle(acc, tr), on="org_id", how="left")
        .merge(counts.reset_index(), on="org_id", how="left")
        .merge(nk.reset_index(), on="org_id", how="left")
        .merge(
            (inc["iw"] / inc["usage"]).rename("incentive").reset_index(), on="org_id", how="left"
        )
    )
    x = x[x["share"].notna() & (x["n_tool"] > 0)].copy()
    a = acc.groupby(["org_id", "user_key"])[["n", "k"]].sum().reset_index()
    p = a["org_id"].map(nk["k"] / nk["n"])
    r2 = ((a["k"] - a["n"] * p) ** 2).groupby(a["org_id"]).sum() / nk["n"] ** 2
    x["var"] = x["org_id"].map(r2)
    x["visible"] = (x["th_tool"] - 0.5 * x["fragment"]) / x["n_tool"]
    x["burst_fill"] = (x["quota_filler"] + x["checkpoint_burst"]) / x["n_tool"]
    return x


def shrink(est: np.ndarray, var: np.ndarray) -> np.ndarray:
    mu = np.average(est, weights=1 / (var + 1e-12))
    tau2 = max(float(np.var(est) - np.mean(var)), 1e-6)
    return mu + tau2 / (tau2 + var) * (est - mu)


def floors(x: pd.DataFrame, draws: int, rng) -> tuple[float, float, float]:
    """(floor, floor_over, phi): mean Spearman of the plain rate with every theater output known
    and the genuine outputs' draws random (binomial; widened to the observed dispersion)."""
    scale = x["n"] / x["n_tool"]
    vis = (x["visible"] * x["n_tool"] * scale).to_numpy()
    ngen = (x["n"] - x["th_tool"] * scale).to_numpy()
    g_org = (x["k"].to_numpy() - vis) / ngen
    g = float((g_org * ngen).sum() / ngen.sum())
    phi = float((((g_org - g) / np.sqrt(g * (1 - g) / ngen)) ** 2).mean())
    y = x["theater_share"].reset_index(drop=True)
    n = x["n"].to_numpy()
    sd = np.sqrt(phi * g * (1 - g) * ngen)
    s1 = [rho(pd.Series((rng.binomial(ngen.astype(int), g) + vis) / n), y) for _ in range(draws)]
    s2 = [rho(pd.Series((rng.normal(g * ngen, sd) + vis) / n), y) for _ in range(draws)]
    m1 = float(np.mean([r["spearman"] for r in s1]))
    m2 = float(np.mean([r["spearman"] for r in s2]))
    return m1, m2, phi


def measure(run: Path, draws: int, rng) -> tuple[dict, pd.DataFrame]:
    x = org_frame(run)
    y = x["theater_share"]
    res = {"run": run.name, "orgs": int(len(x))}
    for k in ("oracle", "visible"):
        res[k] = rho(x[k], y)["spearman"]
    res["floor"], res["floor_over"], res["phi"] = floors(x, draws, rng)
    for k, c in (
        ("plain", "acceptance_rate"),
        ("user_excess", "user_excess"),
        ("published", "share"),
    ):
        res[k] = rho(x[c], y)["spearman"]
    res["shrunk"] = rho(
        pd.Series(shrink(x["share"].to_numpy(), x["var"].to_numpy())), y.reset_index(drop=True)
    )["spearman"]
    err = (x["acceptance_rate"].rank() - y.rank()).abs()
    small = x["n"] < x["n"].median()
    res["rank_err_small"] = round(float(err[small].mean()), 2)
    res["rank_err_large"] = round(float(err[~small].mean()), 2)
    res["n_min_median_max"] = [int(x["n"].min()), int(x["n"].median()), int(x["n"].max())]
    res["incentive_vs_burst_fill"] = rho(x["incentive"], x["burst_fill"])["spearman"]
    res["burst_fill_of_theater"] = round(
        float((x["burst_fill"] * x["n_tool"]).sum() / x["th_tool"].sum()), 3
    )
    res["fragment_of_theater"] = round(float(x["fragment"].sum() / x["th_tool"].sum()), 3)
    return res, x.assign(run=run.name)


def measure_alt(seed: int, mix: str) -> dict:
    """The second family (``alt_world.py``), one feature delivered: ``oracle`` the planted
    performative share of the delivered counts, ``visible`` the performative outputs that went
    unused (the rest were accepted: no count sees them), ``floor`` the plain rate with each
    output's genuine unused rate known (the genuine draws as they fell, less their expectation
    at each user's own rate, plus the pooled rate): what is left is sampling noise only."""
    acc, users, truth = world(seed, with_parts=True)
    acc = acc[acc["feature"] == mix].copy()
    n_gen = acc["n"] - acc["perf"]
    g = float((acc["k"] - acc["perf_unused"]).sum() / n_gen.sum())
    acc["floor_k"] = acc["k"] - n_gen * acc["p_gen"] + n_gen * g
    o = acc.groupby("org_id")[["n", "perf", "perf_unused", "floor_k"]].sum()
    lad = pd.DataFrame(
        {
            "oracle": o["perf"] / o["n"],
            "visible": o["perf_unused"] / o["n"],
            "floor": o["floor_k"] / o["n"],
        }
    ).reset_index()
    est = ax.estimate(
        acc[["org_id", "user_key", "feature", "n", "k"]], users, ax.Settings(replicates=0)
    )
    x = (
        truth.merge(est[["org_id", "share"]], on="org_id")
        .merge(simple_estimators(acc[["org_id", "user_key", "feature", "n", "k"]]), on="org_id")
        .merge(lad, on="org_id")
    )
    x = x[x["share"].notna()]
    y = x["theater_share"]
    res = {"run": f"alt {seed} {mix}", "orgs": int(len(x))}
    for k, c in (
        ("oracle", "oracle"),
        ("visible", "visible"),
        ("floor", "floor"),
        ("plain", "acceptance_rate"),
        ("user_excess", "user_excess"),
        ("published", "share"),
    ):
        res[k] = rho(x[c], y)["spearman"]
    return res


def _native(run: Path, root: Path) -> pd.DataFrame:
    """The delivered tool's native outputs of the run's seed: feature, unused, theater."""
    import pyarrow.dataset as pads
    import vendor_ranking as vr

    from theater.synth import generate
    from theater.synth.exports.github_copilot_users import GH_FEATURE
    from theater.synth.vocab import USED

    seed = int(run.name[1:].split("-", 1)[0])
    nat = root / f"s{seed}"
    if not (nat / "truth" / "interactions.csv").exists():
        w = dict(n_orgs=24, n_users=1200, start=vr.START_D, end=vr.END_D)
        generate(nat, seed=seed, dirty=False, formats="parquet", progress=lambda m: None, **w)
    a = pd.read_csv(nat / "truth" / "interactions.csv").sort_values(["tool", "event_id"])
    b = pd.read_csv(run / "world" / "truth" / "interactions.csv").sort_values(["tool", "event_id"])
    if not a.reset_index(drop=True).equals(b.reset_index(drop=True)):
        raise SystemExit(f"{nat}: not the world of {run}")
    cols = ["event_id", "action", "output_disposition"]
    d = pads.dataset(str(nat / "landing" / "interactions" / "ide"), format="parquet")
    d = d.to_table(columns=cols).to_pandas().merge(a[a["tool"] == "ide"], on="event_id")
    d["feature"] = d["action"].map(GH_FEATURE).fillna("chat_panel_ask_mode")
    d["unused"] = (~d["output_disposition"].isin(USED)).astype(int)
    return d


def measure_exact(run: Path, root: Path, draws: int, rng) -> dict:
    d = _native(run, root)
    d["gen"] = 1 - d["is_theater"]
    d["gen_unused"] = d["unused"] * d["gen"]
    d["vis"] = d["unused"] * d["is_theater"]
    of = d.groupby(["org_id", "feature"])[["gen", "gen_unused", "vis", "is_theater"]].sum()
    gf = of.groupby("feature")["gen_unused"].sum() / of.groupby("feature")["gen"].sum()
    of["exp_f"] = of["gen"] * of.index.get_level_values(1).map(gf)
    o = of.groupby("org_id").sum()
    o["n"] = o["gen"] + o["is_theater"]
    o["k"] = o["gen_unused"] + o["vis"]
    acc = pd.read_parquet(run / "ax" / "acc.parquet").groupby("org_id")[["n", "k"]].sum()
    if not np.allclose(o.loc[acc.index, ["n", "k"]].to_numpy(), acc[["n", "k"]].to_numpy()):
        raise SystemExit(f"{run}: the delivered counts differ from the native outputs")
    x = org_frame(run)[["org_id", "theater_share", "share", "user_excess"]]
    x = x.merge(o.reset_index(), on="org_id").reset_index(drop=True)
    y = x["theater_share"]
    g = float(x["gen_unused"].sum() / x["gen"].sum())

    def sim(mean, phi=1.0):
        sd = np.sqrt(phi * mean * (1 - mean / x["gen"]))
        return float(
            np.mean(
                [
                    rho((x["vis"] + rng.normal(mean, sd)) / x["n"], y)["spearman"]
                    for _ in range(draws)
                ]
            )
        )

    res = {"run": run.name, "orgs": int(len(x))}
    res["oracle"] = rho(x["is_theater"] / x["n"], y)["spearman"]
    res["visible"] = rho(x["vis"] / x["n"], y)["spearman"]
    res["floor_pooled"] = sim(g * x["gen"])
    res["floor_feature"] = sim(x["exp_f"])
    res["plain"] = rho(x["k"] / x["n"], y)["spearman"]
    res["plain_mix_known"] = rho((x["k"] - x["exp_f"] + g * x["gen"]) / x["n"], y)["spearman"]
    res["user_excess"] = rho(x["user_excess"], y)["spearman"]
    res["published"] = rho(x["share"], y)["spearman"]
    res["phi_pooled"] = float(
        ((x["gen_unused"] - g * x["gen"]) ** 2 / (g * (1 - g) * x["gen"])).mean()
    )
    res["phi_feature"] = float(
        ((x["gen_unused"] - x["exp_f"]) ** 2 / (x["exp_f"] * (1 - x["exp_f"] / x["gen"]))).mean()
    )
    res["genuine_rate"] = {k: round(float(v), 3) for k, v in gf.items()}
    return res


EXACT = ("oracle", "visible", "floor_pooled", "floor_feature", "plain", "plain_mix_known")
EXACT += ("user_excess", "published", "phi_pooled", "phi_feature")


COLS = ("oracle", "visible", "floor", "floor_over", "plain", "user_excess", "published", "shrunk")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="*")
    ap.add_argument("--native", help="folder for the runs' native worlds (Copilot users runs)")
    ap.add_argument("--alt-seeds", type=int, nargs="*", default=[])
    ap.add_argument("--alt-mixes", nargs="+", default=["ide/chat", "agent/edit"])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--csv")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(20261207)
    rows, frames = [], []
    for d in args.runs:
        r, x = measure(Path(d), args.draws, rng)
        rows.append(r)
        frames.append(x)
        print(json.dumps(r), flush=True)
    if args.csv:
        Path(args.csv).mkdir(parents=True, exist_ok=True)
        pd.concat(frames).to_csv(Path(args.csv) / "rank_floor_orgs.csv", index=False)
    print("\n| run | orgs | " + " | ".join(COLS) + " | phi | rank error small / large |")
    print("|---|---:|" + "---:|" * (len(COLS) + 2))
    for r in rows:
        cells = " | ".join(f"{r[c]:.3f}" for c in COLS)
        err = f"{r['rank_err_small']:.2f} / {r['rank_err_large']:.2f}"
        print(f"| {r['run']} | {r['orgs']} | {cells} | {r['phi']:.2f} | {err} |")
    if rows:
        means = {c: np.mean([r[c] for r in rows]) for c in COLS}
        print("| mean | | " + " | ".join(f"{means[c]:.3f}" for c in COLS) + " | | |")
    ex = [
        measure_exact(Path(d), Path(args.native), args.draws, rng)
        for d in args.runs
        if args.native and Path(d).name.endswith("-github_copilot_users")
    ]
    if ex:
        print("\n| exact (native dispositions) | orgs | " + " | ".join(EXACT) + " |")
        print("|---|---:|" + "---:|" * len(EXACT))
        for r in ex + [
            {"run": "mean", "orgs": "", **{c: np.mean([r[c] for r in ex]) for c in EXACT}}
        ]:
            print(
                f"| {r['run']} | {r['orgs']} | " + " | ".join(f"{r[c]:.3f}" for c in EXACT) + " |"
            )
        print("genuine unused rate by feature:", json.dumps([r["genuine_rate"] for r in ex]))
    alt = [measure_alt(s, m) for m in args.alt_mixes for s in args.alt_seeds]
    if alt:
        acols = ("oracle", "visible", "floor", "plain", "user_excess", "published")
        print("\n| second family | orgs | " + " | ".join(acols) + " |")
        print("|---|---:|" + "---:|" * len(acols))
        for r in alt:
            print(
                f"| {r['run']} | {r['orgs']} | " + " | ".join(f"{r[c]:.3f}" for c in acols) + " |"
            )
        for m in args.alt_mixes:
            rr = [r for r in alt if r["run"].endswith(" " + m)]
            mean = " | ".join(f"{np.mean([r[c] for r in rr]):.3f}" for c in acols)
            print(f"| mean {m} ({len(rr)} seeds) | | {mean} |")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

"""Which step of the acceptance estimator costs rank on one format alone: the published Spearman
on kept runs with one step switched off at a time, against "user excess", the plain rate and
the ceiling (docs/methodology.md, the acceptance estimator's steps).

The point estimate (``replicates=0``) is recomputed here from the module's own pieces
(:func:`point_share`: steps 1-5 as ``acceptance_excess._shares`` composes them for the share),
with these switches; ``current`` is checked to equal ``estimate``'s share on every run:

- ``no_eb`` (step 3 off): the rest of a user's usage carries the raw excess clipped,
  ``t~_u = clip(t_u)`` (the org mean still fills users without counts).
- ``n_only`` (step 4 off): the org figure is the ``n``-weighted mean of the unshrunk ``t_u``
  over its measured users (usage not covered by counts ignored).
- ``usage_shrunk`` (step 4 off, the other way): every unit of a user's usage carries ``t~_u``.
- ``no_incentive`` (step 5 off).
- ``inc_user`` (step 5 as it was before this benchmark: per user, measured outputs carry
  ``t_u + max(i_o - t~_u, 0)`` and the rest ``max(t~_u, i_o)``; ``current`` takes it at the
  org level, ``max(x_o, i_o)`` with ``x_o`` the org's excess share of steps 1-4).
- ``inc_rest`` (step 5 on the usage the counts do not cover only, per user: measured outputs
  carry their own excess ``t_u`` alone, whatever drove it).
- ``a1`` (step 2's ``a_f = 1``: ``Settings(pool_by_spread=False)``).
- ``b_person`` (step 2's ``b_o`` per person: each user's own mix of features).
- ``no_scale`` (step 2 without the ``1 / (1 - b_o)`` conversion: excess unused outputs per
  output, as "user excess" reads them).
- ``thin_pooled`` (step 1's thin-feature pull off: a thin feature's baseline is its pooled rate).
- ``no_kind_pool`` (step 1's pooling of one kind across sources off).
- ``no_clip`` (the org figure and ``t~_u`` unclipped: ties at 0 and 1 kept apart).
- ``median`` (step 1's quantile at 0.5, user excess's own baseline level: a constant, shown
  only to locate the cost).

Switches join with ``+`` (``no_incentive+n_only``: both off).

    PYTHONPATH=src python benchmarks/rank_ablation.py RUN_DIR ... [--variants no_eb a1]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rank_compare import rho, simple_estimators  # noqa: E402
from vendor_ranking import _table, oracle  # noqa: E402

from theater.signals import acceptance_excess as ax  # noqa: E402

VARIANTS = [
    "no_eb",
    "n_only",
    "usage_shrunk",
    "no_incentive",
    "inc_user",
    "inc_rest",
    "a1",
    "b_person",
    "no_scale",
    "thin_pooled",
    "no_kind_pool",
    "no_clip",
    "median",
]
FB, POOL, MIX = ax._feature_baseline, ax._pool_kinds, ax.mix_baselines


def _thin_pooled(nn, kk, ww, oo, s, srt=None):
    if ((nn >= s.min_user_outputs) & (ww > 0)).sum() < s.min_baseline_users:
        den = float((ww * nn).sum())
        return float((ww * kk).sum() / den) if den > 0 else 0.0
    return FB(nn, kk, ww, oo, s, srt)


def _install(v: set) -> None:
    ax._feature_baseline, ax._pool_kinds, ax.mix_baselines = FB, POOL, MIX
    if "thin_pooled" in v:
        ax._feature_baseline = _thin_pooled
    if "no_kind_pool" in v:
        ax._pool_kinds = lambda *a, **k: None
    if "b_person" in v:
        ax.mix_baselines = lambda group, bf, weight: bf
    if "no_scale" in v:
        ax.mix_baselines = lambda group, bf, weight: np.zeros_like(bf)


def point_share(fr, s: ax.Settings, v: set) -> np.ndarray:
    """The point share per org as ``_shares`` composes it, with the steps named in ``v`` off."""
    O = len(fr.orgs)
    w = np.ones(fr.n_users)
    t, _, V, D, has = ax._user_excess(fr, w, s)
    m, tau2 = ax._org_means(fr, w, t, V, D, has, None)
    mo = m[fr.user_org]
    lam = np.where(has, tau2 / (tau2 + V), 0.0)
    if "no_eb" in v:
        lam = np.where(has, 1.0, 0.0)
    t_s = mo + lam * (t - mo)
    if "no_clip" not in v:
        t_s = np.clip(t_s, 0, 1)
    inc_o = ax.org_incentive(fr.user_org, fr.incentive, fr.usage, w, O, s)
    if "no_incentive" in v:
        inc_o = np.zeros_like(inc_o)
    inc = inc_o[fr.user_org]
    n_u = np.minimum(np.bincount(fr.row_user, weights=fr.n, minlength=fr.n_users), fr.usage)
    rest = fr.usage - n_u
    measured, other = t, t_s
    if "inc_user" in v:
        measured, other = t + np.maximum(inc - t_s, 0), np.maximum(t_s, inc)
    elif "inc_rest" in v:
        other = np.maximum(t_s, inc)
    usage = fr.usage
    if "n_only" in v:
        usage, rest = n_u * has, np.zeros_like(rest)
    elif "usage_shrunk" in v:
        measured = other
    tot = np.bincount(fr.user_org, weights=usage, minlength=O)
    got = np.bincount(fr.user_org, weights=n_u * measured + rest * other, minlength=O)
    got = got / np.where(tot > 0, tot, 1)
    if not {"inc_user", "inc_rest"} & v:
        got = np.maximum(got, inc_o)
    return np.where(tot > 0, got if "no_clip" in v else np.clip(got, 0, 1), np.nan)


def _estimate(acc: pd.DataFrame, users: pd.DataFrame, name: str) -> pd.DataFrame:
    """``estimate``'s point share (its row preparation, its publication rule) under ``name``."""
    v = set(name.split("+")) - {"current"}
    s = ax.Settings(
        replicates=0,
        pool_by_spread="a1" not in v,
        baseline_quantile=0.5 if "median" in v else ax.Settings.baseline_quantile,
    )
    acc = acc[(acc["n"] > 0)].sort_values(["org_id", "user_key", "feature"], kind="stable").copy()
    users = users.sort_values(["org_id", "user_key"], kind="stable")
    acc["k"] = np.minimum(acc["k"].clip(lower=0), acc["n"])
    fr = ax._frame(acc, users)
    _install(v)
    try:
        share = point_share(fr, s, v)
    finally:
        _install(set())
    has = np.bincount(fr.row_user, weights=fr.n, minlength=fr.n_users) > 0
    users_o = np.bincount(fr.user_org, weights=has.astype(float), minlength=len(fr.orgs))
    share = np.where(users_o >= s.min_measured_users, share, np.nan)
    return pd.DataFrame({"org_id": fr.orgs, "share": share})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="kept runs (<out>/s<seed>-<mix>, with ax/ and lake/)")
    ap.add_argument("--variants", nargs="+", default=VARIANTS)
    args = ap.parse_args(argv)
    rows = []
    for d in map(Path, args.runs):
        gold = _table(d / "lake" / "gold" / "org_theater_index")
        gold = gold[~gold.suppressed][["org_id", "theater_index", "index_basis"]]
        truth = d / "world" / "truth"
        orgs = pd.read_csv(truth / "orgs.csv")[["org_id", "theater_share"]]
        acc = pd.read_parquet(d / "ax" / "acc.parquet")
        users = pd.read_parquet(d / "ax" / "users.parquet")
        if acc.empty:
            continue
        simple, orc = simple_estimators(acc), oracle(acc, truth)
        ref = ax.estimate(acc, users, ax.Settings(replicates=0))[["org_id", "share"]]
        row = {"run": f"{d.parent.name}/{d.name}"}
        figs = {}
        for v in ["current"] + args.variants:
            est = _estimate(acc, users, v)
            if v == "current":  # the recomposition is the estimator's own point share
                chk = ref.merge(est, on="org_id", suffixes=("", "_re"))
                diff = (chk["share"] - chk["share_re"]).abs().max()
                same_nan = (chk["share"].isna() == chk["share_re"].isna()).all()
                assert same_nan and not diff > 1e-12, f"current differs from estimate(): {diff}"
            g = gold.merge(est, on="org_id", how="left")
            own = g["index_basis"] == "interactions"
            figs[v] = g.set_index("org_id")["theater_index"].where(
                own.to_numpy(), g.set_index("org_id")["share"] * 100
            )
        m = orgs.merge(simple, on="org_id", how="left").merge(orc, on="org_id", how="left")
        for v, f in figs.items():
            m[v] = m["org_id"].map(f)
        c = m[["current", "acceptance_rate", "user_excess"]].notna().all(axis=1)
        for v in figs:
            row[v] = rho(m[v][c], m.theater_share[c])["spearman"]
        for key, col in (("plain", "acceptance_rate"), ("user_excess", "user_excess")):
            row[key] = rho(m[col][c], m.theater_share[c])["spearman"]
        row["ceiling"] = rho(m.oracle[c], m.theater_share[c])["spearman"]
        row["orgs"] = int(c.sum())
        rows.append(row)
        print(json.dumps(row), flush=True)
    t = pd.DataFrame(rows)
    mixed = t["run"].str.endswith("-mixed")
    for v in args.variants + ["user_excess"]:
        dd = t[v].astype(float) - t["current"].astype(float)
        print(
            f"{v}: one format mean {dd[~mixed].mean():+.4f} (min {dd[~mixed].min():+.3f}, "
            f"max {dd[~mixed].max():+.3f}); mixed mean {dd[mixed].mean():+.4f} "
            f"(min {dd[mixed].min():+.3f}, max {dd[mixed].max():+.3f})"
        )
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

"""Cross-tool evidence for step 1's baseline: does "people who game one tool game the others"
give the estimator a reference for a feature's genuine rate from outside the few orgs that
deliver the feature?

Usage:
    PYTHONPATH=src python benchmarks/rank_xtool.py span RUN_DIR ...        # kept vendor runs
    PYTHONPATH=src python benchmarks/rank_xtool.py span-alt [SEED ...]     # alt_world family
    PYTHONPATH=src python benchmarks/rank_xtool.py probe RUN_DIR ...       # kept vendor runs
    PYTHONPATH=src python benchmarks/rank_xtool.py probe-alt [SEED ...]    # alt_world family
    PYTHONPATH=src python benchmarks/rank_xtool.py relative RUN_DIR NATIVE_DIR [...]  # truth

``span``: per run, how many users (and what share of measured outputs) span two or more
acceptance features, two or more sources (formats), two or more orgs; users spanning two
formats that are not org movers; per user of two formats, the smaller side's outputs (median)
and how many have 20+ on both sides. ``RUN_DIR`` is a run kept by ``vendor_ranking.py --keep``.

``probe``: the point estimate (``replicates=0``, the ``vendor_ranking.py --remeasure`` rule)
with step 1 swapped for a cross-feature anchor, beside the current estimator and the simple
estimators. ``xanchor``: for each feature f, each user's excess over their OTHER features
(every other feature they have, any source, read against the current baselines) ranks the
users; the users at or below the org-equal weighted 25% quantile of that excess (users with at
least ``min_user_outputs`` outputs on the other features and some of f) set f's baseline as
their pooled unused rate of f. The selection is independent of f's own sampling noise (no
winner's curse, no 0-of-11 user setting the quantile), and it needs no genuine rate shared
across vendors. Fewer than ``min_baseline_users`` such users: the current baseline.
``xanchor50``: the same with the lower half. ``twoway``: per source, the multiplicative fit
``accepted_uf ~ n_uf A_f S_u`` (a feature's genuine acceptance times the user's 1 - theater
share, one share per person over every feature of the source, fitted by alternating
proportional updates), its level pinned by taking the user at the org-equal 25% quantile of
theater (the 75% quantile of ``S_u`` over users of ``min_user_outputs``+ outputs) as genuine;
``b_f = 1 - A_f S_75``. For a one-feature source this is the current rule; with several it
reads each person's propensity from all of their outputs, and each feature's level relative to
the others from within-person comparisons.

``relative`` (READS THE TRUTH, a diagnostic): the most any within-format cross-feature method
could gain if it put each feature's baseline right RELATIVE to the format's other features
but kept the format's level as the estimator sets it: each feature's baseline set to its
genuine rate plus the format's mean (outputs-weighted) baseline error. ``NATIVE_DIR`` as in
``rank_diag_412.py``.
"""

from __future__ import annotations

import filecmp
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rank_diag_412 as dg  # noqa: E402
import vendor_ranking as vr  # noqa: E402
from alt_world import vendor_delivery, world  # noqa: E402
from rank_compare import rho, simple_estimators  # noqa: E402

from theater.signals import acceptance_excess as ax  # noqa: E402

ORIG = (ax._frame, ax.baselines)
SOURCES = (0.0, 0.5, 0.0, 1.0, 0.2, 0.0)


def span(acc: pd.DataFrame, source_of_org: pd.Series | None = None) -> dict:
    """Users and outputs spanning features, sources and orgs."""
    a = acc[acc["n"] > 0].copy()
    a["src"] = a["feature"].astype(str).str.split("/").str[0]
    g = a.groupby("user_key").agg(
        nf=("feature", "nunique"), ns=("src", "nunique"), no=("org_id", "nunique"), n=("n", "sum")
    )
    out = {
        "users": int(len(g)),
        "outputs": float(g["n"].sum()),
        "users_2feat": int((g["nf"] >= 2).sum()),
        "out_share_2feat": round(float(g["n"][g["nf"] >= 2].sum() / g["n"].sum()), 3),
        "users_2src": int((g["ns"] >= 2).sum()),
        "out_share_2src": round(float(g["n"][g["ns"] >= 2].sum() / g["n"].sum()), 4),
        "users_2org": int((g["no"] >= 2).sum()),
        "users_2src_not_mover": int(((g["ns"] >= 2) & (g["no"] < 2)).sum()),
    }
    # per user of two sources: the outputs under each; the smaller side bounds what one person
    # can say about the two sources' levels
    two = a[a["user_key"].isin(g.index[g["ns"] >= 2])]
    side = two.groupby(["user_key", "src"])["n"].sum().groupby("user_key").min()
    out["smaller_side_median"] = float(side.median()) if len(side) else None
    out["users_2src_20_both"] = int((side >= 20).sum())
    return out


def _xanchor(q: float = 0.25):
    """Step 1 by the cross-feature anchor (module docstring); the point estimate only."""
    state = {}

    def frame(acc, users):
        state["fr"] = ORIG[0](acc, users)
        return state["fr"]

    def base(feature, n, k, w, s, org=None, groups=None, kinds=None):
        b0 = ORIG[1](feature, n, k, w, s, org, groups, kinds)
        fr = state.get("fr")
        if fr is None or len(n) != len(fr.n):  # a replicate: not probed
            return b0
        user, U = fr.row_user, fr.n_users
        bf = np.array([b0[c] for c in feature])
        e_all = np.bincount(user, weights=w * (k - n * bf), minlength=U)
        d_all = np.bincount(user, weights=w * n * (1 - bf), minlength=U)
        n_all = np.bincount(user, weights=w * n, minlength=U)
        out = dict(b0)
        for c in np.unique(feature):
            m = (feature == c) & (w > 0)
            u = user[m]
            # the user's excess over their other features: f's own row taken out
            d_o = d_all[u] - n[m] * (1 - bf[m])
            n_o = n_all[u] - n[m]
            x = (e_all[u] - (k[m] - n[m] * bf[m])) / np.where(d_o > 0, d_o, 1.0)
            ok = n_o >= s.min_user_outputs
            if ok.sum() < s.min_baseline_users:
                continue
            oo = org[m][ok]
            per_org = np.bincount(oo, minlength=int(oo.max()) + 1).astype(float)
            ew = 1.0 / per_org[oo]
            cut = ax._weighted_quantile(x[ok], ew, q)
            sel = x[ok] <= cut
            nn, kk = n[m][ok][sel], k[m][ok][sel]
            # each org weighs the same in the anchor, as in the quantile
            po = np.bincount(oo[sel], weights=nn, minlength=len(per_org))
            wt = 1.0 / np.where(po[oo[sel]] > 0, po[oo[sel]], 1.0)
            if (wt * nn).sum() > 0:
                out[c] = float((wt * kk).sum() / (wt * nn).sum())
        return out

    return frame, base


def _twoway(q: float = 0.25, iters: int = 50):
    """Step 1 by a two-way fit per source (module docstring, ``twoway``); the point only."""
    state = {}

    def frame(acc, users):
        state["fr"] = ORIG[0](acc, users)
        state["names"] = np.unique(acc["feature"].astype(str).to_numpy())
        return state["fr"]

    def base(feature, n, k, w, s, org=None, groups=None, kinds=None):
        b0 = ORIG[1](feature, n, k, w, s, org, groups, kinds)
        fr = state.get("fr")
        if fr is None or len(n) != len(fr.n):
            return b0
        names = np.unique(fr.row_feature)
        src_of = {}
        for c in names:
            src_of.setdefault(_source(state["names"][c]), []).append(c)
        out = dict(b0)
        for feats in src_of.values():
            m = np.isin(feature, feats) & (w > 0)
            u, f, nn, aa = fr.row_user[m], feature[m], n[m] * w[m], (n[m] - k[m]) * w[m]
            uu, ui = np.unique(u, return_inverse=True)
            fc, fi = np.unique(f, return_inverse=True)
            S, A = np.ones(len(uu)), np.ones(len(fc))
            for _ in range(iters):  # multiplicative fit: accepted_uf ~ n_uf A_f S_u
                A = np.bincount(fi, aa, len(fc)) / np.maximum(
                    np.bincount(fi, nn * S[ui], len(fc)), 1e-12
                )
                S = np.bincount(ui, aa, len(uu)) / np.maximum(
                    np.bincount(ui, nn * A[fi], len(uu)), 1e-12
                )
            nu = np.bincount(ui, nn, len(uu))
            big = nu >= s.min_user_outputs
            if big.sum() < s.min_baseline_users:
                continue
            uo = fr.user_org[uu[big]]
            per_org = np.bincount(uo).astype(float)
            # the users' (1 - theater) at the org-equal quantile is taken as 1: the user at the
            # q-quantile of theater, measured over all of the source's features, is genuine
            top = ax._weighted_quantile(S[big], 1.0 / per_org[uo], 1 - q)
            if top > 0:
                for j, c in enumerate(fc):
                    out[c] = float(np.clip(1 - A[j] * top, 0.0, 1.0))
        return out

    return frame, base


def _source(name: str) -> str:
    return str(name).split("/", 1)[0]


def _install(v: str) -> None:
    ax._frame, ax.baselines = ORIG
    if v == "xanchor":
        ax._frame, ax.baselines = _xanchor(0.25)
    elif v == "xanchor50":
        ax._frame, ax.baselines = _xanchor(0.5)
    elif v == "twoway":
        ax._frame, ax.baselines = _twoway(0.25)


VARIANTS = ("current", "xanchor", "xanchor50", "twoway")


def probe(dirs: list[Path]) -> list[dict]:
    rows = []
    for d in dirs:
        row = {"run": f"{d.parent.name}/{d.name}"}
        for v in VARIANTS:
            _install(v)
            r = vr.measure(d / "lake", d / "world" / "truth", d / "ax", again=True)["common"]
            row[v] = r["published"]["spearman"]
        _install("current")
        row["plain"] = r["acceptance_rate"]["spearman"]
        row["user_excess"] = r["user_excess"]["spearman"]
        row["n"] = r["published"]["n"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def probe_alt(seeds: list[int]) -> list[dict]:
    rows = []
    for seed in seeds:
        for mix in ("all", "sources"):
            acc, users, truth = world(seed)
            if mix == "sources":
                acc = vendor_delivery(acc, seed, SOURCES)
            row = {"run": f"alt {seed} {mix}"}
            for v in VARIANTS:
                _install(v)
                est = ax.estimate(acc, users, ax.Settings(replicates=0))
                m = truth.merge(est, on="org_id", how="left")
                row[v] = rho(m["share"], m["theater_share"])["spearman"]
            _install("current")
            m = truth.merge(simple_estimators(acc), on="org_id", how="left")
            row["plain"] = rho(m["acceptance_rate"], m["theater_share"])["spearman"]
            row["user_excess"] = rho(m["user_excess"], m["theater_share"])["spearman"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def summary(rows: list[dict]) -> None:
    for v in VARIANTS[1:]:
        d = [r[v] - r["current"] for r in rows if r[v] is not None and r["current"] is not None]
        up, down = sum(x > 0.005 for x in d), sum(x < -0.005 for x in d)
        print(f"{v}: mean {np.mean(d):+.3f} (min {min(d):+.3f}, {up} up / {down} down)")


def relative(pairs: list[tuple[Path, Path]]) -> None:
    for run, native in pairs:
        truth = run / "world" / "truth"
        if not filecmp.cmp(
            truth / "interactions.csv", native / "truth" / "interactions.csv", False
        ):
            raise SystemExit(f"{native}: not the world of {run} (truth/interactions.csv differs)")
        acc = pd.read_parquet(run / "ax" / "acc.parquet")
        users = pd.read_parquet(run / "ax" / "users.parquet")
        stacks = pd.read_csv(truth / "vendor_stacks.csv")
        feats = sorted(acc.loc[acc["n"] > 0, "feature"].astype(str).unique())
        gen = dg.genuine_rates(dg.native_ide(native), stacks, feats)
        gen["est"] = pd.Series(dg.estimator_baselines(acc, users, True))
        gen["n"] = acc[acc["n"] > 0].groupby("feature")["n"].sum()
        gen["src"] = [f.split("/")[0] for f in gen.index]
        err = gen["est"] - gen["genuine_all"]
        lvl = (err * gen["n"]).groupby(gen["src"]).sum() / gen["n"].groupby(gen["src"]).sum()
        rel = gen["genuine_all"] + gen["src"].map(lvl)
        gold = vr._table(run / "lake" / "gold" / "org_theater_index")
        g = vr.recompute(
            gold[~gold.suppressed][["org_id", "theater_index", "index_basis"]], run / "ax"
        )
        orgs = pd.read_csv(truth / "orgs.csv")[["org_id", "theater_share"]]
        m = orgs.merge(g, on="org_id").merge(simple_estimators(acc), on="org_id", how="left")
        own = m["index_basis"] == "interactions"
        m["published"] = m["theater_index"] / 100
        out = {"run": run.name}
        for tag, table in (("true", gen["genuine_all"]), ("relative_fixed", rel)):
            cf = dg.estimate_with(acc, users, table.to_dict())
            m[tag] = np.where(own, m["published"], m["org_id"].map(cf))
        c = m[m[["theater_index", "acceptance_rate", "user_excess"]].notna().all(axis=1)]
        for col in ("published", "relative_fixed", "true", "acceptance_rate", "user_excess"):
            out[col] = rho(c[col], c["theater_share"])["spearman"]
        out["level_error"] = {k: round(float(v), 3) for k, v in lvl.items()}
        out["relative_error_abs_mean"] = round(float((err - gen["src"].map(lvl)).abs().mean()), 3)
        print(json.dumps(out), flush=True)


def main(argv: list[str]) -> int:
    cmd, rest = argv[0], argv[1:]
    if cmd == "span":
        for d in map(Path, rest):
            acc = pd.read_parquet(d / "ax" / "acc.parquet")
            print(json.dumps({"run": f"{d.parent.name}/{d.name}", **span(acc)}), flush=True)
    elif cmd == "span-alt":
        for seed in map(int, rest or range(201, 211)):
            acc, _, _ = world(seed)
            print(json.dumps({"run": f"alt {seed}", **span(vendor_delivery(acc, seed, SOURCES))}))
    elif cmd == "probe":
        summary(probe([Path(x) for x in rest]))
    elif cmd == "probe-alt":
        summary(probe_alt([int(x) for x in rest] or list(range(201, 211))))
    elif cmd == "relative":
        relative([(Path(rest[i]), Path(rest[i + 1])) for i in range(0, len(rest), 2)])
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main(sys.argv[1:]))

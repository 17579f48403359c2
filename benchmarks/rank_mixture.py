"""Step 1's baseline by a mixture over each feature's users instead of a fixed low quantile:
the published Spearman on kept runs, current estimator against each candidate.

A feature's baseline is meant to be its genuine unused rate in absolute level (in a mixed
delivery the orgs of different formats are compared, so a per-format offset reorders them).
The 25% quantile of noisy user rates sits below the genuine rate when most users are genuine
and above it when every org of the format games. The candidates estimate the genuine
component from the users' (k, n) counts with count-aware likelihoods, each org weighing the
same (its users share the org's weight, as in the quantile):

- ``em2``: two binomial components by EM (genuine rate, theater rate above it, share); the
  baseline is the lower rate. Every user with an output, so thin features need no fallback.
- ``em2_bb``: the same with beta-binomial components (each component's spread beyond sampling
  by moments of its responsibility-weighted users): genuine habits that vary between users are
  absorbed by the genuine component's spread instead of splitting it in two.
- ``npmle``: the mixing distribution of the users' rates on a grid (nonparametric maximum
  likelihood, EM), and its 25% quantile: the quantile with the binomial noise taken out. Users
  with at least ``--min-n`` outputs; features with fewer than ``min_baseline_users`` such users
  keep the current rule.

- ``anchor``: the current baselines, then each thin feature (fewer than ``min_baseline_users``
  users of 10+ outputs) re-set from its users' theater share over their well-measured
  features (step 2's assumption: a person games every tool alike): ``b_f = sum w (k - n t_u) /
  sum w n (1 - t_u)`` over at least 5 users with 10+ well-measured outputs.

- ``pool_floor`` (the kind pooling made robust to orgs that all game alike): the current
  baselines, with each feature's org-jackknife variance in :func:`_pool_kinds` floored at
  ``sigma^2 / G``, ``sigma^2`` the median over features of 3+ orgs of the variance of the
  per-org baselines (each org alone), ``G`` the feature's orgs.

Kind pooling (:func:`_pool_kinds`) runs unchanged on top of each (its jackknife calls the same
per-feature function). Point estimate only (``replicates=0``), the rule of
``vendor_ranking.py --remeasure``; no pipeline rerun.

    PYTHONPATH=src python benchmarks/rank_mixture.py RUN_DIR ... [--variants em2 npmle]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import betaln

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rank_compare import rho, simple_estimators  # noqa: E402
from vendor_ranking import _table, oracle  # noqa: E402

from theater.signals import acceptance_excess as ax  # noqa: E402

CURRENT = ax._feature_baseline
BASELINES, FRAME = ax.baselines, ax._frame
_ROW_USER: dict = {}
GRID = np.linspace(0.0025, 0.9975, 200)


def _org_equal(n, k, w, o, min_n):
    m = (n >= min_n) & (w > 0)
    n, k, w, o = n[m], k[m], w[m], o[m]
    per = np.bincount(o, weights=w)
    return n, k, w / per[o]


def _start(n, k, w):
    pooled = float((w * k).sum() / max((w * n).sum(), 1e-12))
    return max(min(0.7 * pooled, pooled - 0.01), 1e-3), min(max(1.5 * pooled, pooled + 0.05), 0.999)


def _binom(k, n, p, phi=None):
    if phi is None:  # the binomial coefficient is common to both components: left out
        return k * np.log(p) + (n - k) * np.log1p(-p)
    return betaln(k + p * phi, n - k + (1 - p) * phi) - betaln(p * phi, (1 - p) * phi)


def _moments(n, k, wr, p_old):
    """A component's rate (pooled over its responsibility-weighted users) and concentration
    (its spread beyond sampling; at least 2)."""
    sw, nn = wr.sum(), float((wr * n).sum())
    p = float(np.clip((wr * k).sum() / nn, 1e-4, 0.9999)) if nn > 0 else p_old
    s2 = float((wr * (k / n - p) ** 2).sum() / max(sw, 1e-12))
    noise = float((wr * p * (1 - p) / n).sum() / max(sw, 1e-12))
    return p, float(np.clip(p * (1 - p) / max(s2 - noise, 1e-6) - 1, 2.0, 1e4))


def em2(n, k, w, beta=False, iters=200):
    """Two-component (beta-)binomial mixture by EM: (genuine rate, theater rate, genuine share)."""
    pg, pt = _start(n, k, w)
    fg, ft, pi = (50.0, 5.0, 0.5) if beta else (None, None, 0.5)
    for _ in range(iters):
        lg = _binom(k, n, pg, fg) + np.log(pi)
        lt = _binom(k, n, pt, ft) + np.log1p(-pi)
        top = np.maximum(lg, lt)
        eg, et = np.exp(lg - top), np.exp(lt - top)
        r = eg / (eg + et)
        if beta:
            (ng, fg), (nt, ft) = _moments(n, k, w * r, pg), _moments(n, k, w * (1 - r), pt)
        else:
            ng = float(np.clip((w * r * k).sum() / max((w * r * n).sum(), 1e-12), 1e-4, 0.9999))
            nt = float(
                np.clip((w * (1 - r) * k).sum() / max((w * (1 - r) * n).sum(), 1e-12), 1e-4, 0.9999)
            )
        pi = float(np.clip((w * r).sum() / w.sum(), 1e-3, 1 - 1e-3))
        done = abs(ng - pg) < 1e-7 and abs(nt - pt) < 1e-7
        pg, pt = ng, nt
        if done:
            break
    return (pg, pt, pi) if pg <= pt else (pt, pg, 1 - pi)


def npmle_quantile(n, k, w, q, iters=300):
    """The q-quantile of the users' rate distribution with the binomial noise taken out."""
    L = k[:, None] * np.log(GRID)[None, :] + (n - k)[:, None] * np.log1p(-GRID)[None, :]
    L = np.exp(L - L.max(axis=1, keepdims=True))
    pi = np.full(len(GRID), 1.0 / len(GRID))
    for _ in range(iters):
        pi = pi * ((w / np.maximum(L @ pi, 1e-300)) @ L) / w.sum()
    c = np.cumsum(pi)
    return float(GRID[np.searchsorted(c, q * c[-1])])


def make(variant: str, min_n: int):
    def baseline(nn, kk, ww, oo, s, srt=None):
        if variant == "npmle":
            if ((nn >= min_n) & (ww > 0)).sum() < s.min_baseline_users:
                return CURRENT(nn, kk, ww, oo, s, srt)
            n, k, w = _org_equal(nn, kk, ww, oo, min_n)
            return npmle_quantile(n, k, w, s.baseline_quantile)
        if ((nn >= 1) & (ww > 0)).sum() < 2:
            return CURRENT(nn, kk, ww, oo, s, srt)
        n, k, w = _org_equal(nn, kk, ww, oo, 1)
        return em2(n, k, w, beta=variant == "em2_bb")[0]

    return baseline


def _frame_keeping_users(acc, users):
    fr = FRAME(acc, users)
    _ROW_USER["u"] = fr.row_user  # the point estimate's rows are the frame's, in its order
    return fr


def _anchored(feature, n, k, w, s, org=None, groups=None, kinds=None):
    out = BASELINES(feature, n, k, w, s, org, groups, kinds)
    user = _ROW_USER["u"]
    org = np.zeros(len(feature), dtype=int) if org is None else org
    names = np.unique(feature)
    big = (n >= s.min_user_outputs) & (w > 0)
    thin = [f for f in names if (big & (feature == f)).sum() < s.min_baseline_users]
    if not thin:
        return out
    b = np.array([out[f] for f in feature])
    well = ~np.isin(feature, thin) & (w > 0)
    U = int(user.max()) + 1
    E = np.bincount(user[well], weights=(k - n * b)[well], minlength=U)
    D = np.bincount(user[well], weights=(n * (1 - b))[well], minlength=U)
    N = np.bincount(user[well], weights=n[well], minlength=U)
    t = np.clip(E / np.where(D > 0, D, 1.0), 0, 1)
    for f in thin:
        m = (feature == f) & (w > 0) & (N[user] >= s.min_user_outputs) & (D[user] > 0)
        if m.sum() < 5:
            continue
        ww = w[m] / np.bincount(org[m], weights=w[m])[org[m]]
        tu = t[user[m]]
        den = float((ww * n[m] * (1 - tu)).sum())
        if den > 0:
            out[f] = float(np.clip((ww * (k[m] - n[m] * tu)).sum() / den, 0, 1))
    return out


POOL = ax._pool_kinds


def _floored_pool(out, names, kinds, n, k, w, org, fcode, s) -> None:
    fb = CURRENT
    spread = []
    for f in names:
        m = (fcode == f) & (w > 0)
        per = []
        for o in np.unique(org[m]):
            mo = m & (org == o)
            per.append(fb(n[mo], k[mo], w[mo], np.zeros(int(mo.sum()), dtype=int), s))
        per = np.array([p for p in per if np.isfinite(p)])
        if len(per) >= 3:
            spread.append(float(np.var(per, ddof=1)))
    floor = float(np.median(spread)) if spread else 0.0
    kind_of = kinds[np.asarray(names, dtype=int)]
    for kd in np.unique(kind_of):
        members = [i for i in range(len(names)) if kind_of[i] == kd]
        if len(members) < 2:
            continue
        est, var = [], []
        for i in members:
            m = (fcode == names[i]) & (w > 0)
            nn, kk, ww, oo = n[m], k[m], w[m], org[m]
            orgs = np.unique(oo)
            est.append(out[names[i]])
            if len(orgs) < 2:
                var.append(np.inf)
                continue
            loo = np.array(
                [fb(nn[oo != o], kk[oo != o], ww[oo != o], oo[oo != o], s) for o in orgs]
            )
            G = len(orgs)
            jack = (G - 1) / G * float(((loo - loo.mean()) ** 2).sum())
            var.append(max(jack, floor / G, 1e-6))
        e, v = np.array(est), np.array(var)
        fin = np.isfinite(v)
        if fin.sum() < 2:
            continue
        tau2 = max(float(np.var(e[fin], ddof=1) - v[fin].mean()), 0.0)
        m = np.isin(fcode, [names[i] for i in members]) & (w > 0)
        target = fb(n[m], k[m], w[m], org[m], s)
        for j, i in enumerate(members):
            if fin[j] and tau2 + v[j] > 0:
                out[names[i]] = target + tau2 / (tau2 + v[j]) * (e[j] - target)


def _install(v: str, min_n: int) -> None:
    ax._feature_baseline, ax.baselines, ax._frame = CURRENT, BASELINES, FRAME
    ax._pool_kinds = POOL
    if v == "pool_floor":
        ax._pool_kinds = _floored_pool
    elif v == "anchor":
        ax.baselines, ax._frame = _anchored, _frame_keeping_users
    elif v != "current":
        ax._feature_baseline = make(v, min_n)


def _joined(gold: pd.DataFrame, orgs, acc, users, simple, orc):
    """Gold with the acceptance-basis orgs re-estimated, joined to the truth, the simple
    estimators and the ceiling; and the orgs all three estimates have."""
    est = ax.estimate(acc, users, ax.Settings(replicates=0))[["org_id", "share"]]
    g = gold.merge(est, on="org_id", how="left")
    own = g["index_basis"] == "interactions"
    g["theater_index"] = g["theater_index"].where(own, g["share"] * 100)
    m = orgs.merge(g, on="org_id").merge(simple, on="org_id", how="left")
    m = m.merge(orc, on="org_id", how="left")
    c = m[["theater_index", "acceptance_rate", "user_excess"]].notna().all(axis=1)
    return m, c


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="kept runs (<out>/s<seed>-<mix>, with ax/ and lake/)")
    ap.add_argument(
        "--variants", nargs="+", default=["em2", "em2_bb", "npmle", "anchor", "pool_floor"]
    )
    ap.add_argument("--min-n", type=int, default=10, help="npmle: users with this many outputs")
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
        row = {"run": f"{d.parent.name}/{d.name}"}
        for v in ["current"] + args.variants:
            _install(v, args.min_n)
            try:
                m, c = _joined(gold, orgs, acc, users, simple, orc)
            finally:
                _install("current", args.min_n)
            row[v] = rho(m.theater_index[c], m.theater_share[c])["spearman"]
        for key, col in (("plain", "acceptance_rate"), ("user_excess", "user_excess")):
            row[key] = rho(m[col][c], m.theater_share[c])["spearman"]
        row["ceiling"] = rho(m.oracle[c], m.theater_share[c])["spearman"]
        row["orgs"] = int(c.sum())
        rows.append(row)
        print(json.dumps(row), flush=True)
    t = pd.DataFrame(rows)
    mixed = t["run"].str.endswith("-mixed")
    for v in args.variants:
        dd = t[v] - t["current"]
        print(
            f"{v}: mixed mean {dd[mixed].mean():+.4f} (min {dd[mixed].min():+.3f}, "
            f"{int((dd[mixed] > 0.005).sum())} up / {int((dd[mixed] < -0.005).sum())} down of "
            f"{int(mixed.sum())}); one format mean {dd[~mixed].mean():+.4f} "
            f"(min {dd[~mixed].min():+.3f})"
        )
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

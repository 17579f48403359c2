"""Excess unused output: the theater share estimated from what vendor exports measure.

Vendor user-day exports (GitHub Copilot users report, Amazon Q user activity, Cursor daily usage)
count, per user, day and feature, the outputs shown (or requested) and those accepted; a few
event exports carry a per-interaction disposition. They do not say which interaction was
theater, but they do say how often a user's outputs went unused, and that rate is the one the
per-interaction ``unused_output`` flag reads. This module turns those counts into an estimate of
the SAME quantity as the theater index, the share of usage that is performative
(docs/methodology.md, "One comparable number per org"):

1. **Tool-feature baseline.** Outputs go unused for genuine reasons, at rates that differ a lot by
   tool and feature (pushed inline completions far more than chat answers; Amazon Q counts chat
   prompts and responses as messages). Per feature key (``source_format/feature``) the baseline
   ``b_f`` is a low weighted quantile (``baseline_quantile``) of the rates of users with at least
   ``min_user_outputs`` outputs of that feature, over every org, each org weighing the same:
   the rate of users who play little or no theater with it. Fewer than ``min_baseline_users``
   such users (a thin export: few outputs per user): every user, each rate first pulled toward
   the feature's pooled rate as if it had ``min_user_outputs`` more outputs at that rate (raw
   rates of a few outputs scatter, and their low quantile is 0; the pull shrinks where the
   users' rates differ beyond sampling, since the pooled rate then holds the gamers' theater);
   fewer users than that: the pooled rate of the feature (which errs toward less excess). A
   feature that reaches few orgs (a mixed delivery) is uncertain, and when all of them game its
   quantile sits in their theater: its baseline is pulled toward the same kind's baseline over
   every source that delivers the kind (:func:`_pool_kinds`, empirical Bayes), as far as its
   org-jackknife variance against how much the sources differ allows.
2. **A user's excess, pooled over tools.** Theater outputs go unused, so for a user with theater
   share t, unused rate r = t + (1 - t) b, i.e. t = (r - b) / (1 - b). Pooled over the user's
   features (people who game one tool game the others): ``E_u = sum_f a_f (k_uf - n_uf b_f)``
   and ``D_u = sum_f a_f n_uf (1 - b_o)``; ``t_u = E_u / D_u``, where ``b_o`` is the genuine
   rate of the org's mix of features (``a_f n``-weighted mean of ``b_f`` over its rows,
   :func:`mix_baselines`), not of the user's own mix, with sampling variance
   ``V_u = sum_f a_f^2 n_uf p_uf (1 - p_uf) / D_u^2``. If a person plays the same share in
   every tool, what scatters users' excess more in one feature than in another is that
   feature's noise (sampling, units such as messages counted both ways, genuine habits that
   vary more), so ``a_f`` is the median over features of that spread over feature f's own
   (:func:`spread_weights`; at most 10, 1 where too few users measure it).
3. **Empirical Bayes.** t_u is shrunk toward the org's mean excess m_o (itself shrunk toward the
   mean over orgs), with the between-user variance tau^2 estimated by moments over all users:
   ``t~_u = m_o + tau^2 / (tau^2 + V_u) (t_u - m_o)``, then clipped to [0, 1]. The org's *raw*
   unused rate is NOT the baseline: it contains the org's theater, and subtracting it would
   remove exactly what the index measures; the org enters as the shrinkage target.
4. **Whole usage.** A user's measured outputs (``n_u``) carry their own excess t_u, unshrunk and
   unclipped: summed over the org it is unbiased, where shrunk values are not when theater goes
   with volume (heavy genuine users keep their low rate, light users are pulled toward the
   org). The rest of the user's usage (events and aggregate requests of tools without
   acceptance counts) carries the shrunk t~_u: a thin user's extreme rate is not spread over it;
   a user without any acceptance count gets m_o. The org figure is clipped to [0, 1].
5. **Incentive evidence on the same scale.** The incentive weights (quota bunching, checkpoint
   bursts) are shares of the same usage. They join only where enough people measure them
   (:func:`org_incentive`: the org's usage-weighted mean share over its measured users, at
   least ``min_measured_users`` of them and a mean above ``incentive_z`` standard errors; one
   user's share over a few weeks is noise that ``max`` would only ever add). Their extra
   interactions mostly go unused, so they are largely inside the excess already: the org's
   share i adds only what the org's excess share x_o (steps 1-4) does not explain, the org
   figure is ``max(x_o, i)`` (both org shares of the same usage; against each user's t~_u, i
   would be added for every genuine user of an org whose gamers' excess already holds it);
   the interval's ends keep the per-user rule (the upper end the noisy-OR
   ``1 - (1 - t_hi)(1 - i)``, the lower ``max(i - t~_u, 0)`` on the low excess).
6. **Interval.** A user-clustered Poisson bootstrap that re-estimates the baselines, the org
   means and every user's excess; each replicate sets a feature's baseline from its orgs drawn
   with replacement (:func:`_org_resample`), so a baseline set by a few orgs widens the
   intervals measured against it and one set by many barely does. It widens both ways for what no export can see. Up: a share
   ``max_used_theater`` of theater outputs may have been used, which no count tells from
   genuine use: ``t_hi = E_u / sum_f a_f n_uf (1 - max_used_theater - b_o)`` (0.3: the
   worlds the estimator was checked on plant 0 to 45% used theater outputs, and with 0.5 the
   truth sat in the lower half of that allowance for 95% of orgs). Down: the org's
   genuine rate may be above the tool's (another codebase, another way of working), which no
   count tells from an org where everyone games a little; the low end takes as theater only
   each user's excess over the org's typical user (the median excess of its users with at
   least half ``min_user_outputs`` outputs, never below 0):
   ``(t~_u - d_o) / (1 - d_o)``, the least theater if at least half its users are genuine.
   Orgs publish only when at least ``min_measured_users`` of their users have acceptance
   counts.

Pure numpy/pandas on per (org, user, feature) counts: the score stage aggregates them in Spark
(:func:`acceptance_counts`), the driver holds users x features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ..columns import output_used

NAME = "acceptance_excess"

#: Features (or event actions) whose outputs are pushed unasked: kept, with their own baseline.
BASIS = "acceptance"


@dataclass
class Settings:
    baseline_quantile: float = 0.25
    min_user_outputs: int = 10
    min_baseline_users: int = 10
    min_measured_users: int = 5
    max_used_theater: float = 0.3
    pool_by_spread: bool = True
    incentive_z: float = 1.645
    replicates: int = 200
    confidence: float = 0.90
    seed: int = 20260701


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float, presorted: bool = False) -> float:
    keep = w > 0
    x, w = x[keep], w[keep]
    if not len(x):
        return float("nan")
    if not presorted:  # ``presorted``: x already in stable-sorted order (the same result)
        o = np.argsort(x, kind="stable")
        x, w = x[o], w[o]
    c = np.cumsum(w)
    return float(x[np.searchsorted(c, q * c[-1], side="left").clip(0, len(x) - 1)])


def _feature_groups(feature: np.ndarray, n: np.ndarray, k: np.ndarray):
    """What :func:`baselines` reads that no bootstrap weight changes, computed once for all
    replicates: the feature keys, each feature's rows, and their stable order by unused rate."""
    names, codes = np.unique(feature, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    rate = k / np.maximum(n, 1e-12)
    by_rate = [
        np.argsort(rate[order[bounds[i] : bounds[i + 1]]], kind="stable") for i in range(len(names))
    ]
    return names, order, bounds, by_rate


def _resample_groups(feature: np.ndarray, rate: np.ndarray):
    """:func:`_feature_groups` of rows already in feature order (a replicate's resample,
    :func:`_org_resample`), ``rate`` their unused rate: the same keys, bounds and orders, with
    the grouping order the identity (None), so neither the keys' sort nor the rows' regrouping
    is done again."""
    if not len(feature):
        return feature, None, np.zeros(1, dtype=np.int64), []
    new = np.ones(len(feature), dtype=bool)
    new[1:] = feature[1:] != feature[:-1]
    start = np.flatnonzero(new)
    bounds = np.append(start, len(feature))
    by_rate = [
        np.argsort(rate[bounds[i] : bounds[i + 1]], kind="stable") for i in range(len(start))
    ]
    return feature[start], None, bounds, by_rate


def _feature_baseline(nn, kk, ww, oo, s: Settings, srt=None) -> float:
    """One feature's genuine rate from its rows (step 1): the low weighted quantile of its
    well-measured users' rates, each org weighing the same. ``srt``: the rows' stable order by
    plain rate (None: sorted here)."""
    big = (nn >= s.min_user_outputs) & (ww > 0)
    rate = kk / np.maximum(nn, 1e-12)
    if big.sum() < s.min_baseline_users:
        den = float((ww * nn).sum())
        pooled = float((ww * kk).sum() / den) if den > 0 else 0.0
        # few users with many outputs: every user counts, each rate first pulled toward the
        # pooled one. Raw rates of a few outputs scatter (0 of 3), and their low quantile would
        # be 0: every unused output then reads as theater. How far to pull is set by how much
        # the users' rates differ beyond sampling (beta-binomial moments: a prior worth
        # p(1 - p) / tau^2 - 1 outputs), at most min_user_outputs: the pooled rate holds the
        # theater of every user, so where users differ a lot (some game, some do not) a fixed
        # pull drags the quantile into it, most when a feature reaches only a few orgs
        big = (nn > 0) & (ww > 0)
        a = float(s.min_user_outputs)
        if big.any():
            wb = ww[big]
            spread = float(np.average((kk[big] / nn[big] - pooled) ** 2, weights=wb))
            noise = float(np.average(pooled * (1 - pooled) / nn[big], weights=wb))
            tau2 = max(spread - noise, 1e-9)
            a = float(np.clip(pooled * (1 - pooled) / tau2 - 1, 1.0, s.min_user_outputs))
        rate = (kk + a * pooled) / (nn + a)
        srt = None
        if big.sum() < s.min_baseline_users:
            return pooled
    per_org = np.bincount(oo[big], weights=ww[big])
    if srt is None:
        return _weighted_quantile(rate[big], ww[big] / per_org[oo[big]], s.baseline_quantile)
    # the same rows and weights, taken in the rate's order (no sort per replicate)
    o = srt[big[srt]]
    return _weighted_quantile(rate[o], ww[o] / per_org[oo[o]], s.baseline_quantile, presorted=True)


def feature_kinds(names) -> np.ndarray:
    """Per feature key: a code for its kind, the key without its source (``github_copilot_users/
    code_completion`` and ``cursor_daily_usage/code_completion`` are one kind)."""
    kinds = [str(f).split("/", 1)[1] if "/" in str(f) else str(f) for f in names]
    return np.unique(np.array(kinds, dtype=object), return_inverse=True)[1]


def _pool_kinds(out, names, kinds, n, k, w, org, fcode, s: Settings) -> None:
    """Empirical Bayes across sources: each feature's baseline is pulled toward the baseline of
    its kind over every org that delivers the kind, ``b + lam (b_f - b)``, with
    ``lam = tau^2 / (tau^2 + v_f)``. ``v_f``: the org-jackknife variance of the feature's own
    baseline (a feature that reaches few orgs, or orgs that disagree, is uncertain: when all
    of them game, its quantile sits inside their theater); ``tau^2``: how much the sources'
    baselines of the kind differ beyond that (moments). Sources that define an output
    differently keep their own baseline where it is well measured; a kind delivered by one
    source is not touched."""
    kind_of = kinds[np.asarray(names, dtype=int)]  # ``kinds`` is indexed by feature code
    for kd in np.unique(kind_of):
        members = [i for i in range(len(names)) if kind_of[i] == kd]
        if len(members) < 2:
            continue
        est, var = [], []
        for i in members:
            m = (fcode == names[i]) & (w > 0)
            nn, kk, ww, oo = n[m], k[m], w[m], org[m]
            orgs = np.unique(oo)
            if len(orgs) < 2:
                est.append(out[names[i]])
                var.append(np.inf)
                continue
            loo = np.array(
                [
                    _feature_baseline(nn[oo != o], kk[oo != o], ww[oo != o], oo[oo != o], s)
                    for o in orgs
                ]
            )
            G = len(orgs)
            est.append(out[names[i]])
            var.append(max((G - 1) / G * float(((loo - loo.mean()) ** 2).sum()), 1e-6))
        e, v = np.array(est), np.array(var)
        fin = np.isfinite(v)
        if fin.sum() < 2:
            continue
        ef, vf = e[fin], v[fin]
        tau2 = max(float(((ef - ef.mean()) ** 2).sum() / (fin.sum() - 1) - vf.mean()), 0.0)
        m = np.isin(fcode, [names[i] for i in members]) & (w > 0)
        target = _feature_baseline(n[m], k[m], w[m], org[m], s)
        for j, i in enumerate(members):
            if fin[j]:
                lam = tau2 / (tau2 + v[j]) if tau2 + v[j] > 0 else 0.0
                out[names[i]] = target + lam * (e[j] - target)


def baselines(
    feature: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    w: np.ndarray,
    s: Settings,
    org: np.ndarray | None = None,
    groups: tuple | None = None,
    kinds: np.ndarray | None = None,
) -> dict[str, float]:
    """Per feature key: the genuine unused rate (step 1). ``w``: bootstrap weight per row;
    ``org``: org code per row. Each org counts equally in the quantile (its users share the
    org's weight): one large org that games a feature must not set that feature's baseline.
    ``groups``: :func:`_feature_groups` (or :func:`_resample_groups`) of the same rows
    (computed here when not given).
    ``kinds``: per feature key (in the order of ``np.unique(feature)``), a code for its kind
    (:func:`feature_kinds`); features of one kind from several sources are pooled by
    :func:`_pool_kinds`. None: no pooling."""
    out = {}
    if org is None:
        org = np.zeros(len(feature), dtype=int)
    names, order, bounds, by_rate = groups if groups is not None else _feature_groups(feature, n, k)
    # the rows grouped by feature once; each feature's rows are then a slice (``order`` None:
    # the rows are in feature order already)
    n_g, k_g, w_g, org_g = (
        (n, k, w, org) if order is None else (n[order], k[order], w[order], org[order])
    )
    for i, f in enumerate(names):
        m = slice(bounds[i], bounds[i + 1])
        out[f] = _feature_baseline(n_g[m], k_g[m], w_g[m], org_g[m], s, by_rate[i])
    if kinds is not None and len(names) > 1:
        _pool_kinds(out, names, np.asarray(kinds), n, k, w, org, feature, s)
    return out


def _org_typical(t: np.ndarray, ok: np.ndarray, org: np.ndarray, n_orgs: int) -> np.ndarray:
    """Per org: the median of ``t`` over the users ``ok`` (at least 3 of them), never below 0
    (an org whose typical user is under the tool's rate is measured against the tool's rate);
    0 where too few users are measured."""
    out = np.zeros(n_orgs)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return out
    if np.isnan(t[idx]).any():  # np.median's NaN rule, org by org
        order = idx[np.argsort(org[idx], kind="stable")]
        bounds = np.searchsorted(org[order], np.arange(n_orgs + 1))
        for o in range(n_orgs):
            m = order[bounds[o] : bounds[o + 1]]
            if len(m) >= 3:
                out[o] = max(float(np.median(t[m])), 0.0)
        return out
    # every org's values sorted at once; a median is its middle value, or the mean of its two
    # middle values (np.median's arithmetic: (a + b) / 2)
    x = t[idx[np.lexsort((t[idx], org[idx]))]]
    bounds = np.searchsorted(np.sort(org[idx]), np.arange(n_orgs + 1))
    size = np.diff(bounds)
    has = size >= 3
    hi = bounds[:-1] + size // 2
    lo = np.where(size % 2 == 0, hi - 1, hi)
    med = (x[np.minimum(lo, len(x) - 1)] + x[np.minimum(hi, len(x) - 1)]) / 2
    out[has] = np.maximum(med[has], 0.0)
    return out


@dataclass
class _Frame:
    """Integer-coded rows: acceptance rows (user, feature) and users (org, usage, incentive)."""

    row_user: np.ndarray
    row_feature: np.ndarray  # feature code per row (index into ``features``)
    n: np.ndarray
    k: np.ndarray
    user_org: np.ndarray
    usage: np.ndarray
    incentive: np.ndarray  # NaN: not measured
    orgs: list
    n_users: int
    kinds: np.ndarray | None = None  # kind code per feature code (:func:`feature_kinds`)
    groups: tuple | None = None  # :func:`_feature_groups` of the rows, once for all replicates
    blocks: tuple | None = None  # :func:`_org_blocks` of the rows, once for all replicates
    by_block: tuple | None = None  # :func:`_block_rows`, once for all replicates
    fixed: "_Fixed | None" = None  # :func:`_fixed` of the rows, once for all replicates
    # per user: outputs counted, at most the user's usage as given (before ``usage`` was
    # raised to the counts): the usage units the counts read one at a time
    counted: np.ndarray | None = None


@dataclass
class _Fixed:
    """Per-row and per-user values that no bootstrap weight changes, computed once for all
    replicates (each the same expression as where it is read, so the same numbers)."""

    row_org: np.ndarray  # org code per row
    rate: np.ndarray  # k / n (n floored at 1e-12)
    p: np.ndarray  # (k + 0.5) / (n + 1)
    q: np.ndarray  # 1 - p
    n_u: np.ndarray  # per user: outputs counted, at most the user's usage
    all_usage: np.ndarray  # per org: usage
    org_interleave: tuple | None = None  # :func:`_interleaved` of ``row_org`` (rows by org)


def _fixed(fr: "_Frame") -> _Fixed:
    if fr.fixed is None:
        p = (fr.k + 0.5) / (fr.n + 1.0)
        fr.fixed = _Fixed(
            row_org=fr.user_org[fr.row_user],
            rate=fr.k / np.maximum(fr.n, 1e-12),
            p=p,
            q=1 - p,
            n_u=np.minimum(np.bincount(fr.row_user, weights=fr.n, minlength=fr.n_users), fr.usage),
            all_usage=np.bincount(fr.user_org, weights=fr.usage, minlength=len(fr.orgs)),
        )
        org = fr.fixed.row_org
        if len(org) and (org[1:] >= org[:-1]).all():  # rows in org order (:func:`_frame`)
            fr.fixed.org_interleave = _interleaved(org)
    return fr.fixed


def _frame(acc: pd.DataFrame, users: pd.DataFrame) -> _Frame:
    keys = pd.concat(
        [acc[["org_id", "user_key"]], users[["org_id", "user_key"]]], ignore_index=True
    ).drop_duplicates()
    keys = keys.sort_values(["org_id", "user_key"], kind="stable").reset_index(drop=True)
    keys["_u"] = np.arange(len(keys))
    a = acc.merge(keys, on=["org_id", "user_key"], how="left")
    names, row_feature = np.unique(a["feature"].astype(str).to_numpy(), return_inverse=True)
    rows = (a["_u"].to_numpy(int), row_feature, a["n"].to_numpy(float), a["k"].to_numpy(float))
    return frame_of(keys, users, rows, names)


def frame_of(keys: pd.DataFrame, users: pd.DataFrame, rows: tuple, names) -> _Frame:
    """The estimator's frame from the users' keys in (org_id, user_key) order (``_u`` their
    position), ``users``' usage and incentive, and the rows ``(user, feature code, n, k)``
    with feature codes indexing the sorted ``names``. A user's usage is at least the
    outputs its rows count."""
    row_user, row_feature, n, k = rows
    u = keys.merge(users, on=["org_id", "user_key"], how="left")
    per_user_n = np.bincount(row_user, weights=n, minlength=len(keys))
    usage = u["usage"].fillna(0.0).to_numpy(float) if "usage" in u else np.zeros(len(keys))
    given = u["usage"].notna().to_numpy() if "usage" in u else np.zeros(len(keys), dtype=bool)
    inc = u["incentive"].to_numpy(float) if "incentive" in u else np.full(len(keys), np.nan)
    orgs = sorted(keys["org_id"].unique())
    org_code = {o: i for i, o in enumerate(orgs)}
    return _Frame(
        row_user=row_user,
        row_feature=row_feature,
        n=n,
        k=k,
        user_org=keys["org_id"].map(org_code).to_numpy(int),
        usage=np.maximum(usage, per_user_n),
        counted=np.minimum(per_user_n, np.where(given, usage, per_user_n)),
        incentive=inc,
        orgs=orgs,
        n_users=len(keys),
        kinds=feature_kinds(names),
    )


def spread_weights(
    feature: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    s: Settings,
    rate: np.ndarray | None = None,
) -> np.ndarray:
    """Per row: how much a feature's outputs count when a user's excess is pooled over
    features (step 2). A person who games plays the same share in every tool, so the spread of
    users' excess ``(k/n - b) / (1 - b)`` within a feature beyond that common part is noise of
    the feature (sampling, units such as messages counted both ways, genuine habits that vary
    more): weight ``median_f(var) / var_f``, the spread over users with at least
    ``min_user_outputs`` outputs of the feature (``w``: bootstrap weight per row). A feature
    with fewer than ``min_baseline_users`` such users weighs 1; none weighs more than 10.
    ``rate``: ``k / n`` per row where given (the same quotients)."""
    nf = int(feature.max()) + 1 if len(feature) else 0
    # the rows' positions once, then taken from each array (a boolean mask applied to each
    # array scans it anew, about three times the take's cost)
    ok = np.flatnonzero((n >= s.min_user_outputs) & (w > 0))
    f, ww, bo = feature[ok], w[ok], b[ok]
    t = ((k[ok] / n[ok]) if rate is None else rate[ok]) - bo
    t = t / np.maximum(1 - bo, 1e-9)
    c = np.bincount(f, weights=ww, minlength=nf)
    users = np.bincount(f, minlength=nf)
    m1 = np.bincount(f, weights=ww * t, minlength=nf) / np.maximum(c, 1e-12)
    m2 = np.bincount(f, weights=ww * t**2, minlength=nf) / np.maximum(c, 1e-12)
    var = np.where(users >= s.min_baseline_users, np.maximum(m2 - m1**2, 0.0), np.nan)
    ref = float(np.nanmedian(var)) if np.isfinite(var).any() else 0.0
    if ref <= 0:  # no feature measured, or users agree exactly: nothing to weigh by
        return np.ones(len(feature))
    a = np.where(np.isfinite(var), ref / np.maximum(var, ref / 10), 1.0)
    return a[feature]


def mix_baselines(
    group: np.ndarray, bf: np.ndarray, weight: np.ndarray, interleave: tuple | None = None
) -> np.ndarray:
    """Per row: the mean of the feature baselines ``bf`` over the rows of its ``group`` (the
    row's org), weighted by ``weight`` (outputs x pooling weight x bootstrap weight): the
    genuine unused rate of the group's mix of features. The row's own baseline where its
    group has no weight. ``interleave``: :func:`_interleaved` of ``group``."""
    if not len(group):
        return bf
    num = _group_sums(group, weight * bf, interleave)
    den = _group_sums(group, weight, interleave)
    ok = den > 0
    # per group first, then to the rows: the same quotients
    mix = (num / np.where(ok, den, 1.0))[group]
    return mix if ok.all() else np.where(ok[group], mix, bf)


def _interleaved(group: np.ndarray) -> tuple:
    """For rows sorted by ``group``: an order that takes one row of each group in turn, each
    group's rows in their own order, and the groups in that order. Summed per group in it
    (:func:`_group_sums`), each group adds the same values in the same order as in the rows'
    order, so the same sums; but consecutive additions go to different groups, where in the
    rows' order each waits for the previous one to the same group (a few dozen orgs: the
    sum is bound by that wait: 0.93 against 0.35 ms per sum at 4M)."""
    rank = np.arange(len(group)) - np.searchsorted(group, group)
    order = np.lexsort((group, rank))
    return order, group[order]


def _group_sums(group: np.ndarray, x: np.ndarray, interleave: tuple | None) -> np.ndarray:
    if interleave is None:
        return np.bincount(group, weights=x)
    order, grouped = interleave
    return np.bincount(grouped, weights=x[order])


def org_incentive(
    user_org: np.ndarray,
    incentive: np.ndarray,
    usage: np.ndarray,
    w: np.ndarray,
    n_orgs: int,
    s: Settings,
) -> np.ndarray:
    """Per org: the incentive share that joins the acceptance evidence (step 5), its
    usage-weighted mean over the users where it is measured, kept only where it is measured
    with enough people: at least ``min_measured_users`` of them and a mean above
    ``incentive_z`` standard errors of the users' shares (one-sided); 0 elsewhere."""
    meas = np.isfinite(incentive) & (w > 0)
    x = np.where(meas, incentive, 0.0)
    wm = np.where(meas, w, 0.0)

    def per_org(v):
        return np.bincount(user_org, weights=v, minlength=n_orgs)

    people = per_org(meas.astype(float))
    cnt = per_org(wm)
    mean = per_org(wm * x) / np.maximum(cnt, 1e-12)
    var = np.maximum(per_org(wm * x**2) / np.maximum(cnt, 1e-12) - mean**2, 0.0)
    se = np.sqrt(var / np.maximum(cnt, 1.0))
    enough = (people >= s.min_measured_users) & (mean > 0) & (mean > s.incentive_z * se)
    uw = per_org(wm * usage)
    share = per_org(wm * usage * x) / np.where(uw > 0, uw, 1.0)
    return np.where(enough & (uw > 0), share, 0.0)


def _org_blocks(fr: _Frame):
    """The rows grouped by (feature, org), computed once for all replicates: the rows in that
    order, each block's first row and length, and each feature's first block (a feature's
    blocks are its orgs, in org order). Within a block the rows go by unused rate: a drawn
    feature's rows are then a few sorted runs, which :func:`baselines`' stable sort merges
    cheaply (the quantile does not depend on the order)."""
    org = fr.user_org[fr.row_user]
    order = np.lexsort((fr.k / np.maximum(fr.n, 1e-12), org, fr.row_feature))
    f, o = fr.row_feature[order], org[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (f[1:] != f[:-1]) | (o[1:] != o[:-1])
    start = np.flatnonzero(new)
    length = np.diff(np.append(start, len(order)))
    nf = int(fr.row_feature.max()) + 1 if len(fr.n) else 0
    first = np.searchsorted(f[start], np.arange(nf + 1))
    return order, start, length, first


def _org_resample(fr: _Frame, rng: np.random.Generator):
    """One draw of the orgs that set each feature's baseline, with replacement: per feature
    with G orgs, G of its orgs. Returns the drawn rows (an org drawn twice: its rows twice) and
    an org code per drawn row, one per drawn copy (:func:`baselines` weighs each org equally,
    so a copy counts as one more org). The j-th draw of every feature reads the same uniform
    number: features reached by the same orgs (one export's features) draw the same orgs, as
    their errors go together in an org's mix of features."""
    pos, copy, _ = _resample_positions(fr, rng)
    return fr.blocks[0][pos], copy


def _resample_positions(fr: _Frame, rng: np.random.Generator):
    """:func:`_org_resample`'s draw as positions in the block order of :func:`_org_blocks`
    (the drawn rows are ``order[pos]``), the org copy per drawn row and the feature code per
    drawn row."""
    if fr.blocks is None:
        fr.blocks = _org_blocks(fr)
    order, start, length, first = fr.blocks
    g = np.diff(first)  # orgs per feature
    if not len(g) or not g.sum():
        none = np.zeros(0, dtype=int)
        return none, none, none
    u = rng.random(int(g.max()))
    feat = np.repeat(np.arange(len(g)), g)
    j = np.arange(len(feat)) - np.repeat(first[:-1], g)  # draw number within its feature
    picks = first[feat] + np.minimum((u[j] * g[feat]).astype(int), g[feat] - 1)
    ln = length[picks]
    # the rows of each picked block: its first row + 0 .. length - 1
    offs = np.arange(int(ln.sum())) - np.repeat(np.cumsum(ln) - ln, ln)
    pos = np.repeat(start[picks], ln) + offs
    # a block's rows are of one feature, its pick's
    return pos, np.repeat(np.arange(len(picks)), ln), np.repeat(feat, ln)


def _block_rows(fr: _Frame) -> tuple:
    """(n, k, unused rate, user) of the rows in the block order of :func:`_org_blocks`, once
    for all replicates: a replicate's drawn blocks are then runs of consecutive values, read
    in place of a gather scattered over the rows (the same values)."""
    if fr.by_block is None:
        if fr.blocks is None:
            fr.blocks = _org_blocks(fr)
        order = fr.blocks[0]
        fr.by_block = (fr.n[order], fr.k[order], _fixed(fr).rate[order], fr.row_user[order])
    return fr.by_block


def _user_excess(fr: _Frame, w: np.ndarray, s: Settings, rng: np.random.Generator | None = None):
    """Steps 1-2 for one replicate: per user the raw excess ``t`` (and ``t_hi``, allowing used
    theater), its sampling variance ``V``, the denominator ``D`` and whether it is measured.
    ``rng`` (replicates only): the baselines are set from a resample of the orgs that reach
    each feature (:func:`_org_resample`), their users weighted by ``w``; the point (no ``rng``)
    reads every org once."""
    U = fr.n_users
    c = _fixed(fr)
    wr = w[fr.row_user]  # each row's user's weight
    if fr.groups is None:
        fr.groups = _feature_groups(fr.row_feature, fr.n, fr.k)
    if rng is None:
        b = baselines(fr.row_feature, fr.n, fr.k, wr, s, c.row_org, fr.groups, fr.kinds)
    else:
        pos, copy, feature = _resample_positions(fr, rng)
        n_b, k_b, rate_b, user_b = _block_rows(fr)
        b = baselines(
            feature,
            n_b[pos],
            k_b[pos],
            w[user_b[pos]],
            s,
            copy,
            _resample_groups(feature, rate_b[pos]),
            fr.kinds,
        )
    codes = np.zeros(int(fr.row_feature.max()) + 1 if len(fr.n) else 0)
    for f, v in b.items():
        codes[f] = v
    bf = codes[fr.row_feature] if len(fr.n) else np.zeros(0)

    def per_user(x):
        return np.bincount(fr.row_user, weights=x, minlength=U)

    if s.pool_by_spread:
        a = spread_weights(fr.row_feature, fr.n, fr.k, bf, wr, s, c.rate)
    else:
        a = np.ones_like(bf)
    an = a * fr.n  # the same products as ``a * fr.n * x`` computes first
    # excess unused outputs to a theater share with the org's typical genuine rate over its
    # mix of features, not each person's own mix: a person's mix over a few outputs (more
    # chat messages than completions this quarter) says nothing about their theater, and
    # converting it per person scales up the excess of whoever happens to use a feature
    # whose genuine rate is near 1/2 (Amazon Q's messages counted both ways: x2)
    bs = mix_baselines(c.row_org, bf, an * wr, c.org_interleave)
    E, D = per_user(a * (fr.k - fr.n * bf)), per_user(an * (1 - bs))
    D_hi = per_user(an * np.maximum(1 - s.max_used_theater - bs, 0.05))
    has = D > 0
    Dn = np.where(has, D, 1.0)
    t = np.where(has, E / Dn, 0.0)
    t_hi = np.where(has, E / np.where(D_hi > 0, D_hi, 1.0), 0.0)
    V = np.where(has, per_user(a**2 * fr.n * c.p * c.q) / Dn**2, np.inf)
    return t, t_hi, V, per_user(fr.n * (1 - bf)), has


def _org_means(fr: _Frame, w, t, V, D, has, tau2):
    """Step 3's targets: per org the D-weighted mean excess, shrunk toward the mean over orgs
    (an org's mean from few users is noisy), and tau^2 (estimated when not given)."""
    O, wm = len(fr.orgs), w * has
    num_o = np.bincount(fr.user_org, weights=wm * D * t, minlength=O)
    den_o = np.bincount(fr.user_org, weights=wm * D, minlength=O)
    users_o = np.bincount(fr.user_org, weights=wm, minlength=O)
    m_raw = np.where(den_o > 0, num_o / np.where(den_o > 0, den_o, 1.0), np.nan)
    grand = float(np.nansum(num_o) / den_o.sum()) if den_o.sum() > 0 else 0.0
    if tau2 is None:
        dev = (t - m_raw[fr.user_org]) ** 2
        ok = has & np.isfinite(dev) & (w > 0)
        tau2 = (
            max(float(np.average(dev[ok] - V[ok], weights=w[ok])), 1e-6) if ok.sum() > 1 else 1e-6
        )
    var_o = np.where(users_o > 0, tau2 / np.maximum(users_o, 1), np.inf)
    fin = np.isfinite(m_raw)
    between = 1e-6
    if fin.sum() > 1:
        between = max(float(np.nanvar(m_raw)) - float(np.mean(var_o[np.isfinite(var_o)])), 1e-6)
    lam_o = np.where(fin, between / (between + var_o), 0.0)
    return np.where(fin, grand + lam_o * (np.nan_to_num(m_raw) - grand), grand), tau2


def _shares(
    fr: _Frame,
    w: np.ndarray,
    s: Settings,
    tau2: float | None = None,
    rng: np.random.Generator | None = None,
):
    """One replicate (``w``: Poisson weight per user; ones for the point; ``rng``: the
    replicate's draw of the orgs that set the baselines, none for the point). Returns per org
    share, low, high, measured users, acceptance coverage and tau^2."""
    O = len(fr.orgs)
    t, t_hi, V, D, has = _user_excess(fr, w, s, rng)
    m, tau2 = _org_means(fr, w, t, V, D, has, tau2)
    mo = m[fr.user_org]
    lam = np.where(has, tau2 / (tau2 + V), 0.0)
    t_s = np.clip(mo + lam * (t - mo), 0, 1)
    scale = np.where(has & (t != 0), t_hi / np.where(t != 0, t, 1.0), 1.0)
    mo_hi = mo * float(np.median(scale[has])) if has.any() else mo
    t_s_hi = np.clip(np.where(has, (mo + lam * (t - mo)) * scale, mo_hi), 0, 1)
    # the org's typical rate: its median well-measured user's own excess. Counts cannot tell an
    # org whose every user games a little from one whose genuine rate is higher than the
    # tool's: the low end allows the second (the least theater if half its users are genuine)
    ok = has & (D >= s.min_user_outputs * 0.5) & (w > 0)
    d_o = _org_typical(t, ok, fr.user_org, O)[fr.user_org]
    keep_lo = 1 / np.maximum(1 - d_o, 1e-9)
    t_s_lo = np.clip((t_s - d_o) * keep_lo, 0, 1)
    # the org's incentive share where enough people measure it (0 elsewhere: adds nothing);
    # one user's share over a few weeks is noisy, and max(i_u - t~_u, 0) of a noisy i_u
    # only ever adds
    inc_o = org_incentive(fr.user_org, fr.incentive, fr.usage, w, O, s)
    inc = inc_o[fr.user_org]
    # Measured outputs carry the user's own (unshrunk) excess: summed over the org it is
    # unbiased, where shrunk values are not when theater goes with volume. Shrinkage serves
    # the usage the counts do not cover (a thin user's extreme rate must not be spread over
    # it). Incentive weight counts where the excess does not already explain it (its extra
    # interactions mostly go unused), compared at the org level where both are org shares of
    # the same usage: against each user's own excess, an org's incentive share would be added
    # for every genuine user of an org whose gamers' excess already holds it. The upper end
    # takes the noisy-OR per user (no overlap at all).
    n_u = _fixed(fr).n_u
    rest = fr.usage - n_u
    tot = np.bincount(fr.user_org, weights=w * fr.usage, minlength=O)

    def org_share(measured_part, rest_part):
        per_user = w * (n_u * measured_part + rest * rest_part)
        got = np.bincount(fr.user_org, weights=per_user, minlength=O) / np.where(tot > 0, tot, 1)
        return np.where(tot > 0, np.clip(got, 0, 1), np.nan)

    share = np.maximum(org_share(t, t_s), inc_o)
    # the ends keep the per-user rule: floored at the org's incentive share, the low end would
    # sit above the planted share of orgs whose incentive share overstates their theater
    low = org_share((t - d_o) * keep_lo + np.maximum(inc - t_s_lo, 0), np.maximum(t_s_lo, inc))
    high = org_share(1 - (1 - t_hi) * (1 - inc), 1 - (1 - t_s_hi) * (1 - inc))
    measured = np.bincount(fr.user_org, weights=has.astype(float), minlength=O)
    covered = np.bincount(fr.user_org, weights=fr.usage * has, minlength=O)
    all_usage = _fixed(fr).all_usage
    cover = np.where(all_usage > 0, covered / np.where(all_usage > 0, all_usage, 1), 0.0)
    return share, low, high, measured, cover, tau2


#: :func:`estimate`'s columns.
COLUMNS = [
    "org_id",
    "share",
    "ci_low",
    "ci_high",
    "measured_users",
    "acceptance_coverage",
    "acceptance_outputs",
    "reason",
]


def estimate(acc: pd.DataFrame, users: pd.DataFrame, s: Settings | None = None) -> pd.DataFrame:
    """Per org: ``share`` (0-1), ``ci_low``, ``ci_high``, ``measured_users`` (users with
    acceptance counts), ``acceptance_coverage`` (share of the org's usage from those users),
    ``acceptance_outputs`` (the outputs the counts read, each user's at most its usage: the
    part of the org's usage the counts read one output at a time) and ``reason`` (null when
    published; why not otherwise).

    ``acc``: org_id, user_key, feature, n (outputs with a measured use decision), k (unused).
    ``users``: org_id, user_key, usage (all the user's usage units), incentive (the user's
    incentive share from quota bunching and checkpoint bursts, NaN where not measured).
    """
    s = s or Settings()
    # a fixed row order: sums and quantiles do not depend on how Spark handed the rows over
    acc = acc[(acc["n"] > 0)].sort_values(["org_id", "user_key", "feature"], kind="stable").copy()
    users = users.sort_values(["org_id", "user_key"], kind="stable")
    acc["k"] = acc["k"].clip(lower=0)
    acc["k"] = np.minimum(acc["k"], acc["n"])
    if acc.empty and users.empty:
        return pd.DataFrame(columns=COLUMNS)
    return _estimate(_frame(acc, users), s)


def _estimate(fr: _Frame, s: Settings) -> pd.DataFrame:
    """:func:`estimate` of integer-coded rows (the point, the replicates, the reasons)."""
    ones = np.ones(fr.n_users)
    share, low, high, measured, cover, tau2 = _shares(fr, ones, s)
    rng = np.random.default_rng(s.seed)
    lo_reps, hi_reps = [], []
    for _ in range(s.replicates):
        w = rng.poisson(1.0, fr.n_users).astype(float)
        _, ll, hh, *_ = _shares(fr, w, s, tau2, rng)
        lo_reps.append(ll)
        hi_reps.append(hh)
    alpha = (1 - s.confidence) / 2
    if s.replicates:
        lo = np.nanquantile(np.array(lo_reps), alpha, axis=0)
        hi = np.nanquantile(np.array(hi_reps), 1 - alpha, axis=0)
    else:
        lo, hi = low, high
    out = pd.DataFrame(
        {
            "org_id": fr.orgs,
            "share": share,
            "ci_low": np.minimum(np.minimum(lo, low), share),
            "ci_high": np.maximum(np.maximum(hi, high), share),
            "measured_users": measured.astype(int),
            "acceptance_coverage": cover,
            "acceptance_outputs": np.bincount(
                fr.user_org,
                weights=fr.counted if fr.counted is not None else _fixed(fr).n_u,
                minlength=len(fr.orgs),
            ),
        }
    )
    few = out["measured_users"] < s.min_measured_users
    out["reason"] = np.where(
        few,
        "no acceptance measured: fewer than "
        + str(s.min_measured_users)
        + " of the org's users have accepted/shown counts or output dispositions",
        None,
    )
    for c in ("share", "ci_low", "ci_high"):
        out.loc[few, c] = np.nan
    return out


# ----------------------------------------------------------------------------- Spark inputs

#: (source_format, feature) whose ``requests`` count messages both ways (prompts and answers)
#: are still a count per feature: the feature's own baseline absorbs the unit.


def acceptance_counts(user_days: DataFrame | None, events: DataFrame) -> DataFrame:
    """Per (org_id, user_key, feature): ``n`` outputs whose use is measured and ``k`` of them
    unused.

    From silver/user_days rows with an accepted count: accepted against shown, else requests,
    else accepted + rejected + dismissed, and never fewer than accepted + rejected + dismissed
    (rows without an accepted count measure nothing). From the period's events
    (silver/interactions rows): feature = source/tool/action, unused = no used disposition,
    the same reading as "not accepted of shown"; only (org, feature) pairs where some of the
    org's events of the feature report a disposition (a gateway log that never reports one
    measures nothing).
    """
    ev = event_counts(events)
    # the source as deployed in the org reports dispositions: some of the org's events of the
    # feature carry one (a gateway log, or a native feed without dispositions, measures nothing).
    # A window over the (org, user, feature) rows, not a semi join with their own aggregate:
    # the engine computes a frame once per use, so that join aggregated the events twice
    reported = F.max("_reported").over(Window.partitionBy("org_id", "feature"))
    ev = ev.withColumn("_any", reported).where(F.col("_any") > 0).drop("_reported", "_any")
    rows = ev
    if user_days is not None:
        rows = rows.unionByName(user_day_counts(user_days))
    return (
        rows.where(F.col("n") > 0)
        .groupBy("org_id", "user_key", "feature")
        .agg(F.sum("n").alias("n"), F.sum("k").alias("k"))
    )


def event_counts(events: DataFrame) -> DataFrame:
    """Per (org_id, user_key, feature) of the events: ``n``, ``k`` (as in
    :func:`acceptance_counts`) and ``_reported``, 1 where some of them carry a disposition (the
    reporting filter is left to the caller: it reads every user of the org)."""
    src = (
        F.coalesce(F.col("source_format"), F.lit("native"))
        if "source_format" in (events.columns)
        else F.lit("native")
    )
    feature = F.concat_ws(
        "/", src, F.coalesce(F.col("tool"), F.lit("-")), F.coalesce(F.col("action"), F.lit("-"))
    )
    disp = F.col("output_disposition")
    # per (org, user, feature) first: the reporting filter then runs over users x features, not
    # over the period's events (a semi join whose build side was the events held all of them in
    # memory: 16 GB at 50M). Counts of 0/1 summed in doubles are exact, in any order.
    return (
        events.where(F.col("org_id").isNotNull())
        .groupBy("org_id", "user_key", feature.alias("feature"))
        .agg(
            F.count("*").cast("double").alias("n"),
            F.sum(1.0 - output_used().cast("double")).alias("k"),
            F.max((disp.isNotNull() & (disp != F.lit("unknown"))).cast("int")).alias("_reported"),
        )
    )


def user_day_counts(user_days: DataFrame) -> DataFrame:
    """silver/user_days rows with an accepted count as (org_id, user_key, feature, n, k), one
    row per user-day row (see :func:`acceptance_counts`)."""
    decided = (
        F.coalesce(F.col("accepted"), F.lit(0))
        + F.coalesce(F.col("rejected"), F.lit(0))
        + F.coalesce(F.col("dismissed"), F.lit(0))
    )
    # never fewer outputs than decisions reported on them
    shown = F.greatest(
        F.coalesce(F.col("suggestions_shown"), F.col("requests"), decided.cast("long")),
        decided.cast("long"),
    ).cast("double")
    return user_days.where(
        F.col("org_id").isNotNull()
        & F.col("user_key").isNotNull()
        & F.col("accepted").isNotNull()
        & ~F.lower(F.col("feature")).endswith("_subset")
    ).select(
        "org_id",
        "user_key",
        F.concat_ws("/", F.col("source_format"), F.col("feature")).alias("feature"),
        shown.alias("n"),
        (shown - F.col("accepted").cast("double")).alias("k"),
    )

"""Rank bands (methodology 2 "Uncertainty", recipe step 6): re-score every org under a grid of
method settings and report the band of its rank.

The grid is the product of
- the unused-output view-time threshold (``dwell_ms``; the ``unused_output`` flag is recomputed
  from ``output_disposition`` and ``dwell_ms`` in the labels),
- the bunching polynomial order (``poly_orders``; each org's quota weights are rescaled by the
  ratio of its weights under that order to the headline order),
- dropping each signal in turn, or none (``drop_each_signal``).
For each setting the org's theater share is the mean of ``p = 1 - prod(1 - component)`` over its
interactions with at least one measured component (as the headline index), computed from a few
sums per group of interactions that agree on everything discrete the grid reads
(:func:`org_shares`).
Published orgs are ranked by share, 1 = most theater; ``rank_low``/``rank_high`` are the lower and upper ``band`` quantiles
of an org's ranks over the grid, widened to contain its headline rank.

Limitations: the other flags that use the view time (self-summary, repeat, padding) keep the
headline threshold; a bunching regime that was not significant under the headline order keeps
weight 0 under the others.
"""

from __future__ import annotations

from itertools import product
from typing import Mapping, Sequence

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..columns import DISCARDED, USED
from ..config import Sensitivity
from .quota_bunching import require_settings

UNUSED, QUOTA = "unused_output", "quota_bunching"


def grid(
    settings: Sensitivity, names: Sequence[str], main_dwell: int, main_order: int
) -> list[dict]:
    """The settings to re-score under; ``settings``: the typed ``incentives.sensitivity``
    section (empty lists: the headline value)."""
    require_settings(settings, Sensitivity, "sensitivity")
    dwells = list(settings.dwell_ms) or [main_dwell]
    orders = list(settings.poly_orders) or [main_order]
    drops = [None] + (list(names) if settings.drop_each_signal else [])
    return [{"dwell": d, "order": o, "drop": x} for d, o, x in product(dwells, orders, drops)]


def org_shares(
    labels: DataFrame,
    weights: Mapping[str, float],
    names: Sequence[str],
    configs: Sequence[dict],
    order_factors: Mapping[str, Mapping[int, float]],
) -> dict[str, list[float]]:
    """{org: [share under each config]}.

    One aggregation in the engine, grouped by what is discrete: the org, the disposition's
    class, the view time's class against the grid's thresholds and which signals are measured.
    A setting's share needs, per interaction, ``prod(1 - component)`` over the signals it keeps.
    Within the grid only the unused-output flag (by the view-time threshold) and the bunching
    weight (by the order's factor) vary, and the flag is constant within a group: so the
    product of the other signals (and of them with each dropped in turn) is summed per group,
    once alone and once times the bunching term of each order. Those sums are collected (the
    groups are bounded by the orgs, not the period) and each setting is computed from them on
    the driver: the same values as one sum per setting over the interactions, up to the order
    of summation. Grouping by the signal values instead collects a row per distinct combination
    of them, a count that grows with the period (2.2 million at 50M interactions)."""
    fixed = [n for n in names if n not in (UNUSED, QUOTA)]
    has_u, has_q = UNUSED in names, QUOTA in names
    orders = sorted({int(c["order"]) for c in configs}) if has_q else []
    df = labels.where(F.col("org_id").isNotNull())
    factors = bool(order_factors) and has_q
    if factors:
        df = df.join(F.broadcast(_factor_frame(df, order_factors, orders)), "org_id", "left")
    keys = [F.col("org_id")]
    if has_u:
        disp = F.col("output_disposition")
        dc = F.when(disp.isin(*DISCARDED), 1).when(disp.isin(*USED), 2).otherwise(0)
        dwell = _dwell_class(sorted({int(c["dwell"]) for c in configs}))
        keys += [dc.alias("_dc"), dwell.alias("_dwell")]
    keys += [F.col(f"sig_{n}").isNotNull().alias(f"_m_{n}") for n in fixed + [QUOTA] * has_q]
    sums = [F.count("*").cast("double").alias("_n")]
    for d in [None, *fixed]:
        g = _keep_product(fixed, d, weights)
        sums.append(F.sum(g).alias(_sum_name(d, None)))
        for o in orders:
            q = _keep_quota(o, weights, factors)
            sums.append(F.sum(g * q).alias(_sum_name(d, o)))
    groups = df.groupBy(*keys).agg(*sums).toPandas()
    if groups.empty:
        return {}
    return _shares(groups, names, fixed, configs, weights)


def _sum_name(drop: str | None, order: int | None) -> str:
    return f"_s_{drop or ''}_{'' if order is None else order}"


def _weight(weights: Mapping[str, float], name: str) -> float:
    return float(weights.get(name, 1.0))


def _keep_product(fixed: Sequence[str], drop: str | None, weights) -> Column:
    """``prod(1 - component)`` over the fixed signals but ``drop`` (NA: component 0)."""
    out = F.lit(1.0)
    for n in fixed:
        if n != drop:
            v = F.coalesce(F.col(f"sig_{n}").cast("double"), F.lit(0.0))
            out = out * (F.lit(1.0) - v * F.lit(_weight(weights, n)))
    return out


def _keep_quota(order: int, weights, factors: bool) -> Column:
    """``1 - component`` of quota bunching under ``order``: the weight times the org's factor
    for that order (1 without one), capped at 1."""
    v = F.coalesce(F.col(f"sig_{QUOTA}").cast("double"), F.lit(0.0))
    if factors:
        v = v * F.coalesce(F.col(f"_f{order}"), F.lit(1.0))
    return F.lit(1.0) - F.least(F.lit(1.0), v) * F.lit(_weight(weights, QUOTA))


def _factor_frame(df: DataFrame, order_factors, orders: Sequence[int]) -> DataFrame:
    """(org_id, _f<order>...): each org's bunching factor per order (1 where not given)."""
    rows = [(str(o), *[float(v.get(k, 1.0)) for k in orders]) for o, v in order_factors.items()]
    schema = ", ".join(["org_id string"] + [f"_f{k} double" for k in orders])
    return df.sparkSession.createDataFrame(rows, schema)


def _shares(groups, names, fixed, configs, weights) -> dict[str, list[float]]:
    """Each setting's share per org from the collected group sums (:func:`org_shares`)."""
    orgs, org = np.unique(groups["org_id"].to_numpy(object).astype(str), return_inverse=True)
    n = groups["_n"].to_numpy(float)
    if UNUSED in names:
        dc = groups["_dc"].to_numpy(int)
        dwell = groups["_dwell"].to_numpy(float)  # NaN: not reported
        has_dwell = ~np.isnan(dwell)
    measured = {k: groups[f"_m_{k}"].to_numpy(bool) for k in names if k != UNUSED}
    if UNUSED in names:
        measured[UNUSED] = (dc > 0) | has_dwell
    shares = np.zeros((len(orgs), len(configs)))
    for i, c in enumerate(configs):
        drop = c["drop"]
        u = np.zeros(len(n))
        if UNUSED in names and drop != UNUSED:
            # output_unused(dwell): discarded 1, used 0, else the view time against the
            # threshold, 0 where nothing is reported
            flag = np.where(dc == 1, 1.0, np.where(dc == 2, 0.0, has_dwell & (dwell < c["dwell"])))
            u = flag * _weight(weights, UNUSED)
        order = int(c["order"]) if QUOTA in names and drop != QUOTA else None
        keep = (1.0 - u) * groups[_sum_name(drop if drop in fixed else None, order)].to_numpy(float)
        any_measured = np.zeros(len(n), dtype=bool)
        for name in names:
            if name != drop:
                any_measured |= measured[name]
        # as the headline index: the mean of p over the rows with a measured component
        s_o = np.bincount(org, weights=np.where(any_measured, n - keep, 0.0), minlength=len(orgs))
        m_o = np.bincount(org, weights=any_measured * n, minlength=len(orgs))
        shares[:, i] = np.where(m_o > 0, s_o / np.where(m_o > 0, m_o, 1.0), 0.0)
    return {str(o): [float(x) for x in shares[j]] for j, o in enumerate(orgs)}


def _dwell_class(thresholds: Sequence[int]) -> Column:
    """The view time replaced by a representative of its class against the thresholds: the
    same answer to ``dwell_ms < t`` for every threshold ``t`` (null stays null)."""
    d = F.col("dwell_ms")
    out = F.lit(max(thresholds)) if thresholds else d
    for t in sorted(thresholds, reverse=True):
        out = F.when(d < F.lit(t), F.lit(t - 1)).otherwise(out)
    return F.when(d.isNotNull(), out.cast("bigint"))


def ranks(shares: Mapping[str, float]) -> dict[str, int]:
    """1 = highest share; ties share the best rank (competition ranking)."""
    vals = sorted(shares.values(), reverse=True)
    return {o: 1 + vals.index(v) for o, v in shares.items()}


def rank_bands(
    per_config: Mapping[str, Sequence[float]],
    headline: Mapping[str, float],
    published: Sequence[str],
    band: float,
) -> dict[str, tuple[int, int]]:
    """{org: (rank_low, rank_high)} over the grid for the published orgs."""
    pub = [o for o in published if o in per_config and o in headline]
    if not pub:
        return {}
    n_cfg = len(next(iter(per_config.values())))
    all_ranks = {o: [] for o in pub}
    for i in range(n_cfg):
        r = ranks({o: round(per_config[o][i], 9) for o in pub})
        for o in pub:
            all_ranks[o].append(r[o])
    main = ranks({o: round(headline[o], 9) for o in pub})
    a = (1.0 - band) / 2.0
    out = {}
    for o in pub:
        x = np.array(all_ranks[o])
        lo = int(np.quantile(x, a, method="lower"))
        hi = int(np.quantile(x, 1 - a, method="higher"))
        out[o] = (min(lo, main[o]), max(hi, main[o]))
    return out

"""Rank bands (methodology 2 "Uncertainty", recipe step 6): re-score every org under a grid of
method settings and report the band of its rank.

The grid is the product of
- the unused-output view-time threshold (``dwell_ms``; the ``unused_output`` flag is recomputed
  from ``output_disposition`` and ``dwell_ms`` in the labels),
- the bunching polynomial order (``poly_orders``; each org's quota weights are rescaled by the
  ratio of its weights under that order to the headline order),
- dropping each signal in turn, or none (``drop_each_signal``).
For each setting the org's theater share is the mean of ``p = 1 - prod(1 - component)`` over its
interactions with at least one measured component (as the headline index): one weighted sum per
setting over the labels counted per distinct combination of the values the grid reads.
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

    One aggregation: the labels are counted per distinct combination of what the grid reads
    (org, the signal values, the disposition, the view time as its class against the grid's
    thresholds); those combinations (tens of thousands of rows, not one per interaction) are
    collected and each setting is a weighted sum over them on the driver, the same values as
    one sum per setting in the engine."""
    df = labels.where(F.col("org_id").isNotNull())
    keys = [f"sig_{n}" for n in names if n != "unused_output"]
    combos = (
        df.groupBy(
            "org_id",
            # a signal's value as the double the settings read (the same groups)
            *[F.col(k).cast("double").alias(k) for k in keys],
            "output_disposition",
            _dwell_class(sorted({int(c["dwell"]) for c in configs})).alias("dwell_ms"),
        )
        .agg(F.count("*").cast("double").alias("_n"))
        .toPandas()
    )
    if combos.empty:
        return {}
    orgs, org = np.unique(combos["org_id"].to_numpy(object).astype(str), return_inverse=True)
    n = combos["_n"].to_numpy(float)
    disp = combos["output_disposition"]
    discarded = disp.isin(DISCARDED).to_numpy()
    used = disp.isin(USED).to_numpy()
    dwell = combos["dwell_ms"].to_numpy(float)  # NaN: not reported
    has_dwell = ~np.isnan(dwell)
    sig = {k: combos[k].to_numpy(float) for k in keys}

    def factor(order: int) -> np.ndarray:
        f = {o: float(v.get(order, 1.0)) for o, v in (order_factors or {}).items()}
        return np.array([f.get(o, 1.0) for o in orgs])[org]

    def comp(name, c) -> np.ndarray:
        if name == "unused_output":
            # output_unused(dwell): discarded 1, used 0, else the view time against the
            # threshold, 0 where nothing is reported
            v = np.where(
                discarded,
                1.0,
                np.where(used, 0.0, np.where(has_dwell, (dwell < c["dwell"]) * 1.0, 0.0)),
            )
        else:
            v = np.nan_to_num(sig[f"sig_{name}"], nan=0.0)
        if name == "quota_bunching":
            v = np.minimum(1.0, v * factor(c["order"]))
        return v * float(weights.get(name, 1.0))

    def measured(name) -> np.ndarray:
        if name == "unused_output":
            return discarded | used | has_dwell
        return ~np.isnan(sig[f"sig_{name}"])

    shares = np.zeros((len(orgs), len(configs)))
    for i, c in enumerate(configs):
        keep, any_measured = np.ones(len(n)), np.zeros(len(n), dtype=bool)
        for name in names:
            if name != c["drop"]:
                keep = keep * (1.0 - comp(name, c))
                any_measured = any_measured | measured(name)
        # as the headline index: the mean of p over the rows with a measured component
        s_o = np.bincount(
            org, weights=np.where(any_measured, (1.0 - keep) * n, 0.0), minlength=len(orgs)
        )
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

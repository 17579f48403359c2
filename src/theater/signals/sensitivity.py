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

from ..columns import DISCARDED, USED, output_unused
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

    Two aggregations: the labels are first counted per distinct combination of what the grid
    reads (org, the signal values, the disposition, the view time as its class against the
    grid's thresholds), then each setting is a weighted sum over those combinations (tens of
    thousands of rows instead of one per interaction; the same values)."""
    df = labels.where(F.col("org_id").isNotNull())
    orders = sorted({c["order"] for c in configs})
    keys = [f"sig_{n}" for n in names if n != "unused_output"]
    df = df.groupBy(
        "org_id",
        *keys,
        "output_disposition",
        _dwell_class(sorted({int(c["dwell"]) for c in configs})).alias("dwell_ms"),
    ).agg(F.count("*").cast("double").alias("_n"))
    if order_factors:
        fac = labels.sparkSession.createDataFrame(
            [(o, *[float(f.get(k, 1.0)) for k in orders]) for o, f in order_factors.items()],
            "org_id string, " + ", ".join(f"_f{k} double" for k in orders),
        )
        df = df.join(F.broadcast(fac), on="org_id", how="left")
    else:
        for k in orders:
            df = df.withColumn(f"_f{k}", F.lit(1.0))

    def comp(name, c):
        if name == "unused_output":
            v = F.coalesce(output_unused(c["dwell"]).cast("double"), F.lit(0.0))
        else:
            v = F.coalesce(F.col(f"sig_{name}").cast("double"), F.lit(0.0))
        if name == "quota_bunching":
            v = F.least(F.lit(1.0), v * F.coalesce(F.col(f"_f{c['order']}"), F.lit(1.0)))
        return v * F.lit(float(weights.get(name, 1.0)))

    def measured(name):
        return (
            F.col(f"sig_{name}").isNotNull()
            if name != "unused_output"
            else F.col("output_disposition").isin(*DISCARDED, *USED) | F.col("dwell_ms").isNotNull()
        )

    sums = []
    for i, c in enumerate(configs):
        keep, any_measured = F.lit(1.0), F.lit(False)
        for n in names:
            if n != c["drop"]:
                keep = keep * (F.lit(1.0) - comp(n, c))
                any_measured = any_measured | F.coalesce(measured(n), F.lit(False))
        # as the headline index: the mean of p over the rows with a measured component
        sums += [
            F.sum(F.when(any_measured, (F.lit(1.0) - keep) * F.col("_n"))).alias(f"_s{i}"),
            F.sum(any_measured.cast("double") * F.col("_n")).alias(f"_m{i}"),
        ]
    rows = df.groupBy("org_id").agg(*sums).collect()
    return {
        r.org_id: [
            (r[f"_s{i}"] or 0.0) / r[f"_m{i}"] if r[f"_m{i}"] else 0.0 for i in range(len(configs))
        ]
        for r in rows
    }


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

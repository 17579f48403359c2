"""Excess unused output of an org, from org-day aggregates only (silver/org_days).

Org-level exports (GitHub's Copilot metrics API and usage-metrics reports) count, per org, day
and feature, the outputs shown and those accepted, never one person's. For an org with nothing
else, this estimates the same quantity as the theater index (the share of usage that is
performative) the way :mod:`theater.signals.acceptance_excess` does for people, one level up,
and says that it rests on org totals (``BASIS``):

1. **Counts.** Per org and feature key (``source_format/feature``), over the period's daily
   rows of a person's own use (automation and ``*_subset`` features left out): ``n`` the
   outputs whose fate is counted (``suggestions_shown``, else ``requests``; at least the
   accepted), ``k = n - accepted`` those left unused.
2. **The tool's typical rate.** Genuine outputs go unused at rates that differ by tool and
   feature (pushed completions far more than chat answers). Per key the baseline ``b`` is the
   ``baseline_quantile`` of the orgs' unused rates (each org weighing the same, orgs with at
   least ``min_outputs`` outputs of that key): the rate of orgs that play little theater with
   it. Fewer than ``min_orgs`` such orgs: the key has no baseline and is not used.
3. **Share.** Theater outputs go unused, so an org with theater share t has unused rate
   ``r = t + (1 - t) b``: pooled over its keys, ``t = sum(k - n b) / sum(n (1 - b))``,
   clipped to [0, 1].
4. **Interval, wider than the people-level one for what org totals cannot see.** No person
   is seen, so nothing tells an org whose own genuine rate is above the tool's (another
   codebase, another way of working) from one where people game: the low end takes as
   theater only the excess over the median org's rate (``b_med``). Theater outputs that were
   used anyway look genuine: the high end measures the excess over the lowest org's rate and
   lets up to ``max_used_theater`` of theater outputs have been used,
   ``sum(k - n b_min) / sum(n (1 - max_used_theater - b_min))``. Each end moves a further
   ``z`` binomial standard errors of the pooled rate (the days' outputs are a sample too).
   An org with fewer than ``min_outputs`` counted outputs gets no figure, with the reason.

Pure pandas on a few rows per org (:func:`org_counts` aggregates them in Spark).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..transforms import aggregates as agg

#: what a figure from this module rests on (``index_basis``)
BASIS = "org_aggregates"


@dataclass
class Settings:
    baseline_quantile: float = 0.25
    min_orgs: int = 5
    min_outputs: int = 100
    max_used_theater: float = 0.3
    confidence: float = 0.90


def org_counts(org_days: DataFrame, start: date, end: date) -> DataFrame:
    """silver/org_days -> (org_id, key, n, k) over the daily rows of [start, end) of own use
    with an accepted count: ``n`` outputs with a counted fate, ``k`` of them unused."""
    rows = org_days.where(
        F.col("org_id").isNotNull()
        & (F.col("day") >= F.lit(start))
        & (F.col("day") < F.lit(end))
        & (F.coalesce(F.col("period_days"), F.lit(1)) == 1)
        & ~F.lower(F.col("feature")).endswith("_subset")
        & ~agg.is_automation(F.col("feature"))
        & (F.lower(F.col("feature")) != "all")
        & F.col("accepted").isNotNull()
    )
    shown = F.greatest(F.coalesce(F.col("suggestions_shown"), F.col("requests")), F.col("accepted"))
    return (
        rows.where(shown.isNotNull())
        .groupBy("org_id", F.concat_ws("/", "source_format", "feature").alias("key"))
        .agg(F.sum(shown).cast("long").alias("n"), F.sum("accepted").cast("long").alias("_a"))
        .select("org_id", "key", "n", (F.col("n") - F.col("_a")).alias("k"))
        .where(F.col("n") > 0)
    )


def estimate(counts: pd.DataFrame, s: Settings | None = None) -> pd.DataFrame:
    """(org_id, key, n, k) -> per org ``share``, ``ci_low``, ``ci_high`` (0-1; NaN without a
    figure), ``outputs`` (counted outputs of keys with a baseline) and ``reason`` (why no
    figure, else None)."""
    s = s or Settings()
    z = NormalDist().inv_cdf(0.5 + s.confidence / 2)
    c = counts.astype({"n": float, "k": float})
    c["r"] = c["k"] / c["n"]
    base = {}
    for key, g in c.groupby("key"):
        ok = g[g["n"] >= s.min_outputs]
        if len(ok) >= s.min_orgs:
            r = ok["r"].to_numpy()
            base[key] = (np.quantile(r, s.baseline_quantile), np.median(r), r.min())
    out = []
    for org, g in c.groupby("org_id", sort=True):
        g = g[g["key"].isin(list(base))]
        row = dict(org_id=org, share=np.nan, ci_low=np.nan, ci_high=np.nan)
        row["outputs"] = int(g["n"].sum())
        if g.empty:
            row["reason"] = (
                f"fewer than {s.min_orgs} orgs with {s.min_outputs} or more shown and accepted "
                "outputs of the org's tools: no typical unused rate to measure an excess over"
            )
            out.append(row)
            continue
        if g["n"].sum() < s.min_outputs:
            row["reason"] = f"fewer than {s.min_outputs} shown outputs with an accepted count"
            out.append(row)
            continue
        bq, bmed, bmin = (np.array([base[k][i] for k in g["key"]]) for i in range(3))
        n, k, r = g["n"].to_numpy(), g["k"].to_numpy(), g["r"].to_numpy()
        d = (n * (1 - bq)).sum()
        share = (k - n * bq).sum() / d
        se = np.sqrt((n * r * (1 - r)).sum()) / d
        low = (k - n * bmed).sum() / (n * (1 - bmed)).sum() - z * se
        high = (k - n * bmin).sum() / (n * (1 - s.max_used_theater - bmin)).sum() + z * se
        share = float(np.clip(share, 0, 1))
        row.update(
            share=share,
            ci_low=float(np.clip(min(low, share), 0, 1)),
            ci_high=float(np.clip(max(high, share), 0, 1)),
            reason=None,
        )
        out.append(row)
    cols = ["org_id", "share", "ci_low", "ci_high", "outputs", "reason"]
    return pd.DataFrame(out, columns=cols)


def org_estimate(
    org_days: DataFrame, start: date, end: date, s: Settings | None = None
) -> DataFrame:
    """The estimate as a Spark frame (org_id, _ol_share, _ol_low, _ol_high, _ol_reason)."""
    spark = org_days.sparkSession
    est = estimate(org_counts(org_days, start, end).toPandas(), s)
    rows = [
        (
            r.org_id,
            None if pd.isna(r.share) else float(r.share),
            None if pd.isna(r.ci_low) else float(r.ci_low),
            None if pd.isna(r.ci_high) else float(r.ci_high),
            r.reason if isinstance(r.reason, str) else None,
        )
        for r in est.itertuples()
    ]
    return spark.createDataFrame(
        rows,
        "org_id string, _ol_share double, _ol_low double, _ol_high double, _ol_reason string",
    )

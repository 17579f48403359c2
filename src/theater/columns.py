"""Column helpers shared by signals, transforms and stages (the one module they all import).

Signals and transforms never import each other; what both need lives here.
"""

from __future__ import annotations

import math
from typing import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

USED = ("accepted", "inserted", "copied", "edited")
DISCARDED = ("discarded", "ignored")


def output_used() -> Column:
    """True when the user did something with the output; false otherwise (incl. not reported)."""
    return F.coalesce(F.col("output_disposition").isin(*USED), F.lit(False))


def output_unused(max_dwell_ms: int) -> Column:
    """Unused output: discarded/ignored, or viewed under ``max_dwell_ms`` and not used.

    Null (NA) when neither a disposition (other than unknown) nor a dwell time is reported.
    """
    disp = F.col("output_disposition")
    return (
        F.when(disp.isin(*DISCARDED), F.lit(True))
        .when(disp.isin(*USED), F.lit(False))
        .when(F.col("dwell_ms").isNotNull(), F.col("dwell_ms") < F.lit(max_dwell_ms))
        .otherwise(F.lit(None).cast("boolean"))
    )


def discrete_percentile(column: str, quantile: float) -> Column:
    """Exact nearest-rank percentile: the smallest value whose cumulative share is >= quantile.

    ``percentile_disc``, not ``percentile_approx``: the approximate one is engine-specific
    (Sail interpolates between neighbours, Apache Spark returns a data value), which moved
    thresholds, signals and bootstrap intervals between engines. This one is exact and returns
    a value of the data on both, so Sail and Apache Spark give identical results.
    """
    return F.expr(f"percentile_disc({float(quantile)!r}) WITHIN GROUP (ORDER BY `{column}`)")


def quota_in_force(policies: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """Add ``weekly_quota``: the quota in force on the week's Monday for the org.

    An org's own quota row overrides a ``*`` row for the days they overlap.
    Needs ``org_id`` and ``week_start`` (date).
    """

    def apply(user_weeks: DataFrame) -> DataFrame:
        q = policies.where(F.col("kind") == "quota").select(
            F.col("org_id").alias("_q_org"),
            F.col("start_date").alias("_q_from"),
            F.col("end_date").alias("_q_to"),
            F.col("weekly_quota").alias("_q"),
        )
        cover = (
            ((F.col("_q_org") == F.col("org_id")) | (F.col("_q_org") == "*"))
            & (F.col("week_start") >= F.col("_q_from"))
            & (F.col("_q_to").isNull() | (F.col("week_start") < F.col("_q_to")))
        )
        joined = user_weeks.join(F.broadcast(q), on=cover, how="left")
        keys = [c for c in user_weeks.columns]
        w = Window.partitionBy("org_id", "user_key", "week_start").orderBy(
            (F.col("_q_org") == "*").asc_nulls_last(), F.col("_q_from").desc_nulls_last()
        )
        return (
            joined.withColumn("_rn", F.row_number().over(w))
            .where("_rn = 1")
            .select(*keys, F.col("_q").alias("weekly_quota"))
        )

    return apply


_POISSON_MAX = 12


def _poisson1_cdf() -> list[float]:
    out, acc = [], 0.0
    for k in range(_POISSON_MAX):
        acc += math.exp(-1.0) / math.factorial(k)
        out.append(acc)
    return out


def poisson_weight(seed: int, unit: Column, rep: Column) -> Column:
    """A Poisson(1) draw per (unit, replicate), from a hash: reproducible and distributed."""
    u = F.pmod(F.xxhash64(F.lit(seed), unit, rep), F.lit(1 << 52)).cast("double") / float(1 << 52)
    expr = F.lit(_POISSON_MAX)
    for k, c in reversed(list(enumerate(_poisson1_cdf()))):
        expr = F.when(u < F.lit(c), F.lit(k)).otherwise(expr)
    return expr

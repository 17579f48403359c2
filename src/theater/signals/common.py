"""Building blocks shared by the signals."""
from __future__ import annotations

from typing import Callable

from pyspark.sql import Column, DataFrame
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
    return (F.when(disp.isin(*DISCARDED), F.lit(True))
            .when(disp.isin(*USED), F.lit(False))
            .when(F.col("dwell_ms").isNotNull(), F.col("dwell_ms") < F.lit(max_dwell_ms))
            .otherwise(F.lit(None).cast("boolean")))


def discrete_percentile(column: str, quantile: float) -> Column:
    """Exact nearest-rank percentile: the smallest value whose cumulative share is >= quantile.

    ``percentile_disc``, not ``percentile_approx``: the approximate one is engine-specific
    (Sail interpolates between neighbours, Apache Spark returns a data value), which moved
    thresholds, signals and bootstrap intervals between engines. This one is exact and returns
    a value of the data on both, so Sail and Apache Spark give identical results.
    """
    return F.expr(f"percentile_disc({float(quantile)!r}) WITHIN GROUP (ORDER BY `{column}`)")


def action_quantile(df: DataFrame, quantile: float, name: str) -> DataFrame:
    """Per action, the ``quantile`` of prompt_tokens (exact nearest rank, same on every engine)."""
    dtype = df.schema["prompt_tokens"].dataType
    return (df.where(F.col("prompt_tokens").isNotNull())
            .groupBy("action")
            .agg(discrete_percentile("prompt_tokens", quantile).cast(dtype).alias(name)))


def with_action_quantile(quantiles: DataFrame, name: str) -> Callable[[DataFrame], DataFrame]:
    def apply(df: DataFrame) -> DataFrame:
        return df.join(F.broadcast(quantiles.select("action", name)), on="action", how="left")

    return apply

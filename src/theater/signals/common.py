"""Building blocks shared by the signals."""

from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..columns import DISCARDED, USED, discrete_percentile, output_unused, output_used  # noqa: F401


def action_quantile(df: DataFrame, quantile: float, name: str) -> DataFrame:
    """Per action, the ``quantile`` of prompt_tokens (exact nearest rank, same on every engine)."""
    dtype = df.schema["prompt_tokens"].dataType
    return (
        df.where(F.col("prompt_tokens").isNotNull())
        .groupBy("action")
        .agg(discrete_percentile("prompt_tokens", quantile).cast(dtype).alias(name))
    )


def with_action_quantile(quantiles: DataFrame, name: str) -> Callable[[DataFrame], DataFrame]:
    def apply(df: DataFrame) -> DataFrame:
        return df.join(F.broadcast(quantiles.select("action", name)), on="action", how="left")

    return apply

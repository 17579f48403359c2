"""Fragmentation: 5+ very short interactions (prompt tokens under the action's 10th percentile)
by one user on one artifact inside 30 minutes.

An interaction fires when it is short and lies inside some 30-minute span, starting at a short
interaction, that holds at least ``min_count`` short interactions on the same artifact.
NA when the artifact or the prompt tokens are not reported.
"""

from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from .common import with_action_quantile

NAME = "fragmentation"
THRESHOLD = "_short_threshold"


def flag(
    thresholds: DataFrame, min_count: int = 5, window_minutes: int = 30
) -> Callable[[DataFrame], DataFrame]:
    """``thresholds``: columns ``action`` and ``_short_threshold``."""
    span = window_minutes * 60

    def apply(df: DataFrame) -> DataFrame:
        secs = F.col("event_ts").cast("long")
        order = Window.partitionBy("user_key", "artifact_id").orderBy(secs)
        short = F.col("prompt_tokens") < F.col(THRESHOLD)
        short_int = F.coalesce(short.cast("int"), F.lit(0))
        forward = F.sum("_short").over(order.rangeBetween(0, span))
        is_start = F.when((F.col("_short") == 1) & (forward >= min_count), 1).otherwise(0)
        covered = F.max("_start").over(order.rangeBetween(-span, 0)) > 0
        measurable = F.col("artifact_id").isNotNull() & F.col("prompt_tokens").isNotNull()
        return (
            df.transform(with_action_quantile(thresholds, THRESHOLD))
            .withColumn("_short", short_int)
            .withColumn("_start", is_start)
            .withColumn(f"sig_{NAME}", F.when(measurable, (F.col("_short") == 1) & covered))
            .drop("_short", "_start", THRESHOLD)
        )

    return apply

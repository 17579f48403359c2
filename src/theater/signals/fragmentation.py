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
    """``thresholds``: columns ``action`` and ``_short_threshold``. ``df`` has one row per
    (tool, event_id), as silver.

    Only short interactions on a reported artifact can fire or count, so the two range windows
    run over those rows alone (about a tenth of the period) and the verdict is joined back by
    (tool, event_id): the same flags as windows over every row, at a fraction of the sort."""
    span = window_minutes * 60

    def apply(df: DataFrame) -> DataFrame:
        secs = F.col("event_ts").cast("long")
        order = Window.partitionBy("user_key", "artifact_id").orderBy(secs)
        short = F.col("prompt_tokens") < F.col(THRESHOLD)
        forward = F.count("*").over(order.rangeBetween(0, span))
        is_start = F.when(forward >= min_count, 1).otherwise(0)
        covered = F.max("_start").over(order.rangeBetween(-span, 0)) > 0
        fired = (
            df.select(
                "tool", "event_id", "user_key", "artifact_id", "event_ts", "action", "prompt_tokens"
            )
            .where(F.col("artifact_id").isNotNull())
            .transform(with_action_quantile(thresholds, THRESHOLD))
            .where(short)
            .withColumn("_start", is_start)
            .select("tool", "event_id", covered.alias("_covered"))
            # only the covered rows are joined back: a short row not covered and a row that
            # is not short both read False
            .where(F.col("_covered"))
        )
        measurable = F.col("artifact_id").isNotNull() & F.col("prompt_tokens").isNotNull()
        sig = F.when(measurable, F.coalesce(F.col("_covered"), F.lit(False)))
        # the matched rows on the left: Sail builds a join's hash table from its left input,
        # and with the period's rows there it held all of them (270 MB more at 1M)
        return (
            F.broadcast(fired)
            .join(df, on=["tool", "event_id"], how="right")
            .select(*df.columns, sig.alias(f"sig_{NAME}"))
        )

    return apply

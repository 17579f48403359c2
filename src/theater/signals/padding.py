"""Padding: prompt tokens above the action's 90th percentile, output unused.

The percentile comes from the caller (computed over the period's interactions per action), so
the transform stays pure and testable with a hand-made threshold table.

NA (null) unless the prompt tokens, the action's threshold and the use of the output (a
disposition other than unknown, or a dwell time) are all known: a gateway log with tokens but
no disposition cannot fire it, so its short prompts are not "measured, did not fire".
"""

from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..columns import output_unused
from .common import with_action_quantile

NAME = "padding"
THRESHOLD = "_padding_threshold"


def flag(thresholds: DataFrame, max_dwell_ms: int = 5000) -> Callable[[DataFrame], DataFrame]:
    """``thresholds``: columns ``action`` and ``_padding_threshold``."""

    def apply(df: DataFrame) -> DataFrame:
        long_prompt = F.col("prompt_tokens") > F.col(THRESHOLD)
        unused = output_unused(max_dwell_ms)
        measurable = (
            F.col("prompt_tokens").isNotNull() & F.col(THRESHOLD).isNotNull() & unused.isNotNull()
        )
        return (
            df.transform(with_action_quantile(thresholds, THRESHOLD))
            .withColumn(
                f"sig_{NAME}",
                F.when(measurable, long_prompt & unused).otherwise(F.lit(None).cast("boolean")),
            )
            .drop(THRESHOLD)
        )

    return apply

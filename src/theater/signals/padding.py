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
from .common import action_value

NAME = "padding"
THRESHOLD = "_padding_threshold"


def flag(thresholds: DataFrame, max_dwell_ms: int = 5000) -> Callable[[DataFrame], DataFrame]:
    """``thresholds``: columns ``action`` and ``_padding_threshold``, one row per action;
    collected when the flag is applied (:func:`.common.action_value`)."""

    def apply(df: DataFrame) -> DataFrame:
        threshold = action_value(thresholds, THRESHOLD)
        long_prompt = F.col("prompt_tokens") > threshold
        unused = output_unused(max_dwell_ms)
        measurable = F.col("prompt_tokens").isNotNull() & threshold.isNotNull() & unused.isNotNull()
        return df.withColumn(
            f"sig_{NAME}",
            F.when(measurable, long_prompt & unused).otherwise(F.lit(None).cast("boolean")),
        )

    return apply

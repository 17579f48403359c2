"""Padding: prompt tokens above the action's 90th percentile, output unused.

The percentile comes from the caller (computed over the period's interactions per action), so
the transform stays pure and testable with a hand-made threshold table.
"""
from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .common import output_unused, with_action_quantile

NAME = "padding"
THRESHOLD = "_padding_threshold"


def flag(thresholds: DataFrame, max_dwell_ms: int = 5000) -> Callable[[DataFrame], DataFrame]:
    """``thresholds``: columns ``action`` and ``_padding_threshold``."""

    def apply(df: DataFrame) -> DataFrame:
        long_prompt = F.col("prompt_tokens") > F.col(THRESHOLD)
        return (df.transform(with_action_quantile(thresholds, THRESHOLD))
                .withColumn(f"sig_{NAME}", long_prompt & output_unused(max_dwell_ms))
                .drop(THRESHOLD))

    return apply

"""Unused output: discarded/ignored, or viewed under 5 s and not accepted/inserted/copied/edited."""

from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame

from ..columns import output_unused

NAME = "unused_output"


def flag(max_dwell_ms: int = 5000) -> Callable[[DataFrame], DataFrame]:
    def apply(df: DataFrame) -> DataFrame:
        return df.withColumn(f"sig_{NAME}", output_unused(max_dwell_ms))

    return apply

"""Self-summary: summarizing a document the same user wrote and had not changed for 7+ days,
output unused."""
from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .common import output_unused

NAME = "self_summary"


def flag(min_age_days: int = 7, max_dwell_ms: int = 5000) -> Callable[[DataFrame], DataFrame]:
    def apply(df: DataFrame) -> DataFrame:
        is_summary = F.col("action") == "summarize"
        own_doc = F.col("artifact_author_key") == F.col("user_key")
        age_seconds = F.col("event_ts").cast("long") - F.col("artifact_modified_ts").cast("long")
        stale = age_seconds >= F.lit(min_age_days * 86400)
        return df.withColumn(f"sig_{NAME}",
                             is_summary & own_doc & stale & output_unused(max_dwell_ms))

    return apply

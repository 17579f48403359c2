"""Self-summary: summarizing a document the same user wrote and had not changed for 7+ days,
output unused.

NA (null) unless every input it needs is reported: the action, the artifact's author and
modification time, and the use of the output (a disposition other than unknown, or a dwell
time). A source that never reports authorship can never fire this flag, so counting its rows
as "did not fire" would report an unmeasured signal as 0 (docs/vendor_formats.md, reporting
rule).
"""

from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..columns import output_unused

NAME = "self_summary"


def flag(min_age_days: int = 7, max_dwell_ms: int = 5000) -> Callable[[DataFrame], DataFrame]:
    def apply(df: DataFrame) -> DataFrame:
        is_summary = F.col("action") == "summarize"
        own_doc = F.col("artifact_author_key") == F.col("user_key")
        age_seconds = F.col("event_ts").cast("long") - F.col("artifact_modified_ts").cast("long")
        stale = age_seconds >= F.lit(min_age_days * 86400)
        unused = output_unused(max_dwell_ms)
        measurable = (
            F.col("action").isNotNull()
            & F.col("artifact_author_key").isNotNull()
            & F.col("artifact_modified_ts").isNotNull()
            & unused.isNotNull()
        )
        return df.withColumn(
            f"sig_{NAME}",
            F.when(measurable, is_summary & own_doc & stale & unused).otherwise(
                F.lit(None).cast("boolean")
            ),
        )

    return apply

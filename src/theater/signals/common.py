"""Building blocks shared by the signals."""

from __future__ import annotations

from typing import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def action_quantile(df: DataFrame, quantile: float, name: str) -> DataFrame:
    """Per action, the ``quantile`` of prompt_tokens: exact nearest rank (the smallest value
    whose cumulative share is >= ``quantile``, as ``percentile_disc``), same on every engine.

    Computed from the histogram of (action, prompt_tokens), not by sorting the rows: the state
    is one row per distinct token count of an action (a few thousand), whatever the period's
    size (memory that does not grow with the data)."""
    dtype = df.schema["prompt_tokens"].dataType
    hist = (
        df.where(F.col("prompt_tokens").isNotNull())
        .groupBy("action", "prompt_tokens")
        .agg(F.count("*").alias("_n"))
    )
    upto = (
        Window.partitionBy("action")
        .orderBy("prompt_tokens")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    return (
        hist.withColumn("_upto", F.sum("_n").over(upto))
        .withColumn("_all", F.sum("_n").over(Window.partitionBy("action")))
        # the cumulative share (cume_dist) of each distinct value
        .where(F.col("_upto").cast("double") / F.col("_all") >= F.lit(float(quantile)))
        .groupBy("action")
        .agg(F.min("prompt_tokens").cast(dtype).alias(name))
    )


def with_action_quantile(quantiles: DataFrame, name: str) -> Callable[[DataFrame], DataFrame]:
    def apply(df: DataFrame) -> DataFrame:
        return df.join(F.broadcast(quantiles.select("action", name)), on="action", how="left")

    return apply


def action_value(quantiles: DataFrame, name: str) -> Column:
    """Each row's ``name`` from ``quantiles`` (one row per action, a few), as a CASE over the
    action: collected once (a small action), so that a signal over every row reads its
    action's threshold from an expression, not from a join that copies every column of every
    row. Null for an action without a value, or a null action (as the left join)."""
    dtype = quantiles.schema[name].dataType
    value = F.lit(None).cast(dtype)
    for r in sorted(quantiles.select("action", name).collect(), key=lambda r: str(r[0])):
        if r[0] is not None:
            value = F.when(F.col("action") == F.lit(r[0]), F.lit(r[1]).cast(dtype)).otherwise(value)
    return value

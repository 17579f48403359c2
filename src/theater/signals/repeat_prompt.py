"""Repeat prompt: the same user re-sends a prompt whose 64-bit SimHash fingerprint is equal or
near (Hamming distance <= 3) to one of their prompts in the previous 7 days whose output went
unused, on the same artifact (or both without one), and this output is not used either.

Near duplicates are found without comparing all pairs: split the 16 hex digits into
``max_hamming + 1`` (rounded up to 4, 8 or 16) blocks; two fingerprints within the distance share
at least one block exactly (pigeonhole), so candidates join on (user, block position, block
value), then the exact distance is checked. NA when the fingerprint is missing, or when the use of
this prompt's output is not reported (no disposition other than unknown and no dwell time): a
gateway log with fingerprints but no disposition can never see an unused prior, so it measures
nothing.
"""

from __future__ import annotations

from typing import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..columns import output_unused, output_used

NAME = "repeat_prompt"


def _blocks(max_hamming: int) -> int:
    for n in (4, 8, 16):
        if n > max_hamming:
            return n
    raise ValueError(f"repeat_prompt.max_hamming must be <= 15, got {max_hamming}")


def _halves(fp: Column) -> tuple[Column, Column]:
    hi = F.conv(F.substring(fp, 1, 8), 16, 10).cast("long")
    lo = F.conv(F.substring(fp, 9, 8), 16, 10).cast("long")
    return hi, lo


def hamming(fp_a: Column, fp_b: Column) -> Column:
    """Bits that differ between two 16-hex-digit fingerprints."""
    a_hi, a_lo = _halves(fp_a)
    b_hi, b_lo = _halves(fp_b)
    return F.bit_count(a_hi.bitwiseXOR(b_hi)) + F.bit_count(a_lo.bitwiseXOR(b_lo))


def flag(
    max_hamming: int = 3,
    window_days: int = 7,
    same_artifact: bool = True,
    max_dwell_ms: int = 5000,
    stage: Callable[[DataFrame], DataFrame] | None = None,
) -> Callable[[DataFrame], DataFrame]:
    """Add ``sig_repeat_prompt``. ``stage``: writes a frame and hands back its copy (None: one
    plan); given, the matched prompts are written first and the rows join that copy. The
    engine plans the join of the rows with the matches' aggregate as a partitioned hash join,
    the period's rows (every column) hash-partitioned for it, whatever the broadcast hint; a
    written copy has statistics, so the join reads the rows as they stream (about 0.5 CPU s
    of the labels' plan at 1M). The same rows either way."""
    n_blocks = _blocks(max_hamming)
    width = 16 // n_blocks

    def apply(df: DataFrame) -> DataFrame:
        fp = F.lower(F.col("prompt_fingerprint"))
        blocks = F.array(
            *[
                F.struct(F.lit(i).alias("pos"), F.substring(fp, i * width + 1, width).alias("val"))
                for i in range(n_blocks)
            ]
        )
        base = df.where(F.col("prompt_fingerprint").isNotNull()).select(
            "tool",
            "event_id",
            "user_key",
            "artifact_id",
            fp.alias("fp"),
            F.col("event_ts").cast("long").alias("ts"),
            output_unused(max_dwell_ms).alias("unused"),
            output_used().alias("used"),
            F.posexplode(blocks).alias("_i", "blk"),
        )
        base = base.select("*", F.col("blk.pos").alias("pos"), F.col("blk.val").alias("val")).drop(
            "blk", "_i"
        )
        # Only prompts whose own output was not used can fire; only unused ones can be priors.
        cur = base.where(~F.col("used")).alias("c")
        prior = base.where(F.col("unused")).alias("p")
        cond = [
            F.col("c.user_key") == F.col("p.user_key"),
            F.col("c.pos") == F.col("p.pos"),
            F.col("c.val") == F.col("p.val"),
            F.col("p.ts") < F.col("c.ts"),
            F.col("p.ts") >= F.col("c.ts") - F.lit(window_days * 86400),
        ]
        if same_artifact:
            cond.append(F.col("c.artifact_id").eqNullSafe(F.col("p.artifact_id")))
        matches = (
            cur.join(prior, on=cond, how="inner")
            .where(hamming(F.col("c.fp"), F.col("p.fp")) <= max_hamming)
            .select(F.col("c.tool").alias("tool"), F.col("c.event_id").alias("event_id"))
            .distinct()
            .withColumn("_has_prior", F.lit(True))
        )
        if stage is not None:
            matches = stage(matches)
        fired = F.coalesce(F.col("_has_prior"), F.lit(False)) & ~output_used()
        # the matched rows on the left: Sail builds a join's hash table from its left input,
        # and with the period's rows there it held all of them (270 MB more at 1M); and
        # broadcast, so that the rows (every column) are not hash-partitioned for the join
        return (
            F.broadcast(matches)
            .join(df, on=["tool", "event_id"], how="right")
            .select(*df.columns, "_has_prior")
            .withColumn(
                f"sig_{NAME}",
                F.when(
                    F.col("prompt_fingerprint").isNotNull()
                    & output_unused(max_dwell_ms).isNotNull(),
                    fired,
                ).otherwise(F.lit(None).cast("boolean")),
            )
            .drop("_has_prior")
        )

    return apply

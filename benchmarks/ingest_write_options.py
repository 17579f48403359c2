"""Ingest's checked write of interactions with the Parquet writer's options and two plan
changes swapped in, alternated in one process (CPU s of the process: the embedded Sail engine
runs in it).

    PYTHONPATH=src python benchmarks/ingest_write_options.py LANDING VARIANT...

A variant is one or more parts joined by ``+``; ``current`` is the write as
``stages.ingest._split_write`` made it before its codec was set (the engine's default zstd,
level 3). Writer options: ``zstd1`` (``compression`` ``zstd(1)``, what ingest now writes on the
embedded engine), ``snappy``, ``nodict`` (``dictionary_enabled`` false), ``chunkstats``
(``statistics_enabled`` ``chunk``: no page index). Plan changes: ``structnull`` (one CASE
nulls the parsed struct of a malformed record instead of one per field), ``nocase`` (no CASE
at all: a bound, Sail's struct holds no value for a malformed record but Apache Spark's can),
``mapl`` (lineage by ``element_at`` of two literal maps instead of the join). Each variant's
output stays in the scratch folder printed at the end (compare sizes with ``du``).
Figures: ``benchmarks/RESULTS.md``.
"""

import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime

from pyspark.sql import functions as F
from pyspark.sql import types as T

from theater.config import load_config
from theater.engine import session
from theater.sources import landing as L
from theater.sources import limits as reader_limits
from theater.stages import ingest as I
from theater.transforms import contract as TC
from theater.transforms.contract import JSON_TYPED, MALFORMED, Limits, extra_json, extra_map

WRITER = {
    "zstd1": ("compression", "zstd(1)"),
    "snappy": ("compression", "snappy"),
    "nodict": ("dictionary_enabled", "false"),
    "chunkstats": ("statistics_enabled", "chunk"),
}


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


orig_from_text = L._from_text
orig_lineage = I._with_lineage


def structnull(texts, contract, json_typed=True, keep=(), guard=True):
    values = T.StructType([T.StructField(n, T.StringType()) for n in contract.names])
    typed = json_typed if isinstance(json_typed, F.Column) else F.lit(json_typed)
    rec = texts.select(
        F.from_json("_raw", L.MAP, L.JSON_OPTIONS).alias("_rec"),
        F.from_json("_raw", values, L.JSON_OPTIONS).alias("_val"),
        "_raw",
        typed.alias(JSON_TYPED),
        *keep,
    )
    malformed = F.col("_rec").isNull()
    val = F.when(~malformed, F.col("_val")) if guard else F.col("_val")
    rec = rec.select(
        val.alias("_val"),
        extra_map(F.col("_rec"), contract).alias("_xmap"),
        malformed.alias(MALFORMED),
        "_raw",
        JSON_TYPED,
        *keep,
    )
    return rec.select(
        *[F.col("_val").getField(n).alias(n) for n in contract.names],
        extra_json(F.col("_xmap")).alias("_extra"),
        MALFORMED,
        "_raw",
        JSON_TYPED,
        *keep,
    )


def nocase(*a, **k):
    return structnull(*a, guard=False, **k)


def mapl(spark, records, files, batch_id, at):
    def lookup(attr):
        pairs = [x for i, f in enumerate(files) for x in (F.lit(L.file_key(i)), F.lit(attr(f)))]
        return F.element_at(F.create_map(*pairs), F.col(L.FILE_KEY))

    cols = [c for c in records.columns if c != L.FILE_KEY]
    return records.select(
        *cols,
        lookup(lambda f: f.relpath).alias("_source_file"),
        lookup(lambda f: f.sha256).alias("_file_sha256"),
        F.lit(at).cast("timestamp").alias("_ingested_at"),
        F.lit(batch_id).alias("_batch_id"),
    )


FROM_TEXT = {"structnull": structnull, "nocase": nocase}
LINEAGE = {"mapl": mapl}


def write(spark, preps, files, limits, parts, farm, out, at):
    scanned = L.read_batch(spark, "interactions", preps, farm)
    records = I._with_lineage(spark, scanned, files, "b", at)
    checked = TC.with_problems(records, I.contract("interactions"), limits)
    is_bad = F.size("_problems") > 0
    split = checked.select(
        *I._bronze_columns("interactions"),
        F.when(is_bad, F.col("_problems")).alias("_problems"),
        F.when(is_bad, F.col("_raw")).alias("_raw"),
        F.when(is_bad, F.lit("bad")).otherwise(F.lit("good")).alias(I.SPLIT),
    )
    w = split.write.mode("overwrite").option("max_row_group_size", I.BRONZE_ROW_GROUP_ROWS)
    for p in parts:
        if p in WRITER:
            w = w.option(*WRITER[p])
    w.partitionBy(I.SPLIT).parquet(out)


def main():
    landing, variants = sys.argv[1], sys.argv[2:]
    scratch = tempfile.mkdtemp(prefix="write_options_")
    cfg = load_config(env="local", overrides={"paths.state": os.path.join(scratch, "state")})
    reader_limits.set_current(cfg)
    limits = Limits.from_config(cfg)
    files, _ = L.list_files(landing, "interactions")
    preps = [L.prepare(f, os.path.join(scratch, "staging")) for f in files]
    at = datetime(2026, 1, 1)
    with session(cfg) as spark:
        for n, v in enumerate(variants):
            parts = v.split("+")
            L._from_text = next((FROM_TEXT[p] for p in parts if p in FROM_TEXT), orig_from_text)
            I._with_lineage = next((LINEAGE[p] for p in parts if p in LINEAGE), orig_lineage)
            out = os.path.join(scratch, f"out_{v}")
            shutil.rmtree(out, ignore_errors=True)
            c0, w0 = cpu(), time.time()
            write(spark, preps, files, limits, parts, os.path.join(scratch, f"farm{n}"), out, at)
            print(
                f"{v:22s} cpu {cpu() - c0:6.2f} wall {time.time() - w0:6.2f} "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print("scratch", scratch)


if __name__ == "__main__":
    main()

"""Ingest's checked write of interactions taken apart: plan variants of the parse, checks and
lineage, alternated in one process (CPU s of the process: the embedded Sail engine runs in it).

    PYTHONPATH=src python benchmarks/ingest_write_variants.py LANDING KIND VARIANT...

``KIND``: ``all`` or a prepared kind (``text``, ``csv``, ``parquet``). Variants: ``current``
(the write as ``stages.ingest._split_write`` makes it); ``nomap`` (no ``map<string,string>``
parse: ``_extra`` null, nothing malformed, a bound); ``mapparse``, ``mapfilter``,
``maptojson`` (the map parse alone, with its filter, ``to_json`` of the whole map);
``keys`` (the map parse only for rows whose ``json_object_keys`` hold an unknown key);
``bare`` and ``bare+nomap`` (bronze columns written without checks or split); ``nojoin``
(lineage as literals, a bound); ``nosize`` (no ``oversized_field`` checks); ``nopart`` (no
good/bad partition); ``scanonly`` (the scan written as it is). Only ``current`` is what ingest
writes. Figures: ``benchmarks/RESULTS.md``.
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
from theater.transforms.contract import JSON_TYPED, MALFORMED, Limits


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


orig_from_text = L._from_text


def nomap_from_text(texts, contract, json_typed=True, keep=()):
    values = T.StructType([T.StructField(n, T.StringType()) for n in contract.names])
    typed = json_typed if isinstance(json_typed, F.Column) else F.lit(json_typed)
    rec = texts.select(
        F.from_json("_raw", values, L.JSON_OPTIONS).alias("_val"),
        "_raw",
        typed.alias(JSON_TYPED),
        *keep,
    )
    return rec.select(
        *[F.col("_val").getField(n).alias(n) for n in contract.names],
        F.lit(None).cast("string").alias("_extra"),
        F.lit(False).alias(MALFORMED),
        "_raw",
        JSON_TYPED,
        *keep,
    )


def mk(level):
    def f(texts, contract, json_typed=True, keep=()):
        values = T.StructType([T.StructField(n, T.StringType()) for n in contract.names])
        typed = json_typed if isinstance(json_typed, F.Column) else F.lit(json_typed)
        rec = texts.select(
            F.from_json("_raw", L.MAP, L.JSON_OPTIONS).alias("_rec"),
            F.from_json("_raw", values, L.JSON_OPTIONS).alias("_val"),
            "_raw",
            typed.alias(JSON_TYPED),
            *keep,
        )
        if level == "mapparse":
            x = F.lit(None).cast("string")
        elif level == "mapfilter":
            rec = rec.select("*", TC.extra_map(F.col("_rec"), contract).alias("_xmap"))
            x = F.when(F.size("_xmap") > 0, F.lit("x"))
        elif level == "maptojson":
            x = F.when(F.size("_rec") > 0, F.to_json("_rec"))
        malformed = F.col("_rec").isNull()
        return rec.select(
            *[F.when(~malformed, F.col("_val").getField(n)).alias(n) for n in contract.names],
            x.alias("_extra"),
            malformed.alias(MALFORMED),
            "_raw",
            JSON_TYPED,
            *keep,
        )

    return f


def keys_from_text(texts, contract, json_typed=True, keep=()):
    values = T.StructType([T.StructField(n, T.StringType()) for n in contract.names])
    typed = json_typed if isinstance(json_typed, F.Column) else F.lit(json_typed)
    names = F.array(*[F.lit(n) for n in contract.names], F.lit(None).cast("string"))
    rec = texts.select(
        F.json_object_keys("_raw").alias("_keys"),
        F.from_json("_raw", values, L.JSON_OPTIONS).alias("_val"),
        "_raw",
        typed.alias(JSON_TYPED),
        *keep,
    )
    rec = rec.select(
        "*",
        F.when(
            F.col("_keys").isNull() | (F.size(F.array_except("_keys", names)) > 0), F.lit(True)
        ).alias("_need"),
    )
    rec = rec.select(
        "*", F.when(F.col("_need"), F.from_json("_raw", L.MAP, L.JSON_OPTIONS)).alias("_rec")
    )
    rec = rec.select("*", TC.extra_map(F.col("_rec"), contract).alias("_xmap"))
    malformed = F.when(F.col("_need"), F.col("_rec").isNull()).otherwise(F.lit(False))
    rec = rec.select("*", malformed.alias("_mal"))
    return rec.select(
        *[F.when(~F.col("_mal"), F.col("_val").getField(n)).alias(n) for n in contract.names],
        TC.extra_json(F.col("_xmap")).alias("_extra"),
        F.col("_mal").alias(MALFORMED),
        "_raw",
        JSON_TYPED,
        *keep,
    )


VARS = {
    "keys": keys_from_text,
    "nomap": nomap_from_text,
    "mapparse": mk("mapparse"),
    "mapfilter": mk("mapfilter"),
    "maptojson": mk("maptojson"),
}


def main():
    landing, kindsel, variants = sys.argv[1], sys.argv[2], sys.argv[3:]
    scratch = tempfile.mkdtemp(
        prefix="cw_",
    )
    cfg = load_config(env="local", overrides={"paths.state": os.path.join(scratch, "state")})
    reader_limits.set_current(cfg)
    limits = Limits.from_config(cfg)
    files, _ = L.list_files(landing, "interactions")
    preps = [L.prepare(f, os.path.join(scratch, "staging")) for f in files]
    if kindsel != "all":
        keep = [i for i, p in enumerate(preps) if p.kind == kindsel]
        files, preps = [files[i] for i in keep], [preps[i] for i in keep]
    at = datetime(2026, 1, 1)
    with session(cfg) as spark:
        for n, v in enumerate(variants):
            L._from_text = VARS.get(v.replace("bare+", ""), orig_from_text)
            farm = os.path.join(scratch, f"farm{n}")
            out = os.path.join(scratch, "out")
            shutil.rmtree(out, ignore_errors=True)
            c0, w0 = cpu(), time.time()
            scanned = L.read_batch(spark, "interactions", preps, farm)
            if v == "scanonly":
                scanned.write.parquet(out)
            else:
                if v == "nojoin":
                    cols = [c for c in scanned.columns if c != L.FILE_KEY]
                    records = scanned.select(
                        *cols,
                        F.lit("landing/x/y.jsonl").alias("_source_file"),
                        F.lit("0" * 64).alias("_file_sha256"),
                        F.lit(at).cast("timestamp").alias("_ingested_at"),
                        F.lit("b").alias("_batch_id"),
                    )
                else:
                    records = I._with_lineage(spark, scanned, files, "b", at)
                if v.startswith("bare"):
                    records.select(*I._bronze_columns("interactions")).write.parquet(out)
                else:
                    lim = (
                        Limits(max_field_chars=0, ts_min=limits.ts_min, ts_max=limits.ts_max)
                        if v == "nosize"
                        else limits
                    )
                    checked = TC.with_problems(records, I.contract("interactions"), lim)
                    is_bad = F.size("_problems") > 0
                    sel = checked.select(
                        *I._bronze_columns("interactions"),
                        F.when(is_bad, F.col("_problems")).alias("_problems"),
                        F.when(is_bad, F.col("_raw")).alias("_raw"),
                        F.when(is_bad, F.lit("bad")).otherwise(F.lit("good")).alias(I.SPLIT),
                    )
                    if v == "nopart":
                        sel.write.parquet(out)
                    else:
                        sel.write.partitionBy(I.SPLIT).parquet(out)
            print(
                f"{v:10s} cpu {cpu() - c0:6.2f} wall {time.time() - w0:6.2f} load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

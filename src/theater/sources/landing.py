"""Readers for the native landing zone: every format -> one record map per row.

Each reader returns a DataFrame with one string column per contract field (as received, null
when absent), ``_extra`` (fields outside the contract as JSON, null when none), ``_malformed``
(the record is not a JSON object) and ``_raw`` (the record's text where the format has one).
The caller adds lineage. Values keep their text as received: numbers as their JSON text,
nested objects as JSON, timestamps from typed Parquet columns as RFC 3339 UTC.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..contracts import Contract, contract
from ..transforms.contract import MALFORMED, extra_fields

FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonl.gz": "jsonl", ".ndjson.gz": "jsonl",
    ".json": "json_array", ".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet",
}
MAP = "map<string,string>"


@dataclass(frozen=True)
class LandingFile:
    dataset: str
    path: str          # absolute
    relpath: str       # relative to the landing root (lineage)
    fmt: str
    size: int
    sha256: str


def _fmt_of(name: str) -> str | None:
    low = name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if low.endswith(ext):
            return FORMATS[ext]
    return None


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_files(landing: str, dataset: str) -> tuple[list[LandingFile], list[str]]:
    """Files of a dataset folder (recursive, sorted) and the names skipped as unknown formats."""
    root = Path(landing) / dataset
    found: list[LandingFile] = []
    skipped: list[str] = []
    if not root.is_dir():
        return found, skipped
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.startswith((".", "_")):
            continue
        fmt = _fmt_of(p.name)
        rel = os.path.relpath(p, landing)
        if fmt is None:
            skipped.append(rel)
            continue
        found.append(LandingFile(dataset, str(p.resolve()), rel, fmt, p.stat().st_size,
                                 _sha256(str(p))))
    return found, skipped


def _from_text(texts: DataFrame, contract: Contract) -> DataFrame:
    """``_raw`` JSON texts -> contract columns via a string map."""
    rec = texts.select(F.from_json("_raw", MAP).alias("_rec"), "_raw")
    return rec.select(*[F.col("_rec").getItem(n).alias(n) for n in contract.names],
                      extra_fields(F.col("_rec"), contract).alias("_extra"),
                      F.col("_rec").isNull().alias(MALFORMED), "_raw")


def _text_records(spark: SparkSession, path: str, contract: Contract) -> DataFrame:
    lines = spark.read.text(path).where(F.trim("value") != "")
    return _from_text(lines.select(F.col("value").alias("_raw")), contract)


def json_array_to_lines(path: str, out: str, chunk: int = 1 << 20) -> int:
    """Stream a JSON array file into JSON Lines (one element per line); return the count.

    A JSON array cannot be split between tasks, and Sail's ``wholetext`` splits large files, so
    the array is re-framed here with bounded memory: elements are decoded one at a time with
    ``raw_decode`` over a sliding buffer. Each element's own text is kept for quarantine. Text
    that is not a JSON array (or breaks off) becomes one line holding the rest of the file,
    which the parser then quarantines as malformed.
    """
    decoder = json.JSONDecoder()
    count = 0
    with open(path, "r", encoding="utf-8", errors="replace") as src, \
            open(out, "w", encoding="utf-8") as dst:
        buf = src.read(chunk)
        pos = len(buf) - len(buf.lstrip())
        if not buf[pos:pos + 1] == "[":
            dst.write(" ".join((buf + src.read()).split())[:100000] + "\n")
            return 1
        pos += 1
        eof = False
        while True:
            while True:  # skip separators
                while pos < len(buf) and buf[pos] in " \t\r\n,":
                    pos += 1
                if pos < len(buf) or eof:
                    break
                more = src.read(chunk)
                eof = not more
                buf, pos = buf[pos:] + more, 0
            if pos >= len(buf) or buf[pos] == "]":
                return count
            try:
                obj, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError:
                more = "" if eof else src.read(chunk)
                if not more:
                    dst.write(" ".join(buf[pos:].split())[:100000] + "\n")
                    return count + 1
                buf, pos = buf[pos:] + more, 0
                continue
            dst.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
            pos = end
            if pos > chunk:
                buf, pos = buf[pos:], 0


def _json_array_records(spark: SparkSession, path: str, contract: Contract,
                        staging: str) -> DataFrame:
    os.makedirs(staging, exist_ok=True)
    lines = os.path.join(staging, hashlib.sha256(path.encode()).hexdigest()[:16] + ".jsonl")
    json_array_to_lines(path, lines)
    return _text_records(spark, lines, contract)


def _as_text(field: T.StructField, col: F.Column) -> F.Column:
    dt = field.dataType
    if isinstance(dt, (T.TimestampType, T.TimestampNTZType)):
        return F.date_format(col, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
    if isinstance(dt, (T.StructType, T.ArrayType, T.MapType)):
        return F.to_json(col)
    if isinstance(dt, (T.FloatType, T.DoubleType, T.DecimalType)):
        # 12.0 -> "12": JSON Schema integers may be written with a zero fraction
        return F.when(col == F.floor(col), F.floor(col).cast("string")).otherwise(col.cast("string"))
    return col.cast("string")


def _columnar_records(df: DataFrame, contract: Contract) -> DataFrame:
    """CSV/Parquet columns -> contract columns as text; other columns -> ``_extra`` JSON.

    Plain columns, not a record map: Sail (0.7) fails to plan a filter on a map built from scan
    columns ("No field named ?table?.x"), and columns are cheaper at 10M rows anyway.
    """
    by_name = {f.name: f for f in df.schema.fields}
    cols = [_as_text(by_name[n], F.col(f"`{n}`")).alias(n) if n in by_name
            else F.lit(None).cast("string").alias(n) for n in contract.names]
    extras = [f for f in df.schema.fields if f.name not in contract.names]
    extra = (F.to_json(F.struct(*[F.col(f"`{f.name}`") for f in extras])) if extras
             else F.lit(None).cast("string"))
    return df.select(*cols, extra.alias("_extra"), F.lit(False).alias(MALFORMED),
                     F.lit(None).cast("string").alias("_raw"))


def _spark_readable_parquet(path: str, staging: str) -> str:
    """Path of a Parquet file Spark and Sail can read.

    Files with nanosecond (or second/millisecond) timestamps, which pandas writes by default, are
    rewritten batch by batch with microsecond timestamps into ``staging``; others are used as is.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    target = pa.schema([
        f.with_type(pa.timestamp("us", tz=f.type.tz or "UTC"))
        if pa.types.is_timestamp(f.type) and (f.type.unit != "us" or f.type.tz is None) else f
        for f in schema])
    if target.equals(schema):
        return path
    os.makedirs(staging, exist_ok=True)
    out = os.path.join(staging, hashlib.sha256(path.encode()).hexdigest()[:16] + ".parquet")
    with pq.ParquetWriter(out, target) as writer:
        for batch in pf.iter_batches(batch_size=262144):
            table = pa.Table.from_batches([batch]).cast(target, safe=False)
            writer.write_table(table)
    return out


def read_records(spark: SparkSession, f: LandingFile, staging: str | None = None) -> DataFrame:
    c = contract(f.dataset)
    staging = staging or os.path.join(os.path.dirname(f.path), ".theater-staging")
    if f.fmt == "jsonl":
        return _text_records(spark, f.path, c)
    if f.fmt == "json_array":
        return _json_array_records(spark, f.path, c, staging)
    if f.fmt == "csv":
        df = spark.read.option("header", True).option("inferSchema", False).csv(f.path)
        return _columnar_records(df, c)
    if f.fmt == "parquet":
        return _columnar_records(spark.read.parquet(_spark_readable_parquet(f.path, staging)), c)
    raise ValueError(f"{f.relpath}: unsupported format {f.fmt}")

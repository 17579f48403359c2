"""Readers for the native landing zone: every format -> one record map per row.

Each reader returns a DataFrame with ``_rec`` (map<string,string>, null when the record is not
a JSON object) and ``_raw`` (the raw text of the record where the format has one, else null).
The caller adds lineage. Values keep their text as received: numbers as their JSON text,
nested objects as JSON, timestamps from typed Parquet columns as RFC 3339 UTC.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

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


def _text_records(spark: SparkSession, path: str) -> DataFrame:
    lines = spark.read.text(path).where(F.trim("value") != "")
    return lines.select(F.from_json("value", MAP).alias("_rec"), F.col("value").alias("_raw"))


def _json_array_records(spark: SparkSession, path: str) -> DataFrame:
    whole = spark.read.text(path, wholetext=True)
    items = whole.select(F.from_json("value", "array<string>").alias("items"), "value")
    # A file that is not a JSON array yields one malformed record carrying the file's text.
    bad = items.where(F.col("items").isNull()).select(
        F.lit(None).cast(MAP).alias("_rec"), F.substring("value", 1, 2000).alias("_raw"))
    good = items.where(F.col("items").isNotNull()).select(F.explode("items").alias("_raw"))
    good = good.select(F.from_json("_raw", MAP).alias("_rec"), "_raw")
    return good.unionByName(bad)


def _as_text(field: T.StructField) -> F.Column:
    col = F.col(f"`{field.name}`")
    dt = field.dataType
    if isinstance(dt, (T.TimestampType, T.TimestampNTZType)):
        return F.date_format(col, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
    if isinstance(dt, (T.StructType, T.ArrayType, T.MapType)):
        return F.to_json(col)
    if isinstance(dt, (T.FloatType, T.DoubleType, T.DecimalType)):
        # 12.0 -> "12": JSON Schema integers may be written with a zero fraction
        return F.when(col == F.floor(col), F.floor(col).cast("string")).otherwise(col.cast("string"))
    return col.cast("string")


def _columnar_records(df: DataFrame) -> DataFrame:
    pairs = []
    for field in df.schema.fields:
        pairs += [F.lit(field.name), _as_text(field)]
    rec = F.map_filter(F.create_map(*pairs), lambda k, v: v.isNotNull())
    return df.select(rec.alias("_rec"), F.lit(None).cast("string").alias("_raw"))


def read_records(spark: SparkSession, f: LandingFile) -> DataFrame:
    if f.fmt == "jsonl":
        return _text_records(spark, f.path)
    if f.fmt == "json_array":
        return _json_array_records(spark, f.path)
    if f.fmt == "csv":
        df = spark.read.option("header", True).option("inferSchema", False).csv(f.path)
        return _columnar_records(df)
    if f.fmt == "parquet":
        return _columnar_records(spark.read.parquet(f.path))
    raise ValueError(f"{f.relpath}: unsupported format {f.fmt}")

"""What the string-map parse costs the ingest's JSON reader, and what skipping it would save.

``sources.landing._from_text`` parses every JSON line twice: into a struct of the contract's
fields (the values) and into a ``map<string,string>`` (``_malformed`` and ``_extra``). This
script measures, on the landing zone's JSON Lines files of one dataset, written to Parquet in
one process (CPU s of the process: the embedded Sail engine runs in it as threads):

- ``current``: ``_from_text`` as it is;
- ``struct_only``: the struct parse alone (no ``_malformed``, no ``_extra``): the floor;
- ``skip_map``: a candidate that parses into the map only the rows that may need it: a row whose
  ``json_object_keys`` are all contract names, whose struct parse has a value and no corrupt
  record (Apache Spark's ``columnNameOfCorruptRecord``; Sail leaves that field null) takes
  ``_malformed`` false and ``_extra`` null without the map.

- ``map_only`` and ``map_only_arrays``: one parse, into the map alone, the contract's values
  looked up in it (per field by ``getItem``, or by position in ``map_keys``/``map_values``).

``--check`` runs ``current`` and ``skip_map`` on hand-made edge lines (extra fields, explicit
nulls, duplicate keys, arrays, scalars, trailing text, non-strict JSON) and reports the rows
whose output differs, on the configured engine (``--engine spark`` for Apache Spark).

    PYTHONPATH=src python benchmarks/ingest_map_parse.py LANDING --dataset interactions \
        current skip_map struct_only current skip_map struct_only
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import resource
import shutil
import tempfile
import time

from pyspark.sql import functions as F
from pyspark.sql import types as T

from theater.config import load_config
from theater.contracts import contract
from theater.engine import session
from theater.sources import landing as L
from theater.transforms.contract import JSON_TYPED, MALFORMED, extra_fields

CORRUPT = "_theater_corrupt"
EDGE_LINES = [
    '{"event_id":"e1","tool":"docs"}',
    '{"event_id":"e2","meta":{"sdk":"x"}}',
    '{"event_id":"e3","tool":null}',
    '{"event_id":null}',
    "{}",
    "[]",
    '[{"event_id":"e4"}]',
    "5",
    '"text"',
    "null",
    '{"event_id":"e5","event_id":"e6"}',
    '{"event_id":"e7","x":1,"x":2}',
    '{"event_id":"e8"} trailing',
    '{"event_id":"e9"}{"tool":"ide"}',
    "{'event_id':'e10'}",
    '{"event_id":"e11", \'tool\':"ide"}',
    '{"event_id":"e12","tool":NaN}',
    '{"event_id":"e13","dwell_ms":01}',
    '{"event_id":"e14","tool":"a\tb"}',
    '{"event_id":"e15","meta":{"a":[1,{"b":2}]}}',
    '{"event_id":"e16","meta":{"c":1,}}',
    '{"event_id":"e17",}',
    '{"event_id":"e18"',
    '{"":1,"event_id":"e19"}',
    ' {"event_id":"e20"} ',
    '{"meta":{"sdk":"y"},"event_id":"e21","region":null}',
    '{"region":"eu","event_id":"e22","meta":"a\\"b\\u00e9"}',
    '{"event_id":"e23","region":"eu","region":"us"}',
    '{"event_id":"e24","meta":[1, 2.50, true],"region":-0.0e1}',
    '{"event_id":null,"region":"eu"}',
    '{"region":"eu"}',
    '{"event_id":"e27","meta":{"k":NaN}}',
]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def struct_only(texts, c):
    values = T.StructType([T.StructField(n, T.StringType()) for n in c.names])
    rec = texts.select(F.from_json("_raw", values, L.JSON_OPTIONS).alias("_val"), "_raw")
    return rec.select(
        *[F.col("_val").getField(n).alias(n) for n in c.names],
        F.lit(None).cast("string").alias("_extra"),
        F.lit(False).alias(MALFORMED),
        "_raw",
        F.lit(True).alias(JSON_TYPED),
    )


def skip_map(texts, c):
    names = list(c.names)
    fields = [T.StructField(n, T.StringType()) for n in names]
    values = T.StructType([*fields, T.StructField(CORRUPT, T.StringType())])
    options = {**L.JSON_OPTIONS, "columnNameOfCorruptRecord": CORRUPT}
    keys = F.expr("json_object_keys(_raw)")
    rec = texts.select(
        F.from_json("_raw", values, options).alias("_val"), keys.alias("_keys"), "_raw"
    )
    val = F.col("_val")
    safe = (
        F.col("_keys").isNotNull()
        & F.forall("_keys", lambda k: k.isin(*names))
        & val.getField(CORRUPT).isNull()
        & F.coalesce(*[val.getField(n) for n in names]).isNotNull()
    )
    rec = rec.select("_val", "_raw", safe.alias("_safe"))
    rec = rec.select(
        "_val",
        "_raw",
        "_safe",
        F.when(~F.col("_safe"), F.from_json("_raw", L.MAP, L.JSON_OPTIONS)).alias("_rec"),
    )
    malformed = ~F.col("_safe") & F.col("_rec").isNull()
    return rec.select(
        *[F.when(~malformed, val.getField(n)).alias(n) for n in names],
        extra_fields(F.col("_rec"), c).alias("_extra"),
        malformed.alias(MALFORMED),
        "_raw",
        F.lit(True).alias(JSON_TYPED),
    )


def sample_keys(paths, lines: int = 50) -> set:
    """Top-level keys of the first ``lines`` JSON lines of each file (Python; a hint only)."""
    keys = set()
    for p in paths:
        with open(p, encoding="utf-8", errors="replace") as fh:
            for _, line in zip(range(lines), fh):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    keys.update(rec)
    return keys


HINT: set = set()


def known_extras_no_extra(texts, c):
    """``known_extras`` with ``_extra`` left null: what building it costs."""
    return known_extras(texts, c).withColumn("_extra", F.lit(None).cast("string"))


def known_extras(texts, c):
    """One struct parse for rows whose keys are contract names or extra names seen in a sample.

    The struct takes the contract's fields and the extra names in ``HINT`` (keys seen in a
    sample of the files); a row whose ``json_object_keys`` are all among those, without
    repeats, that parsed (a value, no corrupt record) builds ``_extra`` from the struct's extra
    fields in the keys' order. Every other row takes the map path as ``current`` does.
    """
    names = list(c.names)
    # only plain names that no other name equals ignoring case: the rest take the map path
    lower = [n.lower() for n in names]
    cand = sorted(set(HINT) - set(names) - {CORRUPT})
    extras = [
        e
        for e in cand
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", e)
        and e.lower() not in lower
        and sum(x.lower() == e.lower() for x in cand) == 1
    ]
    allk = names + extras
    fields = [T.StructField(n, T.StringType()) for n in allk]
    values = T.StructType([*fields, T.StructField(CORRUPT, T.StringType())])
    options = {**L.JSON_OPTIONS, "columnNameOfCorruptRecord": CORRUPT}
    keys = F.expr("json_object_keys(_raw)")
    rec = texts.select(
        F.from_json("_raw", values, options).alias("_val"), keys.alias("_keys"), "_raw"
    )
    val, ks = F.col("_val"), F.col("_keys")
    safe = (
        ks.isNotNull()
        & F.forall(ks, lambda k: k.isin(*allk))
        & (F.size(ks) == F.size(F.array_distinct(ks)))
        & val.getField(CORRUPT).isNull()
        & F.coalesce(*[val.getField(n) for n in allk]).isNotNull()
    )
    rec = rec.select(
        "_val",
        "_raw",
        "_keys",
        safe.alias("_safe"),
        F.when(~safe, F.from_json("_raw", L.MAP, L.JSON_OPTIONS)).alias("_rec"),
    )

    def pick(k):
        out = None
        for e in extras:
            out = (F.when if out is None else out.when)(k == e, val.getField(e))
        return out if out is not None else F.lit(None).cast("string")

    ek = F.filter("_keys", lambda k: ~k.isin(*names))
    fast = F.when(F.size(ek) > 0, F.to_json(F.map_from_arrays(ek, F.transform(ek, pick))))
    malformed = ~F.col("_safe") & F.col("_rec").isNull()
    return rec.select(
        *[F.when(~malformed, val.getField(n)).alias(n) for n in names],
        F.when(F.col("_safe"), fast).otherwise(extra_fields(F.col("_rec"), c)).alias("_extra"),
        malformed.alias(MALFORMED),
        "_raw",
        F.lit(True).alias(JSON_TYPED),
    )


def _probe(texts, c, extra_cols):
    values = T.StructType([T.StructField(n, T.StringType()) for n in c.names])
    rec = texts.select(F.from_json("_raw", values, L.JSON_OPTIONS).alias("_val"), "_raw")
    return rec.select(*[F.col("_val").getField(n).alias(n) for n in c.names], *extra_cols(), "_raw")


def probe_keys(texts, c):
    """struct_only plus ``json_object_keys`` (its count): what the key pass costs."""
    return _probe(texts, c, lambda: [F.size(F.expr("json_object_keys(_raw)")).alias("_n")])


def probe_colons(texts, c):
    """struct_only plus a colon count of the text and of each value: a text-only key test."""

    def colons(col):
        return F.length(col) - F.length(F.regexp_replace(col, ":", ""))

    def cols():
        per = [F.coalesce(colons(F.col("_val").getField(n)) + 1, F.lit(0)) for n in c.names]
        total = per[0]
        for p in per[1:]:
            total = total + p
        return [(colons(F.col("_raw")) == total).alias("_n")]

    return _probe(texts, c, cols)


def probe_map(texts, c):
    """struct_only plus the map parse and ``_extra`` (the current extra work, counted alone)."""
    return _probe(
        texts, c, lambda: [extra_fields(F.from_json("_raw", L.MAP, L.JSON_OPTIONS), c).alias("_n")]
    )


def _map_only(texts, c, lookup):
    """One parse, into the map alone: the values looked up in it (``lookup(map, keys,
    values, name)``), ``_malformed`` and ``_extra`` as ``current`` makes them. Measured only:
    Apache Spark's map keeps a repeated key's first value, the struct (and Sail's map) its last."""
    rec = texts.select(
        F.from_json("_raw", L.MAP, L.JSON_OPTIONS).alias("_rec"),
        "_raw",
        F.lit(True).alias(JSON_TYPED),
    )
    rec = rec.select(
        "*", F.map_keys("_rec").alias("_k"), F.map_values("_rec").alias("_v"),
        extra_fields(F.col("_rec"), c).alias("_extra"),
    )  # fmt: skip
    m, k, v = F.col("_rec"), F.col("_k"), F.col("_v")
    return rec.select(
        *[lookup(m, k, v, n).alias(n) for n in c.names],
        "_extra", m.isNull().alias(MALFORMED), "_raw", JSON_TYPED,
    )  # fmt: skip


def map_only(texts, c):
    """The map alone, each value by ``getItem`` (a map lookup per field)."""
    return _map_only(texts, c, lambda m, k, v, n: m.getItem(n))


def map_only_arrays(texts, c):
    """The map alone, each value by its key's position in ``map_keys`` (``array_position``)
    read from ``map_values`` (``get``)."""
    return _map_only(
        texts, c, lambda m, k, v, n: F.get(v, F.array_position(k, F.lit(n)).cast("int") - 1)
    )


IMPLS = {
    "map_only": map_only,
    "map_only_arrays": map_only_arrays,
    "probe_keys": probe_keys,
    "probe_colons": probe_colons,
    "probe_map": probe_map,
    "current": L._from_text,
    "struct_only": struct_only,
    "skip_map": skip_map,
    "known_extras": known_extras,
    "known_extras_no_extra": known_extras_no_extra,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("landing")
    ap.add_argument("variants", nargs="*", default=["current", "skip_map", "struct_only"])
    ap.add_argument("--dataset", default="interactions")
    ap.add_argument("--glob", default="*/*.jsonl", help="files under LANDING/DATASET")
    ap.add_argument("--engine", default="sail", choices=["sail", "spark"])
    ap.add_argument("--check", action="store_true", help="compare on the edge lines only")
    a = ap.parse_intermixed_args()
    overrides = {"spark.shuffle_partitions": 2, "quality.data_docs": False}
    if a.engine == "spark":
        os.environ.setdefault("SPARK_MASTER", "local[2]")
        overrides.update({"engine": "spark", "table_format": "delta"})
    cfg = load_config(env="local", environ={}, overrides=overrides)
    c = contract(a.dataset)
    with session(cfg) as spark:
        if a.check:
            texts = spark.createDataFrame([(t,) for t in EDGE_LINES], "_raw string")
            HINT.update(["meta", "region", "x", ""])
            got = {k: {r["_raw"]: r.asDict() for r in IMPLS[k](texts, c).collect()} for k in IMPLS}
            diff = [
                (k, t)
                for k in ("skip_map", "known_extras")
                for t in EDGE_LINES
                if got["current"][t] != got[k][t]
            ]
            for t in EDGE_LINES:
                r = got["current"][t]
                print(f"{t!r:45} malformed={r[MALFORMED]!s:5} extra={r['_extra']}")
            print(f"{a.engine}: {len(EDGE_LINES)} edge lines, {len(diff)} differ: {diff}")
            return
        files = sorted(glob.glob(os.path.join(a.landing, a.dataset, a.glob)))
        texts = (
            spark.read.text(files).where(F.trim("value") != "").select(F.col("value").alias("_raw"))
        )
        n = texts.count()
        HINT.update(sample_keys(files))
        print("hint:", sorted(HINT - set(c.names)), flush=True)
        print(f"{len(files)} files, {n} lines", flush=True)
        out = tempfile.mkdtemp(prefix="map_parse_")
        try:
            for name in a.variants:
                shutil.rmtree(out, ignore_errors=True)
                c0, w0 = cpu(), time.time()
                IMPLS[name](texts, c).write.parquet(out)
                print(f"{name:12s} cpu {cpu() - c0:6.2f} s  wall {time.time() - w0:6.2f} s")
        finally:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()

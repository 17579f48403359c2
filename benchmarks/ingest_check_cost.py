"""What the ingest's contract checks cost on top of its JSON parse, per part.

On the landing zone's JSON Lines files of one dataset, each variant is written to Parquet in one
process (CPU s of the process: the embedded Sail engine runs in it as threads):

- ``parse``: ``sources.landing._from_text`` alone (both JSON parses, ``_malformed``, ``_extra``);
- ``checked``: the parse and ``transforms.contract.record_problems`` as ingest runs them (the
  JSON-type check is one regular expression over the record's text per contract field);
- ``no_json_types``: the same checks with ``_json_typed`` false, so without the per-field
  regular expressions over the text (what those cost, not a candidate: a JSON string where the
  contract wants a number would then load).

    PYTHONPATH=src python benchmarks/ingest_check_cost.py LANDING \
        parse checked no_json_types parse checked no_json_types
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import shutil
import tempfile
import time

from pyspark.sql import functions as F

from theater.config import load_config
from theater.contracts import contract
from theater.engine import session
from theater.sources import landing as L
from theater.transforms.contract import JSON_TYPED, Limits, record_problems


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def parse(texts, c, limits):
    return L._from_text(texts, c, F.lit(True))


def checked(texts, c, limits):
    return parse(texts, c, limits).withColumn("_problems", record_problems(c, limits))


def no_json_types(texts, c, limits):
    rec = parse(texts, c, limits).withColumn(JSON_TYPED, F.lit(False))
    return rec.withColumn("_problems", record_problems(c, limits))


IMPLS = {"parse": parse, "checked": checked, "no_json_types": no_json_types}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("landing")
    ap.add_argument("variants", nargs="*", default=list(IMPLS))
    ap.add_argument("--dataset", default="interactions")
    ap.add_argument("--glob", default="*/*.jsonl", help="files under LANDING/DATASET")
    a = ap.parse_intermixed_args()
    cfg = load_config(env="local", environ={}, overrides={"spark.shuffle_partitions": 2})
    c, limits = contract(a.dataset), Limits.from_config(cfg)
    with session(cfg) as spark:
        files = sorted(glob.glob(os.path.join(a.landing, a.dataset, a.glob)))
        texts = (
            spark.read.text(files).where(F.trim("value") != "").select(F.col("value").alias("_raw"))
        )
        print(f"{len(files)} files, {texts.count()} lines", flush=True)
        out = tempfile.mkdtemp(prefix="check_cost_")
        try:
            for name in a.variants:
                shutil.rmtree(out, ignore_errors=True)
                c0, w0 = cpu(), time.time()
                IMPLS[name](texts, c, limits).write.parquet(out)
                print(f"{name:14s} cpu {cpu() - c0:6.2f} s  wall {time.time() - w0:6.2f} s")
        finally:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Ingest's checked write of one dataset alone, timed: the landing files listed, staged and
scanned as ingest does (``sources.landing.read_batch``), lineage joined, the contract checks
added (``stages.ingest.check_records``) and the good/bad split written as Parquet the way
``stages.ingest._checked`` writes it, ``--repeat`` times in one process (CPU s of the process:
the embedded Sail engine runs in it). Run it from each tree to compare two versions of the
parse and checks on the same files.

    PYTHONPATH=src python benchmarks/ingest_checked_write.py LANDING [--dataset interactions]
        [--kind text|text-gz|csv|parquet] [--repeat 3] [--bare]

``--kind``: only the files staged as that kind; ``--bare``: the bronze columns written without
the checks (what the parse, lineage and write cost alone). Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from datetime import datetime

from pyspark.sql import functions as F

from theater.config import load_config
from theater.engine import session
from theater.sources import landing as L
from theater.sources import limits as reader_limits
from theater.stages import ingest as I
from theater.transforms.contract import Limits


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def kind(p: L.Prepared) -> str:
    return p.kind + ("-gz" if p.kind == "text" and p.path.lower().endswith(".gz") else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("landing")
    ap.add_argument("--dataset", default="interactions")
    ap.add_argument("--kind")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bare", action="store_true")
    a = ap.parse_args()
    scratch = tempfile.mkdtemp(prefix="checked_write_")
    cfg = load_config(env="local", overrides={"paths.state": os.path.join(scratch, "state")})
    reader_limits.set_current(cfg)
    limits = Limits.from_config(cfg)
    files, _ = L.list_files(a.landing, a.dataset)
    preps = [L.prepare(f, os.path.join(scratch, "staging")) for f in files]
    if a.kind:
        keep = [i for i, p in enumerate(preps) if kind(p) == a.kind]
        files, preps = [files[i] for i in keep], [preps[i] for i in keep]
    print(f"{a.dataset}: {len(files)} files", flush=True)
    at = datetime(2026, 1, 1)
    try:
        with session(cfg) as spark:
            for n in range(a.repeat):
                farm = os.path.join(scratch, f"farm{n}")
                out = os.path.join(scratch, "out")
                shutil.rmtree(out, ignore_errors=True)
                c0, w0 = cpu(), time.time()
                scanned = L.read_batch(spark, a.dataset, preps, farm)
                records = I._with_lineage(spark, scanned, files, "b", at)
                columns = I._bronze_columns(a.dataset)
                if a.bare:
                    records.select(*columns).write.parquet(out)
                else:
                    checked = I.check_records(records, a.dataset, limits)
                    is_bad = F.size("_problems") > 0
                    checked.select(
                        *columns,
                        F.when(is_bad, F.col("_problems")).alias("_problems"),
                        F.when(is_bad, F.col("_raw")).alias("_raw"),
                        F.when(is_bad, F.lit("bad")).otherwise(F.lit("good")).alias(I.SPLIT),
                    ).write.partitionBy(I.SPLIT).parquet(out)
                print(
                    f"run {n + 1}: cpu {cpu() - c0:6.2f} s  wall {time.time() - w0:6.2f} s  "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

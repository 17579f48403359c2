"""Helpers for the fault-injection suite. Fault injection: the real ``theater`` command in subprocesses on a small generated month.

CI runs a seeded subset (one kill point per stage, chained on one lake; two and three concurrent
runs). ``THEATER_FAULTS_FULL=1`` runs 10 kill points per stage. ``THEATER_FAULTS_SEED`` changes
the kill offsets; ``THEATER_FAULTS_FIGURES=FILE`` appends one JSON line of figures per test
(what RELIABILITY.md reports).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from lake_tables import TABLES

FULL = os.environ.get("THEATER_FAULTS_FULL") == "1"
SEED = int(os.environ.get("THEATER_FAULTS_SEED", "20261130"))
START, END = date(2026, 7, 1), date(2026, 8, 1)
ROOT = Path(__file__).resolve().parents[2]

# Columns that legitimately differ between two runs on the same input: batch ids, ingest times,
# MLflow run ids. Everything else must be equal, row for row.
VOLATILE = {"_ingested_at", "_batch_id", "batch_id", "ingested_at", "run_id"}


def record_figures(name: str, **figures) -> None:
    path = os.environ.get("THEATER_FAULTS_FIGURES")
    if path:
        with open(path, "a") as fh:
            fh.write(
                json.dumps({"test": name, "full": FULL, "seed": SEED, **figures}, default=str)
                + "\n"
            )


def _canon(v):
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 9)
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in sorted(v.items())}
    return v if v is None or isinstance(v, (int, str, bool)) else str(v)


def snapshot(lake: Path, tables=TABLES) -> dict[str, Counter]:
    """Each table as a multiset of rows (volatile columns left out)."""
    from deltalake import DeltaTable

    out = {}
    for t in tables:
        p = lake / t
        if not DeltaTable.is_deltatable(str(p)):
            out[t] = Counter()
            continue
        df = DeltaTable(str(p)).to_pandas()
        cols = sorted(c for c in df.columns if c not in VOLATILE)
        rows = Counter()
        for rec in df[cols].to_dict("records"):
            rows[json.dumps({k: _canon(v) for k, v in rec.items()}, sort_keys=True)] += 1
        out[t] = rows
    return out


def diff(clean: dict[str, Counter], got: dict[str, Counter]) -> dict[str, dict[str, int]]:
    """Rows lost (in the clean run, not here) and doubled (here beyond the clean run)."""
    res = {}
    for t in clean:
        lost = sum((clean[t] - got.get(t, Counter())).values())
        extra = sum((got.get(t, Counter()) - clean[t]).values())
        res[t] = {"lost": lost, "doubled": extra}
    return res


def env_for(state: Path) -> dict:
    # THEATER_* variables are configuration for the CLI: keep the suite's own out of it
    env = {k: v for k, v in os.environ.items() if not k.startswith("THEATER_FAULTS_")}
    env.update(
        {
            "THEATER_PATHS__STATE": str(state),
            "THEATER_SPARK__SHUFFLE_PARTITIONS": "2",
            "RUST_LOG": "warn",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def theater(*args) -> list[str]:
    return [sys.executable, "-m", "theater.cli", *args]


def run_args(landing: Path, lake: Path, *extra, start: date = START, end: date = END) -> list[str]:
    return theater(
        "run",
        "--landing",
        str(landing),
        "--lake",
        str(lake),
        "--start",
        str(start),
        "--end",
        str(end),
        *extra,
    )


def start(cmd, env, log: Path) -> subprocess.Popen:
    fh = open(log, "wb")
    return subprocess.Popen(
        cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )


def run(cmd, env, log: Path, timeout=600) -> int:
    p = start(cmd, env, log)
    try:
        return p.wait(timeout=timeout)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def wait_for_line(log: Path, text: str, proc: subprocess.Popen, timeout=300) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if text in log.read_text(errors="replace"):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def kill9(proc: subprocess.Popen) -> None:
    """kill -9 the run and everything it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def raw_identifiers(landing: Path) -> set[str]:
    """Every raw user identifier in the landing zone (user ids, e-mail addresses)."""
    import csv

    ids: set[str] = set()
    for p in landing.rglob("*"):
        if p.suffix == ".csv":
            with open(p, newline="") as fh:
                for row in csv.DictReader(fh):
                    for k in ("user_id", "artifact_author_id"):
                        if row.get(k):
                            ids.add(row[k])
        elif p.name.endswith((".jsonl", ".jsonl.gz", ".json")):
            import gzip

            opener = gzip.open if p.name.endswith(".gz") else open
            with opener(p, "rt") as fh:
                text = fh.read()
            recs = []
            try:
                data = json.loads(text)
                recs = data if isinstance(data, list) else [data]
            except ValueError:
                for line in text.splitlines():
                    try:
                        recs.append(json.loads(line))
                    except ValueError:
                        pass
            for r in recs:
                if isinstance(r, dict):
                    for k in ("user_id", "artifact_author_id"):
                        if isinstance(r.get(k), str) and r[k]:
                            ids.add(r[k])
        elif p.suffix == ".parquet":
            import pyarrow.parquet as pq

            t = pq.read_table(p)
            for k in ("user_id", "artifact_author_id"):
                if k in t.column_names:
                    ids |= {v for v in t.column(k).to_pylist() if v}
    return {i for i in ids if len(i) >= 6}


def leaks(paths: list[Path], ids: set[str], skip=lambda p: False) -> list[str]:
    """Files (and the identifier) where a raw identifier appears. Parquet files are read (their
    pages are compressed); every other file is scanned as bytes."""
    import pyarrow.parquet as pq

    found = []
    needles = [i.encode() for i in ids] + [i.lower().encode() for i in ids if "@" in i]
    for root in paths:
        for p in root.rglob("*") if root.is_dir() else [root]:
            if not p.is_file() or skip(p):
                continue
            if p.suffix == ".parquet":
                try:
                    data = pq.read_table(p).to_pandas().to_csv().encode()
                except Exception:  # noqa: BLE001 - not a Parquet file after all: scan bytes
                    data = p.read_bytes()
            else:
                data = p.read_bytes()
            for n in needles:
                if n in data:
                    found.append(f"{p}: {n.decode()}")
                    break
    return found

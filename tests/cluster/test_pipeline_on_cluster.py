"""The whole pipeline on a real standalone Apache Spark cluster, against Sail.

Two small generated weeks (mixed landing formats: jsonl, jsonl.gz, json, csv, parquet) runs
three times, each in a process of its own (PySpark cannot hold a Spark Connect and a classic
session in one process), the two cluster runs side by side:

- Sail (the default engine, embedded): the reference;
- ``spark-submit --master spark://127.0.0.1:<port> --jars <Delta jars> jobs/run_all.py
  --engine spark``: the driver here, executors on the two workers;
- ``theater run --engine remote`` with ``remote_url: sc://127.0.0.1:<port>``: the Spark Connect
  server (Delta's extension and catalog) running as an application on the same cluster.

All three write Delta lakes. Gold (org index, interaction labels) and the quarantine must equal
Sail's exactly, floats within 1e-9, and every table keeps the protocol both engines share.
Tables are read here with delta-rs, not with Spark.

The weeks are generated without ``dirty``: Apache Spark's JSON reader accepts records Sail's
rejects (single-quoted keys), which moves rows between bronze and quarantine until landing
parsing is made the same on both engines (tests/spark covers dirty input in local mode).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cluster_suite import ROOT, spark_env, stop_all

from theater import synth
from theater.period import Period

# two ISO weeks: Apache Spark's cost grows with the number of landing files (one per tool-week)
PERIOD = Period.parse(start="2026-09-07", end="2026-09-21")
SEED, ORGS, USERS = 13, 5, 300
INDEX_KEY = ["org_id", "period_start", "period_end"]
LABEL_KEY = ["tool", "event_id"]
RUN = ["--start", str(PERIOD.start), "--end", str(PERIOD.end)]


def _check(proc: subprocess.CompletedProcess, what: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{out[-6000:]}"
    return out


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("cluster_month")
    summary = synth.generate(
        out,
        seed=SEED,
        n_orgs=ORGS,
        n_users=USERS,
        start=PERIOD.start,
        end=PERIOD.end,
        formats="mixed",
        dirty=False,
    )
    fmts = {p.name.split(".", 1)[1] for p in (out / "landing" / "interactions").rglob("*.*")}
    assert {"jsonl", "jsonl.gz", "json", "csv", "parquet"} <= fmts, fmts
    return {"out": out, "landing": str(out / "landing"), "summary": summary}


def _env(out: Path, name: str, **extra) -> dict:
    """Each run its own MLflow store (concurrent runs must not migrate one SQLite file), and
    Data Docs off (HTML pages are no part of the comparison and cost minutes on Apache Spark)."""
    return {
        **spark_env(out),
        "THEATER_QUALITY__DATA_DOCS": "false",
        "THEATER_PATHS__STATE": str(out / f"state-{name}"),
        **extra,
    }


@pytest.fixture(scope="module")
def runs(cluster, month):
    """The three runs at once: spark-submit and the Connect client start first (the cluster
    runs both applications side by side), the Sail reference runs while they work."""
    out = month["out"]
    lakes = {k: out / f"{k}_lake" for k in ("submit", "remote", "sail")}
    submit = cluster.spark_submit_popen(
        "--name",
        "theater-submit",
        str(ROOT / "jobs" / "run_all.py"),
        "--env",
        "local",
        "--engine",
        "spark",
        "--landing",
        month["landing"],
        "--lake",
        str(lakes["submit"]),
        *RUN,
        cwd=out,
        log=out / "submit.log",
        extra_env={k: v for k, v in _env(out, "submit").items() if k.startswith("THEATER_")},
    )
    with open(out / "remote.log", "w") as log:
        remote = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "theater.cli",
                "run",
                "--engine",
                "remote",
                "--landing",
                month["landing"],
                "--lake",
                str(lakes["remote"]),
                *RUN,
            ],
            cwd=out,
            env=_env(out, "remote", THEATER_REMOTE_URL=cluster.connect_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        sail = subprocess.run(
            [
                sys.executable,
                "-m",
                "theater.cli",
                "run",
                "--landing",
                month["landing"],
                "--lake",
                str(lakes["sail"]),
                *RUN,
            ],
            cwd=out,
            env=_env(out, "sail"),
            capture_output=True,
            text=True,
            timeout=900,
        )
        _check(sail, "Sail reference run")
        codes = {
            "spark-submit jobs/run_all.py": submit.wait(timeout=2400),
            "theater run --engine remote": remote.wait(timeout=2400),
        }
    finally:
        stop_all([submit, remote])  # by PID (process group), only if still running
    logs = {
        "submit": (out / "submit.log").read_text(errors="replace"),
        "remote": (out / "remote.log").read_text(errors="replace"),
    }
    for (what, code), text in zip(codes.items(), logs.values()):
        assert code == 0, f"{what} failed ({code}):\n{text[-6000:]}"
    return {"lakes": lakes, "logs": logs}


def _delta(lake: Path, table: str) -> pd.DataFrame:
    from deltalake import DeltaTable

    return DeltaTable(str(lake / table)).to_pandas()


def _py(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return None if v is pd.NaT else v


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float) or isinstance(b, float):
        return (
            b is not None
            and a is not None
            and not (isinstance(b, float) and math.isnan(b))
            and abs(a - b) <= 1e-9
        )
    if isinstance(a, pd.Timestamp) or isinstance(b, pd.Timestamp):
        return (
            pd.Timestamp(a).tz_localize(None) == pd.Timestamp(b).tz_localize(None)
            if a is not None and b is not None
            else a is b
        )
    return a == b


def _differences(
    ours: pd.DataFrame, sail: pd.DataFrame, key: list[str], name: str, ignore=()
) -> list[str]:
    cols = [c for c in sail.columns if c not in ignore]
    missing = sorted(set(cols) ^ {c for c in ours.columns if c not in ignore})
    if missing:
        return [f"columns differ: {missing}"]
    ra = {tuple(str(r[k]) for k in key): r for r in ours.to_dict("records")}
    rb = {tuple(str(r[k]) for k in key): r for r in sail.to_dict("records")}
    diffs = [f"{k}: only on {name if k in ra else 'Sail'}" for k in sorted(set(ra) ^ set(rb))]
    for k in sorted(set(ra) & set(rb)):
        for c in cols:
            x, y = _py(ra[k][c]), _py(rb[k][c])
            if not _same(x, y):
                diffs.append(f"{k} {c}: {name} {x!r}, Sail {y!r}")
    return diffs


def _compare_gold(lake: Path, sail: Path, name: str) -> None:
    idx_sail = _delta(sail, "gold/org_theater_index")
    idx = _delta(lake, "gold/org_theater_index")
    assert len(idx_sail) == ORGS
    published = idx_sail[~idx_sail["suppressed"]]
    assert len(published) >= 2 and published["theater_index"].notna().all(), (
        "the comparison needs published orgs"
    )
    diffs = _differences(idx, idx_sail, INDEX_KEY, name, ignore=("run_id",))
    assert not diffs, "org index:\n" + "\n".join(diffs[:40])

    lab_sail = _delta(sail, "gold/interaction_labels")
    lab = _delta(lake, "gold/interaction_labels")
    assert len(lab) == len(lab_sail) > 5000
    m = lab.merge(lab_sail, on=LABEL_KEY, suffixes=("", "_sail"), how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m["_merge"].value_counts()
    # NA (nothing measured) must be NA on both engines, and equal where measured
    assert (m["theater_probability"].isna() == m["theater_probability_sail"].isna()).all()
    assert (m["theater_probability"] - m["theater_probability_sail"]).abs().max() <= 1e-9

    def na_as_value(col):
        return m[col].astype(object).where(m[col].notna(), "NA").astype(str)

    assert (na_as_value("is_theater") == na_as_value("is_theater_sail")).all()
    assert (m["org_id"].fillna("") == m["org_id_sail"].fillna("")).all()
    assert (m["user_key"] == m["user_key_sail"]).all()
    assert [list(x) for x in m["flags"]] == [list(x) for x in m["flags_sail"]]
    for s in ("unused_output", "self_summary", "repeat_prompt", "fragmentation", "padding"):
        a, b = m[f"sig_{s}"], m[f"sig_{s}_sail"]
        assert (a.isna() == b.isna()).all() and (a[a.notna()] == b[b.notna()]).all(), s

    q_sail = (
        _delta(sail, "bronze/quarantine").groupby(["dataset", "reason"]).size().to_dict()
        if (sail / "bronze" / "quarantine").exists()
        else {}
    )
    q = (
        _delta(lake, "bronze/quarantine").groupby(["dataset", "reason"]).size().to_dict()
        if (lake / "bronze" / "quarantine").exists()
        else {}
    )
    assert q == q_sail


def test_spark_submit_on_standalone_cluster_equals_sail(runs):
    log = runs["logs"]["submit"]
    assert "engine spark (delta)" in log, log[-3000:]
    _compare_gold(runs["lakes"]["submit"], runs["lakes"]["sail"], "spark-submit")


def test_spark_connect_server_on_cluster_equals_sail(runs):
    assert "engine remote (delta)" in runs["logs"]["remote"], runs["logs"]["remote"][-3000:]
    _compare_gold(runs["lakes"]["remote"], runs["lakes"]["sail"], "Spark Connect")


def test_jobs_ran_on_the_cluster_executors(cluster, runs):
    """Both applications got executors from the standalone workers (not local mode)."""
    import json
    import urllib.request

    with urllib.request.urlopen(cluster.master_ui + "/json/", timeout=5) as r:
        state = json.load(r)
    apps = state["activeapps"] + state["completedapps"]
    names = {a["name"] for a in apps}
    assert {"theater-connect", "theater-submit"} <= names, names
    assert all(w["state"] == "ALIVE" for w in state["workers"]) and len(state["workers"]) == 2
    worker_dirs = list((cluster.work / "worker").rglob("app-*"))
    assert len(worker_dirs) >= 2, "no executor working directories on the workers"


def test_every_lake_keeps_the_protocol_both_engines_share(runs):
    """Reader 1, writer 2, no table features: what Sail writes, pinned on Apache Spark
    (theater.engine.delta_spark_conf), so a lake moves from either engine to the other."""
    from deltalake import DeltaTable

    seen = {}
    for name, lake in runs["lakes"].items():
        for log in sorted(lake.rglob("_delta_log")):
            p = DeltaTable(str(log.parent)).protocol()
            seen[(name, str(log.parent.relative_to(lake)))] = (
                p.min_reader_version,
                p.min_writer_version,
                p.reader_features,
                p.writer_features,
            )
    assert len(seen) >= 3 * 10, seen
    assert set(seen.values()) == {(1, 2, None, None)}, seen

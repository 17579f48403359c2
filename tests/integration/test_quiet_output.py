"""A default ``theater run`` is quiet: the project's own lines only, the demo-key banner once,
and ``--log-format json`` gives one JSON object per line.

The pipeline runs through the CLI in a subprocess (as a user or a scheduler starts it) on a
small generated period, with none of the logging variables set (no RUST_LOG, no
MLFLOW_LOGGING_LEVEL, no THEATER_LOG_LEVEL), so that every third-party default is in play:
the embedded Sail server's Rust log, Great Expectations, MLflow (tracking on, SQLite store).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date

import pytest

from theater import synth

START, END = date(2026, 7, 6), date(2026, 7, 27)
NOISE = (
    "Hint operation",
    "Persist operation",
    "Skipping registering",
    "Loading 'datasources'",
    "Created temporary directory",
    "Multiple declarations of metric",
    "mlflow.store",
    "alembic",
    "aborting",
)
BANNER = "using the built-in DEMO pseudonymization key"
RUST_LINE = re.compile(r"^\[\S+ +(TRACE|DEBUG|INFO|WARN|ERROR) ")  # env_logger
MLFLOW_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING) ")
TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) +")


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("quiet")
    synth.generate(root, seed=5, n_orgs=6, n_users=160, start=START, end=END)
    return root


def _run(root, name: str, *extra: str, processes: str | None = None) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("RUST_LOG", "MLFLOW_LOGGING_LEVEL", "THEATER_LOG_LEVEL", "THEATER_PSEUDONYM_KEY")
        and not k.startswith("THEATER_")
    }
    env["THEATER_PATHS__STATE"] = str(root / f"state-{name}")
    env["THEATER_SPARK__SHUFFLE_PARTITIONS"] = "2"
    if processes:
        env["THEATER_SPARK__STAGE_PROCESSES"] = processes
    cmd = [
        sys.executable,
        "-m",
        "theater.cli",
        "run",
        "--landing",
        str(root / "landing"),
        "--lake",
        str(root / f"lake-{name}"),
        "--start",
        str(START),
        "--end",
        str(END),
        *extra,
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=900, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _no_noise(proc) -> list[str]:
    lines = (proc.stdout + proc.stderr).splitlines()
    noisy = [
        ln
        for ln in lines
        if any(n in ln for n in NOISE) or RUST_LINE.match(ln) or MLFLOW_LINE.match(ln)
    ]
    assert not noisy, f"third-party noise in the output: {noisy[:10]}"
    assert sum(BANNER in ln for ln in lines) == 1, "the demo-key banner is shown exactly once"
    return lines


@pytest.mark.parametrize("processes", [None, "always"], ids=["default", "stage-processes"])
def test_default_run_shows_project_lines_only(landing, processes):
    # a small period runs in one process by default; "always" gives each stage its own
    # process, whose records the parent writes (and whose engine must be as quiet)
    proc = _run(landing, f"text-{processes}", processes=processes)
    _no_noise(proc)
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    # stderr is the log: every line is one of ours (time, level, message); nothing else
    strays = [ln for ln in err if not TEXT_LINE.match(ln)]
    assert not strays, f"lines that are not project log lines: {strays[:10]}"
    assert len(err) < 60, f"{len(err)} log lines for a small run"
    text = proc.stderr
    for stage in ("ingest", "refine", "score"):
        assert f"stage {stage}: done" in text
    assert "score: org index with" in text  # the milestones are there


def test_json_log_lines_parse_and_name_their_logger(landing):
    proc = _run(landing, "json", "--log-format", "json")
    _no_noise(proc)
    records = []
    for ln in proc.stderr.splitlines():
        if ln.strip():
            records.append(json.loads(ln))  # every line is one JSON object
    assert records
    for r in records:
        assert {"time", "level", "logger", "message"} <= set(r), r
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", r["time"]), r["time"]
        if r["level"] in ("DEBUG", "INFO", "WARNING"):
            assert r["logger"] == "theater" or r["logger"].startswith("theater."), r
    assert sum(BANNER in r["message"] for r in records) == 1
    assert any(r["message"].startswith("stage score: done") for r in records)

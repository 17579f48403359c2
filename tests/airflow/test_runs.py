"""The DAGs run for real with ``dag.test()``: local mode (the project's CLI on the embedded Sail
engine, Delta lake) and cluster mode (spark-submit of jobs/*.py against a Spark connection whose
master is local[2], Parquet lake since no Delta jars can be fetched here).

- quarterly, local mode: after the daily run of the quarter's last day has succeeded, the wait
  passes, score and report run, and a gold index and the report are left behind;
- a stage that exits with code 3 (a real data-quality failure: a batch with a high quarantine
  share) fails at once: one try, no retry, downstream not run, the failure callback names the
  stage and the period; exit code 1 is retried;
- quarterly, cluster mode: the same graph through SparkSubmitOperator.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
import pytest
from conftest import ROOT, project_bin, read_gold, theater

Q3_START = pendulum.datetime(2026, 7, 1, tz="UTC")
Q3_END = pendulum.datetime(2026, 10, 1, tz="UTC")


def _states(dr) -> dict[str, tuple[str, int]]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {
            ti.task_id: (str(ti.state), ti.try_number)
            for ti in dr.get_task_instances(session=session)
        }


@pytest.fixture(autouse=True)
def quick_retries(dagbag):
    """Retries stay on (3, with backoff) but without the minutes of delay, so that a test that
    goes wrong ends quickly instead of waiting for the retry schedule."""
    from datetime import timedelta

    tasks = [t for d in dagbag.dags.values() for t in d.tasks]
    saved = [(t, t.retry_delay) for t in tasks]
    for t in tasks:
        t.retry_delay = timedelta(0)
    yield
    for t, delay in saved:
        t.retry_delay = delay


@pytest.fixture()
def variables(monkeypatch, tmp_path):
    """Airflow Variables through the environment (AIRFLOW_VAR_*), as a deployment may set them."""

    def set_(**values):
        for k, v in values.items():
            monkeypatch.setenv(f"AIRFLOW_VAR_{k.upper()}", str(v))

    set_(
        theater_bin=project_bin("theater"),
        theater_workdir=tmp_path,
        theater_failure_log=tmp_path / "failures.log",
    )
    return set_


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    """A small generated quarter; silver built by the CLI (as a backfill would)."""
    out = tmp_path_factory.mktemp("af_quarter")
    theater(
        "generate",
        "--out",
        str(out),
        "--orgs",
        "4",
        "--users",
        "120",
        "--seed",
        "5",
        "--quarter",
        "2026Q3",
        cwd=out,
    )
    return out


def test_quarterly_runs_after_the_last_daily_run_and_leaves_index_and_report(
    dagbag, quarter, variables, tmp_path
):
    lake, reports = tmp_path / "lake", tmp_path / "reports"
    variables(theater_landing=quarter / "landing", theater_lake=lake, theater_reports_dir=reports)
    # the quarter's silver, as the daily runs (or a backfill) would have left it
    theater(
        "run",
        "--landing",
        str(quarter / "landing"),
        "--lake",
        str(lake),
        "--quarter",
        "2026Q3",
        "--stage",
        "ingest",
        "--stage",
        "refine",
        cwd=tmp_path,
    )

    # the daily run the quarterly run waits for: logical date 30 September (scheduled runs
    # have logical date = interval start; dag.test infers the interval before it)
    daily = dagbag.get_dag("theater_daily").test(
        logical_date=pendulum.datetime(2026, 9, 30, tz="UTC")
    )
    assert str(daily.state) == "success", _states(daily)
    assert {t: s for t, (s, _) in _states(daily).items()} == {
        "ingest": "success",
        "refine": "success",
    }

    run = dagbag.get_dag("theater_quarterly").test(
        logical_date=Q3_END, run_conf={"wait_for_daily": True}
    )
    states = _states(run)
    assert str(run.state) == "success", states
    assert (run.data_interval_start, run.data_interval_end) == (Q3_START, Q3_END)
    assert states == {
        "wait_for_daily": ("success", 1),
        "score": ("success", 1),
        "report": ("success", 1),
    }

    gold = read_gold(lake)
    q3 = [r for r in gold if r["period_start"] == "2026-07-01" and r["period_end"] == "2026-10-01"]
    assert len(q3) == 4
    assert any(r["suppressed"] == "False" and r["theater_index"] not in ("None", "nan") for r in q3)
    html = reports / "theater-report-2026Q3.html"
    assert html.exists() and html.stat().st_size > 10_000
    assert not (tmp_path / "failures.log").exists()


def _dq_landing(root: Path) -> Path:
    """One day's batch where a third of the records break the contract: the quarantine share
    is far over quality.quarantine_fail_share (5%), a critical expectation on bronze."""
    land = root / "landing"
    good = [
        {
            "event_id": f"g{i}",
            "event_ts": "2026-07-01T10:00:00Z",
            "user_id": f"u{i % 12}@x.org",
            "org_id": "o-1",
            "tool": "ide",
            "action": "chat",
        }
        for i in range(40)
    ]
    bad = [{"event_id": f"b{i}", "tool": "ide", "action": "chat"} for i in range(20)]
    (land / "interactions").mkdir(parents=True)
    (land / "interactions" / "day.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in good + bad)
    )
    (land / "directory").mkdir()
    (land / "directory" / "d.jsonl").write_text(
        json.dumps({"user_id": "u0@x.org", "org_id": "o-1", "valid_from": "2026-01-01"}) + "\n"
    )
    return land


def test_a_data_quality_failure_fails_the_stage_without_retry(dagbag, variables, tmp_path):
    land = _dq_landing(tmp_path)
    variables(theater_landing=land, theater_lake=tmp_path / "lake")
    dag = dagbag.get_dag("theater_daily")
    assert dag.task_dict["ingest"].retries == 3
    run = dag.test(logical_date=pendulum.datetime(2026, 7, 2, tz="UTC"))
    states = _states(run)
    assert str(run.state) == "failed"
    assert states["ingest"] == ("failed", 1), states  # one try of 4: no retry
    assert states["refine"][0] == "upstream_failed"
    lines = (tmp_path / "failures.log").read_text().splitlines()
    assert len(lines) == 1
    assert "stage 'ingest' failed for period [2026-07-01, 2026-07-02)" in lines[0]
    assert "data-quality gate failed (exit code 3): not retried" in lines[0]


def test_an_ordinary_failure_is_retried(dagbag, variables, tmp_path):
    """Exit code 1 (e.g. a lost executor) is retried (one retry here, to keep it short)."""
    fake = tmp_path / "theater"
    fake.write_text('#!/bin/sh\necho "theater: failed: RuntimeError: executor lost" >&2\nexit 1\n')
    fake.chmod(0o755)
    variables(theater_bin=fake, theater_landing=tmp_path, theater_lake=tmp_path / "lake")
    dag = dagbag.get_dag("theater_daily")
    ingest = dag.task_dict["ingest"]
    old = ingest.retries
    ingest.retries = 1
    try:
        run = dag.test(logical_date=pendulum.datetime(2026, 7, 3, tz="UTC"))
    finally:
        ingest.retries = old
    states = _states(run)
    assert states["ingest"] == ("failed", 2), states  # tried again once
    lines = (tmp_path / "failures.log").read_text().splitlines()
    assert "stage 'ingest' failed for period [2026-07-02, 2026-07-03)" in lines[-1]
    assert "exit code 1" in lines[-1]


def test_cluster_mode_spark_submits_the_jobs(dagbag, quarter, variables, tmp_path, monkeypatch):
    lake, reports = tmp_path / "lake", tmp_path / "reports"
    theater(
        "run",
        "--table-format",
        "parquet",
        "--landing",
        str(quarter / "landing"),
        "--lake",
        str(lake),
        "--quarter",
        "2026Q3",
        "--stage",
        "ingest",
        "--stage",
        "refine",
        cwd=tmp_path,
    )
    venv_bin = Path(project_bin("python")).parent
    # spark-submit of the project's virtualenv (pyspark), its Python for the driver
    monkeypatch.setenv("PATH", f"{venv_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYSPARK_PYTHON", str(venv_bin / "python"))
    monkeypatch.setenv("PYSPARK_DRIVER_PYTHON", str(venv_bin / "python"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_LOCAL", json.dumps({"conn_type": "spark", "host": "local[2]"})
    )
    variables(
        theater_mode="cluster",
        theater_spark_conn_id="spark_local",
        theater_jobs_dir=ROOT / "jobs",
        theater_spark_packages="",
        theater_spark_conf=json.dumps({"spark.log.level": "WARN", "spark.ui.enabled": "false"}),
        theater_extra_args="--engine spark --table-format parquet",
        theater_lake=lake,
        theater_reports_dir=reports,
    )
    run = dagbag.get_dag("theater_quarterly").test(
        logical_date=Q3_END, run_conf={"wait_for_daily": False}
    )
    states = _states(run)
    assert str(run.state) == "success", states
    gold = read_gold(lake, "parquet")
    assert len([r for r in gold if r["period_start"] == "2026-07-01"]) == 4
    assert (reports / "theater-report-2026Q3.html").exists()

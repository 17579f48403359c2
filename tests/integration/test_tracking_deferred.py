"""A pipeline run whose first stage starts before its MLflow run exists, and whose logging
after its start goes to one thread: the stage's child run keeps the stage's own start, a
failure is still recorded, an error while logging still fails the run; the gate asks for
the run id only when it first validates; the lake's lock is relabelled with the run's id."""

from __future__ import annotations

import time

import pytest
from mlflow import MlflowClient

from theater import tracking
from theater.config import load_config
from theater.lake import Lake
from theater.lock import LakeLock, read_owner
from theater.period import Period
from theater.quality.gate import Gate


def _cfg(tmp_path):
    return load_config(env="local", environ={}, overrides={"paths.state": str(tmp_path / "state")})


def _children(cfg, parent):
    client = MlflowClient(tracking.tracking_uri(cfg))
    return client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
    )


def test_a_stage_entered_before_the_run_exists_keeps_its_start(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = _cfg(tmp_path)
    before = int(time.time() * 1000)
    with tracking.PipelineRun(
        cfg, Period.quarter("2026Q3"), str(tmp_path / "lake"), background=True
    ) as run:
        with run.stage("ingest"):
            entered = int(time.time() * 1000)
            run_id = run.ready()  # as the first validation asks for it
        run.record_stage("ingest", {"rows": 3}, 1.0, 3)
    client = MlflowClient(tracking.tracking_uri(cfg))
    parent = client.get_run(run_id)
    assert parent.info.status == "FINISHED" and parent.data.metrics["ingest.rows"] == 3.0
    assert before <= parent.info.start_time <= entered
    (child,) = _children(cfg, parent)
    assert child.data.tags["stage"] == "ingest" and child.info.status == "FINISHED"
    assert before <= child.info.start_time <= entered <= child.info.end_time


def test_a_stage_failing_before_the_run_exists_fails_both(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = _cfg(tmp_path)
    with pytest.raises(RuntimeError, match="bad landing"):
        with tracking.PipelineRun(
            cfg, Period.quarter("2026Q3"), str(tmp_path / "lake"), background=True
        ) as run:
            with run.stage("ingest"):
                raise RuntimeError("bad landing")
    client = MlflowClient(tracking.tracking_uri(cfg))
    parent = client.get_run(run.run_id)
    assert parent.info.status == "FAILED"
    assert parent.data.tags["error"] == "RuntimeError: bad landing"
    (child,) = _children(cfg, parent)
    assert child.info.status == "FAILED"
    assert child.data.tags["error"] == "RuntimeError: bad landing"


def test_an_error_while_logging_fails_the_run_at_its_end(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = _cfg(tmp_path)

    def broken(self, *args):
        raise ConnectionError("store went away")

    monkeypatch.setattr(tracking.PipelineRun, "_log_stage", broken)
    with pytest.raises(ConnectionError, match="store went away"):
        with tracking.PipelineRun(
            cfg, Period.quarter("2026Q3"), str(tmp_path / "lake"), background=True
        ) as run:
            run.ready()
            run.record_stage("ingest", {"rows": 3}, 1.0, 3)
    parent = MlflowClient(tracking.tracking_uri(cfg)).get_run(run.run_id)
    assert parent.info.status == "FAILED"
    assert parent.data.tags["error"] == "ConnectionError: store went away"


def test_the_gate_asks_for_the_run_id_at_its_first_use(tmp_path):
    cfg = _cfg(tmp_path)
    asked = []

    def run_id():
        asked.append(1)
        return "abc123"

    gate = Gate(None, Lake(str(tmp_path / "lake"), "delta"), cfg, "ingest", run_id=run_id)
    gate.flush()  # nothing validated: nothing to append, nothing asked
    gate.cleanup()
    assert gate.results == [] and asked == []
    assert gate.ledger.run_id == "abc123" and gate.measure.run_id == "abc123"
    assert gate.run_id == "abc123" and asked == [1]


def test_the_lock_is_relabelled_with_the_run_id(tmp_path):
    lock = LakeLock(str(tmp_path / "lake"), "provisional")
    with lock:
        lock.relabel("mlflow-run")
        assert read_owner(lock.path)["run_id"] == "mlflow-run"
        assert not list(lock.path.parent.glob("*.new-*"))
    assert not lock.path.exists()  # released: the relabelled owner is still ours

"""The pipeline's MLflow run created in a background thread (``PipelineRun(background=True)``),
with a real local store: the same params, config and tags as a run created in the caller's
thread, and a failure before the run was made active (the engine's start, say) leaves it
FAILED with its error, never RUNNING."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from theater import tracking
from theater.config import load_config
from theater.period import Period


def _cfg(tmp_path):
    return load_config(env="local", environ={}, overrides={"paths.state": str(tmp_path / "state")})


def _run(cfg, run_id):
    return MlflowClient(tracking.tracking_uri(cfg)).get_run(run_id)


def test_a_background_run_logs_what_a_foreground_run_logs(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = _cfg(tmp_path)
    period = Period.quarter("2026Q3")
    lake = str(tmp_path / "lake")
    with tracking.PipelineRun(cfg, period, lake) as fg:
        pass
    with tracking.PipelineRun(cfg, period, lake, background=True) as bg:
        run_id = bg.ready()
        assert run_id == bg.run_id and len(run_id) == 32
        with bg.stage("ingest"):
            pass
        bg.record_stage("ingest", {"rows": 3}, 1.0, 3)
    a, b = _run(cfg, fg.run_id), _run(cfg, run_id)
    skip = {"theater.pid", "theater.proc_start"}  # this process both times, but read anew
    assert a.data.params == b.data.params and len(b.data.params) > 20
    tags_a = {k: v for k, v in a.data.tags.items() if k not in skip}
    tags_b = {k: v for k, v in b.data.tags.items() if k not in skip}
    assert tags_a == tags_b and tags_b["status"] == "FINISHED"
    assert b.info.status == "FINISHED" and b.data.metrics["ingest.rows"] == 3.0
    client = MlflowClient(tracking.tracking_uri(cfg))
    assert {x.path for x in client.list_artifacts(run_id)} >= {"config.yaml"}
    children = client.search_runs(
        [b.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'"
    )
    assert [c.data.tags["stage"] for c in children] == ["ingest"]


def test_a_failure_before_the_run_is_active_marks_it_failed(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = _cfg(tmp_path)
    with pytest.raises(RuntimeError, match="engine did not start"):
        with tracking.PipelineRun(
            cfg, Period.quarter("2026Q3"), str(tmp_path / "lake"), background=True
        ) as run:
            raise RuntimeError("engine did not start")
    got = _run(cfg, run.run_id)
    assert got.info.status == "FAILED"
    assert got.data.tags["status"] == "FAILED"
    assert got.data.tags["error"] == "RuntimeError: engine did not start"
    text = tracking.load_artifact_text(cfg, run.run_id, "error.txt")
    assert text == "RuntimeError: engine did not start\n"
    assert len(got.data.params) > 20  # what was logged before the failure stays


def test_an_error_creating_the_run_is_raised_by_ready(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = _cfg(tmp_path)

    def broken(cfg, exp_id):
        raise ConnectionError("store unreachable")

    monkeypatch.setattr(tracking, "fail_dead_runs", broken)
    with pytest.raises(ConnectionError, match="store unreachable"):
        with tracking.PipelineRun(
            cfg, Period.quarter("2026Q3"), str(tmp_path / "lake"), background=True
        ) as run:
            run.ready()
    assert run.run_id is None  # failed before the run was created: nothing left RUNNING
    exp = tracking.experiment_id(cfg)
    assert MlflowClient(tracking.tracking_uri(cfg)).search_runs([exp]) == []

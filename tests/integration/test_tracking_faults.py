"""MLflow with a real local store: MLFLOW_TRACKING_URI honoured on every call, runs left
RUNNING by a dead process marked FAILED, formula cells neutralised in the CSV artifact."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from mlflow import MlflowClient

from theater import tracking
from theater.config import load_config
from theater.period import Period


def _cfg(tmp_path):
    return load_config(env="local", environ={}, overrides={"paths.state": str(tmp_path / "state")})


def test_mlflow_tracking_uri_is_honoured_on_every_call(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    cfg = _cfg(tmp_path)
    for _ in range(3):
        exp = tracking.experiment_id(cfg)
        assert tracking.tracking_uri(cfg) == uri
    run = MlflowClient(uri).create_run(exp)
    assert tracking.get_run(cfg, run.info.run_id).info.run_id == run.info.run_id
    assert tracking.find_run(cfg, run.info.run_id) is not None
    assert not (tmp_path / "state" / "mlflow.db").exists()  # the default store was never used


def test_an_unknown_run_id_is_a_usage_error(tmp_path, monkeypatch):
    from theater.errors import UsageError

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'm.db'}")
    cfg = _cfg(tmp_path)
    tracking.experiment_id(cfg)
    with pytest.raises(UsageError, match="not found in sqlite"):
        tracking.get_run(cfg, "0" * 32)


def test_runs_left_running_by_a_dead_process_are_marked_failed(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    cfg = _cfg(tmp_path)
    exp = tracking.experiment_id(cfg)
    client = MlflowClient(uri)
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    killed = client.create_run(exp, tags={tracking.HOST_TAG: host, tracking.PID_TAG: str(dead.pid)})
    live = client.create_run(
        exp, tags={tracking.HOST_TAG: host, tracking.PID_TAG: str(os.getpid())}
    )
    remote = client.create_run(exp, tags={tracking.HOST_TAG: "other-host", tracking.PID_TAG: "1"})
    assert tracking.fail_dead_runs(cfg, exp) == [killed.info.run_id]
    status = {
        r: client.get_run(r).info.status
        for r in (killed.info.run_id, live.info.run_id, remote.info.run_id)
    }
    assert status == {
        killed.info.run_id: "FAILED",
        live.info.run_id: "RUNNING",
        remote.info.run_id: "RUNNING",
    }
    assert client.get_run(killed.info.run_id).data.tags["status"] == "FAILED"


def test_formula_cells_are_neutralised_in_the_exported_csv(tmp_path, monkeypatch):
    import io

    import pandas as pd

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'm.db'}")
    cfg = _cfg(tmp_path)
    rows = [
        {
            "org_id": '=HYPERLINK("http://x","y")',
            "suppressed": False,
            "theater_index": 12.5,
            "suppression_reason": None,
            "signal_a": -0.5,
        },
        {
            "org_id": "@SUM(1)",
            "suppressed": False,
            "theater_index": 20.0,
            "suppression_reason": None,
            "signal_a": 0.1,
        },
        {
            "org_id": "+1",
            "suppressed": True,
            "theater_index": None,
            "suppression_reason": "-min_users",
            "signal_a": None,
        },
        {
            "org_id": "\tx",
            "suppressed": True,
            "theater_index": None,
            "suppression_reason": "min_users",
            "signal_a": None,
        },
        {
            "org_id": "org-1",
            "suppressed": True,
            "theater_index": None,
            "suppression_reason": "min_users",
            "signal_a": None,
        },
    ]
    with tracking.PipelineRun(cfg, Period.quarter("2026Q3"), str(tmp_path / "lake")) as run:
        run.record_index(rows)
    text = tracking.load_artifact_text(cfg, run.run_id, "org_theater_index.csv")
    got = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(got["org_id"]) == [
        '\'=HYPERLINK("http://x","y")',
        "'@SUM(1)",
        "'+1",
        "'\tx",
        "org-1",
    ]
    assert list(got["suppression_reason"]) == ["", "", "'-min_users", "min_users", "min_users"]
    assert got["signal_a"].iloc[0] == "-0.5"  # numbers are not text cells: left alone
    assert tracking.neutralize_formula("-3") == "'-3" and tracking.neutralize_formula(-3) == -3

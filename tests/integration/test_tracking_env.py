"""Our own tracking URI stays in this process: MLflow's ``set_tracking_uri`` exports
``MLFLOW_TRACKING_URI``, and a process started afterwards (a stage process, a second
``theater`` command) must not take the last lake's store for one the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow

from theater import tracking
from theater.config import load_config


def _cfg(tmp_path, name):
    return load_config(env="local", environ={}, overrides={"paths.state": str(tmp_path / name)})


def _child_env_uri() -> str:
    code = "import os; print(os.environ.get('MLFLOW_TRACKING_URI', '<unset>'))"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_our_uri_is_not_exported_to_children(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    a, b = _cfg(tmp_path, "a"), _cfg(tmp_path, "b")
    tracking.experiment_id(a)
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert _child_env_uri() == "<unset>"
    # this process still logs to the store it chose, and a second lake gets its own
    assert mlflow.get_tracking_uri() == tracking.tracking_uri(a)
    tracking.experiment_id(b)
    assert mlflow.get_tracking_uri() == tracking.tracking_uri(b)
    assert tracking.tracking_uri(b).endswith("/b/mlflow.db")


def test_a_user_uri_is_kept_for_children(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'user.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    cfg = _cfg(tmp_path, "c")
    tracking.experiment_id(cfg)
    assert os.environ["MLFLOW_TRACKING_URI"] == uri
    assert _child_env_uri() == uri
    assert tracking.tracking_uri(cfg) == uri

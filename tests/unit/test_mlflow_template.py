"""A new local MLflow store is a copy of a template store built once per installed MLflow: the
migrations run once, a template keyed for another MLflow (or other migration scripts) is not
used, the copy opens in MLflow without a migration and takes runs as before, and without a
usable cache the store is created as MLflow creates it."""

import sqlite3

import mlflow
import mlflow.store.db.utils as db_utils
import mlflow.version
import pytest

from theater import mlflow_template, tracking


@pytest.fixture
def migrations(tmp_path, monkeypatch):
    """The number of times MLflow's schema migrations ran; the cache in tmp_path."""
    monkeypatch.setenv("THEATER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tracking, "_READY", set())
    calls = []
    upgrade = db_utils._upgrade_db

    def counted(engine):
        calls.append(str(engine.url))
        return upgrade(engine)

    monkeypatch.setattr(db_utils, "_upgrade_db", counted)
    return calls


def _templates(tmp_path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "cache" / "mlflow-template").glob("*.db"))


def test_the_template_is_built_once_and_copied(tmp_path, migrations):
    tracking._init_store_once(f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}")
    assert len(migrations) == 1  # the template's
    assert _templates(tmp_path) == [f"mlflow-{mlflow_template.template_key()}.db"]
    tracking._init_store_once(f"sqlite:///{tmp_path / 'b' / 'mlflow.db'}")
    assert len(migrations) == 1  # copied: no migration
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["mlflow.db", "mlflow.db.lock"]
    assert mlflow_template.main() == 0 and len(migrations) == 1  # the install step: a no-op


def test_a_template_for_another_mlflow_is_not_used(tmp_path, migrations, monkeypatch):
    tracking._init_store_once(f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}")
    monkeypatch.setattr(mlflow.version, "VERSION", "0.0.1")
    tracking._init_store_once(f"sqlite:///{tmp_path / 'b' / 'mlflow.db'}")
    assert len(migrations) == 2
    assert len(_templates(tmp_path)) == 2
    assert any(name.startswith("mlflow-0.0.1-") for name in _templates(tmp_path))


def test_the_key_follows_mlflows_migration_scripts(tmp_path, monkeypatch):
    scripts = tmp_path / "db_migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "versions" / "a1_first.py").write_text("revision = 'a1'\n")
    monkeypatch.setattr(mlflow_template, "_migrations_dir", lambda: scripts)
    before = mlflow_template.template_key()
    (scripts / "versions" / "b2_second.py").write_text("revision = 'b2'\ndown_revision = 'a1'\n")
    assert mlflow_template.template_key() != before


def test_a_copied_store_opens_without_migrating_and_logs_a_run(tmp_path, migrations):
    tracking._init_store_once(f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}")
    uri = f"sqlite:///{tmp_path / 'b' / 'mlflow.db'}"
    tracking._init_store_once(uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    db_utils._verify_schema(client._tracking_client.store.engine)  # MLflow's own check
    assert [e.name for e in client.search_experiments()] == ["Default"]
    exp = client.create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(exp).info.run_id
    client.log_param(run, "p", "1")
    client.log_metric(run, "m", 2.5)
    client.log_text(run, "hello\n", "a.txt")
    client.set_terminated(run)
    got = client.get_run(run)
    assert got.data.params == {"p": "1"} and got.data.metrics == {"m": 2.5}
    assert got.info.status == "FINISHED"
    assert [f.path for f in client.list_artifacts(run)] == ["a.txt"]
    assert len(migrations) == 1


def test_without_a_usable_cache_the_store_is_migrated_as_before(tmp_path, migrations, monkeypatch):
    (tmp_path / "not-a-dir").write_text("")
    monkeypatch.setenv("THEATER_CACHE", str(tmp_path / "not-a-dir"))
    uri = f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}"
    tracking._init_store_once(uri)
    assert len(migrations) == 1
    assert [e.name for e in mlflow.MlflowClient(tracking_uri=uri).search_experiments()] == [
        "Default"
    ]


def test_a_copy_mlflow_refuses_is_rebuilt(tmp_path, migrations):
    tracking._init_store_once(f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}")
    con = sqlite3.connect(mlflow_template.template_path())
    con.execute("update alembic_version set version_num = 'not-a-revision'")
    con.commit()
    con.close()
    uri = f"sqlite:///{tmp_path / 'b' / 'mlflow.db'}"
    tracking._init_store_once(uri)
    assert len(migrations) == 2
    assert [e.name for e in mlflow.MlflowClient(tracking_uri=uri).search_experiments()] == [
        "Default"
    ]


@pytest.mark.parametrize("name", ["THEATER_CACHE", "THEATER_DELTA_JARS"])
def test_folder_variables_are_not_configuration_keys(tmp_path, monkeypatch, name):
    # both name folders (the template cache, the Delta jars), not THEATER_<section>__<key>
    # overrides: a configuration load must not reject them as unknown keys
    from theater.config import load_config

    monkeypatch.setenv(name, str(tmp_path))
    assert load_config(env="local").engine


def test_the_install_step_prints_one_line(tmp_path):
    # `make install` builds the template: one line of ours, not MLflow's or alembic's INFO
    # lines about the tables it creates (a fresh interpreter, as make runs it)
    import os
    import subprocess
    import sys

    env = {**os.environ, "THEATER_CACHE": str(tmp_path)}
    env.pop("MLFLOW_LOGGING_LEVEL", None)
    out = subprocess.run(
        [sys.executable, "-m", "theater.mlflow_template"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = (out.stdout + out.stderr).splitlines()
    assert len(lines) == 1 and lines[0].startswith("MLflow template store: "), lines
    assert lines[0].endswith("(built)")

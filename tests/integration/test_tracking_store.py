"""A new local MLflow store is built in a scratch file and renamed into place: the same
tables and default experiment as MLflow's own creation, no scratch file left, and a failed
creation leaves no store behind."""

import sqlite3

import pytest

from theater import tracking


def _schema(db) -> list[list[str]]:
    """Each table's and index's definition as its sorted lines: MLflow's migrations emit a
    table's constraints in a different order from one creation to the next."""
    con = sqlite3.connect(db)
    try:
        statements = [r[0] or "" for r in con.execute("select sql from sqlite_master")]
    finally:
        con.close()
    return sorted(sorted(line.strip().rstrip(",") for line in s.splitlines()) for s in statements)


def test_a_new_store_has_mlflows_own_tables(tmp_path, monkeypatch):
    ours, theirs = tmp_path / "ours" / "mlflow.db", tmp_path / "theirs" / "mlflow.db"
    theirs.parent.mkdir()
    monkeypatch.setattr(tracking, "_READY", set())
    tracking._init_store_once(f"sqlite:///{ours}")
    import mlflow

    mlflow.MlflowClient(tracking_uri=f"sqlite:///{theirs}").search_experiments(max_results=1)
    assert _schema(ours) == _schema(theirs)
    names = [
        e.name for e in mlflow.MlflowClient(tracking_uri=f"sqlite:///{ours}").search_experiments()
    ]
    assert names == ["Default"]
    assert sorted(p.name for p in ours.parent.iterdir()) == ["mlflow.db", "mlflow.db.lock"]


def test_a_failed_creation_leaves_no_store(tmp_path, monkeypatch):
    import mlflow.store.db.utils as db_utils

    def broken(engine):
        with engine.begin() as con:
            con.exec_driver_sql("create table half_made (x int)")
        raise RuntimeError("migration failed")

    monkeypatch.setattr(db_utils, "_initialize_tables", broken)
    db = tmp_path / "mlflow.db"
    with pytest.raises(RuntimeError, match="migration failed"):
        tracking._create_store(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_store_created_meanwhile_is_kept(tmp_path, monkeypatch):
    import mlflow.store.db.utils as db_utils

    db = tmp_path / "mlflow.db"

    def another_client_was_first(engine):
        with engine.begin() as ours:
            ours.exec_driver_sql("create table ours (x int)")
        con = sqlite3.connect(db)
        con.execute("create table theirs (x int)")
        con.commit()
        con.close()

    monkeypatch.setattr(db_utils, "_initialize_tables", another_client_was_first)
    tracking._create_store(db)
    tables = " ".join(s for statement in _schema(db) for s in statement)
    assert "theirs" in tables and "ours" not in tables
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]

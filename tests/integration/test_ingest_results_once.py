"""Ingest's bookkeeping without extra engine queries (real Sail, Delta, GX suites).

- The gate's result records are appended to ``ops/dq_results`` once, at the end of the stage:
  every record the stage reports (``metrics["dq"]``) is in the table, each once.
- A stage that fails after some tables were validated still records their results.
- What ingest knows without asking the engine equals what the engine would say: bronze's
  column names per dataset, and the quarantine's type against its DDL text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from event_lines import event_lines, write_lines
from pyspark.sql import functions as F

from theater.contracts import DATASETS, contract
from theater.lake import Lake
from theater.stages import ingest


def _landing(root: Path) -> None:
    (root / "interactions").mkdir(parents=True)
    # 1 bad line of 31: under the share a file may lose, so the file loads
    write_lines(root / "interactions" / "a.jsonl", event_lines("e", 30) + ["{bad"])
    (root / "directory").mkdir()
    (root / "directory" / "people.csv").write_text(
        "user_id,org_id,valid_from\nu1,o1,2026-01-01\nu2,o1,2026-01-01\n"
    )


def _results(spark, lake: Lake, run_id: str) -> list[tuple]:
    rows = lake.read(spark, "ops/dq_results").where(F.col("run_id") == run_id).collect()
    return sorted((r.table_name, r.expectation, r.frame, r.success) for r in rows)


def test_every_result_the_stage_reports_is_recorded_once(tmp_path, spark, cfg):
    land, lake = tmp_path / "landing", Lake(str(tmp_path / "lake"))
    _landing(land)
    m = ingest.run(spark, lake, str(land), cfg=cfg, run_id="run-once")
    reported = sorted(
        (r["table_name"], r["expectation"], r["frame"], r["success"]) for r in m["dq"]
    )
    assert reported and _results(spark, lake, "run-once") == reported
    # both datasets' tables and the quarantine were validated
    assert {r[0] for r in reported} >= {"bronze/interactions", "bronze/directory"}
    assert "bronze/quarantine" in {r[0] for r in reported}


def test_a_stage_failing_late_still_records_what_it_validated(tmp_path, spark, cfg, monkeypatch):
    land, lake = tmp_path / "landing", Lake(str(tmp_path / "lake"))
    _landing(land)

    def fail(*args, **kwargs):
        raise RuntimeError("seats failed")

    monkeypatch.setattr(ingest.seats, "ingest", fail)
    with pytest.raises(RuntimeError, match="seats failed"):
        ingest.run(spark, lake, str(land), cfg=cfg, run_id="run-late")
    tables = {r[0] for r in _results(spark, lake, "run-late")}
    assert {"bronze/interactions", "bronze/directory", "bronze/quarantine"} <= tables


def test_bronze_names_are_the_bronze_columns_names(spark):
    for dataset in DATASETS:
        c = contract(dataset)
        cols = [*c.names, "_extra", *ingest.LINEAGE]
        frame = spark.createDataFrame([], ", ".join(f"`{n}` string" for n in cols))
        selected = frame.select(*ingest._bronze_columns(dataset))
        assert selected.columns == ingest._bronze_names(dataset), dataset


def test_quarantine_type_is_its_ddl(spark):
    parsed = spark.createDataFrame([], ingest.QUARANTINE_SCHEMA).schema
    assert ingest.QUARANTINE_TYPE == parsed
    assert ingest.QUARANTINE_TYPE.json() == parsed.json()

"""Apache Spark: plain CSV read by the engine's CSV reader gives the hand-worked rows of
tests/csv_landing.py (the ones Sail gives, tests/integration/test_ingest_csv_engine.py) and what
re-framing every CSV as JSON lines in Python gives on Apache Spark."""

from __future__ import annotations

from csv_landing import check_expected, write
from landing_batch import tables

from theater.lake import Lake
from theater.sources import landing as landing_mod
from theater.stages import ingest


def test_engine_read_csv_gives_the_hand_worked_rows(spark, loose, tmp_path, monkeypatch):
    write(tmp_path / "landing")
    engine = Lake(str(tmp_path / "engine"), "delta")
    ingest.run(spark, engine, str(tmp_path / "landing"), cfg=loose)
    check_expected(spark, engine)
    monkeypatch.setattr(landing_mod, "engine_reads_header", lambda header, c: False)
    python = Lake(str(tmp_path / "python"), "delta")
    ingest.run(spark, python, str(tmp_path / "landing"), cfg=loose)
    assert tables(spark, engine) == tables(spark, python)

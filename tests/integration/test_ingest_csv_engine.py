"""CSV read by the engine's CSV reader gives what re-framing it as JSON lines in Python gives:
the same bronze rows, the same quarantine rows (reasons, line numbers, raw text), the same
files-log rows. Files that are not plain (a ragged row, a quoted value across lines, a line
that is not UTF-8) are still re-framed by Python, mixed in the same batch with plain ones.
Real Sail and Delta tables."""

from __future__ import annotations

import pytest
from csv_landing import HEAD, PLAIN, D, check_expected, write
from landing_batch import LOOSE_OVERRIDES, tables

from theater.config import load_config
from theater.lake import Lake
from theater.sources import landing as landing_mod
from theater.stages import ingest

# a hand-made zone with many bad rows: the quarantine-share gate is loosened
LOOSE = load_config(env="local", environ={}, overrides=LOOSE_OVERRIDES)


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory):
    """The zone ingested twice: plain CSV read by the engine, and every CSV re-framed."""
    base = tmp_path_factory.mktemp("csv_engine")
    write(base / "landing")
    engine = Lake(str(base / "engine"))
    m_engine = ingest.run(spark, engine, str(base / "landing"), cfg=LOOSE)
    python = Lake(str(base / "python"))
    real = landing_mod.engine_reads_header
    landing_mod.engine_reads_header = lambda header, c: False
    try:
        m_python = ingest.run(spark, python, str(base / "landing"), cfg=LOOSE)
    finally:
        landing_mod.engine_reads_header = real
    return base, (engine, m_engine), (python, m_python)


def test_plain_files_go_to_the_engine_and_the_others_to_python(both, tmp_path):
    base = both[0]
    files, _ = landing_mod.list_files(str(base / "landing"), "interactions")
    kinds = {f.relpath[len(D) :]: landing_mod.prepare(f, str(tmp_path)).kind for f in files}
    assert {n for n, k in kinds.items() if k == "csv"} == PLAIN
    headers = {f.relpath[len(D) :]: f.csv_header for f in files}
    assert headers["p1.csv"] == (*HEAD.replace('"', "").split(","), "seat")
    assert headers["p2.csv"] == tuple(HEAD.replace('"', "").split(","))  # the BOM dropped


def test_engine_read_equals_python_reframing(spark, both):
    (_, (engine, m1), (python, m2)) = both
    assert tables(spark, engine) == tables(spark, python)
    assert m1["rows_loaded"] == m2["rows_loaded"]
    assert m1["rows_quarantined"] == m2["rows_quarantined"]


def test_the_hand_worked_rows(spark, both):
    check_expected(spark, both[1][0])


def test_one_plain_file_alone_reads_as_in_a_batch(spark, both, tmp_path):
    files, _ = landing_mod.list_files(str(both[0] / "landing"), "interactions")
    p1 = next(f for f in files if f.relpath == D + "p1.csv")
    prep = landing_mod.prepare(p1, str(tmp_path / "staging"))
    alone = landing_mod.read_prepared(spark, p1, prep)
    batch = landing_mod.read_batch(spark, "interactions", [prep], str(tmp_path / "farm"))
    cols = sorted(alone.columns)
    assert sorted(batch.columns) == sorted([*cols, "_file"])
    assert sorted(map(tuple, alone.select(cols).collect()), key=repr) == sorted(
        map(tuple, batch.select(cols).collect()), key=repr
    )
    assert alone.count() == 6

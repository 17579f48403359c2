"""Apache Spark: one ingest of a batch of files of every kind (one scan per kind, rows keyed to
their file by the ``_file`` partition of the staging farm) gives the hand-worked rows, line
numbers and files-log rows of tests/landing_batch.py, the ones Sail gives
(tests/integration/test_ingest_one_scan.py), with hard links and with symbolic links."""

from __future__ import annotations

from landing_batch import check_expected, tables, write_files

from theater.lake import Lake
from theater.sources import landing as landing_mod
from theater.stages import ingest


def test_a_mixed_batch_gives_the_hand_worked_rows_with_links_or_symlinks(
    spark, loose, tmp_path, monkeypatch
):
    got = {}
    for how in ("hard link", "symlink"):
        if how == "symlink":

            def refuse(*a, **k):
                raise OSError("refused by the test")

            monkeypatch.setattr(landing_mod.os, "link", refuse)
        root = tmp_path / how.replace(" ", "_") / "landing"
        write_files(root / "interactions")
        lake = Lake(str(root.parent / "lake"), "delta")
        m = ingest.run(spark, lake, str(root), cfg=loose)
        assert m["rows_loaded"]["interactions"] == 11
        assert m["rows_quarantined"]["interactions"] == 8
        check_expected(spark, lake)
        got[how] = tables(spark, lake)
    assert got["hard link"] == got["symlink"]

"""One ingest of a batch of files of every kind (one scan per kind, rows keyed to their file by
a Hive-style partition column) gives what ingesting the files one by one gives: the same bronze
rows and lineage, the same quarantine rows and line numbers, the same files-log rows, with hard
links, symbolic links or copies in the staging farm. Real Sail and Delta tables."""

from __future__ import annotations

import os

import pytest
from landing_batch import FILES, LOOSE_OVERRIDES, check_expected, tables, write_files

from theater.config import load_config
from theater.lake import Lake
from theater.sources import landing as landing_mod
from theater.stages import ingest

# The hand-made zone is a third bad records on purpose: the quarantine-share gate is loosened.
LOOSE = load_config(env="local", environ={}, overrides=LOOSE_OVERRIDES)


@pytest.fixture(scope="module")
def one_by_one(spark, tmp_path_factory):
    """Each file ingested alone (its own landing zone, same relative path), into one lake."""
    base = tmp_path_factory.mktemp("one_by_one")
    lake = Lake(str(base / "lake"))
    for i, name in enumerate(FILES):
        root = base / f"landing{i}"
        write_files(root / "interactions", [name])
        ingest.run(spark, lake, str(root), cfg=LOOSE)
    return tables(spark, lake), lake


def test_each_file_alone_gives_the_hand_worked_rows(spark, one_by_one):
    check_expected(spark, one_by_one[1])


@pytest.mark.parametrize("how", ["hard link", "symlink", "copy"])
def test_one_batch_equals_the_files_one_by_one(spark, tmp_path, one_by_one, monkeypatch, how):
    placed: list[str] = []
    real_place = landing_mod._place

    def refuse(*a, **k):
        raise OSError("refused by the test")

    if how != "hard link":
        monkeypatch.setattr(landing_mod.os, "link", refuse)
    if how == "copy":
        monkeypatch.setattr(landing_mod.os, "symlink", refuse)

    def place(src, dst):
        got = real_place(src, dst)
        placed.append(got)
        assert os.path.basename(os.path.dirname(dst)).startswith("_file=f")
        return got

    monkeypatch.setattr(landing_mod, "_place", place)
    root = tmp_path / "landing"
    write_files(root / "interactions")
    lake = Lake(str(tmp_path / "lake"))
    m = ingest.run(spark, lake, str(root), cfg=LOOSE)
    # 8 of the 9 readable files in the farm: r.jsonl (rejected) and z.jsonl (empty) never enter
    # it, g.parquet (a column named _file) is read alone
    assert placed == [how] * 8
    assert m["files_new"] == 11 and m["rows_loaded"]["interactions"] == 11
    assert m["rows_quarantined"]["interactions"] == 8
    assert [f["file"] for f in m["files_rejected"]] == ["interactions/r.jsonl"]
    check_expected(spark, lake)
    got, want = tables(spark, lake), one_by_one[0]
    for t in want:
        assert set(got[t]) - set(want[t]) == set() and set(want[t]) - set(got[t]) == set(), t
    assert got == want
    assert not os.path.exists(lake.path(ingest.STAGING))  # the farm went with the staging


def test_read_batch_keys_each_row_to_its_file(spark, tmp_path):
    """The scan alone: ``_file`` is a string key naming the file of each row."""
    inter = tmp_path / "interactions"
    names = write_files(inter, ["a.jsonl", "b.jsonl.gz", "e.parquet", "f.parquet"])
    staging = str(tmp_path / "staging")
    files = [
        landing_mod.LandingFile("interactions", str(inter / n), n, landing_mod._fmt_of(n), 0, "")
        for n in names
    ]
    preps = [landing_mod.prepare(f, staging) for f in files]
    df = landing_mod.read_batch(spark, "interactions", preps, str(tmp_path / "farm"))
    assert dict(df.dtypes)["_file"] == "string"
    got = sorted(
        ((r._file, r.event_id) for r in df.select("_file", "event_id").collect()), key=repr
    )
    # a.jsonl: 5 non-blank lines (bad ones are rows too until checked), b: 3, e: 2, f: 1
    assert got == sorted(
        [("f00000", e) for e in ("g1", None, "g3", "g4", "g2")]
        + [("f00001", e) for e in ("g5", "g6", None)]
        + [("f00002", "g11"), ("f00002", "g12"), ("f00003", "g13")],
        key=repr,
    )

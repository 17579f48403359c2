"""Good rows written once, straight into bronze (real Sail, Delta, GX suites).

On the embedded engine with Delta, ingest parses and checks each record once, in one write that
splits good rows (in bronze's shape) from bad ones; after the gate passes, the good rows' files
become the table's data files by one Delta commit, without a second copy. Hand-made landing:

- ``a.jsonl``: 30 good events and, on line 31, ``{bad`` (malformed): 1 of 31 quarantined (3%,
  under the 5% a file may lose), so the file loads: 30 bronze rows, 1 quarantine row with its
  text and line; the good rows' data files keep no record text.
- A second run with ``b.jsonl`` (5 good) appends one table version to the existing table.
- A table-wide gate failure (a suite edited to allow no action) writes no table version and
  leaves no data file in the table's folder; the next run (suite restored) loads the file.
- A data file a dead run moved into the table's folder but never committed is removed by the
  next run; the table's rows are unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from event_lines import event_lines, write_lines

from theater.errors import DataQualityError
from theater.lake import Lake
from theater.stages import ingest


def _table_files(lake: Lake, table: str) -> tuple[set[str], set[str]]:
    """(data files the table lists, Parquet files in its folder)."""
    path = lake.path(table)
    listed = {os.path.basename(u) for u in DeltaTable(path).file_uris()}
    on_disk = {n for n in os.listdir(path) if n.endswith(".parquet")}
    return listed, on_disk


def _ids(spark, lake: Lake) -> list[str]:
    rows = lake.read(spark, "bronze/interactions").select("event_id").collect()
    return sorted(r.event_id for r in rows)


def test_good_rows_become_bronze_data_files_and_only_bad_rows_keep_text(tmp_path, spark, cfg):
    land, lake = tmp_path / "landing", Lake(str(tmp_path / "lake"))
    write_lines(land / "interactions" / "a.jsonl", event_lines("a", 30) + ["{bad"])
    m = ingest.run(spark, lake, str(land), cfg=cfg)
    assert m["rows_loaded"]["interactions"] == 30 and m["rows_quarantined"]["interactions"] == 1
    table = "bronze/interactions"
    assert _ids(spark, lake) == sorted(f"a{i}" for i in range(30))
    listed, on_disk = _table_files(lake, table)
    assert listed == on_disk and listed
    # the files of this batch's good rows, as written by the checked write (not copied)
    assert all(n.startswith(f"{ingest.COMMITTED_PREFIX}{m['batch_id']}-") for n in listed)
    # created empty by the engine, then one commit of the files: no rewrite of the rows
    assert lake.version(table) == 1
    for name in listed:
        data = pq.read_table(os.path.join(lake.path(table), name))
        assert data.num_rows > 0
        # the two quarantine columns are null in bronze's files: no record text for good rows
        assert data.column("_raw").null_count == data.num_rows
        assert data.column("_problems").null_count == data.num_rows
    # the table reads by its schema: the same columns as ever, no quarantine column
    assert "_raw" not in lake.read(spark, table).columns
    q = lake.read(spark, "bronze/quarantine").collect()
    assert [(r._source_file, r.line_number, r.reason_kind, r.raw_record) for r in q] == [
        ("interactions/a.jsonl", 31, "malformed_line", "{bad")
    ]

    # the next batch: one table version more, its files beside the first batch's
    write_lines(land / "interactions" / "b.jsonl", event_lines("b", 5))
    m2 = ingest.run(spark, lake, str(land), cfg=cfg)
    assert m2["rows_loaded"]["interactions"] == 5 and m2["files_skipped_already_loaded"] == 1
    assert lake.version(table) == 2
    listed2, on_disk2 = _table_files(lake, table)
    assert listed2 == on_disk2 and listed < listed2
    assert _ids(spark, lake) == sorted([f"a{i}" for i in range(30)] + [f"b{i}" for i in range(5)])


def _strict_cfg(tmp_path: Path):
    """The suites with bronze/interactions allowing no action: a table-wide critical failure."""
    from theater.config import load_config

    root = Path(__file__).resolve().parents[2]
    suites = tmp_path / "suites"
    shutil.copytree(root / "expectations", suites)
    path = suites / "bronze_interactions.json"
    suite = json.loads(path.read_text())
    for e in suite["expectations"]:
        if e["meta"]["name"] == "action_in_set":
            e["kwargs"]["value_set"] = ["none-allowed"]
    path.write_text(json.dumps(suite))
    overrides = {"quality.suites_dir": str(suites), "quality.data_docs": False}
    return load_config(env="local", environ={}, overrides=overrides)


def test_a_table_wide_gate_failure_writes_no_version_and_leaves_no_file(tmp_path, spark, cfg):
    land, lake = tmp_path / "landing", Lake(str(tmp_path / "lake"))
    table = "bronze/interactions"
    write_lines(land / "interactions" / "a.jsonl", event_lines("a", 4))
    ingest.run(spark, lake, str(land), cfg=cfg)
    version, files = lake.version(table), _table_files(lake, table)
    write_lines(land / "interactions" / "b.jsonl", event_lines("b", 3))
    with pytest.raises(DataQualityError) as info:
        ingest.run(spark, lake, str(land), cfg=_strict_cfg(tmp_path))
    assert "interactions/b.jsonl" in str(info.value) and "action_in_set" in str(info.value)
    assert lake.version(table) == version  # no table version for the held-back rows
    assert _table_files(lake, table) == files  # and no data file moved into the folder
    assert _ids(spark, lake) == sorted(f"a{i}" for i in range(4))
    m = ingest.run(spark, lake, str(land), cfg=cfg)
    assert m["rows_loaded"]["interactions"] == 3
    assert _ids(spark, lake) == sorted([f"a{i}" for i in range(4)] + [f"b{i}" for i in range(3)])


def test_a_data_file_a_dead_run_never_committed_is_removed(tmp_path, spark, cfg):
    land, lake = tmp_path / "landing", Lake(str(tmp_path / "lake"))
    table = "bronze/interactions"
    write_lines(land / "interactions" / "a.jsonl", event_lines("a", 4))
    ingest.run(spark, lake, str(land), cfg=cfg)
    (listed, _), version = _table_files(lake, table), lake.version(table)
    # what a run killed between moving its files in and committing them leaves behind
    stray = f"{ingest.COMMITTED_PREFIX}b20260101T000000-deadbeef-0.parquet"
    shutil.copy(os.path.join(lake.path(table), sorted(listed)[0]), lake.path(table) + "/" + stray)
    assert _ids(spark, lake) == sorted(f"a{i}" for i in range(4))  # never part of the table
    write_lines(land / "interactions" / "b.jsonl", event_lines("b", 2))
    ingest.run(spark, lake, str(land), cfg=cfg)
    listed2, on_disk2 = _table_files(lake, table)
    assert stray not in on_disk2 and listed2 == on_disk2
    assert lake.version(table) == version + 1
    assert _ids(spark, lake) == sorted([f"a{i}" for i in range(4)] + [f"b{i}" for i in range(2)])


def test_a_committed_file_a_later_delete_removed_is_kept_for_older_versions(tmp_path, spark, cfg):
    land, lake = tmp_path / "landing", Lake(str(tmp_path / "lake"))
    table = "bronze/interactions"
    write_lines(land / "interactions" / "a.jsonl", event_lines("a", 4))
    ingest.run(spark, lake, str(land), cfg=cfg)
    (first, _), version = _table_files(lake, table), lake.version(table)
    lake.delete(spark, table, "event_id = 'a0'")  # rewrites the batch's file: no longer listed
    assert not first & _table_files(lake, table)[0]
    write_lines(land / "interactions" / "b.jsonl", event_lines("b", 2))
    ingest.run(spark, lake, str(land), cfg=cfg)
    on_disk = _table_files(lake, table)[1]
    assert first <= on_disk  # still named by the log: the older version needs it
    old = lake.read(spark, table, version=version).select("event_id").collect()
    assert sorted(r.event_id for r in old) == sorted(f"a{i}" for i in range(4))
    assert _ids(spark, lake) == sorted([f"a{i}" for i in range(1, 4)] + ["b0", "b1"])

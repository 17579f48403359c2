"""Bronze's data files in row groups of ``ingest.BRONZE_ROW_GROUP_ROWS`` rows (real Sail, Delta).

The engine splits a scan of one Parquet file between its cores by row group, never inside one:
a batch's good rows, one file per group of landing files, are written in row groups of at most
``BRONZE_ROW_GROUP_ROWS`` rows so that refine's reads of that one file run on every core. Here
the limit is cut to 8 rows: 30 good events make one data file of 4 row groups (8, 8, 8, 6),
holding the same rows.
"""

from __future__ import annotations

import os

import pyarrow.parquet as pq
from deltalake import DeltaTable
from event_lines import event_lines, write_lines

from theater.lake import Lake
from theater.stages import ingest


def test_bronze_files_are_cut_into_row_groups(tmp_path, spark, cfg, monkeypatch):
    monkeypatch.setattr(ingest, "BRONZE_ROW_GROUP_ROWS", 8)
    land, lake = tmp_path / "landing", Lake(str(tmp_path / "lake"))
    path = land / "interactions" / "a.jsonl"
    path.parent.mkdir(parents=True)
    write_lines(path, event_lines("a", 30))
    m = ingest.run(spark, lake, str(land), cfg=cfg)
    assert m["rows_loaded"]["interactions"] == 30
    table = lake.path("bronze/interactions")
    files = [os.path.join(table, os.path.basename(u)) for u in DeltaTable(table).file_uris()]
    assert len(files) == 1
    meta = pq.read_metadata(files[0])
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [8, 8, 8, 6]
    rows = lake.read(spark, "bronze/interactions").select("event_id").collect()
    assert sorted(r.event_id for r in rows) == sorted(f"a{i}" for i in range(30))

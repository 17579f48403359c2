"""A batch's checked rows written as one file per group of landing files (real Sail, Delta).

``ingest.group_bytes`` bounds the landing bytes behind one written data file, so that refine,
which re-partitions bronze one group of data files at a time, never meets a large batch as one
file. A bound of 1 byte puts each landing file in a group by itself. Hand-made landing:
``a.jsonl`` (6 good events), ``b.jsonl`` (4), ``c.jsonl`` (30, and ``{bad`` on line 31 in the
second world: 1 of 31, under the share a file may lose, so it loads), plus ``ragged.csv`` in the second world (1 of 4 records ragged: rejected by the
gate's per-file share, its rows never loaded).

- Clean landing: with the default (one group) bronze gets one data file, as a single write
  gives; with 1 byte it gets one per landing file, with the same rows, and no data file holds
  the group column. Refine then re-partitions bronze in several data file groups.
- With a gate-rejected file in the batch: the other files lose nothing, the same rows as with
  the default, and the bad record of c.jsonl is quarantined alike.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from event_lines import event_lines, write_lines

from theater.bronze import read_committed
from theater.errors import DataQualityError
from theater.lake import Lake
from theater.stages import ingest, refine

#: lineage that differs between two runs of one landing
PER_RUN = {"_batch_id", "_ingested_at"}


def _landing(root: Path, rejected: bool) -> Path:
    inter = root / "interactions"
    write_lines(inter / "a.jsonl", event_lines("a", 6))
    write_lines(inter / "b.jsonl", event_lines("b", 4))
    write_lines(inter / "c.jsonl", event_lines("c", 30) + (["{bad"] if rejected else []))
    if rejected:
        header = "event_id,event_ts,user_id,org_id,tool,action\n"
        good = [f"r{i},2026-07-06T11:00:00Z,u1,o1,ide,chat\n" for i in range(3)]
        ragged = "r9,2026-07-06T11:00:00Z,u1,o1,ide\n"  # one field short
        (inter / "ragged.csv").write_text(header + "".join(good[:2]) + ragged + good[2])
    return root


def _rows(spark, lake: Lake, table: str) -> list[tuple]:
    df = read_committed(spark, lake, table)
    cols = sorted(c for c in df.columns if c not in PER_RUN)
    return sorted(tuple(str(v) for v in r) for r in df.select(*cols).collect())


def _data_files(lake: Lake, table: str) -> list[str]:
    path = lake.path(table)
    return [os.path.join(path, os.path.basename(u)) for u in DeltaTable(path).file_uris()]


def _ingest(spark, cfg, land: Path, lake: Lake, rejected: bool) -> dict:
    if not rejected:
        return ingest.run(spark, lake, str(land), cfg=cfg)
    with pytest.raises(DataQualityError, match="ragged.csv"):
        ingest.run(spark, lake, str(land), cfg=cfg)
    return {}


@pytest.mark.parametrize("rejected", [False, True])
def test_groups_of_landing_files_give_several_files_and_the_same_rows(
    tmp_path, spark, cfg, rejected
):
    land = _landing(tmp_path / "landing", rejected)
    tiny = cfg.with_overrides({"ingest.group_bytes": 1})
    lakes = {}
    for name, c in (("default", cfg), ("tiny", tiny)):
        lakes[name] = Lake(str(tmp_path / f"lake-{name}"))
        _ingest(spark, c, land, lakes[name], rejected)
    table = "bronze/interactions"
    default, tiny_rows = (_rows(spark, lakes[k], table) for k in ("default", "tiny"))
    assert tiny_rows == default
    ids = sorted(r.event_id for r in read_committed(spark, lakes["tiny"], table).collect())
    assert ids == sorted(
        [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(4)] + [f"c{i}" for i in range(30)]
    )
    for k in ("default", "tiny"):  # the rejected file's rows never loaded
        assert _rows(spark, lakes[k], "bronze/quarantine") == _rows(
            spark, lakes["default"], "bronze/quarantine"
        )
    if rejected:
        q = read_committed(spark, lakes["tiny"], "bronze/quarantine").collect()
        assert sorted((r._source_file, r.line_number) for r in q) == [
            ("interactions/c.jsonl", 31),
            ("interactions/ragged.csv", 4),
        ]
        return
    assert len(_data_files(lakes["default"], table)) == 1
    files = _data_files(lakes["tiny"], table)
    assert len(files) == 3  # one per landing file
    for f in files:
        assert ingest.GROUP not in pq.read_schema(f).names
        assert ingest.SPLIT not in pq.read_schema(f).names


def test_refine_re_partitions_the_groups_one_at_a_time(tmp_path, spark, cfg, monkeypatch, caplog):
    land = _landing(tmp_path / "landing", rejected=False)
    lake = Lake(str(tmp_path / "lake"))
    ingest.run(spark, lake, str(land), cfg=cfg.with_overrides({"ingest.group_bytes": 1}))
    bronze = refine.with_vendor_columns(read_committed(spark, lake, "bronze/interactions"))
    monkeypatch.setattr(refine, "STAGE_BRONZE_FROM", 1)
    staging = str(tmp_path / "staging")
    with caplog.at_level(logging.INFO, logger=refine.log.name):
        part = refine._event_rows(spark, lake, bronze, lambda df: df, 3, staging)
    groups = [m for m in caplog.messages if "data file group" in m]
    # refine's groups balance bytes over at most 3: here a.jsonl and b.jsonl, then c.jsonl
    assert len(groups) >= 2 and groups[-1].endswith(f"of {len(groups)}")
    assert sum(p.count() for b in range(3) if (p := part(b)) is not None) == 40
    shutil.rmtree(staging)

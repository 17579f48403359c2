"""Ingest of vendor exports on Sail with real Delta tables: recognition of files in folders that
name no format, unknown files warned, bad records quarantined with line and full text, an
undecodable .json.gz rejected and recorded, re-ingest adding nothing, identities, and a gate
failure that tells the user what to do."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from theater.bronze import read_committed
from theater.errors import DataQualityError
from theater.lake import Lake
from theater.sources.stream import iter_records
from theater.stages import ingest

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
COPILOT = FIX / "github_copilot_users" / "org_users_1_day.jsonl"
CURSOR = FIX / "cursor_usage_events" / "filtered_usage_events_page1.json"


def _rows(spark, lake, table):
    return [r.asDict() for r in lake.read(spark, table).collect()]


@pytest.fixture(scope="module")
def first(tmp_path_factory, spark, cfg):
    root = tmp_path_factory.mktemp("ingest_vendor")
    landing = root / "landing"
    named = landing / "vendor" / "github_copilot_users" / "2026" / "03"
    named.mkdir(parents=True)
    lines = COPILOT.read_text().splitlines()  # lines 1, 2: good (3 + 2 user_days rows)
    bad_line = (
        '{"day": "2026-03-02", "user_login": "carol-gh", "user_initiated_interaction_count": '
    )
    no_login = json.loads(lines[0])
    del no_login["user_login"], no_login["user_id"]
    # line 2 is broken (cut off), line 3 has no user at all
    (named / "users.jsonl").write_text(
        "\n".join([lines[0], bad_line, json.dumps(no_login), lines[1]]) + "\n"
    )
    unnamed = landing / "vendor" / "from-procurement"
    unnamed.mkdir(parents=True)
    # recognised by content: Cursor's wrapper with the fixture's two good events
    good = [r.record for r in iter_records(str(CURSOR))][:2]
    (unnamed / "export (1).json").write_text(
        json.dumps({"totalUsageEventsCount": 2, "usageEvents": good}, indent=1)
    )
    (unnamed / "notes.txt").write_text("not data\n")  # unknown extension
    (unnamed / "other.json").write_text('{"foo": 1, "bar": 2}\n')  # matches no format
    gz = landing / "vendor" / "cursor_usage_events" / "broken.json.gz"
    gz.parent.mkdir(parents=True)
    gz.write_bytes(gzip.compress(CURSOR.read_bytes())[:-20])  # truncated gzip
    ids = landing / "identities"
    ids.mkdir()
    (ids / "map.csv").write_text(
        "alias,alias_kind,user_id,shared\n"
        "alice-gh,github_login,u-alice,\n"
        "bob-gh,github_login,u-bob,false\n"
        ",github_login,u-nobody,\n"
    )
    (landing / "stray.csv").write_text("a,b\n1,2\n")
    lake = Lake(str(root / "lake"))
    metrics = ingest.run(spark, lake, str(landing), cfg=cfg)
    return {"root": root, "landing": landing, "lake": lake, "metrics": metrics}


def test_named_and_recognised_files_load(spark, first):
    lake = first["lake"]
    ud = _rows(spark, lake, "bronze/user_days")
    src = {r["_source_file"] for r in ud}
    assert src == {"vendor/github_copilot_users/2026/03/users.jsonl"}
    assert {"alice-gh", "bob-gh"} <= {r["user_id"] for r in ud}
    assert "carol-gh" not in {r["user_id"] for r in ud}
    assert len(ud) == 5 and sorted({r["_line"] for r in ud}) == [1, 4]
    assert {r["source_format"] for r in ud} == {"github_copilot_users"}
    events = [
        r
        for r in _rows(spark, lake, "bronze/interactions")
        if r["_source_file"] == "vendor/from-procurement/export (1).json"
    ]
    assert sorted(r["_line"] for r in events) == [1, 2]
    assert {r["source_format"] for r in events} == {"cursor_usage_events"}
    assert {r["user_alias_kind"] for r in events} == {"email"}
    log = {r["source_file"]: r for r in _rows(spark, lake, "ops/ingested_files")}
    assert log["vendor/from-procurement/export (1).json"]["dataset"] == "vendor/cursor_usage_events"
    assert log["vendor/from-procurement/export (1).json"]["rows_loaded"] == 2
    assert log["vendor/from-procurement/export (1).json"]["rows_quarantined"] == 0


def test_unknown_files_and_folders_are_warned(first):
    skipped = {f["file"]: f["reason"] for f in first["metrics"]["files_skipped"]}
    assert "not .json" in skipped["vendor/from-procurement/notes.txt"]
    assert "matches no single vendor format" in skipped["vendor/from-procurement/other.json"]
    assert "stray.csv" in skipped


def test_malformed_vendor_records_quarantined_with_line_and_full_text(spark, first):
    q = [
        r
        for r in _rows(spark, first["lake"], "bronze/quarantine")
        if r["dataset"] == "vendor/github_copilot_users"
    ]
    by_line = {r["line_number"]: r for r in q}
    assert sorted(by_line) == [2, 3]
    assert by_line[2]["reason_kind"] == "malformed_line"
    assert by_line[2]["raw_record"].startswith('{"day": "2026-03-02", "user_login": "carol-gh"')
    assert by_line[3]["reason_kind"] == "missing_required"
    raw3 = json.loads(by_line[3]["raw_record"])
    assert raw3["totals_by_feature"] and raw3["organization_id"] == "4410"  # all fields kept


def test_bad_gzip_rejected_and_recorded(spark, first):
    log = {r["source_file"]: r for r in _rows(spark, first["lake"], "ops/ingested_files")}
    rec = log["vendor/cursor_usage_events/broken.json.gz"]
    assert rec["status"] == "rejected" and "gzip" in rec["reason"]
    assert any(
        f["file"] == "vendor/cursor_usage_events/broken.json.gz"
        for f in first["metrics"]["files_rejected"]
    )
    n = (
        first["lake"]
        .read(spark, "bronze/interactions")
        .where(F.col("_source_file") == "vendor/cursor_usage_events/broken.json.gz")
        .count()
    )
    assert n == 0


def test_identities_loaded_and_bad_row_quarantined(spark, first):
    ids = _rows(spark, first["lake"], "bronze/identities")
    assert sorted((r["alias"], r["user_id"], r["shared"]) for r in ids) == [
        ("alice-gh", "u-alice", None),
        ("bob-gh", "u-bob", "false"),
    ]
    q = [
        r for r in _rows(spark, first["lake"], "bronze/quarantine") if r["dataset"] == "identities"
    ]
    assert [(r["line_number"], r["reason"]) for r in q] == [(4, "missing_required: alias")]


def test_staging_removed(first):
    assert not (Path(first["lake"].root) / "ops" / "_staging").exists()


def test_reingest_adds_nothing(spark, cfg, first):
    lake = first["lake"]
    tables = [
        "bronze/interactions",
        "bronze/user_days",
        "bronze/identities",
        "bronze/quarantine",
        "ops/ingested_files",
    ]
    before = {t: lake.read(spark, t).count() for t in tables}
    m = ingest.run(spark, lake, str(first["landing"]), cfg=cfg)
    assert m["files_new"] == 0 and m["files_skipped_already_loaded"] >= 3
    assert {t: lake.read(spark, t).count() for t in tables} == before


def test_vendor_file_in_native_folder_fails_the_gate_with_an_actionable_message(
    tmp_path, spark, cfg
):
    landing = tmp_path / "landing"
    (landing / "interactions").mkdir(parents=True)
    shutil.copy(COPILOT, landing / "interactions" / "copilot.jsonl")
    shutil.copy(CURSOR, landing / "interactions" / "cursor.json")
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(DataQualityError) as info:
        ingest.run(spark, lake, str(landing), cfg=cfg)
    msg = str(info.value)
    assert "interactions/copilot.jsonl" in msg and "interactions/cursor.json" in msg
    assert (
        "looks like github_copilot_users: put it under landing/vendor/github_copilot_users/" in msg
    )
    assert "looks like cursor_usage_events: put it under landing/vendor/cursor_usage_events/" in msg
    # each file: 5 records, one of them malformed JSON
    assert "missing_required: event_id (8)" in msg
    assert "malformed_line: not a JSON object (2)" in msg
    # the quarantine and its reasons are written, one record per wrapped element
    q = lake.read(spark, "bronze/quarantine").toPandas()
    assert sorted(q.groupby("_source_file").size().items()) == [
        ("interactions/copilot.jsonl", 5),
        ("interactions/cursor.json", 5),
    ]
    cursor = q[
        (q["_source_file"] == "interactions/cursor.json")
        & (q["reason"] == "missing_required: event_id")
    ]
    assert sorted(cursor["line_number"]) == [1, 2, 3, 5]
    assert all("userEmail" in json.loads(r) for r in cursor["raw_record"])
    files = lake.read(spark, "ops/ingested_files").toPandas()
    assert set(files["status"]) == {"rejected"}
    assert read_committed(spark, lake, "bronze/quarantine").count() == len(q)


def test_bad_vendor_event_file_is_rejected_alone_and_the_other_files_load(tmp_path, spark, cfg):
    landing = tmp_path / "landing"
    events = landing / "vendor" / "cursor_usage_events"
    events.mkdir(parents=True)
    shutil.copy(CURSOR, events / "page1.json")  # 5 events, 3 of them bad: 60% > 5%
    users = landing / "vendor" / "github_copilot_users"
    users.mkdir(parents=True)
    (users / "day.jsonl").write_text(COPILOT.read_text().splitlines()[0] + "\n")
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(DataQualityError) as info:
        ingest.run(spark, lake, str(landing), cfg=cfg)
    msg = str(info.value)
    assert not msg.startswith("data-quality gate failed")  # the CLI adds that prefix once
    assert (
        "vendor/cursor_usage_events/page1.json: 3 record(s) quarantined; data-quality gate on "
        "bronze/interactions: quarantine_share_critical: 3 of 5 records quarantined" in msg
    )
    assert "(read as cursor_usage_events" in msg
    assert "put it under" not in msg
    assert "other 1 new file(s) were loaded (3 rows)" in msg
    log = {r["source_file"]: r for r in _rows(spark, lake, "ops/ingested_files")}
    assert sorted(log) == [
        "vendor/cursor_usage_events/page1.json",
        "vendor/github_copilot_users/day.jsonl",
    ]
    page = log["vendor/cursor_usage_events/page1.json"]
    assert page["status"] == "rejected" and "quarantine_share_critical" in page["reason"]
    assert (page["rows_loaded"], page["rows_quarantined"]) == (0, 3)
    assert log["vendor/github_copilot_users/day.jsonl"]["status"] == "loaded"
    q = _rows(spark, lake, "bronze/quarantine")
    assert sorted(r["line_number"] for r in q) == [3, 4, 5]
    # the good file loaded in the same (committed) run; nothing of the rejected one did
    assert read_committed(spark, lake, "bronze/user_days").count() == 3
    assert (
        not lake.exists("bronze/interactions")
        or lake.read(spark, "bronze/interactions").count() == 0
    )
    # the next run: nothing new; the rejected file waits for new content
    m = ingest.run(spark, lake, str(landing), cfg=cfg)
    assert m["files_new"] == 0 and m["files_skipped_already_loaded"] == 1
    assert m["files_skipped_rejected_unchanged"] == 1
    assert len(_rows(spark, lake, "bronze/user_days")) == 3

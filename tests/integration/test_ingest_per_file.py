"""Each landing file is loaded or rejected by itself (real Sail, Delta and GX suites).

- Native: three clean files and one CSV with a ragged row (1 of 4 records quarantined: 25%,
  over ``quality.quarantine_fail_share`` 5%) in one batch. The CSV is rejected alone, named
  with its reason; the clean files load in the same run; the run exits 3 (a gate failed) with
  the prefix printed once. A rerun loads nothing new; after the bad file is removed, a rerun
  loads nothing new and misses nothing (bronze rows per file unchanged); a corrected file
  (new content) loads.
- Vendor: an OTel GenAI file with a span without a user and a LiteLLM file with a row without
  ``request_id``, beside valid OTel and LiteLLM files: the same, per file.
- Org-level exports: a GitHub org metrics file with no org folder, one in a folder recognised
  by content, and org folders the directory does not know (``org-999``, markup, a formula)
  are each rejected alone with the folder they belong in; the file in a known org's folder
  loads; the run exits 0 and lists them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from event_lines import EVENT
from pyspark.sql import functions as F

from theater import console
from theater.bronze import read_committed
from theater.cli import main
from theater.errors import DataQualityError
from theater.lake import Lake
from theater.stages import ingest

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _per_file(spark, lake: Lake, table: str) -> dict[str, int]:
    if not lake.exists(table):
        return {}
    rows = lake.read(spark, table).groupBy("_source_file").count().collect()
    return {r._source_file: r["count"] for r in rows}


def _log(spark, lake: Lake) -> dict[str, dict]:
    return {r.source_file: r.asDict() for r in lake.read(spark, "ops/ingested_files").collect()}


def _directory(root: Path) -> None:
    d = root / "directory"
    d.mkdir(parents=True, exist_ok=True)
    (d / "dir.csv").write_text("user_id,org_id,valid_from,valid_to\nu1,o1,2026-01-01,\n")


# ------------------------------------------------------------------ native
def _native(root: Path) -> None:
    inter = root / "interactions"
    _jsonl(inter / "a.jsonl", [{**EVENT, "event_id": f"a{i}"} for i in range(6)])
    _jsonl(inter / "b.jsonl", [{**EVENT, "event_id": f"b{i}"} for i in range(4)])
    _jsonl(inter / "c.jsonl", [{**EVENT, "event_id": f"c{i}"} for i in range(3)])
    header = "event_id,event_ts,user_id,org_id,tool,action\n"
    good = [f"r{i},2026-07-06T11:00:00Z,u1,o1,ide,chat\n" for i in range(3)]
    ragged = "r9,2026-07-06T11:00:00Z,u1,o1,ide\n"  # line 4: one field short
    (inter / "ragged.csv").write_text(header + "".join(good[:2]) + ragged + good[2])
    _directory(root)


def test_a_ragged_csv_is_rejected_alone_and_the_clean_files_load(
    tmp_path, spark, monkeypatch, capsys
):
    monkeypatch.setenv("THEATER_TRACKING__ENABLED", "false")
    land, lake_dir = tmp_path / "landing", tmp_path / "lake"
    _native(land)
    args = ["run", "--stage", "ingest", "--landing", str(land), "--lake", str(lake_dir)]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert err.count("data-quality gate failed") == 1
    assert "theater: data-quality gate failed: 1 file(s) rejected" in err
    assert "interactions/ragged.csv: 1 record(s) quarantined; data-quality gate on " in err
    assert "quarantine_share_critical: 1 of 4 records quarantined" in err
    assert "other 4 new file(s) were loaded (14 rows)" in err  # a, b, c and the directory
    lake = Lake(str(lake_dir))
    expected = {"interactions/a.jsonl": 6, "interactions/b.jsonl": 4, "interactions/c.jsonl": 3}
    assert _per_file(spark, lake, "bronze/interactions") == expected
    assert read_committed(spark, lake, "bronze/interactions").count() == 13
    q = lake.read(spark, "bronze/quarantine").collect()
    assert [(r._source_file, r.line_number, r.reason_kind) for r in q] == [
        ("interactions/ragged.csv", 4, "ragged_row")
    ]
    log = _log(spark, lake)
    assert {f: r["status"] for f, r in log.items()} == {
        "interactions/a.jsonl": "loaded",
        "interactions/b.jsonl": "loaded",
        "interactions/c.jsonl": "loaded",
        "interactions/ragged.csv": "rejected",
        "directory/dir.csv": "loaded",
    }
    assert "quarantine_share_critical" in log["interactions/ragged.csv"]["reason"]
    # the same landing again: nothing new, exit 0
    assert main(args) == 0
    assert "already loaded" in capsys.readouterr().out
    # the bad file removed: nothing new, nothing missed
    (land / "interactions" / "ragged.csv").unlink()
    m = ingest.run(spark, lake, str(land), cfg=_cfg())
    assert m["files_new"] == 0 and m["files_skipped_already_loaded"] == 4
    assert _per_file(spark, lake, "bronze/interactions") == expected
    # the corrected file (new content) loads
    header = "event_id,event_ts,user_id,org_id,tool,action\n"
    rows = "".join(f"r{i},2026-07-06T11:00:00Z,u1,o1,ide,chat\n" for i in range(4))
    (land / "interactions" / "ragged.csv").write_text(header + rows)
    m = ingest.run(spark, lake, str(land), cfg=_cfg())
    assert m["files_new"] == 1 and m["files_rejected"] == []
    assert _per_file(spark, lake, "bronze/interactions") == {
        **expected,
        "interactions/ragged.csv": 4,
    }


def _cfg():
    from theater.config import load_config

    return load_config(env="local", environ={})


# ------------------------------------------------------------------ vendor
def _span(span_id: str, user: str | None) -> dict:
    attrs = [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "model-x"}},
    ]
    if user:
        attrs.append({"key": "user.id", "value": {"stringValue": user}})
    span = {
        "traceId": "0f" * 16,
        "spanId": span_id,
        "name": "chat model-x",
        "kind": 3,
        "startTimeUnixNano": "1783332000000000000",
        "endTimeUnixNano": "1783332001000000000",
        "attributes": attrs,
    }
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [span]}]}]}


def _litellm(path: Path, ids: list[str]) -> None:
    rows = ["request_id,call_type,startTime,model,user,status"]
    rows += [
        f"{i},acompletion,2026-07-06 10:0{n}:00,model-y,u-{n},success" for n, i in enumerate(ids)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")


def _vendor(root: Path) -> None:
    v = root / "vendor"
    _jsonl(v / "otel_genai" / "ok.jsonl", [_span(f"{i:016x}", f"u-o{i}") for i in range(3)])
    _jsonl(
        v / "otel_genai" / "bad.jsonl",
        [_span("00000000000000aa", "u-z"), _span("00000000000000ab", None)],
    )
    _litellm(v / "litellm_spend_logs" / "ok.csv", ["req-1", "req-2", "req-3"])
    _litellm(v / "litellm_spend_logs" / "bad.csv", ["req-7", "req-8", "", "req-9"])


def test_vendor_files_without_user_or_request_id_are_rejected_alone(tmp_path, spark, cfg):
    land = tmp_path / "landing"
    _vendor(land)
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(DataQualityError) as info:
        ingest.run(spark, lake, str(land), cfg=cfg)
    msg = str(info.value)
    assert msg.startswith("2 file(s) rejected")
    assert "vendor/otel_genai/bad.jsonl: 1 record(s) quarantined" in msg
    assert "vendor/litellm_spend_logs/bad.csv: 1 record(s) quarantined" in msg
    assert "missing_required: user" in msg and "missing_required: request_id" in msg
    expected = {"vendor/otel_genai/ok.jsonl": 3, "vendor/litellm_spend_logs/ok.csv": 3}
    assert _per_file(spark, lake, "bronze/interactions") == expected
    q = lake.read(spark, "bronze/quarantine").collect()
    assert sorted((r._source_file, r.line_number) for r in q) == [
        ("vendor/litellm_spend_logs/bad.csv", 4),
        ("vendor/otel_genai/bad.jsonl", 2),
    ]
    log = _log(spark, lake)
    assert {f: r["status"] for f, r in log.items()} == {
        "vendor/otel_genai/ok.jsonl": "loaded",
        "vendor/otel_genai/bad.jsonl": "rejected",
        "vendor/litellm_spend_logs/ok.csv": "loaded",
        "vendor/litellm_spend_logs/bad.csv": "rejected",
    }
    assert log["vendor/otel_genai/bad.jsonl"]["rows_loaded"] == 0
    # the bad files removed: the rerun loads nothing new and misses nothing
    (land / "vendor" / "otel_genai" / "bad.jsonl").unlink()
    (land / "vendor" / "litellm_spend_logs" / "bad.csv").unlink()
    m = ingest.run(spark, lake, str(land), cfg=cfg)
    assert m["files_new"] == 0 and m["files_skipped_already_loaded"] == 2
    assert _per_file(spark, lake, "bronze/interactions") == expected
    assert read_committed(spark, lake, "bronze/interactions").count() == 6


# ------------------------------------------------------------------ org-level placement
ORG_METRICS = [
    {
        "date": "2026-07-06",
        "total_active_users": 9,
        "total_engaged_users": 7,
        "copilot_ide_chat": {
            "total_engaged_users": 5,
            "editors": [
                {
                    "name": "vscode",
                    "total_engaged_users": 5,
                    "models": [
                        {
                            "name": "default",
                            "is_custom_model": False,
                            "total_engaged_users": 5,
                            "total_chats": 40,
                            "total_chat_insertion_events": 6,
                            "total_chat_copy_events": 3,
                        }
                    ],
                }
            ],
        },
    }
]
HOSTILE = ["org-999", "<img src=x onerror=alert(1)>", '=HYPERLINK("http:x","y")']


def test_org_level_files_without_a_known_org_are_rejected_alone(tmp_path, spark, cfg, capsys):
    land = tmp_path / "landing"
    _directory(land)
    fmt = land / "vendor" / "github_copilot_org_metrics"
    for folder in [fmt, land / "vendor" / "from-github", fmt / "o1", *(fmt / h for h in HOSTILE)]:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(ORG_METRICS))
    _litellm(land / "vendor" / "litellm_spend_logs" / "ok.csv", ["req-1", "req-2"])
    m365 = land / "vendor" / "m365_copilot_reports" / "summary.csv"  # no org folder either
    m365.parent.mkdir(parents=True)
    shutil.copy(FIX / "m365_copilot_reports" / "copilot_user_count_summary.csv", m365)
    lake = Lake(str(tmp_path / "lake"))
    m = ingest.run(spark, lake, str(land), cfg=cfg)  # placement is not a gate: exit 0
    rejected = {f["file"]: f["reason"] for f in m["files_rejected"]}
    where = "put it in landing/vendor/github_copilot_org_metrics/<org_id>/"
    for rel in ["github_copilot_org_metrics/metrics.json", "from-github/metrics.json"]:
        assert rejected[f"vendor/{rel}"].startswith("org-level export without an org")
        assert where in rejected[f"vendor/{rel}"]
    for h in HOSTILE:
        assert where in rejected[f"vendor/github_copilot_org_metrics/{h}/metrics.json"]
    assert (
        "not an org of the directory"
        in rejected["vendor/github_copilot_org_metrics/org-999/metrics.json"]
    )
    assert rejected["vendor/m365_copilot_reports/summary.csv"].startswith(
        "org-level export without an org"
    )
    assert (
        "landing/vendor/m365_copilot_reports/<org_id>/"
        in rejected["vendor/m365_copilot_reports/summary.csv"]
    )
    assert len(rejected) == 6
    assert sorted(o["org"] for o in m["org_folders_rejected"]) == sorted(HOSTILE)
    console.print_summary({"ingest": m, "seconds": 1, "lake": lake.root})
    out = capsys.readouterr().out
    assert (
        "warning: org folders not in the directory: " + ", ".join(map(repr, sorted(HOSTILE))) in out
    )
    assert "warning: rejected vendor/from-github/metrics.json: org-level export without" in out
    # the known org's file and the event file load
    assert _per_file(spark, lake, "bronze/org_days") == {
        "vendor/github_copilot_org_metrics/o1/metrics.json": 2
    }
    assert _per_file(spark, lake, "bronze/interactions") == {"vendor/litellm_spend_logs/ok.csv": 2}
    orgs = {r.vendor_org for r in lake.read(spark, "bronze/org_days").collect()}
    assert orgs == {"o1"}
    log = _log(spark, lake)
    assert sum(r["status"] == "rejected" for r in log.values()) == 6
    # moved into its org's folder, the file loads; the rejected copies stay rejected
    shutil.move(str(fmt / "metrics.json"), str(fmt / "o1" / "day2.json"))
    m = ingest.run(spark, lake, str(land), cfg=cfg)
    assert m["files_new"] == 1 and m["files_rejected"] == []
    assert m["files_skipped_rejected_unchanged"] == 5
    console.print_summary({"ingest": m, "seconds": 1, "lake": lake.root})
    assert "5 file(s) rejected before and unchanged" in capsys.readouterr().out
    assert lake.read(spark, "bronze/org_days").where(F.col("vendor_org") != "o1").count() == 0


# ------------------------------------------------------------------ the gate's message
def test_the_gate_message_names_the_table_once_and_the_cli_adds_the_prefix_once(
    tmp_path, spark, cfg
):
    from theater import quality

    lake = Lake(str(tmp_path / "lake"))
    rows = spark.createDataFrame(
        [("u1", None, "2026-01-01", None, "d.csv", "x" * 64, None, "b1")],
        "user_id string, org_id string, valid_from string, valid_to string, "
        "_source_file string, _file_sha256 string, _ingested_at timestamp, _batch_id string",
    )
    gate = quality.Gate(spark, lake, cfg, "ingest", run_id="msg")
    with pytest.raises(DataQualityError) as info:
        gate.check("bronze/directory", rows, materialize=False)
    msg = str(info.value)
    assert msg.startswith("bronze/directory (suite bronze_directory, stage ingest): 1 critical")
    assert "org_id_not_null" in msg and "data-quality gate failed" not in msg


def test_a_table_wide_gate_failure_holds_its_files_back_for_the_next_run(tmp_path, spark):
    """A critical expectation on a table's rows that no file can be blamed for (here a suite
    edited to allow no work-item kind): nothing of that table's files is written or recorded,
    the batch's other datasets commit, and the next run (suite restored) loads the held files."""
    from theater.config import load_config

    root = Path(__file__).resolve().parents[2]
    suites = tmp_path / "suites"
    shutil.copytree(root / "expectations", suites)
    path = suites / "bronze_work_items.json"
    suite = json.loads(path.read_text())
    for e in suite["expectations"]:
        if e["meta"]["name"] == "kind_in_set":
            e["kwargs"]["value_set"] = ["none-allowed"]
    path.write_text(json.dumps(suite))
    strict = load_config(env="local", environ={}, overrides={"quality.suites_dir": str(suites)})
    land = tmp_path / "landing"
    _jsonl(land / "interactions" / "a.jsonl", [{**EVENT, "event_id": f"a{i}"} for i in range(3)])
    work = {"work_item_id": "w1", "user_id": "u1", "kind": "ticket"}
    _jsonl(land / "work_items" / "w.jsonl", [{**work, "opened_ts": "2026-07-06T09:00:00Z"}])
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(DataQualityError) as info:
        ingest.run(spark, lake, str(land), cfg=strict)
    msg = str(info.value)
    assert msg.startswith("1 file(s) held back, not recorded") and "work_items/w.jsonl" in msg
    assert "bronze/work_items (suite bronze_work_items, stage ingest)" in msg
    assert "kind_in_set" in msg
    assert _per_file(spark, lake, "bronze/interactions") == {"interactions/a.jsonl": 3}
    assert not lake.exists("bronze/work_items")
    assert set(_log(spark, lake)) == {"interactions/a.jsonl"}
    m = ingest.run(spark, lake, str(land), cfg=_cfg())
    assert m["files_new"] == 1 and m["files_skipped_already_loaded"] == 1
    assert _per_file(spark, lake, "bronze/work_items") == {"work_items/w.jsonl": 1}
    assert _per_file(spark, lake, "bronze/interactions") == {"interactions/a.jsonl": 3}

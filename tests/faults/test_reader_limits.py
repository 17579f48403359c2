"""Hostile file shapes against the reader limits, in process on Sail with real Delta tables:

- a 10,000-level JSON file (vendor ``.json``, vendor ``.jsonl``, native JSON array) and a 2 MB
  ``.json.gz`` / ``.jsonl.gz`` holding 2 GiB of whitespace (vendor and native) are rejected in
  bounded time, each named with the limit it broke; the good files of the batch load; the next
  run is not wedged (it finishes, re-reads nothing, and ``theater inspect`` names the limit);
- one undecodable line (native JSONL, vendor CSV) is quarantined with its line number while
  the file's other lines load; an oversized line keeps a bounded prefix and its size;
- Cursor usage events re-delivered with the same instants in microseconds and in seconds are
  the same events in silver (ingest and refine, twice).

Reader limits come from configuration overrides where a small limit keeps the test fast; the
bombs run at the default limits (the real case).
"""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from deltalake import DeltaTable
from faultkit import record_figures

from theater.config import load_config
from theater.lake import Lake
from theater.stages import ingest

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
DEEP = 10_000
OVERRIDES = {
    "spark.shuffle_partitions": 2,
    "readers.max_depth": 32,
    "readers.max_record_bytes": 65536,
    "readers.quarantine_prefix_bytes": 256,
    # one bad line among a few good ones is a large share: the gate's thresholds are not what
    # this test is about
    "quality.quarantine_warn_share": 0.5,
    "quality.quarantine_fail_share": 0.9,
}


def _cfg(state, **more):
    return load_config(
        env="local", environ={}, overrides={"paths.state": str(state), **OVERRIDES, **more}
    )


def _bomb(path, gib=2):
    """``gib`` GiB of spaces in about 1 KiB per MiB: concatenated gzip members of 1 MiB each
    (compressed once, written ``1024 * gib`` times)."""
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = co.compress(b" " * (1 << 20)) + co.flush()
    with open(path, "wb") as fh:
        fh.write(gzip.compress(b"[" if path.name.endswith(".json.gz") else b"\n"))
        for _ in range(1024 * gib):
            fh.write(member)


def _native(i, **kw):
    return {
        "event_id": f"n{i}",
        "event_ts": "2026-07-01T10:00:00Z",
        "user_id": "u1",
        "tool": "ide",
        "action": "chat",
        "prompt_tokens": 12,
        **kw,
    }


def _amazon_q_csv(path):
    """The Amazon Q fixture's header and first row, 20 rows of distinct users, row 5 (line 6)
    with a Latin-1 byte in its display name."""
    src = FIX / "amazon_q_user_activity" / "123456789012_by_user_analytic_1772496000.csv"
    header, first = src.read_bytes().splitlines()[:2]
    rows = []
    for i in range(20):
        row = first.replace(
            b"0001-4000-8000-000000000001", f"{i:04d}-4000-8000-0000000000aa".encode()
        )
        if i == 4:
            row = row.replace(b'"Ana"', '"Jos\u00e9"'.encode("latin-1"))
        rows.append(row)
    path.write_bytes(b"\n".join([header, *rows]) + b"\n")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("reader_limits")
    landing = root / "landing"
    v = landing / "vendor"
    cur = v / "cursor_usage_events"
    cur.mkdir(parents=True)
    from theater.sources.stream import iter_records

    good = [
        r.record
        for r in iter_records(str(FIX / "cursor_usage_events" / "filtered_usage_events_page1.json"))
    ][:2]
    (cur / "page.json").write_text(json.dumps({"usageEvents": good}))
    (cur / "deep.json").write_text('{"usageEvents": [' + "[" * DEEP + "]" * DEEP + "]}")
    _bomb(cur / "bomb.json.gz")
    (v / "otel_genai").mkdir()
    # 20 KB: under the record size limit, so the depth is what rejects it
    (v / "otel_genai" / "deep.jsonl").write_text('{"x": ' + "[" * DEEP + "]" * DEEP + "}\n")
    (v / "amazon_q_user_activity").mkdir()
    _amazon_q_csv(v / "amazon_q_user_activity" / "activity.csv")
    inter = landing / "interactions"
    inter.mkdir()
    (inter / "deep.json").write_text(
        "[" + json.dumps(_native(90))[:-1] + ', "x": ' + "[" * DEEP + "]" * DEEP + "}]"
    )
    _bomb(inter / "bomb.jsonl.gz")
    lines = [json.dumps(_native(i)).encode() for i in range(1, 9)]
    lines.insert(
        2, json.dumps(_native(50, model="caf\u00e9"), ensure_ascii=False).encode("latin-1")
    )
    big = json.dumps(_native(51, session_id="s" * 100_000)).encode()
    lines.insert(5, big)
    (inter / "mixed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    lake = Lake(str(root / "lake"))
    cfg = _cfg(root / "state")
    t0 = time.time()
    first = ingest.run(spark, lake, str(landing), cfg=cfg)
    took = time.time() - t0
    t0 = time.time()
    second = ingest.run(spark, lake, str(landing), cfg=cfg)
    took2 = time.time() - t0
    return {
        "root": root,
        "landing": landing,
        "lake": lake,
        "cfg": cfg,
        "first": first,
        "second": second,
        "seconds": took,
        "seconds_rerun": took2,
        "big": big,
    }


def _log(h):
    files = DeltaTable(h["lake"].path("ops/ingested_files")).to_pandas()
    return {r.source_file: r for r in files.itertuples()}


def test_deep_files_and_bombs_are_rejected_named_with_the_limit_in_bounded_time(hostile):
    rejected = {f["file"]: f["reason"] for f in hostile["first"]["files_rejected"]}
    depth = "over_limit: JSON nested deeper than 32 levels (readers.max_depth = 32)"
    assert rejected["vendor/cursor_usage_events/deep.json"] == depth
    assert rejected["vendor/otel_genai/deep.jsonl"] == depth + " at line 1"
    assert rejected["interactions/deep.json"] == depth
    for f in ("vendor/cursor_usage_events/bomb.json.gz", "interactions/bomb.jsonl.gz"):
        assert rejected[f].startswith("over_limit: decompression ratio over 200 ("), rejected[f]
        assert "readers.max_ratio = 200" in rejected[f]
    assert len(rejected) == 5
    log = _log(hostile)
    for f, why in rejected.items():
        assert (log[f].status, log[f].reason, log[f].rows_loaded) == ("rejected", why, 0)
    # bounded: about 400 MB of text read per bomb (200 x 2 MB), not 2 GiB each
    assert hostile["seconds"] < 240, hostile["seconds"]
    record_figures(
        "reader_limits",
        attempted=len(rejected),
        rejected=sorted(rejected),
        ingest_seconds=round(hostile["seconds"], 1),
        rerun_seconds=round(hostile["seconds_rerun"], 1),
    )


def test_the_good_files_of_the_batch_load_and_the_next_run_is_not_wedged(hostile, spark):
    bronze = hostile["lake"].read(spark, "bronze/interactions").toPandas()
    by_file = bronze.groupby("_source_file")["event_id"].apply(sorted).to_dict()
    assert len(by_file["vendor/cursor_usage_events/page.json"]) == 2
    assert by_file["interactions/mixed.jsonl"] == sorted(f"n{i}" for i in range(1, 9))
    second = hostile["second"]
    assert second["files_new"] == 0 and second["files_rejected"] == []
    # every file of the first run is skipped: the loaded ones as loaded, the rejected ones as
    # rejected and unchanged (retried only when their content changes)
    log = _log(hostile)
    loaded = sum(1 for r in log.values() if r.status == "loaded")
    assert second["files_skipped_already_loaded"] == loaded
    assert second["files_skipped_rejected_unchanged"] == len(log) - loaded
    # nothing left behind: no staged copy of a landing file outside bronze
    assert not os.path.exists(hostile["lake"].path(ingest.STAGING))


def test_an_undecodable_line_is_quarantined_with_its_line_and_the_rest_loads(hostile, spark):
    q = DeltaTable(hostile["lake"].path("bronze/quarantine")).to_pandas()
    got = {
        (r["_source_file"], int(r["line_number"])): r
        for r in q.to_dict("records")
        if r["line_number"] == r["line_number"]
    }
    latin = got[("interactions/mixed.jsonl", 3)]
    col = json.dumps(_native(50, model="caf\u00e9"), ensure_ascii=False).index("\u00e9") + 1
    assert latin["reason"] == f"undecodable_line: byte 0xe9 at column {col} is not UTF-8"
    vq = got[("vendor/amazon_q_user_activity/activity.csv", 6)]
    assert vq["reason"].startswith("undecodable_line: byte 0xe9 at column ")
    ud = hostile["lake"].read(spark, "bronze/user_days").toPandas()
    users = set(
        ud.loc[ud["_source_file"] == "vendor/amazon_q_user_activity/activity.csv", "user_id"]
    )
    assert len(users) == 19  # the 20 rows but the undecodable one
    files = _log(hostile)
    assert files["interactions/mixed.jsonl"].status == "loaded"
    assert files["vendor/amazon_q_user_activity/activity.csv"].status == "loaded"


def test_an_oversized_line_keeps_a_bounded_prefix_and_its_size(hostile):
    q = DeltaTable(hostile["lake"].path("bronze/quarantine")).to_pandas()
    (row,) = q[(q["_source_file"] == "interactions/mixed.jsonl") & (q["line_number"] == 6)].to_dict(
        "records"
    )
    big = hostile["big"]
    assert row["reason"] == (
        f"oversized_record: {len(big)} bytes, over readers.max_record_bytes = 65536 "
        "(first 256 bytes kept)"
    )
    assert row["raw_record"] == big[:256].decode()


def test_theater_inspect_names_the_limit_instead_of_crashing(hostile, capsys, monkeypatch):
    from theater.cli import main

    for k in [k for k in os.environ if k.startswith("THEATER_")]:  # the suite's own settings
        monkeypatch.delenv(k)

    deep = hostile["landing"] / "vendor" / "cursor_usage_events" / "deep.json"
    assert main(["inspect", str(deep)]) == 0
    out = capsys.readouterr().out
    assert "cannot be read: over_limit: JSON nested deeper than 64 levels" in out


# --- re-delivery in another epoch unit -------------------------------------------------------

START, END = date(2026, 7, 1), date(2026, 7, 15)


def _cursor_page(path, emails, unit):
    base = int(datetime(2026, 7, 2, 9, tzinfo=timezone.utc).timestamp() * 1000)
    events = []
    for i in range(20):
        ms = base + i * 3_600_123  # a millisecond part on every instant
        ts = {"ms": str(ms), "us": ms * 1000, "s": f"{ms // 1000}.{ms % 1000:03d}"}[unit]
        events.append(
            {
                "timestamp": ts,
                "model": "gpt-5",
                "userEmail": emails[i % len(emails)],
                "tokenUsage": {"inputTokens": 100 + i, "outputTokens": 9},
            }
        )
    path.write_text(json.dumps({"totalUsageEventsCount": 20, "usageEvents": events}))


@pytest.fixture(scope="module")
def redelivered(tmp_path_factory):
    import pyarrow.dataset as pads

    from theater.period import Period
    from theater.pipeline import run_pipeline
    from theater.synth.exports import generate_vendor

    root = tmp_path_factory.mktemp("redelivery")
    out = root / "delivery"
    generate_vendor(out, seed=5, n_orgs=6, n_users=48, start=START, end=END)
    landing = out / "landing"
    users = sorted(
        pads.dataset(str(landing / "directory"), format="parquet")
        .to_table(columns=["user_id"])
        .column("user_id")
        .to_pylist()
    )[:4]
    emails = [f"redelivery.{i}@example.org" for i in range(4)]
    ids = landing / "identities"
    ids.mkdir(exist_ok=True)
    (ids / "cursor_emails.csv").write_text(
        "alias,alias_kind,user_id\n" + "".join(f"{e},email,{u}\n" for e, u in zip(emails, users))
    )
    cur = landing / "vendor" / "cursor_usage_events" / "redelivery"
    cur.mkdir(parents=True)
    _cursor_page(cur / "page_ms.json", emails, "ms")
    cfg = _cfg(root / "state")
    lake = root / "lake"
    period = Period(START, END)
    stages = ("ingest", "refine")
    run_pipeline(cfg, period, stages, landing=str(landing), lake_root=str(lake))
    once = _cursor_rows(lake)
    _cursor_page(cur / "page_us.json", emails, "us")
    _cursor_page(cur / "page_s.json", emails, "s")
    run_pipeline(cfg, period, stages, landing=str(landing), lake_root=str(lake))
    return {"once": once, "again": _cursor_rows(lake)}


def _cursor_rows(lake):
    out = {}
    for t in ("bronze/interactions", "silver/interactions"):
        df = DeltaTable(str(lake / t)).to_pandas()
        df = df[df["source_format"] == "cursor_usage_events"]
        df = df[df["_source_file"].str.contains("/redelivery/")]
        out[t] = sorted(df["event_id"])
    return out


def test_a_redelivery_in_another_epoch_unit_is_deduplicated(redelivered):
    once, again = redelivered["once"], redelivered["again"]
    assert len(once["bronze/interactions"]) == 20 and len(set(once["bronze/interactions"])) == 20
    assert len(once["silver/interactions"]) == 20
    # three deliveries (ms, us, s) in bronze, one event each in silver
    assert len(again["bronze/interactions"]) == 60
    assert set(again["bronze/interactions"]) == set(once["bronze/interactions"])
    assert again["silver/interactions"] == once["silver/interactions"]
    record_figures(
        "redelivery_epoch_unit",
        attempted=40,
        survived=40,
        rows_doubled=len(again["silver/interactions"]) - 20,
        rows_lost=20 - len(set(again["silver/interactions"])),
    )

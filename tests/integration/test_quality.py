"""Data-quality gates: GX suites from expectations/ run before every published table.

- clean generated data passes every critical expectation (and writes results + Data Docs);
- every critical expectation in expectations/*.json, broken in exactly its way on the frame a
  stage is about to publish: DataQualityError naming it, the table's Delta version unchanged, a
  failed row in ops/dq_results;
- the same through the stages themselves (ingest, refine, score) and through the CLI (exit 3),
  including failures that real input data causes (quarantine share, unresolved orgs);
- a warning-only problem lets the run finish and is recorded;
- the suites folder is the one used: an edited copy changes the behaviour.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from theater import quality, synth
from theater.config import load_config
from theater.errors import DataQualityError
from theater.lake import Lake
from theater.period import Period
from theater.quality import docs as dq_docs
from theater.stages import ingest, refine, score

Q3 = Period.quarter("2026Q3")
SUITES = Path(__file__).resolve().parents[2] / "expectations"
STAGE_OF = {"bronze": "ingest", "silver": "refine", "gold": "score"}


def _cfg(**over):
    base = {"spark.shuffle_partitions": 2, "quality.data_docs": False}
    base.update(over)
    return load_config(env="local", environ={}, overrides=base)


def _write(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def _dq_rows(spark, lake: Lake, **where):
    df = lake.read(spark, quality.DQ_TABLE)
    for k, v in where.items():
        df = df.where(F.col(k) == v)
    return [r.asDict() for r in df.collect()]


def _bad_batch(land: Path, tag: str, n_good: int = 40, n_bad: int = 1):
    """A new landing batch: ``n_good`` good and ``n_bad`` broken interactions, one directory
    row and one work item."""
    good = [
        {
            "event_id": f"{tag}-{i}",
            "event_ts": f"2026-08-{1 + i % 28:02d}T10:00:00Z",
            "user_id": "new.user@example.com",
            "org_id": "o-new",
            "tool": "ide",
            "action": "chat",
        }
        for i in range(n_good)
    ]
    bad = [{"event_id": f"{tag}-bad{i}", "tool": "ide", "action": "chat"} for i in range(n_bad)]
    _write(land / "interactions" / f"{tag}.jsonl", good + bad)
    _write(
        land / "directory" / f"{tag}.jsonl",
        [{"user_id": "new.user@example.com", "org_id": "o-new", "valid_from": "2026-01-01"}],
    )
    _write(
        land / "work_items" / f"{tag}.jsonl",
        [
            {
                "work_item_id": f"{tag}-w1",
                "user_id": "new.user@example.com",
                "kind": "ticket",
                "opened_ts": "2026-08-01T00:00:00Z",
            }
        ],
    )


VENDOR_FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"


def _vendor_batch(land: Path):
    """Vendor exports for the vendor bronze tables (user_days, org_days, interaction_updates,
    identities), without vendor events (the vendor event path has its own tests)."""
    users = (VENDOR_FIX / "github_copilot_users" / "org_users_1_day.jsonl").read_text()
    good = [ln for i, ln in enumerate(users.splitlines(), 1) if i in (1, 2, 4)]
    _write(land / "vendor" / "github_copilot_users" / "day.jsonl", good)
    org = land / "vendor" / "github_copilot_org_metrics" / "org-001"  # a directory org
    org.mkdir(parents=True)
    shutil.copy(
        VENDOR_FIX / "github_copilot_org_metrics" / "orgs_acme_copilot_metrics.json",
        org / "metrics.json",
    )
    _write(
        land / "vendor" / "claude_code_otel" / "updates.jsonl",
        [
            {
                "attributes": {
                    "event.name": "api_request",
                    "prompt.id": "p-1",
                    "event.sequence": 1,
                    "event.timestamp": "2026-08-03T10:00:00Z",
                    "input_tokens": 120,
                    "output_tokens": 40,
                    "model": "claude-sonnet-4",
                },
                "body": "claude_code.api_request",
            },
            {
                "attributes": {
                    "event.name": "tool_decision",
                    "prompt.id": "p-1",
                    "event.sequence": 2,
                    "event.timestamp": "2026-08-03T10:00:05Z",
                    "decision": "accept",
                    "tool_name": "Edit",
                },
                "body": "claude_code.tool_decision",
            },
        ],
    )
    (land / "identities").mkdir()
    (land / "identities" / "ids.csv").write_text(
        "alias,alias_kind,user_id,shared\n"
        "alice-gh,github_login,u-alice,false\n"
        "bob-gh,github_login,u-bob,\n"
    )


@pytest.fixture(scope="module")
def base(spark, tmp_path_factory):
    """A small generated quarter, plus a few quarantined records, run through every stage."""
    out = tmp_path_factory.mktemp("dq")
    synth.generate(out, seed=5, n_orgs=8, n_users=200, start=Q3.start, end=Q3.end)
    _bad_batch(out / "landing", "extra", n_good=200, n_bad=1)
    _vendor_batch(out / "landing")
    lake = Lake(str(out / "lake"))
    cfg = _cfg(**{"quality.data_docs": True})
    metrics = {
        "ingest": ingest.run(spark, lake, str(out / "landing"), cfg=cfg),
        "refine": refine.run(spark, cfg, lake, Q3),
        "score": score.run(spark, cfg, lake, Q3, run_id="base-run"),
    }
    return out, lake, metrics


@pytest.fixture()
def lake_copy(base, tmp_path):
    out, lake, _ = base
    shutil.copytree(lake.root, tmp_path / "lake")
    shutil.copytree(out / "landing", tmp_path / "landing")
    return tmp_path / "landing", Lake(str(tmp_path / "lake"))


def _break_at_publish(monkeypatch, table: str, breaker):
    """Make the stage publish a broken ``table``: the frame handed to the gate is broken."""
    original = quality.Gate.check

    def check(self, t, df, **kw):
        return original(self, t, breaker(df) if t == table else df, **kw)

    monkeypatch.setattr(quality.Gate, "check", check)


# ------------------------------------------------------------------ clean data
def test_clean_generated_data_passes_every_critical_expectation(spark, base):
    out, lake, metrics = base
    results = [r for m in metrics.values() for r in m["dq"]]
    tables = {r["table_name"] for r in results}
    assert tables == {
        "bronze/interactions",
        "bronze/directory",
        "bronze/work_items",
        "bronze/policies",
        "bronze/quarantine",
        "bronze/user_days",
        "bronze/org_days",
        "bronze/interaction_updates",
        "bronze/identities",
        "silver/interactions",
        "silver/directory",
        "silver/policies",
        "silver/work_items",
        "silver/user_days",
        "silver/org_days",
        "gold/interaction_labels",
        "gold/user_weeks",
        "gold/org_theater_index",
        "gold/org_adoption",
        "ops/identity_coverage",
    }
    failed = [
        (r["table_name"], r["expectation"], r["observed_value"])
        for r in results
        if not r["success"] and r["severity"] == "critical"
    ]
    assert failed == []
    # every expectation of every suite ran (bronze/quarantine once per native dataset with
    # files, and once for the vendor exports)
    # the generated quarter lands no seat listings: the seat suites run in the seats tests
    n_suite = sum(
        len(json.loads(p.read_text())["expectations"])
        for p in SUITES.glob("*.json")
        if p.stem not in ("bronze_seats", "silver_seats")
    )
    n_quarantine = len(json.loads((SUITES / "bronze_quarantine.json").read_text())["expectations"])
    assert len(results) == n_suite + 4 * n_quarantine
    recorded = _dq_rows(spark, lake)
    assert len(recorded) == len(results)
    assert {r["run_id"] for r in recorded if r["stage"] == "score"} == {"base-run"}
    # a first run: the version a table had before its first write is null
    assert all(r["table_version"] is None for r in recorded if r["stage"] == "score")
    lines = quality.summary_lines(results)
    assert any(line.startswith("silver/interactions: ") and " 0 failed" in line for line in lines)
    assert (Path(lake.path("ops/data_docs")) / "index.html").exists()
    assert list(Path(lake.path("ops/data_docs")).rglob("validations/**/*.html"))
    assert not any(Path(lake.path("ops/_staging")).glob("dq-*"))
    # the offline index: one manifest line per validated frame, each linking to a GX page
    docs = Path(lake.path("ops/data_docs"))
    entries = dq_docs.read_manifest(docs)
    assert {e["table"] for e in entries} == tables
    assert sum(e["passed"] + len(e["warnings"]) + len(e["failed"]) for e in entries) == len(results)
    assert all((docs / e["page"]).is_file() for e in entries)
    page = (docs / dq_docs.INDEX).read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert all(f">{t}</a>" in page for t in tables)


def test_offline_data_docs_index_opens_in_chromium(base, tmp_path):
    """The summary page renders in a real browser from the lake folder, with no request at all
    (GX's own index needs CDNs), and its links lead to GX's validation pages."""
    import subprocess

    from theater.report.render import find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Debian chromium is not installed (make browser installs it)")
    _, lake, _ = base
    page = Path(lake.path("ops/data_docs")) / dq_docs.INDEX
    shot = tmp_path / "dq.png"
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1300,900",
            f"--screenshot={shot}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Data quality: Great Expectations results" in proc.stdout
    assert "silver/interactions" in proc.stdout
    assert shot.exists() and shot.stat().st_size > 5000


# ------------------------------------------------------------------ every critical expectation
def _critical_cases():
    cases = []
    for path in sorted(SUITES.glob("*.json")):
        suite = json.loads(path.read_text())
        for e in suite["expectations"]:
            if e["meta"]["severity"] == "critical" and e["meta"].get("frame", "rows") == "rows":
                cases.append(
                    pytest.param(
                        suite["meta"]["table"], e, id=f"{suite['name']}.{e['meta']['name']}"
                    )
                )
    return cases


def _satisfy(cond: dict):
    """A function making every row meet a GX row condition (comparison, nullity, and)."""

    def apply(df):
        kind, name = cond["type"], (cond.get("column") or {}).get("name")
        if kind == "and":
            for c in cond["conditions"]:
                df = _satisfy(c)(df)
            return df
        if kind == "comparison" and cond["operator"] == "==":
            return df.withColumn(name, F.lit(cond["parameter"]).cast(df.schema[name].dataType))
        if kind == "nullity":
            value = F.lit(None) if cond["is_null"] else F.lit(1)
            return df.withColumn(name, value.cast(df.schema[name].dataType))
        raise AssertionError(f"no way to satisfy {cond}")

    return apply


def breaker_for(e: dict):
    """A function breaking a DataFrame in exactly the way expectation ``e`` forbids."""
    kind, kw = e["type"], e["kwargs"]
    col = kw.get("column")

    def set_col(value):
        return lambda df: df.withColumn(col, value.cast(df.schema[col].dataType))

    if kind == "expect_table_columns_to_match_set":
        return lambda df: df.drop(kw["column_set"][0])
    if kind == "expect_column_values_to_be_of_type":
        return lambda df: df.withColumn(col, F.col(col).cast("string"))
    if kind == "expect_column_values_to_not_be_null":
        return set_col(F.lit(None))
    if kind in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
        return lambda df: df.unionByName(df)
    if kind == "expect_column_values_to_match_regex":
        return set_col(F.lit("alice@example.com"))
    cond = kw.get("row_condition")
    if kind == "expect_column_values_to_be_in_set":
        if cond is not None:
            return lambda df: set_col(F.lit("bogus"))(_satisfy(cond)(df))
        return set_col(F.lit("bogus"))
    if kind == "expect_column_values_to_be_null":
        if cond is not None and cond.get("type") != "comparison":
            return lambda df: set_col(F.lit(50.0))(_satisfy(cond)(df))
        return lambda df: df.withColumn("suppressed", F.lit(True)).withColumn(col, F.lit(50.0))
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kw["column_A"], kw["column_B"]
        return lambda df: df.withColumn(a, (F.col(b) - 1).cast(df.schema[a].dataType))
    if kind == "expect_column_values_to_be_between":
        lo = kw.get("min_value")
        if isinstance(lo, (int, float)):
            return set_col(F.lit(lo - 1))
        if isinstance(lo, dict) and lo["$PARAMETER"] == "min_users":
            return set_col(F.lit(1))
        # period bounds: move the rows 400 days later
        return lambda df: df.withColumn(
            col, (F.col(col) + F.expr("INTERVAL 400 DAYS")).cast(df.schema[col].dataType)
        )
    raise AssertionError(f"no breaker for {kind}")


#: vendor tables the generated (native) quarter has no rows for: a small valid frame each
_UD_COUNTS = (
    "requests suggestions_shown accepted rejected dismissed lines_suggested "
    "lines_accepted sessions prompt_tokens output_tokens"
).split()
_OD_COUNTS = (
    "active_users engaged_users requests suggestions_shown accepted lines_suggested lines_accepted"
).split()
VENDOR_SILVER = {
    "silver/user_days": (
        "source_format string, user_key string, org_id string, vendor_org string, day date, "
        "feature string, "
        + ", ".join(f"{c} bigint" for c in _UD_COUNTS)
        + ", period_days int, cost_usd double",
        [
            (
                "github_copilot_users",
                "a" * 64,
                "o1",
                "acme",
                Q3.start,
                "chat",
                *range(1, 11),
                1,
                0.25,
            ),
            ("viva_person_query", "b" * 64, "o2", None, Q3.start, "teams", 5, *[None] * 9, 7, None),
        ],
    ),
    "silver/org_days": (
        "source_format string, org_id string, day date, feature string, "
        + ", ".join(f"{c} bigint" for c in _OD_COUNTS)
        + ", period_days int",
        [("github_copilot_org_metrics", "o1", Q3.start, "all", 9, 5, None, 40, 10, 80, 20, 1)],
    ),
    # seats: one seat held over a span (both ends known, so the span check can be broken)
    "bronze/seats": (
        "source_format string, tool string, alias string, alias_kind string, plan string, "
        "assigned_from date, assigned_to date, seen_on date, last_activity date, "
        "_source_file string, _file_sha256 string, _record int, _ingested_at timestamp, "
        "_batch_id string",
        [
            ("seats_csv", "cursor", "octo-z", "alias", None, Q3.start, Q3.end, None, None)
            + ("seats/s.csv", "0" * 64, 1, None, "b1")
        ],
    ),
    "silver/seats": (
        "source_format string, tool string, user_key string, plan string, assigned_from date, "
        "assigned_to date, seen_on date, last_activity date",
        [("seats_csv", "cursor", "c" * 64, None, Q3.start, Q3.end, None, None)],
    ),
}


@pytest.mark.parametrize("table,expectation", _critical_cases())
def test_each_critical_expectation_stops_publication(spark, base, tmp_path, table, expectation):
    """The gate on the frame about to be published, broken in the expectation's own way."""
    out, lake, _ = base
    name = expectation["meta"]["name"]
    if table in VENDOR_SILVER and (not lake.exists(table) or lake.read(spark, table).count() == 0):
        lake.overwrite(
            spark.createDataFrame(VENDOR_SILVER[table][1], VENDOR_SILVER[table][0]), table
        )
    frame = lake.read(spark, table)
    if table == "bronze/quarantine":
        assert frame.count() > 0
    results_before = len(_dq_rows(spark, lake, table_name=table, expectation=name))
    version = lake.version(table)
    gate = quality.Gate(
        spark, lake, _cfg(), STAGE_OF[table.split("/")[0]], period=Q3, run_id=f"break-{name}"
    )
    with pytest.raises(DataQualityError) as err:
        gate.check(table, breaker_for(expectation)(frame), materialize=False)
    assert table in str(err.value) and name in str(err.value)
    assert lake.version(table) == version
    rows = _dq_rows(spark, lake, table_name=table, expectation=name, run_id=f"break-{name}")
    assert len(rows) == 1 and rows[0]["success"] is False and rows[0]["severity"] == "critical"
    assert rows[0]["table_version"] == version
    assert len(_dq_rows(spark, lake, table_name=table, expectation=name)) == results_before + 1
    # column names may be named; raw identifier values (u000123, e-mails) never are
    assert not re.search(r"\bu\d{6}\b", str(err.value))
    assert "@example.com" not in str(err.value).replace("alice@example.com", "")


@pytest.mark.parametrize("table", ["silver/interactions", "gold/interaction_labels"])
def test_uniqueness_checked_by_key_bucket_gives_the_whole_frame_verdict(spark, base, table):
    """check(key_buckets=n): GX searches duplicates one key bucket at a time (memory of one
    bucket); the records equal those of the whole frame, clean and with duplicates."""
    out, lake, _ = base
    frame = lake.read(spark, table)
    twice = frame.limit(7)  # 7 keys delivered twice, spread over the buckets
    broken = frame.unionByName(twice)
    fields = ("expectation", "success", "observed_value", "unexpected_count", "element_count")

    def records(df, n, run):
        gate = quality.Gate(
            spark, lake, _cfg(), STAGE_OF[table.split("/")[0]], period=Q3, run_id=run
        )
        try:
            gate.check(table, df, materialize=False, key_buckets=n)
            failed = None
        except DataQualityError as exc:
            failed = str(exc)
        finally:
            gate.cleanup()  # the keys written by bucket: the base lake is copied by later tests
        assert not any(Path(lake.path("ops/_staging")).glob("dq-*"))
        got = {r["expectation"]: {k: r[k] for k in fields} for r in gate.results}
        samples = {r["expectation"]: json.loads(r["sample"]) for r in gate.results}
        return got, samples, failed

    whole, _, ok = records(frame, 1, "keys-1")
    whole_dup, samples, err = records(broken, 1, "dup-1")
    assert ok is None and err is not None
    assert whole_dup["tool_event_id_unique"]["unexpected_count"] == 14  # both copies of each key
    assert whole_dup["tool_event_id_unique"]["success"] is False
    # 3 buckets: the keys written in one partitioned write; 9: in three (KEY_CHUNK_BUCKETS 3)
    for n in (3, 9):
        bucketed, _, ok_n = records(frame, n, f"keys-{n}")
        assert ok_n is None
        assert bucketed == whole
        bucketed, samples_n, err_n = records(broken, n, f"dup-{n}")
        assert err_n is not None and "tool_event_id_unique" in err_n
        assert bucketed == whole_dup
        assert len(samples_n["tool_event_id_unique"]) == len(samples["tool_event_id_unique"]) > 0
        assert "offending rows" in err_n


# ------------------------------------------------------------------ through the stages
@pytest.mark.parametrize(
    "table,expectation_name",
    [
        ("silver/interactions", "tool_event_id_unique"),
        ("silver/interactions", "output_disposition_in_set"),
        ("gold/interaction_labels", "theater_probability_in_0_1"),
        ("gold/org_theater_index", "ci_low_le_index"),
    ],
)
def test_stage_stops_before_writing(spark, lake_copy, monkeypatch, table, expectation_name):
    land, lake = lake_copy
    suite = json.loads((SUITES / quality.suite_file_name(table)).read_text())
    e = next(x for x in suite["expectations"] if x["meta"]["name"] == expectation_name)
    _break_at_publish(monkeypatch, table, breaker_for(e))
    version = lake.version(table)
    cfg = _cfg()
    with pytest.raises(DataQualityError) as err:
        if table.startswith("silver"):
            refine.run(spark, cfg, lake, Q3)
        else:
            score.run(spark, cfg, lake, Q3, run_id="broken-run")
    msg = str(err.value)
    assert expectation_name in msg and table in msg and "offending rows" in msg
    assert lake.version(table) == version
    assert any(
        not r["success"]
        for r in _dq_rows(spark, lake, table_name=table, expectation=expectation_name)
    )
    assert not any(Path(lake.path("ops/_staging")).glob("dq-*"))


def test_every_silver_org_must_appear_in_gold(spark, lake_copy, monkeypatch):
    land, lake = lake_copy
    first = lake.read(spark, "gold/org_theater_index").agg(F.min("org_id")).first()[0]
    _break_at_publish(
        monkeypatch, "gold/org_theater_index", lambda df: df.where(F.col("org_id") != first)
    )
    version = lake.version("gold/org_theater_index")
    with pytest.raises(DataQualityError, match="every_silver_org_in_gold"):
        score.run(spark, _cfg(), lake, Q3, run_id="missing-org")
    assert lake.version("gold/org_theater_index") == version
    row = _dq_rows(spark, lake, expectation="every_silver_org_in_gold", run_id="missing-org")
    assert row[0]["success"] is False and row[0]["observed_value"] == "1"


def test_quarantine_share_over_5_percent_stops_ingest(spark, lake_copy):
    land, lake = lake_copy
    _bad_batch(land, "dirty", n_good=20, n_bad=5)  # 5 of 25 quarantined: 20%
    version = lake.version("bronze/interactions")
    with pytest.raises(DataQualityError, match="quarantine_share_critical") as err:
        ingest.run(spark, lake, str(land), cfg=_cfg())
    assert "bronze/interactions" in str(err.value)
    assert lake.version("bronze/interactions") == version
    row = _dq_rows(spark, lake, expectation="quarantine_share_critical", success=False)
    assert row and float(row[0]["observed_value"]) == pytest.approx(0.2)


def test_quarantine_share_between_1_and_5_percent_is_a_recorded_warning(spark, lake_copy):
    land, lake = lake_copy
    _bad_batch(land, "slightly", n_good=48, n_bad=1)  # 1 of 49: 2%
    m = ingest.run(spark, lake, str(land), cfg=_cfg())
    assert m["rows_loaded"]["interactions"] == 48 and m["rows_quarantined"]["interactions"] == 1
    warned = [r for r in m["dq"] if not r["success"]]
    assert {(r["table_name"], r["expectation"], r["severity"]) for r in warned} >= {
        ("bronze/interactions", "quarantine_share_warning", "warning")
    }
    assert all(r["severity"] == "warning" for r in warned)
    recorded = _dq_rows(spark, lake, expectation="quarantine_share_warning", success=False)
    assert recorded and recorded[0]["severity"] == "warning"
    assert any("1 warning" in line for line in quality.summary_lines(m["dq"]))


def test_unresolved_orgs_over_1_percent_stop_refine(spark, lake_copy):
    land, lake = lake_copy
    n = lake.read(spark, "silver/interactions").count()
    rows = [
        {
            "event_id": f"orphan-{i}",
            "event_ts": "2026-08-03T10:00:00Z",
            "user_id": f"stranger{i}@example.com",
            "tool": "ide",
            "action": "chat",
        }
        for i in range(n // 50)
    ]  # ~2% without any org
    _write(land / "interactions" / "orphans.jsonl", rows)
    ingest.run(spark, lake, str(land), cfg=_cfg())
    version = lake.version("silver/interactions")
    with pytest.raises(DataQualityError, match="org_resolved_share") as err:
        refine.run(spark, _cfg(), lake, Q3)
    assert "stranger" not in str(err.value)  # only pseudonymized keys shown
    assert lake.version("silver/interactions") == version


def test_cli_exits_3_on_a_critical_failure(spark, lake_copy, monkeypatch, tmp_path):
    from theater.cli import main

    land, lake = lake_copy
    suite = json.loads((SUITES / "silver_interactions.json").read_text())
    e = next(x for x in suite["expectations"] if x["meta"]["name"] == "dwell_ms_non_negative")
    _break_at_publish(monkeypatch, "silver/interactions", breaker_for(e))
    monkeypatch.setenv("THEATER_TRACKING__ENABLED", "false")
    monkeypatch.setenv("THEATER_PATHS__STATE", str(tmp_path / "state"))
    monkeypatch.setenv("THEATER_QUALITY__DATA_DOCS", "false")
    version = lake.version("silver/interactions")
    code = main(
        [
            "run",
            "--landing",
            str(land),
            "--lake",
            lake.root,
            "--quarter",
            "2026Q3",
            "--stage",
            "refine",
        ]
    )
    assert code == 3
    assert lake.version("silver/interactions") == version
    assert _dq_rows(spark, lake, expectation="dwell_ms_non_negative", success=False)


# ------------------------------------------------------------------ the suites folder is used
def test_an_edited_copy_of_a_suite_changes_behaviour(spark, lake_copy, tmp_path):
    land, lake = lake_copy
    suites = tmp_path / "suites"
    shutil.copytree(SUITES, suites)
    path = suites / "silver_interactions.json"
    suite = json.loads(path.read_text())
    for e in suite["expectations"]:
        if e["meta"]["name"] == "action_in_set":
            e["kwargs"]["value_set"] = [v for v in e["kwargs"]["value_set"] if v != "chat"]
    path.write_text(json.dumps(suite))
    version = lake.version("silver/interactions")
    with pytest.raises(DataQualityError, match="action_in_set"):
        refine.run(spark, _cfg(**{"quality.suites_dir": str(suites)}), lake, Q3)
    assert lake.version("silver/interactions") == version
    # the same edit as a warning: the stage finishes and records it
    for e in suite["expectations"]:
        if e["meta"]["name"] == "action_in_set":
            e["meta"]["severity"] = "warning"
    path.write_text(json.dumps(suite))
    m = refine.run(spark, _cfg(**{"quality.suites_dir": str(suites)}), lake, Q3)
    warned = [r for r in m["dq"] if r["expectation"] == "action_in_set"]
    assert warned[0]["success"] is False and warned[0]["severity"] == "warning"
    # the stage went on to publish (an unchanged MERGE may add no new version)
    assert m["silver_interactions"] > 0 and lake.version("silver/interactions") >= version


def test_suite_files_are_valid_and_every_expectation_has_a_severity():
    for path in SUITES.glob("*.json"):
        table = json.loads(path.read_text())["meta"]["table"]
        assert quality.suite_file_name(table) == path.name
        suite = quality.load_suite(table, SUITES)
        assert suite.expectations
    bad = json.loads((SUITES / "silver_policies.json").read_text())
    del bad["expectations"][0]["meta"]["severity"]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        Path(d, "silver_policies.json").write_text(json.dumps(bad))
        with pytest.raises(quality.SuiteError, match="severity"):
            quality.load_suite("silver/policies", Path(d))

"""Refine of vendor exports on a temporary Delta lake whose bronze tables are built by hand with
the schemas of notes/vendor_wiring.md (independent of the ingest side): identities, folding,
user/org days, identity coverage, no raw vendor identity past bronze, idempotent re-run."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import functions as F
from vendor_rows import INTERACTION_FIELDS

from theater import console
from theater.bronze import FILES_LOG, FILES_LOG_SCHEMA
from theater.lake import Lake
from theater.period import Period
from theater.stages import refine
from theater.transforms.refine import pseudonym

Q3 = Period.quarter("2026Q3")
T1, T2, T9 = datetime(2026, 10, 1, 6), datetime(2026, 10, 2, 6), datetime(2026, 10, 3, 6)
LINEAGE = (
    "_source_file string, _file_sha256 string, _ingested_at timestamp, _batch_id string, "
    "_line bigint"
)
INTERACTIONS = (
    ", ".join(f"{c} string" for c in INTERACTION_FIELDS)
    + ", _extra string, source_format string, user_alias_kind string, "
    + LINEAGE
)
DIRECTORY = (
    "user_id string, org_id string, org_name string, parent_org_id string, role string, "
    "valid_from string, valid_to string, _extra string, " + LINEAGE
)
IDENTITIES = "alias string, alias_kind string, user_id string, shared string, " + LINEAGE
UPDATES = (
    "source_format string, event_id string, update_id string, event_ts string, "
    "prompt_tokens bigint, completion_tokens bigint, model string, "
    "output_disposition string, " + LINEAGE
)
USER_DAYS = (
    "source_format string, user_id string, user_alias_kind string, vendor_org string, "
    "org_id string, day string, feature string, requests bigint, "
    "suggestions_shown bigint, accepted bigint, rejected bigint, dismissed bigint, "
    "lines_suggested bigint, lines_accepted bigint, sessions bigint, "
    "prompt_tokens bigint, output_tokens bigint, period_days int, " + LINEAGE
)
ORG_DAYS = (
    "source_format string, vendor_org string, day string, feature string, "
    "active_users bigint, engaged_users bigint, requests bigint, "
    "suggestions_shown bigint, accepted bigint, lines_suggested bigint, "
    "lines_accepted bigint, period_days int, " + LINEAGE
)

ALICE, BOB = "alice@corp.example", "bob@corp.example"
RAW_ALIASES = ["alice", "bob", "ghost", "arn:", "@", "acc-7f3", "svc-robot", "P0042"]


def lin(file, batch, at, line):
    return (file, "sha-" + file, at, batch, line)


def ev(
    event_id,
    ts,
    user,
    tool,
    fmt=None,
    kind=None,
    *,
    file="interactions/a.jsonl",
    batch="b1",
    at=T1,
    line=1,
    **kw,
):
    row = {c: None for c in INTERACTION_FIELDS}
    row.update(
        event_id=event_id,
        event_ts=ts,
        user_id=user,
        tool=tool,
        action="agent" if fmt else "chat",
        **kw,
    )
    return (*[row[c] for c in INTERACTION_FIELDS], None, fmt, kind, *lin(file, batch, at, line))


def ud(
    user,
    kind,
    day,
    requests,
    accepted,
    *,
    fmt="github_copilot_users",
    file,
    batch="b1",
    at=T1,
    vendor_org="acme-gh",
    period_days=1,
):
    return (
        fmt,
        user,
        kind,
        vendor_org,
        None,
        day,
        "code_completion",
        requests,
        requests * 2,
        accepted,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        period_days,
        *lin(file, batch, at, 1),
    )


@pytest.fixture()
def lake(spark, tmp_path):
    lk = Lake(str(tmp_path / "lake"))

    def put(table, rows, schema):
        lk.overwrite(spark.createDataFrame(rows, schema), table)

    put(
        FILES_LOG,
        [
            ("vendor", f, "sha", 1, "json", b, at, 1, 0, "loaded", None)
            for f, b, at in [("x", "b1", T1), ("y", "b2", T2)]
        ],
        FILES_LOG_SCHEMA,
    )
    put(
        "bronze/directory",
        [
            (
                ALICE,
                "o1",
                None,
                None,
                None,
                "2026-01-01",
                None,
                None,
                *lin("directory/d.csv", "b1", T1, 1),
            ),
            (
                BOB,
                "o2",
                None,
                None,
                None,
                "2026-01-01",
                "2026-07-15",
                None,
                *lin("directory/d.csv", "b1", T1, 2),
            ),
            (
                BOB,
                "o3",
                None,
                None,
                None,
                "2026-07-15",
                None,
                None,
                *lin("directory/d.csv", "b1", T1, 3),
            ),
            (
                "u0042",
                "o3",
                None,
                None,
                None,
                "2026-01-01",
                None,
                None,
                *lin("directory/d.csv", "b1", T1, 4),
            ),
        ],
        DIRECTORY,
    )
    idf = "identities/identities.csv"
    put(
        "bronze/identities",
        [
            ("alice-gh", "github_login", ALICE, None, *lin(idf, "b1", T1, 2)),
            ("acc-7f3", "account_uuid", BOB, None, *lin(idf, "b1", T1, 3)),
            (
                "arn:aws:sts::111:assumed-role/BedrockUsers/bob",
                "iam_arn",
                BOB,
                None,
                *lin(idf, "b1", T1, 4),
            ),
            ("svc-robot", "user_id", None, "true", *lin(idf, "b1", T1, 5)),
            ("P0042", "person_id", "u0042", None, *lin(idf, "b1", T1, 6)),
        ],
        IDENTITIES,
    )
    cc, br = "claude_code_otel", "bedrock_invocation_logs"
    put(
        "bronze/interactions",
        [
            ev("n1", "2026-07-06T09:00:00Z", ALICE, "ide"),  # native
            ev(
                "p1",
                "2026-07-06T09:10:00Z",
                "Alice@Corp.Example",
                "cli",
                cc,
                "email",
                file="vendor/claude_code_otel/l1.json",
            ),
            ev(
                "p1",
                "2026-07-06T09:10:00Z",
                "Alice@Corp.Example",
                "cli",
                cc,
                "email",
                file="vendor/claude_code_otel/l1-again.json",
                batch="b2",
                at=T2,
            ),  # re-delivered
            ev(
                "p2",
                "2026-07-06T09:20:00Z",
                "acc-7f3",
                "cli",
                cc,
                "account_uuid",
                file="vendor/claude_code_otel/l1.json",
                line=2,
            ),
            ev(
                "p3",
                "2026-07-06T09:30:00Z",
                "ghost@else.example",
                "cli",
                cc,
                "email",
                file="vendor/claude_code_otel/l1.json",
                line=3,
            ),  # unmapped
            ev(
                "r1",
                "2026-07-20T10:00:00Z",
                "arn:aws:sts::111:assumed-role/BedrockUsers/bob",
                "assistant",
                br,
                "iam_arn",
                file="vendor/bedrock/x.json.gz",
            ),
            ev(
                "r2",
                "2026-07-20T10:05:00Z",
                "arn:aws:sts::111:assumed-role/Build/ci-run",
                "assistant",
                br,
                "iam_arn",
                file="vendor/bedrock/x.json.gz",
                line=2,
            ),  # shared role
            ev(
                "r3",
                "2026-07-20T10:06:00Z",
                "svc-robot",
                "assistant",
                br,
                "user_id",
                file="vendor/bedrock/x.json.gz",
                line=3,
            ),  # shared (flag)
        ],
        INTERACTIONS,
    )
    uf = "vendor/claude_code_otel/l1.json"
    put(
        "bronze/interaction_updates",
        [
            (
                cc,
                "p1",
                "p1#1",
                "2026-07-06T09:10:01Z",
                900,
                100,
                "claude-sonnet-4-5",
                None,
                *lin(uf, "b1", T1, 5),
            ),
            (
                cc,
                "p1",
                "p1#2",
                "2026-07-06T09:10:02Z",
                None,
                None,
                None,
                "accepted",
                *lin(uf, "b1", T1, 6),
            ),
            (
                cc,
                "p1",
                "p1#3",
                "2026-07-06T09:10:03Z",
                100,
                20,
                "claude-haiku-4-5",
                None,
                *lin(uf, "b1", T1, 7),
            ),
            (
                cc,
                "p2",
                "p2#1",
                "2026-07-06T09:20:01Z",
                None,
                None,
                None,
                "discarded",
                *lin(uf, "b1", T1, 8),
            ),
            (
                cc,
                "p8",
                "p8#1",
                "2026-07-06T09:40:00Z",
                5,
                5,
                "m",
                None,
                *lin(uf, "b1", T1, 9),
            ),  # orphan
        ],
        UPDATES,
    )
    g = "vendor/github_copilot_users/"
    put(
        "bronze/user_days",
        [
            ud("alice-gh", "github_login", "2026-07-06", 10, 3, file=g + "d1.ndjson"),
            ud(
                "alice-gh",
                "github_login",
                "2026-07-06",
                12,
                5,
                file=g + "d1-fix.ndjson",
                batch="b2",
                at=T2,
            ),  # later delivery wins
            ud(
                "alice-gh",
                "github_login",
                "2026-07-06",
                99,
                99,
                file=g + "crashed.ndjson",
                batch="b9",
                at=T9,
            ),  # uncommitted batch
            ud("bob@corp.example", "email", "2026-07-14", 4, 1, file=g + "d2.ndjson"),
            ud("bob@corp.example", "email", "2026-07-15", 6, 2, file=g + "d2.ndjson"),
            ud("ghost-gh", "github_login", "2026-07-06", 7, 1, file=g + "d1.ndjson"),  # unmapped
            ud("ghost-gh", "github_login", "2026-10-06", 7, 1, file=g + "q4.ndjson"),  # next period
            ud(
                "P0042",
                "person_id",
                "2026-07-05",
                30,
                None,
                fmt="viva_person_query",
                file="vendor/viva/pq.csv",
                vendor_org=None,
                period_days=7,
            ),
        ],
        USER_DAYS,
    )
    put(
        "bronze/org_days",
        [
            (
                "github_copilot_org_metrics",
                "o1",
                "2026-07-06",
                "all",
                20,
                12,
                None,
                300,
                90,
                None,
                None,
                1,
                *lin("vendor/github_copilot_org_metrics/o1/m.json", "b1", T1, 1),
            ),
            (
                "github_copilot_org_metrics",
                "o1",
                "2026-07-06",
                "all",
                21,
                13,
                None,
                310,
                95,
                None,
                None,
                1,
                *lin("vendor/github_copilot_org_metrics/o1/m2.json", "b2", T2, 1),
            ),
        ],
        ORG_DAYS,
    )
    return lk


def _tables(spark, lk):
    return {
        t: sorted((tuple(r) for r in lk.read(spark, t).drop("_ingested_at").collect()), key=repr)
        for t in ("silver/interactions", "silver/user_days", "silver/org_days", "silver/directory")
    }


def test_vendor_refine_end_to_end(spark, cfg, lake, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("THEATER_PSEUDONYM_KEY", "vendor-test-key")
    key = b"vendor-test-key"
    m = refine.run(spark, cfg, lake, Q3, run_id="run-1")

    def k(uid):
        return spark.range(1).select(pseudonym(F.lit(uid), key).alias("k")).collect()[0].k

    si = {r.event_id: r for r in lake.read(spark, "silver/interactions").collect()}
    assert sorted(si) == ["n1", "p1", "p2", "r1"]  # p3 unmapped, r2/r3 shared: out
    assert m["silver_interactions"] == 4
    # vendor and native rows of one person share a key (e-mail compared case-insensitively)
    assert si["p1"].user_key == si["n1"].user_key == k(ALICE)
    assert si["p2"].user_key == si["r1"].user_key == k(BOB)
    assert (si["p1"].source_format, si["n1"].source_format) == ("claude_code_otel", None)
    assert (
        si["p1"].prompt_tokens,
        si["p1"].completion_tokens,
        si["p1"].model,
        si["p1"].output_disposition,
    ) == (1000, 120, "claude-sonnet-4-5", "accepted")
    assert si["p2"].output_disposition == "discarded" and si["p2"].prompt_tokens is None
    assert si["p1"]._source_file.endswith("l1-again.json")  # latest delivery
    assert (si["p1"].org_id, si["p1"].org_source) == ("o1", "directory")
    assert si["r1"].org_id == "o3"  # bob moved on 2026-07-15
    assert si["p1"].session_key == si["n1"].session_key  # one session with native use
    assert m["orphan_updates"] == 1

    ud_rows = {
        (r.source_format, r.user_key, str(r.day)): r
        for r in lake.read(spark, "silver/user_days").collect()
    }
    gh = "github_copilot_users"
    assert sorted(ud_rows) == sorted(
        [
            (gh, k(ALICE), "2026-07-06"),
            (gh, k(BOB), "2026-07-14"),
            (gh, k(BOB), "2026-07-15"),
            ("viva_person_query", k("u0042"), "2026-07-05"),
        ]
    )
    a = ud_rows[(gh, k(ALICE), "2026-07-06")]
    assert (a.requests, a.accepted, a.suggestions_shown, a.rejected, a.org_id, a.vendor_org) == (
        12,
        5,
        24,
        None,
        "o1",
        "acme-gh",
    )  # latest delivery; never summed
    assert ud_rows[(gh, k(BOB), "2026-07-14")].org_id == "o2"
    assert ud_rows[(gh, k(BOB), "2026-07-15")].org_id == "o3"
    viva = ud_rows[("viva_person_query", k("u0042"), "2026-07-05")]
    assert (viva.period_days, viva.org_id, viva.requests) == (7, "o3", 30)
    assert m["silver_user_days"] == 4
    od = lake.read(spark, "silver/org_days").collect()
    assert [(r.org_id, r.active_users, r.accepted) for r in od] == [("o1", 21, 95)]

    for t in ("silver/user_days", "silver/org_days"):  # their GX suites ran, and passed
        ran = [r for r in m["dq"] if r["table_name"] == t]
        assert ran and all(r["success"] for r in ran if r["severity"] == "critical"), t

    cov = {
        (r.source_format, r.alias_kind): (
            r.aliases,
            r.mapped,
            r.unmapped,
            r.shared,
            r.rows_unmapped,
            r.rows_shared,
        )
        for r in lake.read(spark, "ops/identity_coverage").collect()
    }
    assert cov == {
        ("claude_code_otel", "email"): (2, 1, 1, 0, 1, 0),
        ("claude_code_otel", "account_uuid"): (1, 1, 0, 0, 0, 0),
        ("bedrock_invocation_logs", "iam_arn"): (2, 1, 0, 1, 0, 1),
        ("bedrock_invocation_logs", "user_id"): (1, 0, 0, 1, 0, 1),
        (gh, "github_login"): (2, 1, 1, 0, 1, 0),  # ghost's Q4 row: not this period
        (gh, "email"): (1, 1, 0, 0, 0, 0),
        ("viva_person_query", "person_id"): (1, 1, 0, 0, 0, 0),
    }
    assert m["identity_coverage"]["claude_code_otel"]["unmapped"] == 1
    assert m["identity_coverage"][gh]["rows_unmapped"] == 1

    # no raw vendor identity (nor a directory user_id) in any value past bronze
    for t in (
        "silver/interactions",
        "silver/user_days",
        "silver/org_days",
        "silver/directory",
        "ops/identity_coverage",
    ):
        for r in lake.read(spark, t).collect():
            for value in r:
                text = str(value)
                assert not any(a in text for a in RAW_ALIASES + ["u0042"]), (t, text)

    console.print_summary({"refine": m, "lake": str(tmp_path / "lake"), "seconds": 1})
    out = capsys.readouterr().out
    assert "identities claude_code_otel: 1 of 3 unmapped (1 rows left out)" in out
    assert "identities github_copilot_users: 1 of 3 unmapped (1 rows left out)" in out
    assert "bedrock" not in out.split("Outputs")[0]  # nothing unmapped there (shared)

    # re-running the period changes nothing (and replaces rather than adds)
    before = _tables(spark, lake)
    m2 = refine.run(spark, cfg, lake, Q3, run_id="run-2")
    assert _tables(spark, lake) == before
    assert m2["identity_coverage"] == m["identity_coverage"]
    runs = lake.read(spark, "ops/identity_coverage").groupBy("run_id").count().collect()
    assert sorted((r.run_id, r["count"]) for r in runs) == [("run-1", 7), ("run-2", 7)]


def test_silver_written_before_vendor_columns_is_upgraded(spark, cfg, lake):
    refine.run(spark, cfg, lake, Q3)
    old = lake.read(spark, "silver/interactions").drop("source_format")
    lake.overwrite(old, "silver/interactions")  # a lake of the previous version
    refine.run(spark, cfg, lake, Q3)
    rows = {r.event_id: r.source_format for r in lake.read(spark, "silver/interactions").collect()}
    assert rows == {
        "n1": None,
        "p1": "claude_code_otel",
        "p2": "claude_code_otel",
        "r1": "bedrock_invocation_logs",
    }

"""Vendor refine transforms on hand-made rows: identities, update folding, user/org days."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from pyspark.sql import functions as F

from theater.sources.exports.formats import claude_code_otel as cc
from theater.sources.stream import iter_records
from theater.transforms import vendor as v
from theater.transforms.refine import pseudonym

KEY = b"test-key"
T1, T2 = datetime(2026, 7, 1, 8), datetime(2026, 7, 2, 8)
FIX = Path(__file__).parents[1] / "fixtures" / "vendor" / "claude_code_otel"

DIRECTORY = [("alice@corp.example",), ("u42",), ("bob@corp.example",), ("u77",)]
IDENTITIES = [
    # alias, alias_kind, user_id, shared, _ingested_at
    ("alice-gh", "github_login", "alice@corp.example", None, T1),
    ("alice@tenant.onmicrosoft.example", "upn", "alice@corp.example", "", T1),
    ("arn:aws:sts::123:assumed-role/BedrockUsers/alice", "iam_arn", "alice@corp.example", None, T1),
    ("svc-bot", "user_id", "u42", "TRUE", T1),  # shared service principal
    ("dup", "user_id", "u42", None, T1),  # earlier delivery: one user
    ("dup", "user_id", "u42", None, T2),  # latest delivery: two users
    ("dup", "user_id", "bob@corp.example", None, T2),
    ("moved", "github_login", "u42", None, T1),  # remapped by a later delivery
    ("moved", "github_login", "bob@corp.example", None, T2),
    ("u77", "user_id", "bob@corp.example", None, T1),  # u77's own id mapped to bob: conflict
    ("gone-gh", "github_login", "left@corp.example", None, T1),  # not in the directory
    ("bob-gh", "github_login", "bob@corp.example", None, T1),  # bob's second login
]
ID_SCHEMA = "alias string, alias_kind string, user_id string, shared string, _ingested_at timestamp"


def _maps(spark):
    idmap = v.identity_map(spark.createDataFrame(IDENTITIES, ID_SCHEMA))
    dir_ids = v.directory_ids(spark.createDataFrame(DIRECTORY, "user_id string"))
    return idmap, dir_ids


def _rows(spark, rows):
    return spark.createDataFrame(
        rows, "source_format string, user_alias_kind string, user_id string, n int"
    )


CASES = [
    # source_format, kind, alias -> status, resolved directory user_id
    ("f", "email", " ALICE@Corp.example", "directory", "alice@corp.example"),  # case-insensitive
    ("f", "user_id", "u42", "directory", "u42"),  # equal to a directory user_id
    ("f", "user_id", "u77", "conflicting", None),  # a directory user_id mapped to another
    ("f", "email", "bob@corp.example", "directory", "bob@corp.example"),  # directory user_id
    ("f", "github_login", "gone-gh", "unknown_user", "left@corp.example"),  # kept, counted
    ("f", "user_id", "U42", "unmapped", None),  # ids are case-sensitive
    ("f", "github_login", "alice-gh", "mapped", "alice@corp.example"),
    ("f", "upn", "Alice@Tenant.OnMicrosoft.example", "mapped", "alice@corp.example"),
    ("f", "github_login", "ghost", "unmapped", None),  # never guessed
    ("b", "iam_arn", "arn:aws:sts::123:assumed-role/Build/ci-42", "shared", None),  # role ARN
    ("b", "iam_arn", "arn:aws:iam::123:role/etl", "shared", None),
    (
        "b",
        "iam_arn",
        "arn:aws:sts::123:assumed-role/BedrockUsers/alice",
        "mapped",
        "alice@corp.example",
    ),  # role ARN mapped to a person
    ("f", "user_id", "svc-bot", "shared", None),  # shared=true in identities
    ("f", "user_id", "dup", "ambiguous", None),  # latest delivery: 2 users
    ("f", "github_login", "moved", "mapped", "bob@corp.example"),  # latest delivery wins
    (None, None, "whoever", "native", "whoever"),  # native rows untouched
]


def test_identity_resolution_statuses(spark):
    idmap, dir_ids = _maps(spark)
    df = _rows(spark, [(f, k, a, i) for i, (f, k, a, _, _) in enumerate(CASES)])
    got = {
        r.n: (r._identity_status, r._resolved_id)
        for r in df.transform(v.resolve_identities(idmap, dir_ids)).collect()
    }
    assert got == {i: (s, u) for i, (_, _, _, s, u) in enumerate(CASES)}


def test_identity_coverage_counts(spark):
    idmap, dir_ids = _maps(spark)
    rows = [
        ("f", "github_login", "alice-gh", 1),
        ("f", "github_login", "alice-gh", 2),
        ("f", "github_login", "ghost", 3),
        ("f", "github_login", "ghost", 4),
        ("f", "github_login", "ghost2", 5),
        ("f", "email", "alice@corp.example", 6),
        ("f", "email", "Alice@corp.example", 7),  # same mailbox: one alias
        ("f", "user_id", "svc-bot", 8),
        ("f", "user_id", "dup", 9),
        ("f", "user_id", "dup", 11),
        ("f", "user_id", "u77", 12),
        ("f", "github_login", "moved", 13),  # bob
        ("f", "github_login", "bob-gh", 14),  # bob again: one person, two logins
        ("f", "github_login", "gone-gh", 15),
        (None, None, "native-user", 10),
    ]
    r = _rows(spark, rows).transform(v.resolve_identities(idmap, dir_ids))
    cov = {
        (c.source_format, c.alias_kind): tuple(c[n] for n in v.COVERAGE_COUNTS)
        for c in v.identity_coverage(
            v.coverage_aliases(r), v.coverage_rows(r), v.several_aliases(r)
        ).collect()
    }
    # aliases, mapped, unmapped, shared, rows_unmapped, rows_shared, ambiguous, conflicting,
    # unknown_user, rows_ambiguous, rows_conflicting, several_aliases
    assert cov == {
        # alice-gh, moved + bob-gh (bob: several aliases), gone-gh (unknown, kept); ghost x2
        # rows + ghost2 unmapped
        ("f", "github_login"): (6, 4, 2, 0, 3, 0, 0, 0, 1, 0, 0, 1),
        ("f", "email"): (1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        # svc-bot shared; dup ambiguous (2 rows), u42 conflicting (1 row): not "unmapped"
        ("f", "user_id"): (3, 0, 0, 1, 0, 1, 1, 1, 0, 2, 1, 0),
    }


# ----------------------------------------------------------------------------- folding

UPD_SCHEMA = (
    "source_format string, event_id string, update_id string, event_ts string, "
    "prompt_tokens bigint, completion_tokens bigint, model string, "
    "output_disposition string, _ingested_at timestamp"
)
PROMPT_SCHEMA = (
    "source_format string, event_id string, tool string, prompt_tokens bigint, "
    "completion_tokens bigint, model string, output_disposition string"
)
CC = "claude_code_otel"


def test_fold_updates_by_hand(spark):
    ups = [
        (CC, "p1", "p1#2", "2026-07-06T09:00:05Z", 100, 10, "late-model", None, T1),
        (CC, "p1", "p1#1", "2026-07-06T09:00:01Z", 50, None, "first-model", None, T1),
        (CC, "p1", "p1#1", "2026-07-06T09:00:01Z", 50, None, "first-model", None, T2),  # again
        (CC, "p1", "p1#3", "2026-07-06T09:00:02Z", None, None, None, "discarded", T1),
        (CC, "p1", "p1#4", "2026-07-06T09:00:03Z", None, None, None, "accepted", T1),
        (CC, "p2", "p2#1", "2026-07-06T10:00:00Z", None, None, None, "discarded", T1),
        (CC, "p3", "p3#1", "2026-07-06T11:00:00Z", None, None, None, None, T1),  # no tokens
        (CC, "p9", "p9#1", "2026-07-06T12:00:00Z", 7, 7, "m", None, T1),  # orphan
    ]
    prompts = [
        (CC, "p1", "cli", None, None, None, None),
        (CC, "p2", "ide", None, None, None, None),
        (CC, "p3", "cli", 5, 6, "kept?", "accepted"),
        (CC, "p4", "cli", None, None, None, None),
        (None, "p1", "cli", 1, 2, "n", None),
    ]
    u = spark.createDataFrame(ups, UPD_SCHEMA)
    p = spark.createDataFrame(prompts, PROMPT_SCHEMA)
    got = {
        (r.source_format, r.event_id): (
            r.prompt_tokens,
            r.completion_tokens,
            r.model,
            r.output_disposition,
        )
        for r in p.transform(v.fold_updates(u)).collect()
    }
    assert got == {
        (CC, "p1"): (150, 10, "first-model", "accepted"),  # sums; model of earliest request
        (CC, "p2"): (None, None, None, "discarded"),  # only rejects
        (CC, "p3"): (None, None, None, "accepted"),  # a request with no values: unknown
        (CC, "p4"): (None, None, None, None),  # no updates: unchanged
        (None, "p1"): (1, 2, "n", None),  # native row of the same id: untouched
    }
    orphans = v.orphan_updates(u, p).collect()
    assert [o.update_id for o in orphans] == ["p9#1"]


def test_spark_fold_matches_reference_fold_on_fixtures(spark):
    prompts, updates = [], []
    for path in sorted(FIX.iterdir()):
        for rec in iter_records(str(path)):
            if rec.record is None:
                continue
            try:
                rows = cc.map_record(rec.record)
            except Exception:  # records the reader quarantines
                continue
            for r in rows:
                (prompts if r["_table"] == "interactions" else updates).append(r)
    assert prompts and updates
    want, want_orphans = cc.fold_updates(prompts, updates + updates[:3])  # with a re-delivery
    cols = ["prompt_tokens", "completion_tokens", "model", "output_disposition"]
    p = spark.createDataFrame(
        [(r["source_format"], r["event_id"], r["tool"], *[r[c] for c in cols]) for r in prompts],
        PROMPT_SCHEMA,
    )
    u = spark.createDataFrame(
        [
            (
                r["source_format"],
                r["event_id"],
                r["update_id"],
                r["update_ts"],
                r["prompt_tokens"],
                r["completion_tokens"],
                r["model"],
                r["output_disposition"],
                T1 if i < len(updates) else T2,
            )
            for i, r in enumerate(updates + updates[:3])
        ],
        UPD_SCHEMA,
    )
    got = {r.event_id: tuple(r[c] for c in cols) for r in p.transform(v.fold_updates(u)).collect()}
    assert got == {r["event_id"]: tuple(r[c] for c in cols) for r in want}
    assert any(g[0] is not None for g in got.values())  # the fixtures do fold something
    assert sorted(o.update_id for o in v.orphan_updates(u, p).collect()) == sorted(
        o["update_id"] for o in want_orphans
    )


# ----------------------------------------------------------------------------- user days

UD_SCHEMA = (
    "source_format string, user_id string, user_alias_kind string, vendor_org string, "
    "org_id string, day string, feature string, requests bigint, "
    "suggestions_shown bigint, accepted bigint, rejected bigint, dismissed bigint, "
    "lines_suggested bigint, lines_accepted bigint, sessions bigint, "
    "prompt_tokens bigint, output_tokens bigint, period_days int, "
    "_source_file string, _batch_id string, _ingested_at timestamp"
)
DIR_SCHEMA = "user_key string, org_id string, valid_from date, valid_to date"


def _ud(
    fmt,
    user,
    kind,
    day,
    feature,
    requests,
    accepted,
    file,
    batch,
    at,
    period_days=1,
    vendor_org=None,
    org_id=None,
):
    return (
        fmt,
        user,
        kind,
        vendor_org,
        org_id,
        day,
        feature,
        requests,
        None,
        accepted,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        period_days,
        file,
        batch,
        at,
    )


def test_user_days_latest_delivery_parts_and_org_as_of_day(spark):
    idmap, dir_ids = _maps(spark)
    gh = "github_copilot_users"
    rows = [
        # day 1, delivered twice: the later file wins whole (never 10 + 12)
        _ud(
            gh,
            "alice-gh",
            "github_login",
            "2026-07-01",
            "chat",
            10,
            4,
            "d1.json",
            "b1",
            T1,
            vendor_org="acme",
        ),
        _ud(
            gh,
            "alice-gh",
            "github_login",
            "2026-07-01",
            "chat",
            12,
            None,
            "d1b.json",
            "b2",
            T2,
            vendor_org="acme",
        ),
        # day 2: two parts of one delivery (two aliases of alice) are summed
        _ud(gh, "alice-gh", "github_login", "2026-07-02", "chat", 3, None, "d2.json", "b1", T1),
        _ud(gh, "alice@corp.example", "email", "2026-07-02", "chat", 2, 1, "d2.json", "b1", T1),
        # day 3: two conflicting files of one batch: the larger content hash wins
        _ud(gh, "alice-gh", "github_login", "2026-07-03", "chat", 5, None, "x.json", "b1", T1),
        _ud(gh, "alice-gh", "github_login", "2026-07-03", "chat", 6, None, "y.json", "b1", T1),
        # bob moves org on 2026-07-10; unmapped and shared rows never reach silver
        _ud(gh, "bob@corp.example", "email", "2026-07-09", "chat", 1, None, "d.json", "b1", T1),
        _ud(gh, "bob@corp.example", "email", "2026-07-10", "chat", 1, None, "d.json", "b1", T1),
        _ud(gh, "ghost", "github_login", "2026-07-10", "chat", 9, None, "d.json", "b1", T1),
        _ud(gh, "svc-bot", "user_id", "2026-07-10", "chat", 9, None, "d.json", "b1", T1),
        # a person-week (Viva, Sunday 07-05 to Saturday 07-11): counted for the ISO week from
        # Monday 07-06, so its org is the directory's on that Monday (o4, not the Sunday's o3);
        # HR org attribute not used
        _ud(
            "viva_person_query",
            "u42",
            "person_id",
            "2026-07-05",
            "teams",
            30,
            None,
            "v.csv",
            "b1",
            T1,
            period_days=7,
            org_id="HR-Sales",
        ),
    ]
    key = {u: pseudonym(F.lit(u), KEY) for u in ("alice@corp.example", "bob@corp.example", "u42")}
    keys = {u: spark.range(1).select(c.alias("k")).collect()[0].k for u, c in key.items()}
    directory = spark.createDataFrame(
        [
            (keys["alice@corp.example"], "o1", date(2026, 1, 1), None),
            (keys["bob@corp.example"], "o1", date(2026, 1, 1), date(2026, 7, 10)),
            (keys["bob@corp.example"], "o2", date(2026, 7, 10), None),
            (keys["u42"], "o3", date(2026, 7, 5), date(2026, 7, 6)),  # one day only: the Sunday
            (keys["u42"], "o4", date(2026, 7, 6), None),
        ],
        DIR_SCHEMA,
    )
    resolved = v.resolved_user_days(spark.createDataFrame(rows, UD_SCHEMA), idmap, dir_ids)
    out = v.clean_user_days(resolved, KEY, directory)
    assert out.columns == v.SILVER_USER_DAY_COLUMNS
    got = {
        (r.source_format, r.user_key, str(r.day), r.feature): (
            r.org_id,
            r.vendor_org,
            r.requests,
            r.accepted,
            r.period_days,
        )
        for r in out.collect()
    }
    import hashlib

    def h(*vals):  # the content hash rule by hand, over keys, counts, then carried columns
        return hashlib.sha256(
            "\u001f".join("\u0000" if x is None else str(x) for x in vals).encode()
        ).hexdigest()

    none8 = [None] * 8
    # carried: vendor_org, period_days, _export_org, cost_usd (the vendor's own cost)
    hx = h(
        gh, keys["alice@corp.example"], "2026-07-03", "chat", 5, None, *none8, None, 1, None, None
    )
    hy = h(
        gh, keys["alice@corp.example"], "2026-07-03", "chat", 6, None, *none8, None, 1, None, None
    )
    day3 = 5 if hx > hy else 6
    a, b = keys["alice@corp.example"], keys["bob@corp.example"]
    assert got == {
        (gh, a, "2026-07-01", "chat"): ("o1", "acme", 12, None, 1),
        (gh, a, "2026-07-02", "chat"): ("o1", None, 5, 1, 1),
        (gh, a, "2026-07-03", "chat"): ("o1", None, day3, None, 1),
        (gh, b, "2026-07-09", "chat"): ("o1", None, 1, None, 1),
        (gh, b, "2026-07-10", "chat"): ("o2", None, 1, None, 1),
        ("viva_person_query", keys["u42"], "2026-07-05", "teams"): ("o4", None, 30, None, 7),
    }
    left = {(r._alias_norm, r._identity_status) for r in v.user_days_left_out(resolved).collect()}
    assert left == {("ghost", "unmapped"), ("svc-bot", "shared")}
    # the same input in another order gives the same rows
    again = v.clean_user_days(
        resolved.orderBy(F.desc("_source_file")).repartition(3), KEY, directory
    )
    assert sorted(again.collect(), key=repr) == sorted(out.collect(), key=repr)


OD_SCHEMA = (
    "source_format string, vendor_org string, day string, feature string, "
    "active_users bigint, engaged_users bigint, requests bigint, "
    "suggestions_shown bigint, accepted bigint, lines_suggested bigint, "
    "lines_accepted bigint, period_days int, _source_file string, _batch_id string, "
    "_ingested_at timestamp"
)


def test_org_days_latest_delivery_and_parts(spark):
    m = "m365_copilot_reports"
    rows = [
        (
            m,
            "o1",
            "2026-07-01",
            "teams",
            10,
            None,
            None,
            None,
            None,
            None,
            None,
            1,
            "o1/a.csv",
            "b1",
            T1,
        ),
        (
            m,
            "o1",
            "2026-07-01",
            "teams",
            11,
            None,
            None,
            None,
            None,
            None,
            None,
            1,
            "o1/b.csv",
            "b2",
            T2,
        ),  # re-delivery: replaces, not summed
        (
            m,
            "o1",
            "2026-07-02",
            "teams",
            2,
            None,
            None,
            None,
            None,
            None,
            None,
            1,
            "o1/c.csv",
            "b1",
            T1,
        ),
        (
            m,
            "o1",
            "2026-07-02",
            "teams",
            3,
            None,
            None,
            None,
            None,
            None,
            None,
            1,
            "o1/c.csv",
            "b1",
            T1,
        ),  # two parts of one file: summed
        (
            m,
            "o2",
            "2026-07-01",
            "teams",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            1,
            "o2/a.csv",
            "b1",
            T1,
        ),
    ]  # nothing reported: stays unknown
    out = v.clean_org_days(spark.createDataFrame(rows, OD_SCHEMA))
    assert out.columns == v.SILVER_ORG_DAY_COLUMNS
    got = {(r.org_id, str(r.day)): r.active_users for r in out.collect()}
    assert got == {("o1", "2026-07-01"): 11, ("o1", "2026-07-02"): 5, ("o2", "2026-07-01"): None}


def test_native_rows_resolve_to_themselves_without_the_joins(spark):
    """Bronze with no vendor row: refine's shortcut gives what the three joins give native
    rows, even for ids the mappings or the directory know (by hand: status native, the row's
    own id, the id trimmed and, for an address, lower-cased)."""
    from theater.stages.refine import _native_identities

    idmap, dir_ids = _maps(spark)
    ids = [" ALICE@Corp.example", "alice-gh", "u77", "svc-bot", "dup", "whoever"]
    rows = _rows(spark, [(None, None, u, i) for i, u in enumerate(ids)])
    cols = ["n", "user_id", "_alias_norm", "_identity_status", "_resolved_id"]
    got = sorted(tuple(r) for r in rows.transform(_native_identities).select(*cols).collect())
    assert got == [
        (0, " ALICE@Corp.example", "alice@corp.example", "native", " ALICE@Corp.example"),
        (1, "alice-gh", "alice-gh", "native", "alice-gh"),
        (2, "u77", "u77", "native", "u77"),
        (3, "svc-bot", "svc-bot", "native", "svc-bot"),
        (4, "dup", "dup", "native", "dup"),
        (5, "whoever", "whoever", "native", "whoever"),
    ]
    joined = rows.transform(v.resolve_identities(idmap, dir_ids))
    assert sorted(tuple(r) for r in joined.select(*cols).collect()) == got
    assert sorted(joined.columns) == sorted(rows.transform(_native_identities).columns)

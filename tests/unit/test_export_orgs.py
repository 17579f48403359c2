"""Orgs from the export (theater.transforms.vendor.with_export_orgs, clean_user_days): a
directory row wins; otherwise the row's own org, else the user's team on that day, else the
latest team; nothing else becomes a person."""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import functions as F

from theater.transforms import vendor
from theater.transforms.refine import pseudonym

KEY = b"k"
COUNTS = ", ".join(f"{c} bigint" for c in vendor.USER_DAY_COUNTS)
SCHEMA = (
    "source_format string, user_id string, user_alias_kind string, vendor_org string, "
    f"org_id string, day string, feature string, {COUNTS}, period_days int, "
    "_source_file string, _batch_id string, _ingested_at timestamp"
)
N = len(vendor.USER_DAY_COUNTS)


def _row(src, user, day, feature, org=None, requests=None):
    counts = [requests] + [None] * (N - 1)
    return (src, user, "login", None, org, day, feature, *counts, 1, "f", "b", None)


def _resolve(spark, rows, directory_ids=(), identities=()):
    bronze = spark.createDataFrame(rows, SCHEMA).withColumn("_ingested_at", F.current_timestamp())
    ids = spark.createDataFrame(
        list(identities),
        "alias string, alias_kind string, user_id string, shared string, _ingested_at timestamp",
    )
    dirs = spark.createDataFrame([(u,) for u in directory_ids], "user_id string")
    return vendor.resolved_user_days(bronze, vendor.identity_map(ids), vendor.directory_ids(dirs))


M = vendor.MEMBERSHIP_FEATURE
G, T = "github_copilot_users", "github_copilot_user_teams"


def test_export_org_precedence(spark):
    rows = [
        # viva-like: the row carries its org
        _row("viva_person_query", "p1", "2026-03-01", "teams", org="Finance", requests=3),
        # GitHub: u1's team that day (two teams: the first slug), and a later team
        _row(G, "u1", "2026-03-02", "chat", requests=2),
        _row(T, "u1", "2026-03-02", M, org="zeta"),
        _row(T, "u1", "2026-03-02", M, org="alpha"),
        _row(T, "u1", "2026-03-09", M, org="omega"),
        # u2: no team that day: the latest membership day's team
        _row(G, "u2", "2026-03-05", "chat", requests=1),
        _row(T, "u2", "2026-03-01", M, org="old"),
        _row(T, "u2", "2026-03-03", M, org="new"),
        # u3: nothing gives an org: stays unmapped, left out
        _row(G, "u3", "2026-03-02", "chat", requests=1),
    ]
    r = _resolve(spark, rows)
    got = {
        (x.user_id, x.day, x.feature): (x._identity_status, x._export_org)
        for x in r.select("user_id", "day", "feature", "_identity_status", "_export_org").collect()
    }
    assert got[("p1", "2026-03-01", "teams")] == ("export", "Finance")
    assert got[("u1", "2026-03-02", "chat")] == ("export", "alpha")
    assert got[("u2", "2026-03-05", "chat")] == ("export", "new")
    assert got[("u3", "2026-03-02", "chat")] == ("unmapped", None)
    silver = vendor.clean_user_days(r, KEY, _directory(spark, []), with_source=True)
    out = {(x.source_format, x.day): (x.org_id, x.org_source) for x in silver.collect()}
    # membership rows are not usage: only the three kept usage rows reach silver
    assert out == {
        ("viva_person_query", date(2026, 3, 1)): ("Finance", "export"),
        (G, date(2026, 3, 2)): ("alpha", "export"),
        (G, date(2026, 3, 5)): ("new", "export"),
    }
    # the kept person is the keyed hash of the alias: no raw alias in silver
    keys = {x.user_key for x in silver.collect()}
    assert "p1" not in keys and len(keys) == 3


def _directory(spark, rows):
    return spark.createDataFrame(
        rows, "user_key string, org_id string, valid_from date, valid_to date"
    )


def test_a_directory_row_wins_and_shared_identities_never_become_people(spark):
    rows = [
        _row("viva_person_query", "p1", "2026-03-01", "teams", org="Finance", requests=3),
        _row("viva_person_query", "p1", "2026-03-08", "teams", org="Finance", requests=2),
        _row("viva_person_query", "svc", "2026-03-01", "teams", org="Finance", requests=9),
    ]
    r = _resolve(
        spark,
        rows,
        directory_ids=["p1"],
        identities=[("svc", "login", None, "true", datetime(2026, 3, 1))],
    )
    key_p1 = spark.range(1).select(pseudonym(F.lit("p1"), KEY).alias("k")).collect()[0].k
    # the directory covers p1 from 5 March: the week of 1 March falls back to the export org
    d = _directory(spark, [(key_p1, "org-fin", date(2026, 3, 5), None)])
    silver = vendor.clean_user_days(r, KEY, d, with_source=True).collect()
    out = {x.day: (x.org_id, x.org_source) for x in silver}
    assert out == {
        date(2026, 3, 1): ("Finance", "export"),
        date(2026, 3, 8): ("org-fin", "directory"),
    }
    statuses = {x.user_id: x._identity_status for x in r.collect()}
    assert statuses["svc"] == "shared"

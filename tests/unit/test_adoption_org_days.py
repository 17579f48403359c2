"""Org-day exports (silver/org_days) in gold: what they measured per org and source in
gold/org_adoption, and one gold index row per org (n/a with the reason, or suppressed), on a
small hand-made frame with every figure worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from theater.transforms import adoption as adopt
from theater.transforms import aggregates as agg

START, END = date(2026, 3, 1), date(2026, 3, 8)
K = 5
SCHEMA = (
    "source_format string, org_id string, day date, feature string, active_users bigint, "
    "engaged_users bigint, requests bigint, suggestions_shown bigint, accepted bigint, "
    "lines_suggested bigint, lines_accepted bigint, period_days int"
)
OM = "github_copilot_org_metrics"
OU = "github_copilot_org_usage"
M365 = "m365_copilot_reports"


def _row(src, org, day, feature, active=None, req=None, shown=None, acc=None, period=1):
    return (src, org, date(2026, 3, day) if day else date(2026, 2, 28), feature, active, None,
            req, shown, acc, None, None, period)  # fmt: skip


ROWS = [
    # eng, the old metrics API: two days
    _row(OM, "eng", 2, "all", active=12),
    _row(OM, "eng", 2, "code_completion", shown=100, acc=30),  # pushed: no request
    _row(OM, "eng", 2, "ide_chat", req=40, acc=10),  # offered = the decided = 10
    _row(OM, "eng", 2, "copilot_coding_agent", req=7),  # automation: apart
    _row(OM, "eng", 3, "all", active=8),
    _row(OM, "eng", 3, "code_completion", shown=50, acc=20),
    _row(OM, "eng", 3, "ide_chat", req=10),  # accepted unknown: offered unknown
    _row(OM, "eng", 3, "pull_requests", req=5),
    _row(OM, "eng", 0, "all", active=50),  # 28 Feb: before the period
    _row(OM, "eng", 4, "all", active=9, req=999, period=28),  # a window: never summed
    # eng, the new usage report of the same tool: fewer requests, not added to 'all'
    _row(OU, "eng", 2, "all", active=11, req=30, shown=60, acc=25),
    # ops: 3 people on its busiest day, under k = 5
    _row(OU, "ops", 2, "all", active=3, req=9),
    # rd: weekly windows only, 20 people: its size is known, no daily count
    _row(M365, "rd", 1, "all", active=20, period=7),
    # hr: no count of people at all: its size is unknown
    _row(OU, "hr", 2, "chat", req=4),
]


@pytest.fixture(scope="module")
def org_days(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def _by(rows):
    return {(r["org_id"], r["source_format"]): r for r in rows}


def test_org_day_adoption_counts(spark, org_days):
    got = _by(
        r.asDict()
        for r in adopt.org_day_adoption(org_days, START, END, min_users=K, run_id="r").collect()
    )
    assert set(got) == {
        ("eng", OM), ("eng", OU), ("eng", "all"), ("ops", OU), ("ops", "all"),
        ("rd", M365), ("rd", "all"), ("hr", OU), ("hr", "all"),
    }  # fmt: skip
    om = got[("eng", OM)]
    # people: the busiest day's 12 (the 28-day window's 9 is smaller; 28 Feb is out)
    assert om["active_users"] == 12
    assert om["active_days"] == 12 + 8
    assert om["requests"] == 40 + 10 + 5  # chats and PR summaries; completions are pushed
    assert om["accepted"] == 30 + 10 + 20
    assert om["offered"] == 100 + 10 + 50
    assert om["acceptance_rate"] == 0.375  # 60 / 160
    assert om["automation_requests"] == 7
    # what org totals cannot see is NA, never 0
    for c in ("engaged_users", "automation_users", "licensed_seats", "cost", "genuine_users"):
        assert om[c] is None, c
    assert om["suppressed"] is False and om["suppression_reason"] is None
    ou = got[("eng", OU)]
    assert (ou["active_users"], ou["active_days"], ou["requests"]) == (11, 11, 30)
    assert (ou["accepted"], ou["offered"]) == (25, 60)
    # 'all': one source per tool family (the one with more requests, the metrics API's 55)
    al = got[("eng", "all")]
    assert (al["active_users"], al["active_days"], al["requests"]) == (12, 20, 55)
    assert (al["accepted"], al["offered"], al["automation_requests"]) == (60, 160, 7)
    # rd: 20 people in a weekly window, no daily row: no daily sums, size known
    rd = got[("rd", M365)]
    assert rd["suppressed"] is False
    assert rd["active_users"] == 20
    assert rd["active_days"] is None and rd["requests"] is None and rd["accepted"] is None
    # ops (3 < k) and hr (size unknown): suppressed, no figure at all
    for key in [("ops", OU), ("ops", "all"), ("hr", OU), ("hr", "all")]:
        r = got[key]
        assert r["suppressed"] is True and r["suppression_reason"] == "min_users", key
        assert all(r[c] is None for c in adopt.FIGURES), key


def test_person_level_org_keeps_its_all_row(spark, org_days):
    """An org with person-level usage keeps the 'all' row that counts people once; the org-day
    sources add their own rows only, and the index's suppression reaches them."""
    person = spark.createDataFrame([("eng",)], "org_id string")
    idx = spark.createDataFrame(
        [("rd", True, "dominance")], "org_id string, suppressed boolean, suppression_reason string"
    )
    got = _by(
        r.asDict()
        for r in adopt.org_day_adoption(
            org_days, START, END, min_users=K, run_id="r", index_suppressed=idx,
            person_orgs=person,
        ).collect()
    )  # fmt: skip
    assert ("eng", "all") not in got and ("eng", OM) in got
    assert got[("rd", M365)]["suppression_reason"] == "dominance"
    assert got[("rd", M365)]["active_users"] is None


def test_every_org_gets_an_index_row(spark, org_days):
    index = spark.createDataFrame(
        [("eng", START, END, 31.0, 7, False, None, None, "interactions", [OM], "r")],
        "org_id string, period_start date, period_end date, theater_index double, "
        "n_users int, suppressed boolean, suppression_reason string, "
        "not_measurable_reason string, index_basis string, sources array<string>, run_id string",
    )
    orgs = agg.org_level_orgs(org_days, START, END, K)
    out = {
        r.org_id: r.asDict()
        for r in agg.with_org_level_orgs(index, orgs, START, END, "r2").collect()
    }
    assert set(out) == {"eng", "ops", "rd", "hr"}
    assert out["eng"]["theater_index"] == 31.0 and out["eng"]["run_id"] == "r"  # kept as is
    rd = out["rd"]
    assert rd["suppressed"] is False and rd["theater_index"] is None and rd["n_users"] is None
    assert rd["index_basis"] == "none" and rd["sources"] == [M365]
    assert rd["not_measurable_reason"].startswith("org-level aggregates only")
    assert M365 in rd["not_measurable_reason"]
    assert (rd["period_start"], rd["period_end"], rd["run_id"]) == (START, END, "r2")
    for org in ("ops", "hr"):  # 3 people; size unknown
        r = out[org]
        assert r["suppressed"] is True and r["suppression_reason"] == "min_users"
        assert r["not_measurable_reason"] is None and r["sources"] is None
        assert r["index_basis"] is None and r["theater_index"] is None


def test_org_level_estimate_published_with_its_basis(spark, org_days):
    """An org-level estimate becomes the org's index (never zero-width, basis org_aggregates);
    an org without one keeps the reason, with the estimate's own; a suppressed org gets none."""
    index = spark.createDataFrame(
        [],
        "org_id string, period_start date, period_end date, theater_index double, "
        "ci_low double, ci_high double, n_users int, suppressed boolean, "
        "suppression_reason string, not_measurable_reason string, index_basis string, "
        "sources array<string>, run_id string",
    )
    est = spark.createDataFrame(
        [
            ("eng", 0.4667, 0.40, 0.75, None),
            ("rd", None, None, None, "fewer than 100 shown outputs with an accepted count"),
            ("ops", 0.3, 0.2, 0.5, None),  # suppressed: never shown
        ],
        "org_id string, _ol_share double, _ol_low double, _ol_high double, _ol_reason string",
    )
    orgs = agg.org_level_orgs(org_days, START, END, K)
    out = {
        r.org_id: r.asDict()
        for r in agg.with_org_level_orgs(index, orgs, START, END, "r", est).collect()
    }
    eng = out["eng"]
    assert (eng["theater_index"], eng["ci_low"], eng["ci_high"]) == (46.67, 40.0, 75.0)
    assert eng["index_basis"] == "org_aggregates" and eng["not_measurable_reason"] is None
    rd = out["rd"]
    assert rd["theater_index"] is None and rd["index_basis"] == "none"
    assert rd["not_measurable_reason"].endswith(
        "; fewer than 100 shown outputs with an accepted count"
    )
    assert out["ops"]["theater_index"] is None and out["ops"]["suppressed"] is True
    assert out["hr"]["theater_index"] is None and out["hr"]["index_basis"] is None

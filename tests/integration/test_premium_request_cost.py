"""GitHub's premium requests usage report: its rows mapped by hand-worked values, then the fixture
through the real ingest and refine (Sail, Delta) to silver/user_days and gold/org_adoption's
cost.

Fixture, by hand (``tests/fixtures/vendor/github_copilot_premium_requests``):

- line 2, octo-ana 2026-03-02 Sonnet: 12 premium requests, net 0.0 (inside the allowance: a
  known 0);
- line 3, octo-ana 2026-03-02 Gemini Flash: quantity 0.5 (a model under 1x) -> 1 request, net
  0.02;
- line 4, octo-ben 2026-03-02, the coding agent's SKU: 3 requests, net 0.12, feature
  ``coding_agent_premium_requests`` (automation);
- line 5, octo-ana 2026-03-03 Opus: 30 requests, net 0.8 (gross 1.2 - discount 0.4);
- line 6: no username -> quarantined ``missing_required: username``;
- line 7, octo-cy 2026-03-03: 2 requests, net blank -> cost unknown (None, never 0).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from vendor_lake import ingest_and_refine, one_org_directory
from vendor_rows import FIXTURES, U

from theater.period import Period
from theater.sources.exports import map_file, recognise
from theater.sources.exports.formats import github_copilot_premium_requests as m
from theater.sources.exports.values import VendorRecordError
from theater.transforms import adoption as ad

NAME = "github_copilot_premium_requests"
FIX = FIXTURES / NAME
FILE = FIX / "premium_request_usage_report_2026-03.csv"
PERIOD = Period(date(2026, 3, 1), date(2026, 4, 1))
PEOPLE = {"octo-ana": "p1", "octo-ben": "p2", "octo-cy": "p3"}


def _ud(user, day, feature, requests, cost, org="acme-eng"):
    return U(
        NAME, user, "github_login", day, feature, vendor_org=org, cost_usd=cost, requests=requests
    )


def test_fixture_rows_mapped_by_hand():
    assert recognise(str(FILE)) == NAME
    got = [(r.line, r.rows, r.error) for r in map_file(str(FILE), NAME)]
    assert got == [
        (2, [_ud("octo-ana", "2026-03-02", "premium_requests", 12, 0.0)], None),
        (3, [_ud("octo-ana", "2026-03-02", "premium_requests", 1, 0.02)], None),
        (4, [_ud("octo-ben", "2026-03-02", "coding_agent_premium_requests", 3, 0.12)], None),
        (5, [_ud("octo-ana", "2026-03-03", "premium_requests", 30, 0.8)], None),
        (6, [], "missing_required: username"),
        (7, [_ud("octo-cy", "2026-03-03", "premium_requests", 2, None, "acme-web")], None),
    ]


def test_units_other_than_requests_and_bad_amounts():
    base = {"date": "2026-03-04", "username": "u", "sku": "x", "model": "m"}
    # AI credits are not requests: requests unknown, the net amount still a cost
    (r,) = m.map_record({**base, "quantity": "7.5", "unit_type": "ai_credits", "net_amount": "3"})
    assert (r["requests"], r["cost_usd"]) == (None, 3.0)
    # no quantity: requests unknown, not 0
    (r,) = m.map_record({**base, "quantity": "", "unit_type": "requests", "net_amount": "0"})
    assert (r["requests"], r["cost_usd"]) == (None, 0.0)
    with pytest.raises(VendorRecordError, match="bad_type: net_amount"):
        m.map_record({**base, "quantity": "1", "net_amount": "-0.04"})
    with pytest.raises(VendorRecordError, match="missing_required: date"):
        m.map_record({**base, "date": " ", "quantity": "1"})


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("premium_cost")
    landing = root / "landing"
    shutil.copytree(FIX, landing / "vendor" / NAME)
    (landing / "identities").mkdir()
    (landing / "identities" / "identities.csv").write_text(
        "alias,alias_kind,user_id\n" + "".join(f"{a},github_login,{p}\n" for a, p in PEOPLE.items())
    )
    one_org_directory(landing, PEOPLE.values())
    # one bad record of six: let the good ones load
    return ingest_and_refine(spark, root, landing, PERIOD, warn=0.5, fail=0.6)[0]


def test_net_amount_is_the_user_day_cost_in_silver(spark, lake):
    (q,) = lake.read(spark, "bronze/quarantine").collect()
    assert (q.dataset, q.reason, q.line_number) == (
        f"vendor/{NAME}",
        "missing_required: username",
        6,
    )
    silver = lake.read(spark, "silver/user_days")
    assert dict(silver.dtypes)["cost_usd"] == "double"
    got = sorted(
        (str(r.day), r.feature, r.requests, r.cost_usd)
        for r in silver.where(F.col("source_format") == NAME).collect()
    )
    # ana's two models of 03-02 are one user-day: 12 + 1 requests, 0.0 + 0.02 dollars
    assert got == [
        ("2026-03-02", "coding_agent_premium_requests", 3, pytest.approx(0.12)),
        ("2026-03-02", "premium_requests", 13, pytest.approx(0.02)),
        ("2026-03-03", "premium_requests", 2, None),
        ("2026-03-03", "premium_requests", 30, pytest.approx(0.8)),
    ]


def test_org_adoption_cost_is_the_vendor_net_amount(spark, lake):
    # No price table. Active: ana and cy (ben's only use is the coding agent: automation).
    # Requests 13 + 30 + 2 = 45; automation 3. Cost: 0.02 + 0.8 (ana) + 0.12 (the agent's,
    # billed too) = 0.94; cy's unknown cost adds nothing and is not 0. Per active user
    # 0.94 / 2 = 0.47. Source: the vendor's own figure.
    user_days = lake.read(spark, "silver/user_days")
    activity = ad.combined(None, ad.aggregate_activity(user_days, PERIOD.start, PERIOD.end))
    out = ad.org_adoption(
        activity, PERIOD.start, PERIOD.end, min_users=1, dominance_share=1.0, run_id="r"
    )
    rows = {r.source_format: r for r in out.where(F.col("org_id") == "org-a").collect()}
    assert set(rows) == {NAME, "all"}
    for r in rows.values():
        assert (r.active_users, r.requests, r.automation_users, r.automation_requests) == (
            2,
            45,
            1,
            3,
        )
        assert (r.cost, r.cost_per_active_user, r.cost_source) == (
            pytest.approx(0.94),
            pytest.approx(0.47),
            "vendor",
        )


def test_documented_and_listed():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "vendor_mapping.md").read_text()
    assert m.FORMAT.docs.startswith(f"## {NAME} - ") and m.FORMAT.docs.strip() in doc
    # requests per user and day: usage over time; nothing says whether an output was used
    assert m.FORMAT.feeds() == {
        "quota_bunching": "Y",
        "checkpoint_burst": "Y",
        "outcome_decoupling": "Y",
    }
    assert f"| `{NAME}` | user_day | N | N | N | N | N | Y | Y | Y |" in doc

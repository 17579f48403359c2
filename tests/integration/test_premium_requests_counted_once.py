"""GitHub's premium requests report beside its users report: through the real ingest and refine
(Sail, Delta), requests both reports give for one person, day and kind count once in
``source_format = 'all'`` and in the usage units the signals read; the premium rows keep their
cost; premium requests no users-report row covers still count.

Landing, by hand (GitHub logins mapped to p1..p4, all in org-a):

users report (NDJSON)                       premium requests report (CSV)
- ana 03-02 chat_panel_ask_mode: 5 req      - ana 03-02 Sonnet: 4 req, net 0.10 (covered)
                                            - ana 03-03 GPT-5: 2 req, net 0.05 (no users row)
- ben 03-02 code_completion: 0 req,         - ben 03-02 coding agent SKU: 3 req, net 0.12
  10 shown, 3 accepted                        (automation: the users row is his own use, so
                                              another kind: not covered)
- cy 03-02 chat_panel_agent_mode: 7 req     - cy 03-02 Opus: 7 req, net 0.0 (covered)
                                            - dee 03-04 GPT-5: 1 req, net 0.04 (premium only)

'all': active ana, ben, cy, dee = 4; active days ana 2 + ben 1 + cy 1 + dee 1 = 5; requests
ana 5 + 2, ben 0, cy 7, dee 1 = 15 (adding both reports would give 26); automation requests 3,
automation users 0 (ben has his own use); cost 0.10 + 0.05 + 0.12 + 0.0 + 0.04 = 0.31 (all of
it the premium report's). The premium report's own row keeps its counts: active ana, cy, dee =
3, active days ana 2 + cy 1 + dee 1 = 4, requests 4 + 2 + 7 + 1 = 14, automation 3 by ben (automation_users 1), cost 0.31. Usage
units (signals): users report 5 + 0 + 7 = 12, premium 2 + 3 + 1 = 6 (ana's and cy's covered
rows give none).
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from pyspark.sql import functions as F

from theater.config import load_config
from theater.lake import Lake
from theater.period import Period
from theater.pipeline import run_stage
from theater.transforms import adoption as ad
from theater.transforms import aggregates as agg

USERS = "github_copilot_users"
PREMIUM = "github_copilot_premium_requests"
PERIOD = Period(date(2026, 3, 1), date(2026, 4, 1))
PEOPLE = {"ana": "p1", "ben": "p2", "cy": "p3", "dee": "p4"}


def _user_day(login: str, day: str, feature: str, requests: int, shown=0, accepted=0) -> str:
    block = {
        "feature": feature,
        "user_initiated_interaction_count": requests,
        "code_generation_activity_count": shown,
        "code_acceptance_activity_count": accepted,
        "loc_suggested_to_add_sum": 0,
        "loc_added_sum": 0,
    }
    return json.dumps(
        {"day": day, "user_login": login, "organization_id": "77", "totals_by_feature": [block]}
    )


PREMIUM_CSV = (
    "date,username,product,sku,model,quantity,unit_type,gross_amount,discount_amount,"
    "net_amount,organization\n"
    "2026-03-02,ana,copilot,copilot_premium_request,Claude Sonnet 4.5,4,requests,0.16,0.06,0.10,acme\n"
    "2026-03-03,ana,copilot,copilot_premium_request,GPT-5,2,requests,0.08,0.03,0.05,acme\n"
    "2026-03-02,ben,copilot,coding_agent_premium_request,Coding Agent,3,requests,0.12,0,0.12,acme\n"
    "2026-03-02,cy,copilot,copilot_premium_request,Claude Opus 4.5,7,requests,0.28,0.28,0.0,acme\n"
    "2026-03-04,dee,copilot,copilot_premium_request,GPT-5,1,requests,0.04,0,0.04,acme\n"
)


@pytest.fixture(scope="module")
def user_days(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("premium_once")
    landing = root / "landing"
    (landing / "vendor" / USERS).mkdir(parents=True)
    (landing / "vendor" / USERS / "org_users_1_day.jsonl").write_text(
        "\n".join(
            [
                _user_day("ana", "2026-03-02", "chat_panel_ask_mode", 5),
                _user_day("ben", "2026-03-02", "code_completion", 0, shown=10, accepted=3),
                _user_day("cy", "2026-03-02", "chat_panel_agent_mode", 7),
            ]
        )
        + "\n"
    )
    (landing / "vendor" / PREMIUM).mkdir(parents=True)
    (landing / "vendor" / PREMIUM / "premium_request_usage_report.csv").write_text(PREMIUM_CSV)
    (landing / "identities").mkdir()
    (landing / "identities" / "identities.csv").write_text(
        "alias,alias_kind,user_id\n" + "".join(f"{a},github_login,{p}\n" for a, p in PEOPLE.items())
    )
    (landing / "directory").mkdir()
    (landing / "directory" / "directory.csv").write_text(
        "user_id,org_id,org_name,valid_from,valid_to\n"
        + "".join(f"{p},org-a,Org A,2020-01-01,\n" for p in PEOPLE.values())
    )
    cfg = load_config(env="local", environ={}, overrides={"spark.shuffle_partitions": 2})
    for stage in ("ingest", "refine"):
        run_stage(spark, stage, cfg, str(root / "lake"), str(landing), PERIOD, "test-run")
    return Lake(str(root / "lake"), cfg.table_format).read(spark, "silver/user_days").cache()


def _adoption(user_days):
    activity = ad.combined(None, ad.aggregate_activity(user_days, PERIOD.start, PERIOD.end))
    out = ad.org_adoption(
        activity, PERIOD.start, PERIOD.end, min_users=1, dominance_share=1.0, run_id="r"
    )
    return {r.source_format: r for r in out.where(F.col("org_id") == "org-a").collect()}


def _figures(r):
    return (
        r.active_users,
        r.active_days,
        r.requests,
        r.automation_users,
        r.automation_requests,
    )


def test_both_loaded_in_silver_as_delivered(user_days):
    # refine keeps each report's own rows: the rule is applied where sources are added up
    got = sorted(
        (r.source_format, str(r.day), r.feature, r.requests)
        for r in user_days.where(F.col("source_format") == PREMIUM).collect()
    )
    assert [g[3] for g in got] == [3, 4, 7, 2, 1]


def test_all_counts_requests_once_and_keeps_the_cost(user_days):
    rows = _adoption(user_days)
    assert set(rows) == {USERS, PREMIUM, "all"}
    every = rows["all"]
    assert _figures(every) == (4, 5, 15, 0, 3)
    assert (every.cost, every.cost_source) == (pytest.approx(0.31), "vendor")
    # 0.31 / 4 = 0.0775, published to the cent
    assert every.cost_per_active_user == pytest.approx(0.08)
    # the premium report's own row: its counts as GitHub bills them
    prem = rows[PREMIUM]
    assert _figures(prem) == (3, 4, 14, 1, 3)
    assert prem.cost == pytest.approx(0.31)
    users = rows[USERS]
    assert _figures(users) == (3, 3, 12, 0, None)
    assert users.cost is None


def test_premium_alone_still_counts(user_days):
    rows = _adoption(user_days.where(F.col("source_format") == PREMIUM))
    assert _figures(rows["all"]) == (3, 4, 14, 1, 3)
    assert rows["all"].cost == pytest.approx(0.31)


def test_usage_units_count_covered_premium_requests_once(user_days):
    units = agg.usage_units(user_days, PERIOD.start, PERIOD.end)
    got = {
        r.source_format: r.n
        for r in units.groupBy("source_format").agg(F.sum("n").alias("n")).collect()
    }
    assert got == {USERS: 12.0, PREMIUM: 6.0}

"""An org with person-level data (Cursor's daily usage) AND org-level data (GitHub's Copilot
metrics API, org-day) beside an org with each alone, end to end on a hand-made landing:
ingest -> refine -> score -> report in this process on the shared engine.

gold/org_theater_index ``sources`` lists every source that counted the org's usage, person- and
org-level alike; the report's org table shows the same; the usage the report prints agrees with
gold/org_adoption.

Landing, by hand (k = 5):

- Cursor daily usage, 2026-03-02: a1..a6 (org-a) and c1..c6 (org-c), each 20 tabs shown, 5
  accepted, 3 chat requests, 1 agent request. Requests per org: 6 x (3 + 1) = 24 (tabs shown are
  pushed completions, not requests).
- GitHub Copilot metrics, folders org-a/ and org-b/, 2026-03-02 and 2026-03-03: 12 active
  people, 100 completions shown, 30 accepted, 8 IDE chats (2 insertions, 1 copy) a day.
  Requests per org: 8 + 8 = 16.

Expected sources: org-a [cursor_daily_usage, github_copilot_org_metrics]; org-b
[github_copilot_org_metrics]; org-c [cursor_daily_usage]. Requests the report counts for an
org (its aggregate exports): org-a 24 + 16 = 40, org-b 16, org-c 24; the card 80.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from test_aggregate_exports_alone import run_alone

from theater.config import load_config
from theater.report import page

pytestmark = pytest.mark.e2e
CURSOR = "cursor_daily_usage"
METRICS = "github_copilot_org_metrics"
START, END = date(2026, 3, 1), date(2026, 4, 1)
MAR_2 = 1772409600000  # 2026-03-02 00:00 UTC, epoch ms


def _cursor_record(email: str) -> dict:
    return {
        "date": MAR_2,
        "email": email,
        "totalTabsShown": 20,
        "totalTabsAccepted": 5,
        "chatRequests": 3,
        "agentRequests": 1,
    }


def _metrics_day(day: str) -> dict:
    lang = {
        "name": "python",
        "total_engaged_users": 10,
        "total_code_suggestions": 100,
        "total_code_acceptances": 30,
        "total_code_lines_suggested": 150,
        "total_code_lines_accepted": 40,
    }
    chat_model = {
        "name": "default",
        "is_custom_model": False,
        "total_engaged_users": 6,
        "total_chats": 8,
        "total_chat_insertion_events": 2,
        "total_chat_copy_events": 1,
    }
    return {
        "date": day,
        "total_active_users": 12,
        "total_engaged_users": 11,
        "copilot_ide_code_completions": {
            "total_engaged_users": 10,
            "editors": [
                {
                    "name": "vscode",
                    "total_engaged_users": 10,
                    "models": [{"name": "default", "is_custom_model": False, "languages": [lang]}],
                }
            ],
        },
        "copilot_ide_chat": {
            "total_engaged_users": 6,
            "editors": [{"name": "vscode", "total_engaged_users": 6, "models": [chat_model]}],
        },
    }


@pytest.fixture(scope="module")
def lake_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("sources_both")
    landing = root / "landing"
    people = {f"{p}{i}@example.com": f"org-{p}" for p in ("a", "c") for i in range(1, 7)}
    cur = landing / "vendor" / CURSOR
    cur.mkdir(parents=True)
    (cur / "daily_usage_2026-03-02.json").write_text(
        json.dumps(
            {
                "data": [_cursor_record(e) for e in sorted(people)],
                "period": {"startDate": MAR_2, "endDate": MAR_2 + 86_400_000},
            }
        )
    )
    for org in ("org-a", "org-b"):
        d = landing / "vendor" / METRICS / org
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(
            json.dumps([_metrics_day("2026-03-02"), _metrics_day("2026-03-03")])
        )
    (landing / "directory").mkdir()
    (landing / "directory" / "directory.csv").write_text(
        "user_id,org_id,org_name,valid_from,valid_to\n"
        + "".join(f"{e},{o},{o},2020-01-01,\n" for e, o in sorted(people.items()))
        # org-b's people use no person-level export: the directory knows the org
        + "b1@example.com,org-b,org-b,2020-01-01,\n"
    )
    cfg = load_config(
        env="local",
        environ={},
        overrides={"spark.shuffle_partitions": 2, "privacy.min_users": 5},
    )
    res = run_alone(spark, cfg, root, landing, START, END)
    index = {
        r.org_id: r.asDict() for r in res["lake"].read(spark, "gold/org_theater_index").collect()
    }
    adoption = [r.asDict() for r in res["lake"].read(spark, "gold/org_adoption").collect()]
    return res, index, adoption


EXPECTED_SOURCES = {
    "org-a": [CURSOR, METRICS],
    "org-b": [METRICS],
    "org-c": [CURSOR],
}


def test_gold_sources_list_person_and_org_level_sources(lake_run):
    _, index, _ = lake_run
    assert set(index) == set(EXPECTED_SOURCES)
    for org, want in EXPECTED_SOURCES.items():
        assert not index[org]["suppressed"], index[org]
        assert index[org]["sources"] == want, (org, index[org]["sources"])


def test_report_shows_the_sources_gold_holds(lake_run):
    res, index, _ = lake_run
    table = res["report"].figures.table.set_index("org_id")
    html = res["report"].path.read_text()
    for org, want in EXPECTED_SOURCES.items():
        assert list(table.loc[org, "sources"]) == index[org]["sources"] == want
        basis = page.basis_text(index[org]["index_basis"], index[org]["sources"])
        assert "sources: " + ", ".join(want) in basis
        assert basis in html, (org, basis)


def test_report_usage_agrees_with_gold_adoption(lake_run):
    """The requests the report counts per org and on the card are gold/org_adoption's, for
    user-day (Cursor) and org-day (GitHub metrics) rows alike; values worked out above."""
    res, _, adoption = lake_run
    by = {(a["org_id"], a["source_format"]): a for a in adoption}
    assert by[("org-a", CURSOR)]["requests"] == 24
    assert by[("org-c", CURSOR)]["requests"] == 24
    assert by[("org-a", METRICS)]["requests"] == 16
    assert by[("org-b", METRICS)]["requests"] == 16
    table = res["report"].figures.table.set_index("org_id")
    want = {"org-a": 40, "org-b": 16, "org-c": 24}
    for org, n in want.items():
        gold = sum(
            a["requests"]
            for a in adoption
            if a["org_id"] == org
            and a["source_format"] in (CURSOR, METRICS)
            and not a["suppressed"]
        )
        assert table.loc[org, "export_requests"] == gold == n, org
    usage = res["report"].figures.usage
    assert usage.export_requests == 80
    html = res["report"].path.read_text()
    assert "80 requests reported by vendor aggregates" in html
    assert "0/day" not in html

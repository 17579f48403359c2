"""The report's "requests from exports" figure counts GitHub's premium requests once: not added
to its users report's where an org has both (hand-made gold/org_adoption rows)."""

import pandas as pd

from theater.report.figures import export_requests_by_org

USERS, PREMIUM = "github_copilot_users", "github_copilot_premium_requests"


def test_premium_requests_are_not_added_to_the_users_reports():
    rows = pd.DataFrame(
        [
            # org-a: both reports; the users report's 120 already hold the 40 premium ones
            ("org-a", USERS, 120, False),
            ("org-a", PREMIUM, 40, False),
            ("org-a", "all", 120, False),
            # org-b: the premium report alone: its requests count
            ("org-b", PREMIUM, 15, False),
            ("org-b", "all", 15, False),
            # org-c: both, the users report suppressed (no figure): the premium ones are still
            # inside the users report, so not counted; cursor's add
            ("org-c", USERS, None, True),
            ("org-c", PREMIUM, 9, False),
            ("org-c", "cursor_daily_usage", 30, False),
        ],
        columns=["org_id", "source_format", "requests", "suppressed"],
    )
    assert export_requests_by_org(rows) == {"org-a": 120, "org-b": 15, "org-c": 30}


def test_the_run_summary_uses_the_same_rule(spark):
    from theater.stages.score import adoption_summary

    df = spark.createDataFrame(
        [
            ("org-a", USERS, 120, 3, False),
            ("org-a", PREMIUM, 40, 2, False),
            ("org-a", "all", 120, 3, False),
            ("org-b", PREMIUM, 5, 1, False),
            ("org-b", "all", 5, 1, False),
        ],
        "org_id string, source_format string, requests long, active_users long, suppressed boolean",
    )
    df = df.withColumn("engaged_users", df["active_users"]).withColumn("accepted", df["requests"])
    out = adoption_summary(df)
    assert out["export_requests_by_org"] == {"org-a": 120, "org-b": 5}
    # per source, each report's own count; across tools, the 'all' rows
    assert out["by_source"] == {USERS: 120, PREMIUM: 45}
    assert (out["requests"], out["active_users"], out["orgs_published"]) == (125, 4, 2)

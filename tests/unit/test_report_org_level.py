"""The report of a lake with org-level exports only, on a hand-made silver/org_days frame."""

from __future__ import annotations

from datetime import date

import pandas as pd

from theater.period import Period
from theater.report import figures as fg
from theater.report import page

COLS = ["org_id", "source_format", "day", "feature", "active_users", "engaged_users"]
COLS += ["requests", "accepted", "period_days"]


def frame(*rows):
    return pd.DataFrame(list(rows), columns=COLS)


def test_summary_peaks_daily_totals_and_suppression():
    od = frame(
        ("big", "gh", date(2026, 3, 2), "all", 31, None, 100, 40, 1),
        ("big", "gh", date(2026, 3, 3), "all", 27, None, 50, None, 1),
        # a 28-day window: its people count for the peak, its requests overlap the days
        ("big", "gh", date(2026, 3, 1), "all", 35, 12, 999, 500, 28),
        ("big", "gh", date(2026, 3, 2), "chat", None, None, None, None, 1),
        ("tiny", "gh", date(2026, 3, 2), "all", 4, None, 9, 3, 1),
    )
    s = fg.org_level_summary(od, 5).set_index(["org_id", "feature"])
    big = s.loc[("big", "all")]
    assert big["days"] == 3 and big["windows"] == "1-day, 28-day"
    assert big["peak_active_users"] == 35 and big["peak_engaged_users"] == 12
    assert big["requests"] == 150 and big["accepted"] == 40  # daily rows only
    chat = s.loc[("big", "chat")]
    assert not chat["suppressed"]  # the org is large; this feature counted nothing
    assert chat["requests"] is None or pd.isna(chat["requests"])  # unknown, not 0
    tiny = s.loc[("tiny", "all")]
    assert tiny["suppressed"]
    assert all(
        tiny[c] is None or pd.isna(tiny[c]) for c in ("days", "peak_active_users", "requests")
    )


def test_page_prints_counts_as_integers_and_unknown_as_a_dash():
    od = frame(
        ("big", "gh", date(2026, 3, 2), "all", 140, None, 1234, None, 1),
        ("tiny", "gh", date(2026, 3, 2), "all", 4, None, 9, 3, 1),
    )
    html = page.render_org_level(
        Period(date(2026, 3, 1), date(2026, 4, 1)), fg.org_level_summary(od, 5), 5
    )
    assert fg.ORG_LEVEL_NO_INDEX in html
    table = html[html.index('id="org-level-usage"') :]
    assert "<td>140</td>" in table and "<td>1,234</td>" in table
    assert "140.0" not in table
    row = table[table.index("<td>big</td>") :].split("</tr>")[0]
    assert row.count("<td>—</td>") == 2  # engaged people and accepted: not reported
    tiny = table[table.index("<td>tiny</td>") :].split("</tr>")[0]
    assert "suppressed" in tiny and "<td>9</td>" not in tiny and "<td>4</td>" not in tiny


def test_usage_counts_orgs_with_no_measurable_signal_but_not_suppressed_ones():
    """An org whose data measures no signal (null index, a reason) still used the tools: its
    interactions are usage; a suppressed org's are not shown."""
    index = pd.DataFrame(
        {
            "org_id": ["measured", "no_signal", "small"],
            "suppressed": [False, False, True],
            "theater_index": [12.0, None, None],
            "n_interactions": [300, 12, 7],
        }
    )
    u = fg.usage_change(index, index.iloc[0:0], 31, 30, None)
    assert u.interactions == 312
    assert u.per_day == 312 / 31

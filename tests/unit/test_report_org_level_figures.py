"""The org-level page prints gold's figure of each org: an estimate from org totals with its
interval and basis, or n/a with the reason, and nothing for a suppressed org."""

from __future__ import annotations

from datetime import date

import pandas as pd

from theater.period import Period
from theater.report import figures as fg
from theater.report import page

COLS = ["org_id", "source_format", "day", "feature", "active_users", "engaged_users"]
COLS += ["requests", "accepted", "period_days"]
OD = pd.DataFrame(
    [
        ("big", "gh", date(2026, 3, 2), "all", 140, None, 1234, None, 1),
        ("mid", "gh", date(2026, 3, 2), "all", 40, None, 12, None, 1),
        ("tiny", "gh", date(2026, 3, 2), "all", 4, None, 9, 3, 1),
    ],
    columns=COLS,
)
PERIOD = Period(date(2026, 3, 1), date(2026, 4, 1))
ICOLS = ["org_id", "theater_index", "ci_low", "ci_high", "index_basis", "suppressed"]
ICOLS += ["not_measurable_reason"]


def _index(*rows):
    return pd.DataFrame(list(rows), columns=ICOLS)


def test_estimates_with_interval_and_basis():
    index = _index(
        ("big", 23.456, 10.0, 41.5, "org_aggregates", False, None),
        ("mid", None, None, None, "none", False, "org-level aggregates only: too few outputs"),
        ("tiny", None, None, None, None, True, None),
    )
    html = page.render_org_level(PERIOD, fg.org_level_summary(OD, 5), 5, index)
    assert "estimated from org-level totals" in html
    assert fg.ORG_LEVEL_NO_INDEX not in html  # gold has a figure: the page never denies it
    table = html[html.index('id="org-level-figures"') : html.index('id="org-level-usage"')]
    big = table[table.index("<td>big</td>") :].split("</tr>")[0]
    assert "<td>23.5%</td>" in big and "10" in big and "41.5" in big
    assert "org-level totals" in big
    mid = table[table.index("<td>mid</td>") :].split("</tr>")[0]
    assert "<td>n/a</td>" in mid and "too few outputs" in mid
    tiny = table[table.index("<td>tiny</td>") :].split("</tr>")[0]
    assert "suppressed" in tiny and "%" not in tiny


def test_no_estimate_keeps_the_reason():
    index = _index(("big", None, None, None, "none", False, "org-level aggregates only: x"))
    html = page.render_org_level(PERIOD, fg.org_level_summary(OD, 5), 5, index)
    assert fg.ORG_LEVEL_NO_INDEX in html
    assert "org-level aggregates only: x" in html

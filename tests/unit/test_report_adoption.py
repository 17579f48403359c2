"""The report's adoption section (theater.report.adoption) on hand-made gold rows: company
cards sum the published orgs, suppressed orgs show no figure, unknown is "—" never 0, and the
quarter-over-quarter change is worked out by hand."""

from __future__ import annotations

import re

import pandas as pd

from theater.report.adoption import view
from theater.report.page import environment
from theater.transforms.adoption import COLUMNS, FIGURES


def _row(org, suppressed=False, **figures):
    r = {c: None for c in COLUMNS}
    r.update(org_id=org, source_format="all", suppressed=suppressed)
    if not suppressed:
        r.update(figures)
    else:
        r["suppression_reason"] = "min_users"
    return r


NOW = pd.DataFrame(
    [
        _row(
            "A",
            active_users=12,
            engaged_users=5,
            requests=100,
            genuine_users=9,
            genuine_users_low=7,
            genuine_users_high=11,
            genuine_requests=70,
            genuine_requests_low=60,
            genuine_requests_high=80,
            licensed_seats=15,
            idle_seats=4,
            theater_only_seats=1,
            cost=300.0,
            cost_per_active_user=25.0,
            performative_cost_share=0.3,
            new_users=2,
            retained_users=10,
            reactivated_users=0,
            lapsed_users=3,
        ),
        _row(
            "C",
            active_users=8,
            engaged_users=3,
            requests=50,
            genuine_users=None,
            licensed_seats=None,
            cost=None,
        ),
        _row("B", suppressed=True),
        {**_row("A", active_users=999), "source_format": "cursor_daily_usage"},  # not 'all'
    ]
)
BEFORE = pd.DataFrame([_row("A", active_users=10), _row("C", active_users=8)])


def test_cards_sum_the_published_orgs_and_unknown_is_a_dash():
    v = view(NOW, BEFORE, "2026Q1", "USD")
    cards = {c["id"]: c for c in v.cards}
    # active 12 + 8 = 20 (the per-source row is not summed); vs Q1: (20 - 18) / 18 = +11%
    assert cards["adoption-active"]["big"] == "20"
    assert "+11% vs 2026Q1" in cards["adoption-active"]["small"]
    assert cards["adoption-genuine"]["big"] == "9"  # C unknown: not added as 0
    # compared with the orgs whose theater is measured (A: 12 active, 100 requests), not all
    assert cards["adoption-genuine"]["small"] == (
        "of 12 active in the 1 of 2 orgs whose theater is measured (7–11) · 70 of 100 of "
        "their requests genuine"
    )
    assert cards["adoption-seats"]["big"] == "15"
    # cost 300 over 20 active people = 15; over 70 genuine requests = 4.29
    assert cards["adoption-cost"]["big"] == "300 USD"
    assert (
        "15 USD" in cards["adoption-cost"]["small"]
        and "4.29 USD" in cards["adoption-cost"]["small"]
    )
    rows = {r["org"]: r for r in v.rows}
    assert rows["A"]["vs_previous"] == "+20%" and rows["A"]["genuine_range"] == "7–11"
    assert rows["A"]["performative"] == "30%" and rows["A"]["cohorts"] == "2/10/0/3"
    assert rows["C"]["seats"] == "—" and rows["C"]["cost"] == "—" and rows["C"]["genuine"] == "—"
    assert rows["B"] == {"org": "B", "suppressed": True}


def test_a_suppressed_org_shows_no_figure_in_the_page():
    html = environment().get_template("adoption.html").render(adoption=view(NOW, BEFORE, "2026Q1"))
    b = re.search(r'<tr class="suppressed" data-adoption-org="B">(.*?)</tr>', html, re.S)
    assert b and not re.search(r"\d", re.sub(r"<[^>]*>", "", b.group(1)))  # text: no number
    assert 'data-adoption-org="A"' in html and "1 suppressed (no figures)" in html


def test_no_seat_file_and_no_price_are_said_not_zeroed():
    v = view(NOW[NOW["org_id"] == "C"], None, None)
    cards = {c["id"]: c for c in v.cards}
    assert cards["adoption-seats"]["big"] == "—" and cards["adoption-cost"]["big"] == "—"
    assert any("landing/seats/" in n for n in v.notes) and any(
        "adoption.prices" in n for n in v.notes
    )
    assert view(None) is None
    assert set(FIGURES) <= set(COLUMNS)

"""The report's adoption section says why a cost is missing when vendor US dollars could not
be converted into the price table's currency (never summed unconverted)."""

from __future__ import annotations

import pandas as pd

from theater.report.adoption import view
from theater.transforms.adoption import COLUMNS


def _row(org, **figures):
    r = {c: None for c in COLUMNS}
    r.update(org_id=org, source_format="all", suppressed=False, active_users=6, **figures)
    return r


def test_unconverted_vendor_cost_is_named_not_blamed_on_missing_prices():
    v = view(pd.DataFrame([_row("A", cost_note="vendor_usd_not_converted")]), currency="EUR")
    assert [r["cost"] for r in v.rows] == ["—"]
    assert any("1 org(s)" in n and "adoption.usd_rate" in n for n in v.notes)
    assert not any("No price in the configuration" in n for n in v.notes)


def test_without_prices_the_usual_note():
    v = view(pd.DataFrame([_row("A")]), currency="EUR")
    assert any("No price in the configuration" in n for n in v.notes)
    assert not any("adoption.usd_rate" in n for n in v.notes)

"""The company share: every published org's figure (both bases) weighted by its recorded usage,
its interval from the orgs' own as independent, and the card saying what part of the usage it
covers. Hand-made frames; expected values worked out in the comments."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from theater.report import figures as fg
from theater.report import page


def _org(org_id, index, n, basis, *, lo=None, hi=None, suppressed=False):
    return {
        "org_id": org_id,
        "theater_index": None if suppressed else index,
        "ci_low": None if suppressed or index is None else lo,
        "ci_high": None if suppressed or index is None else hi,
        "n_interactions": None if suppressed else n,
        "n_measured": None,
        "suppressed": suppressed,
        "index_basis": None if suppressed else basis,
    }


def _index():
    return pd.DataFrame(
        [
            # per-interaction: 10.0 [8, 12], 1,000 interactions
            _org("a", 10.0, 1000, "interactions", lo=8.0, hi=12.0),
            # estimated from acceptance counts: 30.0 [20, 45], 200 events plus 1,400 requests
            _org("b", 30.0, 200, "acceptance", lo=20.0, hi=45.0),
            # not measurable: 500 interactions plus 300 requests, no figure
            _org("c", None, 500, "none"),
            _org("s", None, 50_000, None, suppressed=True),
        ]
    )


def _adoption():
    rows = [
        ("b", "github_copilot_users", 1400, False),
        ("c", "amazon_q_user_activity", 300, False),
        ("s", "github_copilot_users", 9000, True),  # suppressed: never counted
        ("b", "all", 1600, False),  # the cross-tool row is not an aggregate export
    ]
    return pd.DataFrame(rows, columns=["org_id", "source_format", "requests", "suppressed"])


def test_weighted_by_recorded_usage_over_both_bases():
    share = fg.company_share(_index(), adoption=_adoption())
    # usage a 1,000, b 200 + 1,400 = 1,600: w = 5/13, 8/13; (10 x 1000 + 30 x 1600) / 2600
    assert share.value == pytest.approx(58_000 / 2600)  # 22.3077
    assert (share.n_orgs, share.usage, share.n_acceptance_orgs) == (2, 2600, 1)
    # c (800 of usage) is outside: 2,600 of the 3,400 the report shows; s counts nowhere
    assert share.n_outside == 1 and share.usage_covered == pytest.approx(2600 / 3400)
    # down: sqrt((5/13 x 2)^2 + (8/13 x 10)^2) = sqrt(0.5917 + 37.8698) = 6.2017
    # up:   sqrt((5/13 x 2)^2 + (8/13 x 15)^2) = sqrt(0.5917 + 85.2071) = 9.2628
    assert share.low == pytest.approx(22.3077 - 6.2017, abs=1e-3)
    assert share.high == pytest.approx(22.3077 + 9.2628, abs=1e-3)
    # narrower than the weighted ends, which hold under any dependence: 15.385, 31.923
    assert share.low > 5 / 13 * 8 + 8 / 13 * 20 and share.high < 5 / 13 * 12 + 8 / 13 * 45


def test_one_org_is_its_own_figure_and_the_interval_stays_in_range():
    one = pd.DataFrame([_org("a", 1.0, 100, "acceptance", lo=0.0, hi=9.0)])
    share = fg.company_share(one)
    assert (share.value, share.low, share.high) == (1.0, 0.0, 9.0)
    # an interval not containing the point is widened to it, never below 0 or above 100
    off = pd.DataFrame([_org("a", 99.0, 100, "interactions", lo=99.5, hi=100.0)])
    share = fg.company_share(off)
    assert (share.low, share.high) == (99.0, 100.0)


def test_no_interval_without_every_orgs_and_no_figure_without_usage():
    idx = _index()
    idx.loc[idx["org_id"] == "a", "ci_low"] = None
    share = fg.company_share(idx, adoption=_adoption())
    assert share.value == pytest.approx(58_000 / 2600) and share.low is None
    # without the adoption table, b weighs its 200 interactions only
    share = fg.company_share(_index())
    assert share.value == pytest.approx((10 * 1000 + 30 * 200) / 1200)
    assert share.usage_covered == pytest.approx(1200 / 1700)
    # an org published with no recorded usage is outside the figure
    none = pd.DataFrame([_org("b", 30.0, 0, "acceptance", lo=20.0, hi=45.0)])
    share = fg.company_share(none)
    assert share.value is None and share.n_outside == 1 and share.usage_covered is None


def test_card_says_what_the_share_covers():
    share = fg.company_share(_index(), adoption=_adoption())
    f = SimpleNamespace(share=share, previous_label=None, previous_share=None)
    big, small = page._share_card(f)
    assert big.startswith("22.3")
    assert "90% interval 16.1–31.6%" in small
    assert "2 published orgs weighted by their recorded usage (2,600 interactions" in small
    assert "1 of them estimated from acceptance counts" in small
    assert "covers 76% of the recorded usage of the orgs the report shows" in small
    assert "(not the 1 org(s) without a figure)" in small
    empty = fg.company_share(_index().iloc[[2, 3]])
    big, small = page._share_card(
        SimpleNamespace(share=empty, previous_label=None, previous_share=None)
    )
    assert big == "—" and "no published org" in small


def test_covered_percent_never_rounds_to_the_ends():
    assert page._covered_pct(0.004) == "under 1%"
    assert page._covered_pct(0.996) == "over 99%"
    assert page._covered_pct(0.2) == "20%"

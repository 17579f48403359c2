"""The company share says which part of the published orgs' usage it rests on."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from theater.report import figures as fg
from theater.report import page


def _org(org_id, index, n, basis, *, measured=None, suppressed=False):
    return {
        "org_id": org_id,
        "theater_index": None if suppressed else index,
        "ci_low": None if suppressed else index - 2,
        "ci_high": None if suppressed else index + 2,
        "n_interactions": n,
        "n_measured": measured,
        "suppressed": suppressed,
        "index_basis": None if suppressed else basis,
    }


def _index():
    return pd.DataFrame(
        [
            # per-interaction: 400 of its 1,000 interactions measured
            _org("a", 10.0, 1000, "interactions", measured=400),
            # estimated from acceptance counts: 200 events (no signal) plus aggregates
            _org("b", 30.0, 200, "acceptance", measured=0),
            _org("s", None, 50_000, None, suppressed=True),
        ]
    )


def _adoption():
    rows = [
        ("b", "github_copilot_users", 1400, False),
        ("s", "github_copilot_users", 9000, True),  # suppressed: never counted
        ("c", "amazon_q_user_activity", 7000, False),  # no published figure: not in the base
        ("b", "all", 1600, False),  # the cross-tool row is not an aggregate export
    ]
    return pd.DataFrame(rows, columns=["org_id", "source_format", "requests", "suppressed"])


def test_usage_covered_is_measured_over_all_published_usage():
    share = fg.company_share(_index(), adoption=_adoption())
    assert share.value == pytest.approx(10.0)  # org a alone, as before
    assert share.n_interactions == 400 and share.n_acceptance_orgs == 1
    # 400 measured of a's 1,000 + b's 200 interactions + b's 1,400 export requests
    assert share.usage_covered == pytest.approx(400 / 2600)


def test_usage_covered_unknown_without_adoption_when_acceptance_orgs_publish():
    assert fg.company_share(_index()).usage_covered is None
    # every published org per-interaction: its interactions are all its usage
    only_a = _index().iloc[[0]]
    assert fg.company_share(only_a).usage_covered == pytest.approx(0.4)


def test_card_says_what_part_the_share_rests_on():
    share = fg.company_share(_index(), adoption=_adoption())
    f = SimpleNamespace(share=share, previous_label=None, previous_share=None)
    big, small = page._share_card(f)
    assert big.startswith("10.0")
    assert "not covering the 1 org(s) whose figure is estimated from acceptance counts" in small
    assert "rests on 15% of the published orgs' recorded usage" in small
    # all of the usage measured: nothing to add
    full = fg.Share(10.0, None, None, 1, 100, 0, 200, 0.9, 0, 1.0)
    _, small = page._share_card(
        SimpleNamespace(share=full, previous_label=None, previous_share=None)
    )
    assert "rests on" not in small


def test_covered_percent_never_rounds_to_the_ends():
    assert page._covered_pct(0.004) == "under 1%"
    assert page._covered_pct(0.996) == "over 99%"
    assert page._covered_pct(0.2) == "20%"

"""The CLI org table: null indices are 'n/a (not measurable)' with the reason, never 0; an
aggregate-only org's incentive index is labelled as a lower bound from aggregates."""

from __future__ import annotations

from theater.console import format_org_table

BASE = {
    "suppressed": False,
    "suppression_reason": None,
    "n_users": 40,
    "top_signals": None,
    "ci_low": None,
    "ci_high": None,
    "incentive_index": None,
    "incentive_ci_low": None,
    "incentive_ci_high": None,
    "incentive_basis": None,
    "not_measurable_reason": None,
    "sources": None,
}


def test_org_table_labels_unmeasured_and_aggregate_orgs():
    rows = [
        {
            **BASE,
            "org_id": "native",
            "theater_index": 23.4,
            "ci_low": 20.0,
            "ci_high": 27.5,
            "n_interactions": 1200,
            "top_signals": ["unused_output"],
        },
        {
            **BASE,
            "org_id": "gateway",
            "theater_index": None,
            "n_interactions": 900,
            "not_measurable_reason": "no per-interaction signal measurable (test)",
        },
        {
            **BASE,
            "org_id": "agg",
            "theater_index": None,
            "n_interactions": 0,
            "not_measurable_reason": "no interaction-level data (test)",
            "incentive_index": 12.5,
            "incentive_ci_low": 10.0,
            "incentive_ci_high": 15.25,
            "incentive_basis": "aggregates",
            "sources": ["amazon_q_user_activity"],
        },
        {
            **BASE,
            "org_id": "tiny",
            "theater_index": None,
            "suppressed": True,
            "suppression_reason": "min_users",
            "n_interactions": None,
            "n_users": None,
        },
    ]
    lines = format_org_table(rows).splitlines()
    native = next(x for x in lines if x.startswith("native"))
    assert "23.4" in native and "[20.0, 27.5]" in native and "unused_output" in native
    gw = next(x for x in lines if x.startswith("gateway"))
    assert "n/a" in gw and "(not measurable)" in gw and "no per-interaction signal" in gw
    assert "0.0" not in gw
    i = next(k for k, x in enumerate(lines) if x.startswith("agg"))
    assert "n/a" in lines[i] and "no interaction-level data" in lines[i]
    inc = lines[i + 1]
    assert "12.5" in inc and "[10.0, 15.2]" in inc
    assert "incentive (lower bound, aggregates)" in inc and "amazon_q_user_activity" in inc
    assert "suppressed" in next(x for x in lines if x.startswith("tiny"))

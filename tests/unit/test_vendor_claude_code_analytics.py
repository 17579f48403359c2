"""claude_code_analytics: Claude Code Analytics API (JSON) -> user_days (additive per terminal)."""

from __future__ import annotations

import pytest
from vendor_rows import FIXTURES, U, read_all

from theater.sources.exports import FORMATS, VendorRecordError
from theater.sources.exports.rows import merge_rows

NAME = "claude_code_analytics"
FMT = FORMATS[NAME]
FILE = FIXTURES / NAME / "usage_report_claude_code_2026-03-02.json"
ORG = "8f2e4c1a-0000-4000-9000-00000000a11c"


def test_fixture_rows_worked_out_by_hand():
    assert read_all(FMT, FILE) == [
        # vscode: edit 14/3 + multi_edit 2/1 + write 4/0; tokens (1200+150000+8000) +
        # (300+0+500) in, 9000+700 out; estimated_cost 412 + 6 US cents = $4.18
        (
            1,
            [
                U(
                    NAME,
                    "alice@example.com",
                    "email",
                    "2026-03-02",
                    "agent",
                    vendor_org=ORG,
                    sessions=3,
                    accepted=20,
                    rejected=4,
                    suggestions_shown=24,
                    lines_accepted=240,
                    prompt_tokens=160000,
                    output_tokens=9700,
                    cost_usd=4.18,
                )
            ],
        ),
        # the same user and day on another terminal: a second record (40 cents)
        (
            2,
            [
                U(
                    NAME,
                    "alice@example.com",
                    "email",
                    "2026-03-02",
                    "agent",
                    vendor_org=ORG,
                    sessions=1,
                    accepted=1,
                    rejected=2,
                    suggestions_shown=3,
                    lines_accepted=10,
                    prompt_tokens=21100,
                    output_tokens=800,
                    cost_usd=0.40,
                )
            ],
        ),
        (3, "malformed_line"),  # single quotes
        # an API key; no tool actions and no models reported: unknown (cost too), not 0
        (
            4,
            [
                U(
                    NAME,
                    "ci-review-bot",
                    "api_key",
                    "2026-03-03",
                    "agent",
                    vendor_org=ORG,
                    sessions=5,
                    lines_accepted=0,
                )
            ],
        ),
        (5, "missing_required: actor"),
    ]


def test_terminals_of_one_user_day_add_up():
    rows = [r for _, rs in read_all(FMT, FILE) if isinstance(rs, list) for r in rs]
    merged = merge_rows(rows)
    assert merged == [
        U(
            NAME,
            "alice@example.com",
            "email",
            "2026-03-02",
            "agent",
            vendor_org=ORG,
            sessions=4,
            accepted=21,
            rejected=6,
            suggestions_shown=27,
            lines_accepted=250,
            prompt_tokens=181100,
            output_tokens=10500,
            cost_usd=pytest.approx(4.58),  # 4.18 + 0.40
        ),
        U(
            NAME,
            "ci-review-bot",
            "api_key",
            "2026-03-03",
            "agent",
            vendor_org=ORG,
            sessions=5,
            lines_accepted=0,
        ),
    ]


def test_bad_records():
    base = {
        "date": "2026-03-02T00:00:00Z",
        "actor": {"type": "user_actor", "email_address": "a@b.c"},
    }
    for rec, reason in [
        ({"actor": base["actor"]}, "missing_required: date"),
        ({**base, "actor": {"type": "user_actor"}}, "missing_required: actor.email_address"),
        (
            {**base, "tool_actions": {"edit_tool": {"accepted": "x"}}},
            "bad_type: tool_actions.edit_tool.accepted",
        ),
        ({**base, "model_breakdown": [{"model": "m"}]}, "bad_type: model_breakdown[0].tokens"),
        (
            {
                **base,
                "model_breakdown": [
                    {"tokens": {}, "estimated_cost": {"currency": "USD", "amount": -5}}
                ],
            },
            "bad_type: model_breakdown[0].estimated_cost.amount",
        ),
    ]:
        with pytest.raises(VendorRecordError) as exc:
            FMT.map_record(rec)
        assert str(exc.value).startswith(reason)


def test_cost_only_in_usd_and_unknown_when_absent():
    base = {
        "date": "2026-03-02T00:00:00Z",
        "actor": {"type": "user_actor", "email_address": "a@b.c"},
    }

    def cost(models):
        return FMT.map_record({**base, "model_breakdown": models})[0]["cost_usd"]

    usd = {"tokens": {"output": 1}, "estimated_cost": {"currency": "USD", "amount": "250"}}
    eur = {"tokens": {"output": 1}, "estimated_cost": {"currency": "EUR", "amount": 100}}
    bare = {"tokens": {"output": 1}}
    assert cost([usd]) == 2.5
    assert cost([usd, eur]) == 2.5  # another currency is never converted nor added
    assert cost([eur]) is None
    assert cost([bare]) is None  # no estimate: unknown, not 0
    assert cost([]) is None


def test_looks_like():
    assert FMT.looks_like({"date": "d", "actor": {"type": "api_actor", "api_key_name": "k"}})
    assert not FMT.looks_like({"date": "d", "actor": "someone"})

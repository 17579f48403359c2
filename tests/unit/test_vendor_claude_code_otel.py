"""claude_code_otel: OTLP JSON log fixtures -> exact canonical rows (worked out by hand)."""

import pytest
from vendor_rows import FIXTURES, event, read_rows

from theater.fingerprint import simhash64
from theater.sources.exports.formats import claude_code_otel as m
from theater.sources.exports.values import VendorRecordError

FIX = FIXTURES / "claude_code_otel"
A, B, C, D, E = (f"6f1c1e2a-0000-4000-8000-00000000{x}001" for x in "abcde")


def prompt_row(event_id, ts, user, kind, session, fp, tool="cli"):
    # a prompt row has no cost: the cost is on its api_request updates
    return event(
        "claude_code_otel",
        kind,
        event_id,
        ts,
        user,
        fp=fp,
        session=session,
        tool=tool,
        action="agent",
    )


def read(name):
    return read_rows(m, FIX / name)


def test_prompts_updates_and_quarantine():
    rows, errors = read("logs_2026-07-06.json")
    prompts = [r for r in rows if r["_table"] == "interactions"]
    updates = [r for r in rows if r["_table"] == "interaction_updates"]
    assert prompts == [
        prompt_row(
            A,
            "2026-07-06T09:00:00Z",
            "ana.ruiz@example.org",
            "email",
            "sess-ana-1",
            simhash64("split the invoice parser into steps"),
            tool="ide",
        ),  # vscode
        prompt_row(B, "2026-07-06T06:15:30.25Z", "acc-0002", "account_uuid", "sess-ben-7", None),
    ]
    assert [
        (
            u["event_id"],
            u["update_id"],
            u["update_kind"],
            u["prompt_tokens"],
            u["completion_tokens"],
            u["model"],
            u["output_disposition"],
        )
        for u in updates
    ] == [
        (A, f"{A}#1", "api_request", 1200, 340, "claude-sonnet-4-5", None),
        (A, f"{A}#2", "tool_decision", None, None, None, "accepted"),
        (A, f"{A}#3", "api_request", 800, 60, "claude-haiku-4-5", None),
        (B, f"{B}#1", "tool_decision", None, None, None, "discarded"),
        (D, f"{D}#4", "api_request", 50, 5, "claude-sonnet-4-5", None),
    ]
    # record 7 has neither event.timestamp nor timeUnixNano; tool_result maps to nothing
    assert errors == [(7, "missing_required: event.timestamp")]
    # the prompt text itself is never in a row
    assert not any("invoice" in str(v) for r in rows for v in r.values())


def test_fold_updates_sums_tokens_and_sets_disposition():
    rows, _ = read("logs_2026-07-06.json")
    prompts = [r for r in rows if r["_table"] == "interactions"]
    updates = [r for r in rows if r["_table"] == "interaction_updates"]
    folded, orphans = m.fold_updates(prompts, updates + updates[:2])  # re-delivery: no effect
    a, b = folded
    assert (a["prompt_tokens"], a["completion_tokens"], a["model"], a["output_disposition"]) == (
        2000,
        400,
        "claude-sonnet-4-5",
        "accepted",
    )
    assert (b["prompt_tokens"], b["completion_tokens"], b["model"], b["output_disposition"]) == (
        None,
        None,
        None,
        "discarded",
    )
    assert [o["event_id"] for o in orphans] == [D]


def test_jsonl_with_malformed_line_and_redacted_prompt():
    rows, errors = read("logs_2026-07-07.jsonl")
    assert rows == [
        prompt_row(E, "2026-07-07T09:00:00Z", "dee.okafor@example.org", "email", "sess-dee-2", None)
    ]
    assert errors == [(2, "malformed_line")]


def test_bad_decision_and_missing_user():
    base = {
        "body": "claude_code.tool_decision",
        "attributes": {
            "event.name": "tool_decision",
            "prompt.id": "p",
            "event.timestamp": "2026-07-06T09:00:00Z",
            "decision": "maybe",
        },
    }
    with pytest.raises(VendorRecordError, match=r"^bad_enum: decision"):
        m.map_record(base)
    prompt = {
        "attributes": {
            "event.name": "user_prompt",
            "prompt.id": "p",
            "event.timestamp": "2026-07-06T09:00:00Z",
        }
    }
    with pytest.raises(VendorRecordError, match=r"^missing_required: user"):
        m.map_record(prompt)

"""bedrock_invocation_logs: gzipped JSON lines -> exact canonical rows."""

import pytest
from vendor_rows import FIXTURES, event, read_rows

from theater.fingerprint import simhash64
from theater.sources.exports.formats import bedrock_invocation_logs as m
from theater.sources.exports.values import VendorRecordError

FIX = FIXTURES / "bedrock_invocation_logs"
ANA = "arn:aws:sts::123456789012:assumed-role/analyst/ana.ruiz@example.org"


def row(event_id, ts, user, model, pt, ct, fp, session=None, artifact=None):
    # no vendor cost in this format
    return event(
        "bedrock_invocation_logs",
        "iam_arn",
        event_id,
        ts,
        user,
        model,
        pt,
        ct,
        fp,
        session,
        artifact_id=artifact,
    )


def test_invocation_log_rows():
    rows, errors = read_rows(m, next(FIX.glob("*.json.gz")))
    assert rows == [
        # Converse: the last user turn is fingerprinted; requestMetadata session/artifact
        row(
            "9a0c0001-aaaa-4bbb-8ccc-000000000001",
            "2026-07-06T11:20:05Z",
            ANA,
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            410,
            96,
            simhash64("shorter please"),
            "conv-ana-77",
            "doc-contract-12",
        ),
        # InvokeModel (Anthropic messages, string content)
        row(
            "9a0c0002-aaaa-4bbb-8ccc-000000000002",
            "2026-07-06T11:21:00.5Z",
            "arn:aws:iam::123456789012:user/ben.osei",
            "anthropic.claude-sonnet-4-20250514-v1:0",
            25,
            300,
            simhash64("draft a status update"),
        ),
        # Titan inputText, +02:00 offset, null outputTokenCount stays None
        row(
            "9a0c0005-aaaa-4bbb-8ccc-000000000005",
            "2026-07-06T11:00:00Z",
            ANA,
            "amazon.titan-text-express-v1",
            7,
            None,
            simhash64("summarize the meeting notes"),
        ),
    ]
    # record 3 has a trailing comma (malformed); record 4 no timestamp
    assert errors == [(3, "malformed_line"), (4, "missing_required: timestamp")]
    assert not any("contract" in str(v) and "risks" in str(v) for r in rows for v in r.values())


def test_bad_token_count_and_looks_like():
    rec = {
        "schemaType": "ModelInvocationLog",
        "requestId": "r",
        "timestamp": "2026-07-06T00:00:00Z",
        "identity": {"arn": "arn:x"},
        "modelId": "m",
        "input": {"inputTokenCount": "ten"},
    }
    with pytest.raises(VendorRecordError, match=r"^bad_type: input.inputTokenCount"):
        m.map_record(rec)
    assert not m.looks_like({"request_id": "r", "startTime": "t", "call_type": "completion"})

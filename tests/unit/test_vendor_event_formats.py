"""Per-event vendor formats together: registered, documented, and recognisable without ambiguity."""

from pathlib import Path

import pytest

from theater.sources.exports import FORMATS, matches, recognise
from theater.sources.stream import iter_records

EVENT = (
    "claude_code_otel",
    "m365_copilot_audit",
    "bedrock_invocation_logs",
    "litellm_spend_logs",
    "cursor_usage_events",
    "otel_genai",
)
ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "vendor"


def test_registered_with_event_grain_and_documented():
    doc = (ROOT / "docs" / "vendor_mapping.md").read_text()
    for name in EVENT:
        fmt = FORMATS[name]
        assert fmt.grain == "event"
        assert fmt.docs.startswith(f"## {name} - ") and "Lost" in fmt.docs
        assert fmt.docs.strip() in doc, name
        # the signal levels are those of shared/docs/vendor_formats.md: nothing claims A
        assert set(fmt.signals.values()) <= {"Y", "N"}
        assert fmt.signals["quota_bunching"] == "Y"


@pytest.mark.parametrize("name", EVENT)
def test_fixture_records_match_only_their_format(name):
    files = sorted(p for p in (FIX / name).iterdir() if p.is_file())
    assert files
    for p in files:
        assert recognise(str(p)) == name, p.name
        for rec in iter_records(str(p)):
            if rec.record is None:
                continue
            # also records the format maps to no row (an HTTP span, another audit operation)
            assert matches(rec.record) == [name], (p.name, rec.line)

"""``theater formats`` claims are derived from what the code computes: each format's ``fills`` is
checked against its mapper on each format's fixture, and the derivation rules on hand-made field sets."""

from __future__ import annotations

import pytest
from vendor_rows import FIXTURES

from theater.sources.exports import FORMATS, describe, map_file
from theater.sources.exports.claims import ROW_KEYS, derive


def _filled(name: str) -> set[str]:
    out: set[str] = set()
    for f in sorted((FIXTURES / name).rglob("*")):
        if f.is_file():
            for rec in map_file(str(f), name):
                for row in rec.rows:
                    out |= {k for k, v in row.items() if v is not None and not k.startswith("_")}
    return out - ROW_KEYS


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_fills_is_what_the_mapper_fills_on_the_fixture(name):
    assert FORMATS[name].fills == _filled(name)


def test_every_format_has_a_fixture():
    for name in FORMATS:
        assert (FIXTURES / name).is_dir(), name


def test_derivation_rules():
    # events: each signal needs every field it reads
    assert derive("event", {"prompt_tokens"}) == {
        "unused_output": "N",
        "self_summary": "N",
        "repeat_prompt": "N",
        "fragmentation": "N",
        "padding": "N",
        "quota_bunching": "Y",
        "checkpoint_burst": "Y",
        "outcome_decoupling": "Y",
    }
    full = {
        "output_disposition",
        "prompt_fingerprint",
        "prompt_tokens",
        "artifact_id",
        "artifact_author_id",
        "artifact_modified_ts",
    }
    assert set(derive("event", full).values()) == {"Y"}
    # aggregates: an unused share from rejections or dismissals, or from acceptances against
    # outputs shown or requested (the acceptance basis); no checkpoint from weeks
    assert derive("user_day", {"requests", "accepted"})["unused_output"] == "A"
    assert derive("user_day", {"accepted"})["unused_output"] == "N"
    assert derive("user_day", {"requests"})["unused_output"] == "N"
    assert derive("user_day", {"requests", "rejected"})["unused_output"] == "A"
    assert derive("person_week", {"requests"})["checkpoint_burst"] == "N"
    assert derive("user_day", {"requests"})["checkpoint_burst"] == "Y"
    assert set(derive("org_day", {"requests", "active_users"}).values()) == {"N"}
    # accepted against shown or requested: the org-level acceptance estimate, no person's
    assert derive("org_day", {"accepted", "suggestions_shown"})["unused_output"] == "O"
    assert derive("org_day", {"accepted", "requests"})["unused_output"] == "O"
    assert derive("org_day", {"accepted"})["unused_output"] == "N"


def test_viva_claims_no_self_summary_and_formats_prints_the_derivation():
    assert "self_summary" not in FORMATS["viva_person_query"].feeds()
    assert FORMATS["viva_person_query"].feeds() == {
        "quota_bunching": "Y",
        "outcome_decoupling": "Y",
    }
    # GitHub reports acceptances of outputs shown (an unused share), and no padding from
    # aggregates
    assert FORMATS["github_copilot_users"].feeds() == {
        "unused_output": "A",
        "quota_bunching": "Y",
        "checkpoint_burst": "Y",
        "outcome_decoupling": "Y",
    }
    rows = {d["name"]: d for d in describe()}
    assert all(rows[n]["signals"] == FORMATS[n].feeds() for n in FORMATS)

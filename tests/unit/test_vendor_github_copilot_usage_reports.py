"""github_copilot_org_usage / github_copilot_enterprise_usage: GitHub's aggregated Copilot
usage-metrics reports (1-day and 28-day NDJSON) -> org_days, rows worked out by hand from the
fixtures (field names from GitHub's "Copilot usage metrics API and export fields")."""

from __future__ import annotations

import json

import pytest
from vendor_rows import FIXTURES, O, read_all

from theater.sources.exports import FORMATS, VendorRecordError, describe, recognise

ORG = "github_copilot_org_usage"
ENT = "github_copilot_enterprise_usage"


def _c(requests, shown, accepted, sug, added):
    return dict(
        requests=requests,
        suggestions_shown=shown,
        accepted=accepted,
        lines_suggested=sug,
        lines_accepted=added,
    )


def test_organization_1_day_rows_worked_out_by_hand():
    got = read_all(FORMATS[ORG], FIXTURES / ORG / "organization_1_day.ndjson")
    assert got == [
        # a feature split: the all row has the daily active users only (the features partition
        # the totals 120/900/270/1500/430 = 0+120 / 780+120 / 240+30 / 1200+300 / 350+80)
        (
            1,
            [
                O(ORG, "2026-03-02", "all", active_users=31),
                O(ORG, "2026-03-02", "code_completion", **_c(0, 780, 240, 1200, 350)),
                O(ORG, "2026-03-02", "chat_panel_agent_mode", **_c(120, 120, 30, 300, 80)),
            ],
        ),
        # no feature split: the totals are the all row's
        (2, [O(ORG, "2026-03-03", "all", active_users=27, **_c(95, 700, 210, 1100, 300))]),
        (3, "missing_required: day"),
        (4, "bad_type: totals_by_feature[0].code_generation_activity_count ('n/a')"),
    ]


def test_organization_28_day_gives_daily_rows_from_day_totals():
    got = read_all(FORMATS[ORG], FIXTURES / ORG / "organization_28_day.ndjson")
    assert got == [
        (
            1,
            [
                O(ORG, "2026-03-01", "all", active_users=8),
                O(ORG, "2026-03-01", "code_completion", **_c(0, 150, 40, 210, 60)),
                O(ORG, "2026-03-02", "all", active_users=31),
                # code_completion listed twice: 780+20, 240+5, 1200+30, 350+10
                O(ORG, "2026-03-02", "code_completion", **_c(0, 800, 245, 1230, 360)),
                O(ORG, "2026-03-02", "chat_panel_agent_mode", **_c(120, 120, 30, 300, 80)),
                O(ORG, "2026-03-03", "all", active_users=27, **_c(95, 700, 210, 1100, 300)),
            ],
        )
    ]


def test_enterprise_reports_1_day_and_28_day_as_one_json_object():
    one = read_all(FORMATS[ENT], FIXTURES / ENT / "enterprise_1_day.ndjson")
    day2 = [
        O(ENT, "2026-03-02", "all", active_users=140),
        O(ENT, "2026-03-02", "code_completion", **_c(0, 3100, 950, 4800, 1400)),
        O(ENT, "2026-03-02", "chat_panel_ask_mode", **_c(410, 380, 90, 700, 210)),
        O(ENT, "2026-03-02", "agent_edit", **_c(75, 60, 41, 520, 390)),
    ]
    assert one == [(1, day2)]
    # a pretty-printed 28-day report is one record (day_totals is not a wrapper of records)
    got = read_all(FORMATS[ENT], FIXTURES / ENT / "enterprise_28_day.json")
    assert got == [
        (1, [O(ENT, "2026-03-01", "all", active_users=36, **_c(60, 800, 230, 1000, 310))] + day2)
    ]


@pytest.mark.parametrize(
    "path,fmt",
    [
        (f"{ORG}/organization_1_day.ndjson", ORG),
        (f"{ORG}/organization_28_day.ndjson", ORG),
        (f"{ENT}/enterprise_1_day.ndjson", ENT),
        (f"{ENT}/enterprise_28_day.json", ENT),
        ("github_copilot_users/org_users_1_day.jsonl", "github_copilot_users"),
    ],
)
def test_each_report_is_recognised_by_its_content_alone(path, fmt):
    assert recognise(str(FIXTURES / path)) == fmt


def test_a_users_record_is_not_an_aggregate_and_the_old_reader_points_to_the_new_one():
    user = {"day": "2026-03-02", "user_login": "alice-gh", "organization_id": "7301"}
    with pytest.raises(VendorRecordError, match="wrong_report: a per-user record"):
        FORMATS[ORG].map_record(user)
    report = json.loads((FIXTURES / ORG / "organization_1_day.ndjson").read_text().splitlines()[0])
    with pytest.raises(VendorRecordError) as exc:
        FORMATS["github_copilot_org_metrics"].map_record(report)
    assert str(exc.value).startswith("wrong_format: a Copilot usage-metrics report record")
    assert "landing/vendor/github_copilot_org_usage/<org>/" in str(exc.value)


def test_listed_by_theater_formats_as_org_day_readers():
    listed = {d["name"]: d for d in describe()}
    for name in (ORG, ENT):
        assert listed[name]["grain"] == "org_day"
        # no per-person signal; accepted against shown feeds the org-level estimate only
        assert listed[name]["signals"] == {"unused_output": "O"}
        assert set(listed[name]["file_kinds"]) == {"json", "jsonl"}

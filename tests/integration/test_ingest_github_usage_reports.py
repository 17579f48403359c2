"""GitHub's aggregated Copilot usage-metrics reports through ingest on Sail with real Delta
tables: files placed under landing/vendor/<format>/<org>/ load into bronze/org_days with the
folder's org, bad records are quarantined with their line, and a report dropped in the old
metrics folder is quarantined with a reason that names where it belongs (not
``missing_required: date``)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from theater.lake import Lake
from theater.stages import ingest

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
ORG, ENT = "github_copilot_org_usage", "github_copilot_enterprise_usage"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, spark, cfg):
    root = tmp_path_factory.mktemp("gh_usage")
    v = root / "landing" / "vendor"
    for fmt, org, names in (
        (ORG, "org-001", ["organization_1_day.ndjson", "organization_28_day.ndjson"]),
        (ENT, "org-002", ["enterprise_28_day.json"]),
    ):
        (v / fmt / org).mkdir(parents=True)
        for n in names:
            shutil.copy(FIX / fmt / n, v / fmt / org / n)
    old = v / "github_copilot_org_metrics" / "org-003"
    old.mkdir(parents=True)
    shutil.copy(FIX / ENT / "enterprise_1_day.ndjson", old / "misplaced.ndjson")
    lake = Lake(str(root / "lake"))
    metrics = ingest.run(spark, lake, str(root / "landing"), cfg=cfg)
    return {"lake": lake, "metrics": metrics}


def test_reports_load_into_org_days_under_the_folder_org(spark, loaded):
    rows = loaded["lake"].read(spark, "bronze/org_days").collect()
    got = {
        (r.source_format, r.vendor_org, r.day, r.feature): (r.active_users, r.accepted)
        for r in rows
    }
    # the 1-day file: 2026-03-02 (all + 2 features), 2026-03-03 (all); lines 3 and 4 are bad
    assert got[(ORG, "org-001", "2026-03-02", "all")] == (31, None)
    assert got[(ORG, "org-001", "2026-03-02", "chat_panel_agent_mode")] == (None, 30)
    assert got[(ORG, "org-001", "2026-03-03", "all")] == (27, 210)
    assert got[(ENT, "org-002", "2026-03-01", "all")] == (36, 230)
    assert got[(ENT, "org-002", "2026-03-02", "agent_edit")] == (None, 41)
    by_file = Counter(r._source_file for r in rows)
    assert by_file == {
        f"vendor/{ORG}/org-001/organization_1_day.ndjson": 4,
        f"vendor/{ORG}/org-001/organization_28_day.ndjson": 6,
        f"vendor/{ENT}/org-002/enterprise_28_day.json": 5,
    }


def test_bad_records_and_misplaced_reports_are_quarantined_with_a_reason(spark, loaded):
    q = loaded["lake"].read(spark, "bronze/quarantine").collect()
    got = {(r._source_file, r.line_number): r.reason for r in q}
    assert got[(f"vendor/{ORG}/org-001/organization_1_day.ndjson", 3)] == ("missing_required: day")
    misplaced = got[("vendor/github_copilot_org_metrics/org-003/misplaced.ndjson", 1)]
    assert misplaced.startswith("wrong_format: a Copilot usage-metrics report record")
    assert "landing/vendor/github_copilot_enterprise_usage/<org>/" in misplaced
    assert loaded["metrics"]["files_rejected"] == []

"""The report says per org how many audit labels its interval rests on (hand-made index)."""

from __future__ import annotations

import re
from datetime import date

from test_report_figures import frame, inputs, org, user_weeks

from theater.report import page
from theater.report.build import compute


def _row(html: str, org_id: str) -> str:
    return re.search(rf'<tr[^>]*data-org="{org_id}"[^>]*>.*?</tr>', html, re.S).group(0)


def test_org_rows_state_the_labels_behind_each_interval():
    idx = frame(
        org("audited", 20.0, n=4321, audit_n=1042, interval_kind="sampling+detector"),
        org("unaudited", 10.0, n=1234, audit_n=0, interval_kind="sampling"),
        org("tiny", suppressed=True, n_users=7, n=500, audit_n=0, interval_kind="sampling"),
    )
    uw = user_weeks([("unaudited", u, date(2026, 7, 6), 10, 1.0) for u in range(20)])
    html = page.render(compute(inputs(idx, uw=uw), generated_at="2026-10-02 08:00 UTC"))
    assert "1,042 audit labels" in _row(html, "audited")
    # no audit: no count, and the interval is the detector-only one
    assert "audit labels" not in _row(html, "unaudited")
    assert "audit labels" not in _row(html, "tiny")

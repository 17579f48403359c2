"""Report figures and page from hand-made DataFrames (no Spark, no lake)."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from theater.period import Period
from theater.report import charts, page
from theater.report import figures as fg
from theater.report.build import compute
from theater.report.data import ReportInputs, previous_period, week_days_in

Q3 = Period.quarter("2026Q3")
SIGNALS = [
    "unused_output",
    "self_summary",
    "repeat_prompt",
    "fragmentation",
    "padding",
    "quota_bunching",
    "checkpoint_burst",
]


def org(
    org_id,
    index=None,
    n_users=50,
    n=1000,
    *,
    suppressed=False,
    lo=None,
    hi=None,
    decoupled=None,
    top=("unused_output",),
    signals=None,
    hct=False,
    **extra,
):
    row = {
        "org_id": org_id,
        "period_start": Q3.start,
        "period_end": Q3.end,
        "theater_index": None if suppressed else index,
        "ci_low": None if suppressed else (lo if lo is not None else index - 2),
        "ci_high": None if suppressed else (hi if hi is not None else index + 2),
        "n_users": n_users,
        "n_interactions": n,
        "suppressed": suppressed,
        "suppression_reason": "min_users" if suppressed else None,
        "signal_coverage": None if suppressed else 6 / 7,
        "top_signals": None if suppressed else list(top),
        "usage_change": None,
        "outcome_change": None,
        "outcome_decoupling": None,
        "outcome_decoupling_low": None,
        "outcome_decoupling_high": None,
        "decoupled": decoupled,
        "high_confidence_theater": None if suppressed else hct,
        "rank_low": None if suppressed else 1,
        "rank_high": None if suppressed else 2,
        "run_id": "run-1",
    }
    for s in SIGNALS:
        row[f"signal_{s}"] = None if suppressed else (signals or {}).get(s, 0.01)
    row.update(extra)
    return row


def frame(*rows):
    return pd.DataFrame(list(rows))


def user_weeks(spec):
    """spec: list of (org, user, week_start, n, theater_sum)."""
    return pd.DataFrame(
        spec, columns=["org_id", "user", "week_start", "n_interactions", "theater_interactions"]
    ).assign(full_week=True)


# ----------------------------------------------------------------------------- headline
def test_company_share_is_usage_weighted_over_published_orgs_only():
    idx = frame(org("a", 10.0, n=1000), org("b", 40.0, n=3000), org("s", suppressed=True, n=50_000))
    share = fg.company_share(idx)
    assert share.value == pytest.approx((10 * 1000 + 40 * 3000) / 4000)
    assert share.n_orgs == 2 and share.usage == 4000 and share.n_outside == 0
    # each org +-2 points: sqrt((0.25 x 2)^2 + (0.75 x 2)^2) = sqrt(2.5) = 1.581 each side
    assert share.low == pytest.approx(32.5 - 2.5**0.5)
    assert share.high == pytest.approx(32.5 + 2.5**0.5)
    assert share.usage_covered == pytest.approx(1.0)


def test_usage_change_is_like_for_like_per_day():
    now = frame(org("a", 10, n=920), org("b", 10, n=9200), org("new", 10, n=5000))
    prev = frame(org("a", 10, n=910), org("b", 10, n=4550), org("gone", 10, n=999))
    u = fg.usage_change(now, prev, 92, 91, "2026Q2")
    assert u.interactions == 920 + 9200 + 5000
    assert u.n_same_orgs == 2
    assert u.change == pytest.approx(((920 + 9200) / 92) / ((910 + 4550) / 91) - 1)
    none = fg.usage_change(now, now.iloc[0:0], 92, 91, None)
    assert none.change is None and none.previous_label is None


def test_decoupling_counts_unsuppressed_measured_orgs_with_or_without_an_index():
    idx = frame(
        org("a", 10, decoupled=True),
        org("b", 10, decoupled=False),
        org("c", 10, decoupled=None),
        org("s", suppressed=True, decoupled=True),
    )
    d = fg.decoupling_summary(idx)
    assert (d.n_published, d.n_measured, d.n_decoupled, d.orgs) == (3, 2, 1, ("a",))
    assert d.share == 0.5
    # an org without a theater index (vendor aggregates only) whose decoupling gold measured
    # counts as measured: the page must not say "could not be measured" for it
    na = dict(theater_index=None, ci_low=None, ci_high=None, outcome_decoupling=0.046)
    idx = frame(org("a", 10), org("n", 10, decoupled=False, **na))
    d = fg.decoupling_summary(idx)
    assert (d.n_published, d.n_measured, d.n_decoupled, d.n_estimated) == (2, 1, 0, 1)
    # a ratio without a call (interval missing): estimated, not measured
    idx = frame(org("a", 10), org("n", 10, **na))
    d = fg.decoupling_summary(idx)
    assert (d.n_measured, d.n_estimated) == (0, 1)


def test_dq_summary_counts_warnings_and_failures():
    dq = pd.DataFrame(
        {
            "table_name": ["t1", "t1", "t2", "t2"],
            "severity": ["critical", "warning", "warning", "critical"],
            "success": [True, False, True, False],
        }
    )
    q = fg.dq_summary(dq)
    assert (q.total, q.passed, q.warnings, q.failed) == (4, 2, 1, 1)
    assert q.by_table.set_index("table").loc["t1"].tolist() == [2, 1, 1, 0]


# ----------------------------------------------------------------------------- org table
def test_org_table_sorts_and_blanks_suppressed_orgs():
    idx = frame(
        org("low", 5.0),
        org("s", suppressed=True, n_users=7, n=321),
        org("high", 30.0, lo=25, hi=35),
        org("mid", 12.0),
    )
    prev = frame(org("high", 20.0, lo=18, hi=22), org("mid", 11.0, lo=9, hi=13))
    t = fg.org_table(idx, prev, 92)
    assert list(t["org_id"]) == ["high", "mid", "low", "s"]
    s = t.set_index("org_id").loc["s"]
    assert s["suppressed"] and all(s[c] is None or pd.isna(s[c]) for c in fg.FIGURES)
    h = t.set_index("org_id").loc["high"]
    assert h["change"] == pytest.approx(10.0) and h["change_clear"]
    m = t.set_index("org_id").loc["mid"]
    assert m["change"] == pytest.approx(1.0) and not m["change_clear"]
    assert pd.isna(t.set_index("org_id").loc["low", "change"])  # not published before
    assert h["per_user_week"] == pytest.approx(1000 / 50 / (92 / 7))


def test_quadrants_split_at_median_usage_and_company_share():
    t = fg.org_table(
        frame(
            org("heavy_theater", 40, n_users=10, n=5000),
            org("heavy_real", 5, n_users=10, n=4000),
            org("light_theater", 30, n_users=10, n=500),
            org("light_real", 2, n_users=10, n=400),
        ),
        None,
        91,
    )
    q = fg.quadrant(t, company=20.0)
    got = dict(zip(q.points["org_id"], q.points["quadrant"]))
    assert got == {
        "heavy_theater": "Adoption theater",
        "heavy_real": "Real adoption",
        "light_theater": "Token compliance",
        "light_real": "Light, genuine use",
    }


def test_weekly_trend_scales_partial_weeks_and_uses_published_orgs():
    uw = user_weeks(
        [
            ("a", 1, date(2026, 6, 29), 50, 5.0),  # 5 days inside Q3
            ("a", 1, date(2026, 7, 6), 70, 14.0),
            ("s", 2, date(2026, 7, 6), 1000, 1000.0),
        ]
    )
    w = fg.weekly_trend(uw, ["a"], Q3.start, Q3.end)
    assert list(w["days"]) == [5, 7] and list(w["partial"]) == [True, False]
    assert list(w["per_day"]) == [10.0, 10.0]
    assert list(w["theater_share"]) == [10.0, 20.0]
    assert week_days_in(Q3, date(2026, 9, 28)) == 3


def test_policy_markers_inside_period_for_published_orgs_and_company():
    pol = pd.DataFrame(
        [
            {
                "org_id": "*",
                "kind": "checkpoint",
                "start_date": date(2026, 8, 11),
                "weekly_quota": None,
            },
            {"org_id": "a", "kind": "quota", "start_date": date(2026, 9, 7), "weekly_quota": 20},
            {"org_id": "a", "kind": "quota", "start_date": date(2026, 5, 1), "weekly_quota": 10},
            {
                "org_id": "s",
                "kind": "checkpoint",
                "start_date": date(2026, 8, 1),
                "weekly_quota": None,
            },
            {
                "org_id": "a",
                "kind": "mandate",
                "start_date": date(2026, 7, 20),
                "weekly_quota": None,
            },
        ]
    )
    m = fg.policy_markers(pol, ["a"], Q3.start, Q3.end)
    assert list(m["kind"]) == ["mandate", "checkpoint", "quota"]
    assert list(m["company_wide"]) == [False, True, False]
    assert "quota 20 interactions a week (a)" in m["label"].iloc[2]


def test_drivers_count_unmeasured_orgs_as_contributing_nothing():
    idx = frame(
        org(
            "a",
            10,
            n=1000,
            signals={"quota_bunching": 0.2, "unused_output": 0.1},
            top=("quota_bunching", "unused_output"),
        ),
        org("b", 10, n=3000, signals={"quota_bunching": None, "unused_output": 0.3}),
        org("s", suppressed=True, n=10_000),
    )
    d = fg.drivers(idx).set_index("signal")
    assert d.loc["quota_bunching", "share"] == pytest.approx(0.2 * 1000 / 4000 * 100)
    assert d.loc["quota_bunching", "n_measured"] == 1
    assert d.loc["unused_output", "share"] == pytest.approx((100 + 900) / 4000 * 100)
    assert d.loc["unused_output", "n_top"] == 2 and d.loc["quota_bunching", "n_top"] == 1
    assert fg.drivers(idx)["signal"].iloc[0] == "unused_output"


# ----------------------------------------------------------------------------- periods, charts
def test_previous_period():
    assert previous_period(Q3) == Period.quarter("2026Q2")
    assert previous_period(Period.quarter("2026Q1")) == Period.quarter("2025Q4")
    assert previous_period(Period(date(2026, 7, 1), date(2026, 7, 15))) == Period(
        date(2026, 6, 17), date(2026, 7, 1)
    )


@pytest.mark.parametrize(
    "value,top,step",
    [(58.5, 60, 10), (4800, 5000, 1000), (0.9, 1, 0.2), (18.5, 20, 5), (6.0, 6, 1)],
)
def test_nice_scale(value, top, step):
    assert charts.nice_scale(value) == (pytest.approx(top), pytest.approx(step))


# ----------------------------------------------------------------------------- the page
def inputs(index, previous=None, uw=None, policies=None):
    return ReportInputs(
        lake="/lake",
        period=Q3,
        previous_period=Period.quarter("2026Q2"),
        index=index,
        previous=previous if previous is not None else index.iloc[0:0],
        user_weeks=uw if uw is not None else user_weeks([]),
        dq=pd.DataFrame(),
        policies=policies
        if policies is not None
        else pd.DataFrame(
            columns=["org_id", "kind", "start_date", "end_date", "weekly_quota", "note"]
        ),
        versions={"gold/org_theater_index": 3},
        formats={"gold/org_theater_index": "delta"},
        runs=[],
        run_ids=["run-1"],
        settings={
            "source": "configuration",
            "confidence": 0.9,
            "replicates": 200,
            "seed": 1,
            "min_users": 10,
            "dominance_share": 0.5,
            "max_dwell_ms": 5000,
            "self_summary_days": 7,
            "repeat_window_days": 7,
            "fragment_count": 5,
            "fragment_minutes": 30,
            "padding_quantile": 0.9,
            "checkpoint_days": 3,
            "threshold": 0.5,
        },
    )


def test_page_escapes_text_and_shows_no_figures_for_suppressed_orgs():
    idx = frame(
        org("<script>x</script>", 20.0, n=4321),
        org("b", 10.0, n=1234),
        org("tiny", suppressed=True, n_users=7, n=98765),
    )
    uw = user_weeks([("b", u, date(2026, 7, 6), 10, 1.0) for u in range(20)])
    html = page.render(compute(inputs(idx, uw=uw), generated_at="2026-10-02 08:00 UTC"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "98765" not in html and "98,765" not in html
    row = re.search(r'<tr class="suppressed" data-org="tiny">.*?</tr>', html, re.S).group(0)
    assert not re.search(r"\d", re.sub(r"<[^>]+>", " ", row)), row  # visible text: no figures
    assert "no previous quarter in the lake" in html
    for chart in ("chart-index", "chart-quadrant", "chart-trend", "chart-drivers"):
        assert f'<svg id="{chart}"' in html and f'<desc id="{chart}-desc">' in html


BAD_ORG = "<script>alert(1)</script>"
BAD_ORG2 = '"><img src=x onerror=alert(2)>'
AMP_SIGNAL = "copy&paste"  # label "Copy&paste"


def test_hostile_org_ids_and_signal_names_render_escaped_everywhere():
    """Org ids and signal names reach the table, the charts' <title>/<desc>, the method list and
    the appendix: everywhere as text, never as markup."""
    from html.parser import HTMLParser

    extra = {f"signal_{AMP_SIGNAL}": 0.2}
    idx = frame(
        org(BAD_ORG, 30.0, n=2000, decoupled=True, hct=True, top=(AMP_SIGNAL,), **extra),
        org(BAD_ORG2, 20.0, n=1500, top=("unused_output", AMP_SIGNAL), **extra),
        org("plain", 10.0, n=1000, **extra),
    )
    uw = user_weeks(
        [(o, u, date(2026, 7, 6), 10, 2.0) for o in (BAD_ORG, BAD_ORG2, "plain") for u in range(12)]
    )
    html = page.render(compute(inputs(idx, uw=uw), generated_at="2026-10-02 08:00 UTC"))
    html = html.replace("&quot;", "&#34;").replace("&#x27;", "&#39;")  # either entity is fine

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attrs = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.attrs += [a for a, _ in attrs]

    p = Tags()
    p.feed(html)
    assert "script" not in p.tags and "img" not in p.tags
    assert "onerror" not in p.attrs and "src" not in p.attrs
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "Copy&paste" not in html  # a bare & never goes out

    esc1 = "&lt;script&gt;alert(1)&lt;/script&gt;"
    esc2 = "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"
    amp = "Copy&amp;paste"
    table = re.search(r'<table id="org-table">.*?</table>', html, re.S).group(0)
    assert esc1 in table and esc2 in table and amp in table
    assert f'data-org="{esc1}"' in table and f'data-org="{esc2}"' in table
    for chart in ("chart-index", "chart-quadrant"):
        svg = re.search(rf'<svg id="{chart}".*?</svg>', html, re.S).group(0)
        desc = re.search(rf'<desc id="{chart}-desc">(.*?)</desc>', svg, re.S).group(1)
        titles = " ".join(re.findall(r"<title>(.*?)</title>", svg, re.S))
        assert esc1 in desc and esc2 in desc, chart
        assert esc1 in titles and esc2 in titles, chart
    drivers = re.search(r'<svg id="chart-drivers".*?</svg>', html, re.S).group(0)
    assert amp in re.search(r"<desc[^>]*>(.*?)</desc>", drivers, re.S).group(1)
    assert amp in " ".join(re.findall(r"<title>(.*?)</title>", drivers, re.S))
    appendix = re.search(r'<section id="appendix".*?</section>', html, re.S).group(0)
    quadrant = re.search(r'<table id="quadrant-table">.*?</table>', appendix, re.S).group(0)
    matrix = re.search(r'<table id="signal-matrix".*?</table>', appendix, re.S).group(0)
    drivers_table = re.search(r'<table id="drivers-table">.*?</table>', appendix, re.S).group(0)
    assert esc1 in quadrant and esc2 in quadrant
    assert esc1 in matrix and esc2 in matrix and amp in matrix
    assert amp in drivers_table
    method = re.search(r'<section id="method".*?</section>', html, re.S).group(0)
    assert f"<dt>{amp}</dt>" in method
    look = re.search(r'<div class="card look".*?</ul>', html, re.S).group(0)
    assert esc1 in look  # the high-confidence org is named in the headline


# ----------------------------------------------------------------------------- NA is not zero
PER_INTERACTION = ["unused_output", "self_summary", "repeat_prompt", "fragmentation", "padding"]


def not_measurable_org(org_id="agg", n=5000, **extra):
    """An org whose data measures no per-interaction signal: null index, incentive index from
    vendor aggregates (12.0, interval 8.0 to 20.0)."""
    row = dict(
        theater_index=None,
        ci_low=None,
        ci_high=None,
        rank_low=None,
        rank_high=None,
        top_signals=[],
        high_confidence_theater=None,
        signal_coverage=None,
        not_measurable_reason="no per-interaction signal in vendor aggregates",
        index_basis="aggregates",
        sources=["copilot_metrics"],
        incentive_index=12.0,
        incentive_ci_low=8.0,
        incentive_ci_high=20.0,
        incentive_basis="aggregates",
        incentive_not_measurable_reason=None,
    )
    row.update(extra)
    return org(org_id, 0.0, n=n, signals={s: None for s in PER_INTERACTION}, **row)


def test_company_share_leaves_out_orgs_without_a_figure():
    # 'agg' (no index, 5,000 interactions) is outside the figure and counted in what it covers
    idx = frame(
        org("a", 10.0, n=1000, index_basis="interactions", sources=["native"]),
        org("b", 40.0, n=3000),
        not_measurable_org(n=5000),
    )
    share = fg.company_share(idx)
    assert share.value == pytest.approx((10 * 1000 + 40 * 3000) / 4000)
    assert share.n_orgs == 2 and share.n_outside == 1
    assert share.usage_covered == pytest.approx(4000 / 9000)


def test_org_table_keeps_not_measurable_orgs_apart():
    idx = frame(
        org("s", suppressed=True, n=77),
        not_measurable_org(),
        org("a", 10.0, index_basis="interactions", sources=["native", "cursor"]),
        org("b", 30.0, hct=True),
    )
    t = fg.org_table(idx, None, 91)
    assert list(t["org_id"]) == ["b", "a", "agg", "s"]
    assert list(t["status"]) == ["published", "published", "not_measurable", "suppressed"]
    nm = t.set_index("org_id").loc["agg"]
    assert not nm["suppressed"] and pd.isna(nm["theater_index"]) and pd.isna(nm["ci_low"])
    assert pd.isna(nm["rank_low"]) and not nm["high_confidence_theater"]
    assert nm["not_measurable_reason"] == "no per-interaction signal in vendor aggregates"
    assert (nm["incentive_index"], nm["incentive_ci_low"], nm["incentive_ci_high"]) == (
        12.0,
        8.0,
        20.0,
    )
    assert nm["index_basis"] == "aggregates" and nm["sources"] == ["copilot_metrics"]
    a = t.set_index("org_id").loc["a"]
    assert a["sources"] == ["native", "cursor"] and a["index_basis"] == "interactions"
    assert pd.isna(t.set_index("org_id").loc["b"]["index_basis"])  # older lake: absent
    s = t.set_index("org_id").loc["s"]
    assert pd.isna(s["incentive_index"]) and s["sources"] is None and pd.isna(s["n_interactions"])
    # out of the quadrants (split at median usage of a and b), the published set, coverage
    q = fg.quadrant(t, 20.0)
    assert sorted(q.points["org_id"]) == ["a", "b"]
    assert list(fg.published_rows(t)["org_id"]) == ["b", "a"]
    cov = fg.coverage_summary(idx)
    assert (cov.n_orgs, cov.n_published, cov.n_suppressed, cov.n_not_measurable) == (4, 2, 1, 1)


def test_page_shows_not_measurable_org_and_incentive_lower_bound():
    idx = frame(
        org("a", 10.0, n=1000, index_basis="interactions", sources=["native"]),
        org("b", 40.0, n=1000, index_basis="interactions", sources=["native"]),
        not_measurable_org(n=5000),
    )
    uw = user_weeks(
        [("a", u, date(2026, 7, 6), 10, 1.0) for u in range(10)]
        + [("b", u, date(2026, 7, 6), 10, 4.0) for u in range(10, 20)]
        + [("agg", 30, date(2026, 7, 6), 100, None)]
    )
    f = compute(inputs(idx, uw=uw), generated_at="2026-10-02 08:00 UTC")
    assert f.share.value == pytest.approx(25.0)
    html = page.render(f)
    row = re.search(r'<tr class="not-measurable" data-org="agg">.*?</tr>', html, re.S).group(0)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
    assert "n/a — not measurable" in text
    assert "no per-interaction signal in vendor aggregates" in text
    assert "Incentive index (lower bound, from aggregates): 12.0 [8.0, 20.0]" in text
    assert "not comparable with the theater index" in text
    assert "vendor aggregates only; sources: copilot_metrics" in text
    assert "5,000" in text  # its counts are shown
    row_a = re.search(r'<tr class="" data-org="a".*?</tr>', html, re.S).group(0)
    assert "per-interaction signals; sources: native" in row_a
    # no bar or dot for it in the index chart, not in the quadrant chart or its table
    index_svg = re.search(r'<svg[^>]*id="chart-index".*?</svg>', html, re.S).group(0)
    assert 'data-org="agg"' not in index_svg and "Not measurable, not shown: agg" in index_svg
    assert "agg" not in str(f.quadrant.points["org_id"].tolist())
    # null signals of the measured orgs' table read "not measured"; never 0.0 for agg
    assert "agg" not in list(f.matrix.index)


def test_null_signal_reads_not_measured():
    idx = frame(
        org("a", 10.0, signals={"padding": None}), org("b", 20.0, signals={"padding": None})
    )
    drv = fg.drivers(idx)
    pad = drv.set_index("signal").loc["padding"]
    assert pd.isna(pad["share"]) and pad["n_measured"] == 0
    svg = str(charts.drivers_chart(drv))
    assert "Padding: not measured" in svg and "nan" not in svg.lower()
    html = page.render(compute(inputs(idx), generated_at="2026-10-02 08:00 UTC"))
    matrix = re.search(r'<table id="signal-matrix".*?</table>', html, re.S).group(0)
    assert matrix.count("not measured") == 2 and "0.0%" not in matrix


def test_weekly_share_over_measured_interactions_and_unmeasured_weeks():
    uw = user_weeks(
        [
            ("a", 0, date(2026, 7, 6), 10, 1.0),
            ("a", 1, date(2026, 7, 6), 10, None),
            ("a", 0, date(2026, 7, 13), 5, None),
        ]
    )
    wk = fg.weekly_trend(uw, ["a"], Q3.start, Q3.end)
    assert list(wk["n_interactions"]) == [20, 5]  # usage counts every interaction
    assert wk["theater_share"].iloc[0] == pytest.approx(10.0)  # 1 of 10 measured, not 1/20
    assert pd.isna(wk["theater_share"].iloc[1])
    svg = str(charts.trend_chart(wk, fg.policy_markers(None, ["a"], Q3.start, Q3.end)))
    assert "theater share not measured" in svg and "nan" not in svg.lower()


def test_page_decoupling_agrees_with_gold_for_an_org_without_an_index():
    # 'n' has no theater index (vendor aggregates only) but gold measured its outcome
    # decoupling 0.046 [-0.096, 0.401], not decoupled: the page counts it (0 of 1) and lists
    # it in the appendix with gold's figures, never "could not be measured"
    na = dict(
        theater_index=None,
        ci_low=None,
        ci_high=None,
        outcome_decoupling=0.046,
        outcome_decoupling_low=-0.096,
        outcome_decoupling_high=0.401,
        not_measurable_reason="no interaction-level data",
    )
    idx = frame(org("a", 10.0), org("n", 10.0, decoupled=False, **na))
    uw = user_weeks([("a", u, date(2026, 7, 6), 10, 1.0) for u in range(20)])
    html = page.render(compute(inputs(idx, uw=uw), generated_at="2026-10-02 08:00 UTC"))
    assert "could not be measured" not in html
    m = re.search(r'id="headline-decoupling" data-measured="(\d+)"\s+data-decoupled="(\d+)"', html)
    assert (m.group(1), m.group(2)) == ("1", "0")
    row = re.search(r"<tr><td>n</td>.*?</tr>", html, re.S).group(0)
    assert "0.05" in row and "\u22120.10 to 0.40" in row and "<td>no</td>" in row

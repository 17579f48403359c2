"""Each aggregate-only export ALONE, end to end: ingest -> refine -> score -> report, in this
process on the shared engine. A lake holding only user-days (or person-weeks) must refine,
score and report: silver/user_days holds the export's rows, gold has a row per org (a number or
a reason), gold/org_adoption counts what the export measured, and the report renders.

Viva Insights person queries carry the person's org (``Organization``): they also run without a
directory, the org then coming from the export.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from theater.config import load_config
from theater.lake import Lake
from theater.period import Period
from theater.pipeline import run_stage

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"

# format -> its fixture's period
CASES = {
    "github_copilot_users": (date(2026, 3, 1), date(2026, 4, 1)),
    "amazon_q_user_activity": (date(2026, 3, 1), date(2026, 4, 1)),
    "cursor_daily_usage": (date(2026, 3, 1), date(2026, 4, 1)),
    "claude_code_analytics": (date(2026, 3, 1), date(2026, 4, 1)),
    "viva_person_query": (date(2026, 3, 1), date(2026, 4, 1)),
    "github_copilot_premium_requests": (date(2026, 3, 1), date(2026, 4, 1)),
}


ORGS = ("org-a",)
# formats whose fixture reports the vendor's own cost: the fixture's total x COPIES (Claude
# Code: alice's estimated_cost 412 + 6 + 40 US cents = $4.58 per copy)
VENDOR_COST = {
    "claude_code_analytics": 3 * 4.58,
    # GitHub premium requests: net_amount 0.0 + 0.02 + 0.12 (the coding agent's, automation
    # but paid for) + 0.8 per copy; octo-cy's blank amount is unknown and adds nothing
    "github_copilot_premium_requests": 3 * 0.94,
}


COPIES = 3  # the fixture and two copies under other aliases: 6 to 9 users, above k = 5


def _aliases(folder: Path, fmt: str) -> list[str]:
    """The user aliases of a folder of exports, read with the format's own mapper (bronze's
    user_id)."""
    from theater.sources.exports import map_file

    out: set[str] = set()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        for rec in map_file(str(f), fmt):
            out.update(str(r["user_id"]) for r in rec.rows if r.get("user_id"))
    return sorted(out)


def _landing(root: Path, fmt: str | tuple[str, ...], directory: bool) -> Path:
    """landing/vendor/<fmt>/ for each format: the fixture's files, plus copies in which every
    alias has a suffix (other people, same behaviour); with ``directory``, a directory putting
    all of them in one org."""
    fmts = (fmt,) if isinstance(fmt, str) else fmt
    landing = root / "landing"
    originals = sorted({a for f in fmts for a in _aliases(FIXTURES / f, f)}, key=len, reverse=True)
    for f in fmts:
        target = landing / "vendor" / f
        shutil.copytree(FIXTURES / f, target / "copy0")
        for k in range(1, COPIES):
            (target / f"copy{k}").mkdir()
            for src in sorted((FIXTURES / f).iterdir()):
                text = src.read_text(encoding="utf-8-sig")
                for alias in originals:
                    text = text.replace(alias, f"{alias}{k}")
                (target / f"copy{k}" / src.name).write_text(text, encoding="utf-8")
    if directory:
        d = landing / "directory"
        d.mkdir(parents=True)
        lines = ["user_id,org_id,org_name,valid_from,valid_to"]
        for f in fmts:
            lines += [
                f"{a},{ORGS[0]},Org A,2020-01-01," for a in _aliases(landing / "vendor" / f, f)
            ]
        (d / "directory.csv").write_text("\n".join(lines) + "\n")
    return landing


@pytest.fixture(scope="module")
def small_k():
    """The test configuration with the smallest k allowed (5): a fixture's few users are one
    org, published where it has five users, suppressed (no figures, a reason) where not."""
    return load_config(
        env="local",
        environ={},
        overrides={
            "spark.shuffle_partitions": 2,
            "privacy.min_users": 5,
        },
    )


def run_alone(
    spark, cfg, root: Path, landing: Path, start: date, end: date, report_too: bool = True
) -> dict:
    """ingest, refine, score in process, then the report; every stage's metrics."""
    from theater import report

    lake = root / "lake"
    period = Period(start, end)
    out = {}
    for stage in ("ingest", "refine", "score"):
        m, orgs = run_stage(spark, stage, cfg, str(lake), str(landing), period, "test-run")
        out[stage] = m
        if orgs is not None:
            out["orgs"] = orgs
    if report_too:
        out["report"] = report.write(str(lake), period, root / "report.html", cfg=cfg)
    out["lake"] = Lake(str(lake), cfg.table_format)
    out["period"] = period
    return out


def _gold(spark, res, table):
    return [r.asDict() for r in res["lake"].read(spark, table).collect()]


def _check_honest(spark, res, fmt):
    lake = res["lake"]
    ud = lake.read(spark, "silver/user_days").where(f"source_format = '{fmt}'")
    assert ud.count() > 0
    assert res["refine"]["silver_user_days"] == ud.count()
    index = _gold(spark, res, "gold/org_theater_index")
    assert index, "no gold row"
    for r in index:
        # a number or a reason for each org, never a silent blank
        assert (
            r["suppressed"]
            or r["theater_index"] is not None
            or r["not_measurable_reason"]
            or r["incentive_index"] is not None
        ), r
        if r["theater_index"] is None and not r["suppressed"]:
            assert r["not_measurable_reason"], r
    adoption = _gold(spark, res, "gold/org_adoption")
    mine = [a for a in adoption if a["source_format"] == fmt]
    alls = [a for a in adoption if a["source_format"] == "all"]
    # every org of the index has its usage rows; an org whose people used nothing has no
    # index row (no usage to score) but its adoption rows say so (suppressed, or zeros)
    assert {r["org_id"] for r in index} <= {a["org_id"] for a in mine}
    assert {a["org_id"] for a in alls} == {a["org_id"] for a in mine}
    suppressed = {r["org_id"] for r in index if r["suppressed"]}
    published = {r["org_id"] for r in index if not r["suppressed"]}
    # the vendor's own cost reaches silver (and gold where the row is published: the sums by
    # hand are in tests/unit/test_adoption.py); without one, cost is null, never 0
    vendor_cost = VENDOR_COST.get(fmt)
    silver_cost = ud.agg(F.sum("cost_usd").alias("c")).collect()[0].c
    assert silver_cost == (None if vendor_cost is None else pytest.approx(vendor_cost))
    for a in adoption:
        assert a["licensed_seats"] is None and a["idle_seats"] is None
        if vendor_cost is None or a["suppressed"]:
            assert a["cost"] is None and a["cost_source"] is None, a
        else:
            assert a["cost"] == pytest.approx(vendor_cost) and a["cost_source"] == "vendor", a
        if a["org_id"] in suppressed:
            assert a["suppressed"], a  # the index's suppression holds here too
        if a["suppressed"]:  # suppressed: no figures at all
            assert all(a[c] is None for c in ("active_users", "requests", "accepted")), a
        elif a["org_id"] in published and a["source_format"] in (fmt, "all"):
            assert a["active_users"] > 0, a
    # the report renders and counts the export's usage (never 0/day)
    html = res["report"].path.read_text()
    assert "0/day" not in html
    return index, adoption


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_aggregate_format_alone_with_a_directory(spark, small_k, tmp_path, fmt):
    start, end = CASES[fmt]
    landing = _landing(tmp_path, fmt, directory=True)
    res = run_alone(spark, small_k, tmp_path, landing, start, end)
    assert res["ingest"]["files_new"] == COPIES * len(list((FIXTURES / fmt).iterdir())) + 1
    index, _ = _check_honest(spark, res, fmt)
    assert {r["org_id"] for r in index} <= set(ORGS)
    assert res["refine"]["orgs_from_export"] == {}


def test_viva_alone_without_a_directory(spark, small_k, tmp_path):
    fmt = "viva_person_query"
    start, end = CASES[fmt]
    landing = _landing(tmp_path, fmt, directory=False)
    res = run_alone(spark, small_k, tmp_path, landing, start, end)
    index, _ = _check_honest(spark, res, fmt)
    # the fixture's Organization column: Finance, Sales, Legal (Sales' one person reports only
    # zeros: adoption rows, no index row)
    orgs = {"Finance", "Sales", "Legal"}
    assert {r["org_id"] for r in index} == orgs - {"Sales"}
    assert {a["org_id"] for a in _gold(spark, res, "gold/org_adoption")} == orgs
    assert res["refine"]["orgs_from_export"] == {fmt: ["Finance", "Legal", "Sales"]}


def test_github_users_with_team_membership_and_no_directory(spark, small_k, tmp_path):
    """GitHub's users report with its user-teams report, no directory: each user's team is the
    org. alice-gh is in two teams that day (the first slug in sort order wins); 90210 has no
    login and joins by its numeric id."""
    fmts = ("github_copilot_users", "github_copilot_user_teams")
    landing = _landing(tmp_path, fmts, directory=False)
    res = run_alone(spark, small_k, tmp_path, landing, *CASES["github_copilot_users"])
    assert res["refine"]["orgs_from_export"] == {
        "github_copilot_users": ["payments-platform", "search-infra"]
    }
    assert res["refine"]["user_days_without_org"] == {}
    ud = res["lake"].read(spark, "silver/user_days")
    # membership rows give orgs, they are not usage: none reaches silver
    assert ud.where("source_format = 'github_copilot_user_teams'").count() == 0
    index, adoption = _check_honest(spark, res, "github_copilot_users")
    by_org = {r["org_id"]: r for r in index}
    assert set(by_org) == {"payments-platform", "search-infra"}
    # alice-gh and her 2 copies: 3 people < k = 5; bob-gh and 90210 with copies: 6 people
    assert by_org["payments-platform"]["suppression_reason"] == "min_users"
    assert by_org["search-infra"]["n_users"] == 6


def test_export_without_any_org_names_the_fix(spark, small_k, tmp_path, caplog):
    """GitHub's users report carries no org: without a directory nothing gives one, and the
    warning says what to add."""
    fmt = "github_copilot_users"
    start, end = CASES[fmt]
    landing = _landing(tmp_path, fmt, directory=False)
    res = run_alone(spark, small_k, tmp_path, landing, start, end, report_too=False)
    assert res["refine"]["silver_user_days"] == 0
    assert res["score"]["orgs"] == 0
    assert "landing/directory/" in caplog.text and "landing/identities/" in caplog.text


def test_refine_before_any_ingest_says_run_ingest(spark, small_k, tmp_path):
    from theater.config import ConfigError
    from theater.stages import refine

    lake = Lake(str(tmp_path / "lake"), small_k.table_format)
    with pytest.raises(ConfigError, match="run the ingest stage first"):
        refine.run(spark, small_k, lake, Period(date(2026, 3, 1), date(2026, 4, 1)))


def test_viva_sample_alone_without_a_directory(spark, cfg, tmp_path):
    """Microsoft's own Viva Insights person-query sample (``vivainsights`` package, 300 people
    in 7 Organizations, weekly rows), dropped alone with no directory, the default k: every
    org comes from the export, its usage is counted, and each org has a number or a reason."""
    vivainsights = pytest.importorskip("vivainsights")
    sample = Path(vivainsights.__file__).parent / "data" / "pq_data.csv"
    landing = tmp_path / "landing" / "vendor" / "viva_person_query"
    landing.mkdir(parents=True)
    shutil.copy(sample, landing / "pq_data.csv")
    # 2024Q2: 13 person-weeks (the ISO weeks of Sundays 31 Mar .. 23 Jun)
    res = run_alone(spark, cfg, tmp_path, tmp_path / "landing", date(2024, 4, 1), date(2024, 7, 1))
    orgs = {"Finance", "HR", "IT", "Legal", "Operations", "Research", "Sales"}
    assert set(res["refine"]["orgs_from_export"]["viva_person_query"]) == orgs
    assert res["refine"]["silver_user_days"] > 0
    assert res["refine"]["user_days_without_org"] == {}
    index = _gold(spark, res, "gold/org_theater_index")
    assert {r["org_id"] for r in index} == orgs
    for r in index:
        assert not r["suppressed"], r  # the smallest org (Sales) has 13 people, k = 10
        assert r["theater_index"] is not None or r["not_measurable_reason"], r
    adoption = {
        (a["org_id"], a["source_format"]): a for a in _gold(spark, res, "gold/org_adoption")
    }
    for org in orgs:
        a = adoption[(org, "all")]
        assert a["active_users"] > 0 and a["requests"] > 0, a
        assert a["active_days"] is None  # person-weeks do not say which days
        assert a["accepted"] is None and a["acceptance_rate"] is None  # Viva reports neither
        assert a == {**adoption[(org, "viva_person_query")], "source_format": "all"}
    usage = res["report"].figures.usage
    total = sum(adoption[(o, "all")]["requests"] for o in orgs)
    assert usage.interactions == 0 and usage.export_requests == total
    html = res["report"].path.read_text()
    assert f"{total / 91:,.0f} requests/day" in html
    assert "0/day" not in html
    # the org table counts each org's requests from the export, as gold has them
    for org in orgs:
        assert f"+ {adoption[(org, 'viva_person_query')]['requests']:,} requests (exports)" in html
    summary = res["score"]["adoption"]
    assert summary["requests"] == total and summary["orgs_published"] == 7


def test_claude_code_sessions_only_gets_a_reason(spark, small_k, tmp_path):
    """Claude Code analytics whose rows report sessions and tokens but no edit decided (no
    ``tool_actions``): the people are active, yet the export counts no request, output or
    decision. The org still gets its gold row: n/a, with that reason, not a silent absence."""
    import re

    fmt = "claude_code_analytics"
    landing = _landing(tmp_path, fmt, directory=True)
    # the text edited, not re-serialized: the fixture keeps its deliberately malformed record
    actions = re.compile(r'"tool_actions":\s*\{(?:[^{}]|\{[^{}]*\})*\},\s*')
    for f in sorted((landing / "vendor" / fmt).rglob("*.json")):
        text, n = actions.subn("", f.read_text())
        assert n > 0, f
        f.write_text(text)
    res = run_alone(spark, small_k, tmp_path, landing, *CASES[fmt])
    index, adoption = _check_honest(spark, res, fmt)
    assert len(index) == 1, index
    row = index[0]
    assert row["org_id"] == "org-a" and not row["suppressed"], row
    assert row["theater_index"] is None and row["ci_low"] is None, row
    assert row["index_basis"] == "none", row
    # its people counted: alice and ci-review-bot (sessions, no edit decided), each in three
    # copies; eve's record is malformed and the last one names no actor
    assert row["n_users"] == 2 * COPIES, row
    assert row["not_measurable_reason"].startswith("no usage volume measured"), row
    assert "claude_code_analytics" in row["not_measurable_reason"], row
    assert row["sources"] == ["claude_code_analytics"], row
    mine = [a for a in adoption if a["source_format"] == fmt]
    assert mine and all(a["active_users"] > 0 for a in mine), mine
    # requests were never counted: unknown, not 0, in gold and on the report's usage card
    assert all(a["requests"] is None for a in mine), mine
    alls = [a for a in adoption if a["source_format"] == "all"]
    assert alls and all(a["requests"] is None for a in alls), alls
    assert res["score"]["adoption"].get("requests") is None
    html = res["report"].path.read_text()
    assert "their exports count no requests or interactions" in html

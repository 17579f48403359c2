"""Each per-event and each org-level vendor export ALONE, end to end: ingest -> refine -> score
-> report in this process on the shared engine (the aggregate formats are in
test_aggregate_exports_alone.py, whose helpers this reuses).

Per-event formats identify people by e-mail, UPN, IAM ARN, account UUID or API key: the landing
holds an identity map (``landing/identities/``) from each alias to a directory person, and a
directory putting every person in one org. Copies of the fixture under suffixed aliases (and
suffixed event ids) make enough people to publish at k = 5.

Org-level formats (``landing/vendor/<format>/<org_id>/``) measure an org, never a person: their
rows reach silver/org_days, with the folder's org, and no per-person index can come from them.
"""

from __future__ import annotations

import gzip
import shutil
from datetime import date
from pathlib import Path

import pytest
from test_aggregate_exports_alone import COPIES, ORGS, run_alone

from theater.config import load_config

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"

EVENT_FORMATS = (
    "bedrock_invocation_logs",
    "claude_code_otel",
    "cursor_usage_events",
    "litellm_spend_logs",
    "m365_copilot_audit",
    "otel_genai",
)
EVENT_PERIOD = (date(2026, 7, 1), date(2026, 8, 1))
ORG_FORMATS = (
    "github_copilot_enterprise_usage",
    "github_copilot_org_metrics",
    "github_copilot_org_usage",
    "m365_copilot_reports",
)
ORG_PERIOD = (date(2026, 2, 1), date(2026, 4, 1))  # the fixtures' days: 3 Feb .. 4 Mar


@pytest.fixture(scope="module")
def small_k():
    """k = 5, the smallest allowed. The fixtures hold bad records on purpose (a malformed line,
    a missing timestamp): up to half of a small file's records, which the default gate
    (5 %) rejects with the whole file. Here the gate lets such a file load its good records, the
    bad ones going to quarantine, so that what is measured is the format alone."""
    return load_config(
        env="local",
        environ={},
        overrides={
            "spark.shuffle_partitions": 2,
            "privacy.min_users": 5,
            "quality.quarantine_warn_share": 0.7,
            "quality.quarantine_fail_share": 0.75,
        },
    )


def _read(p: Path) -> str:
    if p.name.endswith(".gz"):
        return gzip.decompress(p.read_bytes()).decode("utf-8")
    return p.read_text(encoding="utf-8-sig")


def _write(p: Path, text: str) -> None:
    if p.name.endswith(".gz"):
        p.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        p.write_text(text, encoding="utf-8")


def _other_id(v: str, k: int, taken: set[str]) -> str:
    """Another id of the same length and alphabet (hex ids stay hex) for copy ``k``, unlike
    any id of the fixture or of another copy."""
    for c in "edcba9876543210f":
        new = v[:-2] + f"{c}{k}"
        if new not in taken:
            taken.add(new)
            return new
    raise AssertionError(f"no free id for {v}")


def _mapped(folder: Path, fmt: str) -> list[dict]:
    from theater.sources.exports import map_file

    return [
        r
        for f in sorted(p for p in folder.rglob("*") if p.is_file())
        for rec in map_file(str(f), fmt)
        for r in rec.rows
    ]


def _event_landing(root: Path, fmt: str) -> tuple[Path, int]:
    """landing/vendor/<fmt>/copy<k>/ (the fixture, then copies with every alias and event id
    suffixed), an identity map alias -> person and a directory; the number of interactions
    the fixture's mapper gives with a user."""
    landing = root / "landing"
    rows = [r for r in _mapped(FIXTURES / fmt, fmt) if r["_table"] == "interactions"]
    aliases = sorted({r["user_id"] for r in rows if r.get("user_id")}, key=len, reverse=True)
    # an event id may join several fields (OTel: trace id:span id): each part found in the text
    parts = {p for r in rows if r.get("event_id") for p in str(r["event_id"]).split(":")}
    ids = sorted(parts, key=len, reverse=True)
    taken = set(parts)
    target = landing / "vendor" / fmt
    shutil.copytree(FIXTURES / fmt, target / "copy0")
    for k in range(1, COPIES):
        (target / f"copy{k}").mkdir()
        for src in sorted((FIXTURES / fmt).iterdir()):
            text = _read(src)
            # placeholders first: an alias may hold another (an ARN holds an e-mail)
            for i, v in enumerate(aliases + ids):
                text = text.replace(v, f"\x00{i}\x00")
            for i, v in enumerate(aliases + ids):
                text = text.replace(
                    f"\x00{i}\x00", f"{v}{k}" if i < len(aliases) else _other_id(v, k, taken)
                )
            _write(target / f"copy{k}" / src.name, text)
    mapped = [r for r in _mapped(target, fmt) if r["_table"] == "interactions"]
    kinds = sorted({(r["user_id"], r["user_alias_kind"]) for r in mapped if r.get("user_id")})
    (landing / "identities").mkdir(parents=True)
    (landing / "identities" / "identities.csv").write_text(
        "alias,alias_kind,user_id\n"
        + "".join(f'"{a}",{kind},p{n:03d}\n' for n, (a, kind) in enumerate(kinds))
    )
    (landing / "directory").mkdir()
    (landing / "directory" / "directory.csv").write_text(
        "user_id,org_id,org_name,valid_from,valid_to\n"
        + "".join(f"p{n:03d},{ORGS[0]},Org A,2020-01-01,\n" for n in range(len(kinds)))
    )
    return landing, sum(1 for r in rows if r.get("user_id"))


def _rows(spark, res, table, where=None):
    df = res["lake"].read(spark, table)
    return [r.asDict() for r in (df.where(where) if where else df).collect()]


def _honest_index(rows):
    """Each org's gold row is a figure with its basis, a null index with a reason, or
    suppressed with no figures: never a 0 standing for "not measurable"."""
    for r in rows:
        if r["suppressed"]:
            assert r["theater_index"] is None and r["ci_low"] is None, r
            assert r["suppression_reason"], r
        elif r["theater_index"] is None:
            assert r["not_measurable_reason"], r
            assert r["ci_low"] is None and r["ci_high"] is None, r
        else:
            assert r["index_basis"] and r["not_measurable_reason"] is None, r


@pytest.mark.parametrize("fmt", EVENT_FORMATS)
def test_event_format_alone(spark, small_k, tmp_path, fmt):
    landing, per_copy = _event_landing(tmp_path, fmt)
    res = run_alone(spark, small_k, tmp_path, landing, *EVENT_PERIOD)
    silver = _rows(spark, res, "silver/interactions", f"source_format = '{fmt}'")
    # every copy's events reach silver: the copies are other people, not duplicates
    assert len(silver) == COPIES * per_copy, (len(silver), per_copy)
    assert {r["org_id"] for r in silver} == {ORGS[0]}
    index = _rows(spark, res, "gold/org_theater_index")
    assert [r["org_id"] for r in index] == [ORGS[0]]
    _honest_index(index)
    assert not index[0]["suppressed"], index[0]  # 6 people or more, k = 5
    html = res["report"].path.read_text()
    assert "Org A" in html or ORGS[0] in html
    assert "0/day" not in html


def _org_landing(root: Path, fmt: str, org: str, directory: bool) -> Path:
    """landing/vendor/<fmt>/<org>/: the fixture's files in the folder that names their org;
    with ``directory``, a directory that knows that org (its people use no exported tool)."""
    landing = root / "landing"
    shutil.copytree(FIXTURES / fmt, landing / "vendor" / fmt / org)
    if directory:
        (landing / "directory").mkdir()
        (landing / "directory" / "directory.csv").write_text(
            "user_id,org_id,org_name,valid_from,valid_to\n"
            + "".join(f"p{n:03d},{org},Org A,2020-01-01,\n" for n in range(6))
        )
    return landing


@pytest.mark.parametrize("directory", [True, False], ids=["directory", "no_directory"])
@pytest.mark.parametrize("fmt", ORG_FORMATS)
def test_org_level_format_alone(spark, small_k, tmp_path, capsys, fmt, directory):
    import pandas as pd

    from theater.cli import main
    from theater.report import figures as fg

    org = ORGS[0]
    landing = _org_landing(tmp_path, fmt, org, directory)
    start, end = ORG_PERIOD
    res = run_alone(spark, small_k, tmp_path, landing, start, end, report_too=False)
    keys = {
        (r["day"], r["feature"])
        for r in _mapped(FIXTURES / fmt, fmt)
        if r["_table"] == "org_days" and str(start) <= r["day"] < str(end)
    }
    silver = _rows(spark, res, "silver/org_days", f"source_format = '{fmt}'")
    # the latest delivery of each (org, day, feature), with the folder's org
    assert len(silver) == len(keys) > 0, (len(silver), len(keys))
    assert res["refine"]["silver_org_days"] == len(silver)
    assert {r["org_id"] for r in silver} == {org}
    if res["lake"].exists("silver/interactions"):  # no event reaches silver
        assert _rows(spark, res, "silver/interactions") == []
    # org-level counts feed no per-person signal: the org's index row is n/a with the reason
    assert res["score"]["orgs"] == 1
    index = _rows(spark, res, "gold/org_theater_index")
    assert [r["org_id"] for r in index] == [org]
    _honest_index(index)
    assert index[0]["theater_index"] is None
    if not index[0]["suppressed"]:
        assert index[0]["not_measurable_reason"].startswith("org-level aggregates only")
    # gold/org_adoption counts what the export measured: its busiest row's people, daily sums
    adoption = {r["source_format"]: r for r in _rows(spark, res, "gold/org_adoption")}
    assert set(adoption) == {fmt, "all"}
    daily = [r for r in silver if r["period_days"] == 1]
    known = [r["accepted"] for r in daily if r["accepted"] is not None]
    for r in adoption.values():
        assert r["suppressed"] is False and r["engaged_users"] is None, r
        assert r["active_users"] == max(x["active_users"] or 0 for x in silver), r
        assert r["accepted"] == (sum(known) if known else None), r
    # the report shows what the exports counted and says why there is no index
    out = tmp_path / "report.html"
    code = main(
        ["report", "--lake", str(tmp_path / "lake"), "--start", str(start), "--end", str(end)]
        + ["--out", str(out)]
    )
    assert code == 0
    assert "org-level exports only" in capsys.readouterr().out
    html = out.read_text()
    assert "no org index can be computed from org-level exports" in html
    summary = fg.org_level_summary(pd.DataFrame(silver), 10)  # the CLI's k: the default
    peak = max(r["active_users"] for r in silver if r["active_users"] is not None)
    assert summary["peak_active_users"].max() == peak
    assert not summary["suppressed"].any()  # the fixtures count 10 people or more
    table = html[html.index('id="org-level-usage"') :]
    assert f"<td>{org}</td><td>{fmt}</td>" in table
    assert f"<td>{peak}</td>" in table
    assert "0/day" not in html

"""The quarterly executive report, built from a real pipeline run on generated data.

One module-scoped lake, a copy of the session's shared quarter (2026Q2 and 2026Q3 generated,
ingested, refined and scored with MLflow tracking into a temporary store); then ``theater
report`` (the CLI) writes the 2026Q3 report with a PDF. The checks compare the page with the gold tables (read here with
delta-rs), render it in headless Chromium over the DevTools protocol (console errors, failed or
external requests, visible elements, a screenshot), and look for any user identifier in it.

Chromium: Debian's ``chromium`` package (/usr/bin/chromium) or ``THEATER_CHROMIUM``. The browser
tests are skipped only when no Chromium is installed.
"""

from __future__ import annotations

import base64
import html as htmllib
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable
from mlflow import MlflowClient

from theater.cli import main
from theater.period import Period
from theater.report.render import FLAGS, find_chromium

Q2, Q3 = Period.quarter("2026Q2"), Period.quarter("2026Q3")
SCREENSHOT_COPY = Path("/tmp/report_screenshot.png")
CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not installed (Debian: apt-get install -y chromium, or "
    "`make browser`; or set THEATER_CHROMIUM)",
)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def world(quarter, tmp_path_factory):
    """Two generated quarters through the real pipeline (the shared quarter, copied), then the
    report CLI for 2026Q3."""
    root = quarter.copy(tmp_path_factory.mktemp("report"))
    state = root / "state"
    lake = root / "lake"
    conf = root / "report.yaml"
    conf.write_text(f"paths:\n  state: {state}\n")
    out, pdf = root / "out" / "report.html", root / "out" / "report.pdf"
    args = [
        "report",
        "--conf",
        str(conf),
        "--lake",
        str(lake),
        "--quarter",
        "2026Q3",
        "--out",
        str(out),
    ]
    if CHROMIUM:
        args += ["--pdf", str(pdf)]
    t0 = time.time()
    code = main(args)
    seconds = time.time() - t0
    assert code == 0
    return {
        "root": root,
        "lake": lake,
        "conf": conf,
        "state": state,
        "html": out,
        "pdf": pdf,
        "text": out.read_text(encoding="utf-8"),
        "run_q2": quarter.run_q2,
        "run_q3": quarter.run_q3,
        "seconds": seconds,
    }


def _report(world, out: Path, *, lake=None, quarter="2026Q3", parquet=False) -> int:
    """The report CLI with the world's config on ``lake`` (default: the world's), written to
    ``out``; ``parquet``: the lake is plain Parquet folders."""
    args = ["report", "--conf", str(world["conf"]), "--lake", str(lake or world["lake"])]
    if parquet:
        args += ["--table-format", "parquet"]
    return main(args + ["--quarter", quarter, "--out", str(out)])


def _gold(world, period: Period) -> pd.DataFrame:
    g = DeltaTable(str(world["lake"] / "gold/org_theater_index")).to_pandas()
    return g[(g["period_start"] == period.start) & (g["period_end"] == period.end)]


def _recorded_usage(world, pub: pd.DataFrame, period: Period = Q3) -> pd.Series:
    """Per org of ``pub``: gold interactions plus the requests of its unsuppressed adoption rows
    from aggregate exports (the cross-tool 'all' row and event sources excluded)."""
    from theater.report.figures import export_requests_by_org

    path = world["lake"] / "gold/org_adoption"
    req = {}
    if path.exists():
        a = DeltaTable(str(path)).to_pandas()
        req = export_requests_by_org(a[a["period_start"] == period.start])
    extra = pub["org_id"].map(lambda o: float(req.get(str(o), 0)))
    return pub["n_interactions"].astype(float) + extra


def _section(text: str, section_id: str) -> str:
    m = re.search(rf'<section id="{section_id}".*?</section>', text, re.S)
    assert m, f"section #{section_id} missing"
    return m.group(0)


def _cells(row_html: str) -> list[str]:
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)
    return [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]


def _org_rows(text: str) -> dict[str, tuple[str, list[str]]]:
    table = re.search(r'<table id="org-table">.*?</table>', text, re.S).group(0)
    rows = re.findall(r'(<tr[^>]*data-org="([^"]+)"[^>]*>.*?</tr>)', table, re.S)
    return {org: (row, _cells(row)) for row, org in rows}


def _n(s: str) -> str:
    return s.replace("−", "-").replace(",", "")


# ----------------------------------------------------------------------------- content
def test_every_section_and_chart_is_there(world):
    text = world["text"]
    for section in ("headline", "orgs", "charts", "method", "provenance", "appendix"):
        _section(text, section)
    for chart in ("chart-index", "chart-quadrant", "chart-trend", "chart-drivers"):
        m = re.search(rf'<svg id="{chart}"[^>]*>(.*?)</svg>', text, re.S)
        assert m, chart
        svg = m.group(0)
        assert 'role="img"' in svg and f'aria-labelledby="{chart}-title {chart}-desc"' in svg
        desc = re.search(rf'<desc id="{chart}-desc">(.*?)</desc>', svg, re.S).group(1)
        assert len(desc) > 80, f"{chart}: the text alternative says too little"
    quadrant = re.search(r'<svg id="chart-quadrant".*?</svg>', text, re.S).group(0)
    for name in ("Adoption theater", "Real adoption", "Token compliance", "Light, genuine use"):
        assert htmllib.escape(name) in quadrant
    method = " ".join(_section(text, "method").split())
    assert "Never use this report to rank, assess or single out individuals" in method
    for label in (
        "Unused output",
        "Self-summary",
        "Repeat prompt",
        "Fragmentation",
        "Padding",
        "Quota bunching",
        "Checkpoint burst",
    ):
        assert f"<dt>{label}</dt>" in method
    assert "What the interval means" in method and 'id="dq-table"' in method
    for t in ("weekly-table", "quadrant-table", "drivers-table", "signal-matrix"):
        assert f'id="{t}"' in _section(text, "appendix")


def test_self_contained_no_external_resources(world):
    text = world["text"]
    assert "<script" not in text.lower()
    assert not re.search(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', text, re.I)
    assert "@import" not in text and "url(http" not in text and "@font-face" not in text
    # the only URL is the SVG namespace
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert "@media print" in text and "@page" in text


def test_org_table_matches_gold(world):
    gold = _gold(world, Q3)
    prev = _gold(world, Q2).set_index("org_id")
    rows = _org_rows(world["text"])
    assert set(rows) == set(gold["org_id"])
    pub = gold[~gold["suppressed"]].sort_values("theater_index", ascending=False)
    order = list(rows)
    assert order[: len(pub)] == list(pub["org_id"]), "published orgs sorted by index, highest first"
    for r in pub.to_dict("records"):
        row, cells = rows[r["org_id"]]
        assert f'data-index="{r["theater_index"]:.2f}"' in row
        assert _n(cells[1]) == f"{r['theater_index']:.1f}"
        assert _n(cells[2]) == f"{r['ci_low']:.1f}–{r['ci_high']:.1f}"
        assert _n(cells[4]) == str(int(r["n_users"]))  # float column: suppressed counts are null
        assert _n(cells[5]) == str(int(r["n_interactions"]))
        per_week = r["n_interactions"] / r["n_users"] / ((Q3.end - Q3.start).days / 7)
        assert _n(cells[6]) == f"{per_week:.1f}"
        if r["org_id"] in prev.index and not prev.loc[r["org_id"], "suppressed"]:
            change = r["theater_index"] - prev.loc[r["org_id"], "theater_index"]
            assert _n(cells[9]).startswith(f"{change:+.1f}"), (r["org_id"], cells[9], change)
    supp = gold[gold["suppressed"]]
    assert len(supp) >= 1, "the generated data plants a small and a dominated org"
    for r in supp.to_dict("records"):
        row, cells = rows[r["org_id"]]
        assert 'class="suppressed"' in row
        body = " ".join(cells[1:])
        assert "suppressed" in body and not re.search(r"\d", body), (
            f"a suppressed org shows figures: {body}"
        )
        assert len(cells) == 2


def test_headline_matches_gold(world):
    text = world["text"]
    gold, prev = _gold(world, Q3), _gold(world, Q2)
    pub = gold[~gold["suppressed"]]
    # every published org's figure weighted by its recorded usage: its interactions plus the
    # requests its aggregate exports reported (gold/org_adoption)
    usage = _recorded_usage(world, pub)
    expected = (pub["theater_index"] * usage).sum() / usage.sum()
    card = re.search(
        r'<div class="card theater" id="headline-share"([^>]*)>(.*?)</div>\s*</div>', text, re.S
    )
    attrs = dict(re.findall(r'data-(\w+)="([^"]+)"', card.group(1)))
    value, low, high = float(attrs["value"]), float(attrs["low"]), float(attrs["high"])
    assert value == pytest.approx(expected, abs=1e-3)
    assert low < value < high and high - low < 20
    assert f"{expected:.1f}%" in card.group(2)
    assert f"{low:.1f}–{high:.1f}%" in card.group(2)
    # the pooled interval is narrower than the widest org interval and inside [min, max] of orgs
    assert low >= pub["ci_low"].min() and high <= pub["ci_high"].max()
    # usage: interactions a day, same orgs published in both quarters
    ppub = prev[~prev["suppressed"]]
    same = set(pub["org_id"]) & set(ppub["org_id"])
    now = pub[pub["org_id"].isin(same)]["n_interactions"].sum() / (Q3.end - Q3.start).days
    before = ppub[ppub["org_id"].isin(same)]["n_interactions"].sum() / (Q2.end - Q2.start).days
    usage = re.search(
        r'id="headline-usage" data-interactions="(\d+)"\s+data-change="([^"]*)"', text
    )
    assert int(usage.group(1)) == pub["n_interactions"].sum()
    assert float(usage.group(2)) == pytest.approx(now / before - 1, abs=1e-6)
    assert f"vs 2026Q2, same {len(same)} orgs" in text
    # outcome decoupling over published orgs where it was measured
    dec = pub["decoupled"].dropna()
    m = re.search(r'id="headline-decoupling" data-measured="(\d+)"\s+data-decoupled="(\d+)"', text)
    assert (int(m.group(1)), int(m.group(2))) == (len(dec), int(dec.astype(bool).sum()))
    # coverage and data quality in one line
    dq = DeltaTable(str(world["lake"] / "ops/dq_results")).to_pandas()
    dq = dq[dq["run_id"] == world["run_q3"]]
    line = _section(text, "headline")
    line = re.search(r'<p class="oneline" id="headline-quality">(.*?)</p>', line, re.S).group(1)
    line = " ".join(line.split())
    assert f"{len(pub)} of {len(gold)} orgs published ({len(gold) - len(pub)} suppressed" in line
    assert f"{len(dq)} data-quality checks: {int(dq['success'].sum())} passed" in line
    cov = pub["signal_coverage"].mean() * 100
    assert f"signals measurable {cov:.0f}%" in line


def test_weekly_trend_and_drivers_match_gold(world):
    text = world["text"]
    gold = _gold(world, Q3)
    pub = set(gold[~gold["suppressed"]]["org_id"])
    uw = DeltaTable(str(world["lake"] / "gold/user_weeks")).to_pandas()
    uw = uw[(uw["period_start"] == Q3.start) & uw["org_id"].isin(pub)]
    wk = (
        uw.groupby("week_start")
        .agg(
            n=("n_interactions", "sum"),
            m=("n_measured", "sum"),
            s=("theater_interactions", "sum"),
        )
        .sort_index()
    )
    table = re.search(r'<table id="weekly-table">.*?</table>', text, re.S).group(0)
    rows = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>(.*?)</tr>", table, re.S)
    assert [r[0] for r in rows] == [str(d) for d in wk.index]
    for (week, rest), (_, w) in zip(rows, wk.iterrows()):
        cells = [_n(c) for c in _cells(rest)]
        assert cells[1] == str(int(w["n"]))
        # the share is over the interactions a per-interaction signal measured
        assert cells[3] == f"{100 * w['s'] / w['m']:.1f}%"
    # drivers: share of all published interactions each signal flagged
    g = gold[~gold["suppressed"]]
    total = g["n_interactions"].sum()
    drv = re.search(r'<table id="drivers-table">.*?</table>', text, re.S).group(0)
    got = {c[0]: c[1] for c in (_cells(r) for r in re.findall(r"<tr>.*?</tr>", drv, re.S)[1:])}
    up = g["signal_unused_output"].fillna(0) * g["n_interactions"]
    assert got["Unused output"] == f"{up.sum() / total * 100:.1f}%"
    # policy dates inside the quarter are marked (company-wide and published orgs only)
    pol = DeltaTable(str(world["lake"] / "silver/policies")).to_pandas()
    inside = pol[
        (pol["start_date"] >= Q3.start)
        & (pol["start_date"] < Q3.end)
        & pol["org_id"].isin(pub | {"*"})
    ]
    markers = re.search(r'<ul id="marker-list">(.*?)</ul>', text, re.S).group(1)
    assert markers.count("<li>") == max(len(inside), 1)
    for d in inside["start_date"]:
        assert f"{d:%d %b}" in markers


def test_provenance_states_run_and_versions(world):
    text = world["text"]
    prov = _section(text, "provenance")
    header = re.search(r"<header>.*?</header>", text, re.S).group(0)
    assert world["run_q3"] in prov and world["run_q3"] in header, "run id in the header too"
    version = DeltaTable(str(world["lake"] / "gold/org_theater_index")).version()
    assert re.search(
        rf"<td>gold/org_theater_index</td><td>delta</td><td class='n'>{version}</td>", prov
    )
    client = MlflowClient(tracking_uri=f"sqlite:///{world['state'] / 'mlflow.db'}")
    params = client.get_run(world["run_q3"]).data.params
    v_in = params["lineage.score.inputs.silver/interactions"]
    assert f"score v{v_in}" in prov
    assert "FINISHED" in prov


def test_report_logged_to_the_mlflow_run(world):
    client = MlflowClient(tracking_uri=f"sqlite:///{world['state'] / 'mlflow.db'}")
    names = {a.path for a in client.list_artifacts(world["run_q3"], "report")}
    assert "report/report.html" in names
    if CHROMIUM:
        assert "report/report.pdf" in names


def test_no_user_identifier_in_the_html(world):
    text = world["text"]
    lake = world["lake"]
    raw = set()
    for table, cols in (
        ("bronze/interactions", ["user_id", "artifact_author_id"]),
        ("bronze/directory", ["user_id"]),
        ("bronze/work_items", ["user_id"]),
    ):
        df = DeltaTable(str(lake / table)).to_pandas(columns=cols)
        for c in cols:
            raw |= set(df[c].dropna().astype(str))
    keys = set()
    for table in ("silver/interactions", "gold/user_weeks", "gold/interaction_labels"):
        keys |= set(
            DeltaTable(str(lake / table)).to_pandas(columns=["user_key"])["user_key"].dropna()
        )
    assert len(raw) > 400 and len(keys) > 400
    lowered = text.lower()
    leaked = [v for v in raw if len(v) >= 4 and v.lower() in lowered]
    assert not leaked, f"raw user ids in the report: {leaked[:5]}"
    # pseudonymized keys, whole or as a 12-character prefix
    leaked = [k for k in keys if k[:12].lower() in lowered]
    assert not leaked, f"pseudonymized user keys in the report: {leaked[:3]}"


def test_no_previous_quarter_is_said_not_invented(world, tmp_path):
    out = tmp_path / "q2.html"
    assert _report(world, out, quarter="2026Q2") == 0
    text = out.read_text()
    assert "no previous quarter in the lake" in text
    assert 'data-change=""' in text
    rows = _org_rows(text)
    assert all(c[-2] == "—" for row, c in rows.values() if 'class="suppressed"' not in row)


def test_reads_a_parquet_lake_the_same(world, tmp_path):
    """table_format: parquet (plain Parquet folders, as Spark writes them) gives the same page."""
    import pyarrow.parquet as pq

    lake = tmp_path / "lake"
    for table in ("gold/org_theater_index", "gold/user_weeks", "ops/dq_results", "silver/policies"):
        folder = lake / table
        folder.mkdir(parents=True)
        pq.write_table(
            DeltaTable(str(world["lake"] / table)).to_pyarrow_table(),
            folder / "part-00000-x.snappy.parquet",
        )
        (folder / "_SUCCESS").write_text("")
        (folder / ".part-00000-x.snappy.parquet.crc").write_bytes(b"\0")
    out = tmp_path / "parquet.html"
    assert _report(world, out, lake=lake, parquet=True) == 0
    text = out.read_text()
    assert {o: c for o, (_, c) in _org_rows(text).items()} == {
        o: c for o, (_, c) in _org_rows(world["text"]).items()
    }
    share = re.compile(r'id="headline-share"[^>]*>')
    assert share.search(text).group(0) == share.search(world["text"]).group(0)
    assert "<td>gold/org_theater_index</td><td>parquet</td><td class='n'>—</td>" in text


def _parquet_copy(world, lake: Path, index: pd.DataFrame) -> None:
    """``lake``: the world's gold/user_weeks, ops/dq_results and silver/policies as Parquet, and
    ``index`` as gold/org_theater_index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for table in ("gold/user_weeks", "ops/dq_results", "silver/policies"):
        folder = lake / table
        folder.mkdir(parents=True)
        pq.write_table(
            DeltaTable(str(world["lake"] / table)).to_pyarrow_table(),
            folder / "part-00000-x.snappy.parquet",
        )
    folder = lake / "gold/org_theater_index"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pandas(index, preserve_index=False), folder / "part-00000-x.snappy.parquet"
    )


def test_not_measurable_org_and_older_lake(world, tmp_path):
    """An org turned into an aggregates-only org (null index, incentive lower bound) shows as
    not measurable, with no figure in the charts or the company share; a lake without the
    basis / sources / incentive columns still renders."""
    gold = DeltaTable(str(world["lake"] / "gold/org_theater_index")).to_pandas()
    q3 = (gold["period_start"] == Q3.start) & (gold["period_end"] == Q3.end)
    pub = gold[q3 & ~gold["suppressed"]].sort_values("theater_index")
    victim = pub["org_id"].iloc[0]
    g = gold.copy()
    hit = q3 & (g["org_id"] == victim)
    for c in ("theater_index", "ci_low", "ci_high", "rank_low", "rank_high"):
        g.loc[hit, c] = None
    g["not_measurable_reason"] = g.get("not_measurable_reason", pd.Series(None, index=g.index))
    g["not_measurable_reason"] = g["not_measurable_reason"].astype(object)
    g.loc[hit, "not_measurable_reason"] = "vendor aggregates only"
    for c, v in (("index_basis", "aggregates"), ("incentive_basis", "aggregates")):
        g[c] = g[c].astype(object) if c in g else None
        g.loc[hit, c] = v
    for c, v in (("incentive_index", 7.25), ("incentive_ci_low", 3.5), ("incentive_ci_high", 11.0)):
        g[c] = g[c].astype(float) if c in g else float("nan")
        g.loc[hit, c] = v
    lake = tmp_path / "lake"
    _parquet_copy(world, lake, g)
    out = tmp_path / "nm.html"
    assert _report(world, out, lake=lake, parquet=True) == 0
    text = out.read_text()
    row, cells = _org_rows(text)[victim]
    assert 'class="not-measurable"' in row
    assert cells[1] == "n/a — not measurable"
    assert "vendor aggregates only" in cells[2]
    assert (
        "Incentive index (lower bound, from aggregates): 7.2 [3.5, 11.0]" in cells[2]
        or "Incentive index (lower bound, from aggregates): 7.3 [3.5, 11.0]" in cells[2]
    )
    assert "not comparable with the theater index" in cells[2]
    assert cells[-1].startswith("vendor aggregates only")
    index_svg = re.search(r'<svg id="chart-index".*?</svg>', text, re.S).group(0)
    assert f'data-org="{victim}"' not in index_svg
    quadrant = re.search(r'<table id="quadrant-table".*?</table>', text, re.S)
    assert quadrant is None or f"<td>{victim}</td>" not in quadrant.group(0)
    rest = gold[q3 & ~gold["suppressed"] & (gold["org_id"] != victim)]
    usage = _recorded_usage(world, rest)
    expected = (rest["theater_index"] * usage).sum() / usage.sum()
    value = float(re.search(r'id="headline-share"[^>]*data-value="([^"]+)"', text).group(1))
    assert value == pytest.approx(expected, abs=0.05)
    # older lake: none of the new columns
    old = gold.drop(
        columns=[
            c
            for c in gold.columns
            if c
            in (
                "index_basis",
                "sources",
                "incentive_index",
                "incentive_ci_low",
                "incentive_ci_high",
                "incentive_basis",
                "incentive_not_measurable_reason",
                "not_measurable_reason",
            )
            or c.startswith("coverage_")
        ]
    )
    lake2 = tmp_path / "old"
    _parquet_copy(world, lake2, old)
    out2 = tmp_path / "old.html"
    assert _report(world, out2, lake=lake2, parquet=True) == 0
    rows = _org_rows(out2.read_text())
    assert set(rows) == set(gold[q3]["org_id"])
    assert all(c[-1] == "—" for row, c in rows.values() if 'class="suppressed"' not in row)


def test_no_gold_rows_is_a_usage_error(world, tmp_path, capsys):
    code = _report(world, tmp_path / "x.html", quarter="2025Q4")
    assert code == 2
    assert "no rows for the period" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
    code = main(
        [
            "report",
            "--lake",
            str(tmp_path / "nowhere"),
            "--quarter",
            "2026Q3",
            "--out",
            str(tmp_path / "x.html"),
        ]
    )
    assert code == 2


# ----------------------------------------------------------------------------- browser
class DevTools:
    """Headless Chromium driven over the DevTools protocol (one page, synchronous)."""

    def __init__(self, exe: str, profile: Path, width: int = 1200, height: int = 900):
        import websocket  # websocket-client (test extra)

        self.proc = subprocess.Popen(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        port = None
        deadline = time.time() + 60
        while time.time() < deadline and port is None:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            self.close()
            raise RuntimeError("Chromium did not start its DevTools endpoint")
        threading_drain(self.proc.stderr)
        targets = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read()
        )
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, timeout: float = 120, **params) -> dict:
        self.next_id += 1
        mid = self.next_id
        # wait_for/drain leave a short socket timeout behind: each command sets its own (a
        # full-page screenshot on a loaded machine takes seconds)
        self.ws.settimeout(timeout)
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(e["method"] == event for e in self.events):
                return
            self.ws.settimeout(max(0.1, deadline - time.time()))
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(event)

    def drain(self, seconds: float) -> None:
        import websocket

        end = time.time() + seconds
        while time.time() < end:
            self.ws.settimeout(max(0.05, end - time.time()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if "method" in msg:
                self.events.append(msg)

    def evaluate(self, expression: str):
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"])
        return r["result"].get("value")

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def threading_drain(stream) -> None:
    """Keep reading Chromium's stderr so that it never blocks on a full pipe."""
    import threading

    threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()


VISIBLE = """
(() => {
  const sel = %s;
  const out = {};
  for (const s of sel) {
    const el = document.querySelector(s);
    if (!el) { out[s] = null; continue; }
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    out[s] = {w: r.width, h: r.height, right: r.right,
              shown: cs.display !== 'none' && cs.visibility !== 'hidden' && cs.opacity !== '0'};
  }
  out.main = document.querySelector('main').getBoundingClientRect().right;
  out.scrollWidth = document.documentElement.scrollWidth;
  out.innerWidth = window.innerWidth;
  out.height = document.documentElement.scrollHeight;
  out.title = document.title;
  return out;
})()
"""
KEY_ELEMENTS = [
    "h1",
    "#headline-share .big",
    "#headline-usage .big",
    "#headline-decoupling .big",
    "#headline-quality",
    "#org-table",
    "#chart-index",
    "#chart-quadrant",
    "#chart-trend",
    "#chart-drivers",
    "#not-for-individuals",
    "#provenance",
    "#appendix",
]


@needs_chromium
def test_renders_in_chromium_without_errors(world, tmp_path):
    browser = DevTools(CHROMIUM, tmp_path / "profile")
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable")
        browser.send("Page.navigate", url=world["html"].resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        browser.drain(1.0)
        ev = browser.events
        console_errors = [
            e["params"]
            for e in ev
            if e["method"] == "Runtime.consoleAPICalled"
            and e["params"]["type"] in ("error", "assert")
        ]
        exceptions = [e["params"] for e in ev if e["method"] == "Runtime.exceptionThrown"]
        log_errors = [
            e["params"]["entry"]
            for e in ev
            if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
        ]
        failed = [e["params"] for e in ev if e["method"] == "Network.loadingFailed"]
        requests = [
            e["params"]["request"]["url"] for e in ev if e["method"] == "Network.requestWillBeSent"
        ]
        assert not console_errors and not exceptions and not log_errors, (
            console_errors,
            exceptions,
            log_errors,
        )
        assert not failed, failed
        external = [u for u in requests if not u.startswith(("file:", "data:", "about:"))]
        assert not external, f"the page requested {external}"
        state = browser.evaluate(VISIBLE % json.dumps(KEY_ELEMENTS))
        for s in KEY_ELEMENTS:
            assert state[s] is not None, f"{s} missing"
            assert state[s]["shown"] and state[s]["w"] > 0 and state[s]["h"] > 0, (s, state[s])
            assert state[s]["right"] <= state["main"] + 1, f"{s} overflows the page: {state[s]}"
        for chart in ("#chart-index", "#chart-quadrant", "#chart-trend", "#chart-drivers"):
            assert state[chart]["w"] > 600 and state[chart]["h"] > 150, (chart, state[chart])
        assert state["scrollWidth"] <= state["innerWidth"], "horizontal scrolling"
        assert state["title"].startswith("AI adoption or adoption theater? 2026Q3")
        # full-page screenshot
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            width=1200,
            height=int(state["height"]),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        png = base64.b64decode(shot["data"])
    finally:
        browser.close()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    path = tmp_path / "report.png"
    path.write_bytes(png)
    shutil.copyfile(path, SCREENSHOT_COPY)
    print(
        f"\nscreenshot: {path} (copy: {SCREENSHOT_COPY}); report {world['html']} written by "
        f"`theater report` in {world['seconds']:.1f}s"
    )


@needs_chromium
def test_prints_to_pdf(world):
    pdf = world["pdf"]
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and data.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    assert 3 <= pages <= 20, pages
    assert b"/FontFile" in data, "text is rendered as text with embedded fonts"
    # also the library call on its own, into a fresh file
    from theater.report.render import print_pdf

    again = print_pdf(world["html"], world["root"] / "again.pdf")
    assert again.stat().st_size > 20_000

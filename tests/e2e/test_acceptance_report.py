"""A vendor-delivered world whose orgs are acceptance-based, end to end in this process on the
shared engine: every org's IDE tool delivered as a GitHub Copilot users report and ONLY that
export kept (as a team that has nothing else would have it), ingest -> refine -> score ->
report. Gold publishes each org's theater share estimated from the accept counts
(``index_basis = 'acceptance'``, :mod:`theater.signals.acceptance_excess`), and every figure the
report's org table prints for those orgs is gold's figure, formatted.
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
from datetime import date

import pytest

from theater.lake import Lake
from theater.period import Period
from theater.pipeline import run_stage

pytestmark = pytest.mark.e2e
START, END = date(2026, 7, 1), date(2026, 7, 29)
FORMAT = "github_copilot_users"


def _copilot_only_world(out):
    """The vendor delivery of a small world (6 orgs: the fewest the delivery takes) with every
    org's IDE tool in ``FORMAT``; the other formats' files removed."""
    from theater.synth import exports as vd

    assign = vd.assign_stacks

    def one_format(orgs, seed):
        stacks = assign(orgs, seed)
        for s in stacks.values():
            s["ide"] = FORMAT
        return stacks

    others = {f for tool, opts in vd.STACK_OPTIONS.items() if tool != "ide" for f in opts}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vd, "assign_stacks", one_format)
        mp.setattr(vd, "ALL_FORMATS", tuple(sorted(others | {FORMAT})))
        vd.generate_vendor(
            out, seed=23, n_orgs=6, n_users=240, start=START, end=END, progress=lambda m: None
        )
    for d in (out / "landing" / "vendor").iterdir():
        if d.name != FORMAT:
            shutil.rmtree(d)


@pytest.fixture(scope="module")
def world(spark, cfg, tmp_path_factory):
    from theater import report

    root = tmp_path_factory.mktemp("acceptance_report")
    _copilot_only_world(root / "delivery")
    lake, period = root / "lake", Period(START, END)
    for stage in ("ingest", "refine", "score"):
        run_stage(spark, stage, cfg, str(lake), str(root / "delivery" / "landing"), period, "r")
    res = report.write(str(lake), period, root / "report.html", cfg=cfg, log_to_mlflow=False)
    tables = Lake(str(lake), cfg.table_format)
    gold = tables.read(spark, "gold/org_theater_index").toPandas()
    adoption = tables.read(spark, "gold/org_adoption").toPandas()
    return {"gold": gold, "adoption": adoption, "html": res.path.read_text()}


def _rows(text: str) -> dict[str, tuple[str, list[str]]]:
    table = re.search(r'<table id="org-table">.*?</table>', text, re.S).group(0)
    out = {}
    for row, org in re.findall(r'(<tr[^>]*data-org="([^"]+)"[^>]*>.*?</tr>)', table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        out[org] = (
            row,
            [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells],
        )
    return out


def test_acceptance_orgs_publish_what_gold_holds(world):
    gold, rows = world["gold"], _rows(world["html"])
    acc = gold[~gold["suppressed"] & (gold["index_basis"] == "acceptance")]
    # only accept counts reached the lake: every published org rests on them
    assert len(acc) >= 3
    assert set(gold[~gold["suppressed"]]["index_basis"]) == {"acceptance"}
    assert set(rows) == set(gold["org_id"])
    a = world["adoption"]
    a = a[~a["suppressed"].astype(bool) & (a["source_format"] == FORMAT)]
    requests = a.groupby("org_id")["requests"].sum().astype(int)
    for r in acc.to_dict("records"):
        row, cells = rows[r["org_id"]]
        assert f'data-index="{r["theater_index"]:.2f}"' in row
        # index, its interval (never zero-width: nothing here is exact), people
        assert cells[1] == f"{r['theater_index']:.1f}"
        assert r["ci_low"] <= r["theater_index"] <= r["ci_high"] and r["ci_high"] > r["ci_low"]
        assert cells[2].startswith(f"{r['ci_low']:.1f}–{r['ci_high']:.1f}")
        assert cells[4] == f"{int(r['n_users']):,}"
        # usage: no events, the export's requests (gold/org_adoption), per person a week
        n_int, req = int(r["n_interactions"] or 0), requests[r["org_id"]]
        assert req > 0
        assert cells[5] == f"{n_int:,} + {req:,} requests (exports)"
        assert cells[6] == f"{(n_int + req) / r['n_users'] / ((END - START).days / 7):.1f}"
        # what the figure rests on: the acceptance estimate and the export it came from
        assert "acceptance" in cells[-1] and FORMAT in cells[-1], cells[-1]
        assert r["acceptance_users"] >= 5 and 0 < r["acceptance_coverage"] <= 1
    # suppressed orgs print no figure at all
    for r in gold[gold["suppressed"]].to_dict("records"):
        row, cells = rows[r["org_id"]]
        assert not re.search(r"\d", " ".join(cells[1:])), cells

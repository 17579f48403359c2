"""Build the report: read (``data``), compute (``figures``), lay out (``page``), write, and
optionally print to PDF and log to the scoring run in MLflow."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ..audit.explain import interval_sentence
from ..period import Period
from . import figures as fg
from . import page
from .adoption import view as adoption_view
from .data import (
    ReportDataError,
    ReportInputs,
    RunRecord,
    days,
    load,
    load_org_days,
    load_org_index,
    method_settings,
)

log = logging.getLogger(__name__)


@dataclass
class Figures:
    """Everything the page shows, computed from the report inputs."""

    period: Period
    previous_label: str | None  # None: no previous period rows in the lake
    share: fg.Share
    previous_share: fg.Share | None
    usage: fg.UsageChange
    decoupling: fg.Decoupling
    coverage: fg.Coverage
    quality: fg.Quality
    table: pd.DataFrame
    quadrant: fg.Quadrant
    weeks: pd.DataFrame
    markers: pd.DataFrame
    drivers: pd.DataFrame
    matrix: pd.DataFrame
    look: dict
    takeaways: list[str]
    settings: dict[str, Any]
    runs: list[RunRecord]
    run_ids: list[str]
    versions: dict[str, Any]
    formats: dict[str, Any]
    lake: str
    generated_at: str
    interval_note: str = ""  # what the intervals cover (theater.audit.explain)
    adoption: Any = None  # the adoption section (theater.report.adoption.AdoptionView) or None


@dataclass
class ReportResult:
    path: Path
    pdf: Path | None
    period: Period
    figures: Figures | None  # None: a lake with org-level exports only (``org_level``)
    logged_run: str | None = None
    notes: list[str] = field(default_factory=list)
    org_level: pd.DataFrame | None = None  # fg.org_level_summary, when there is no index
    org_level_estimates: int = 0  # orgs of that page with a figure from org-level totals


def _look(table: pd.DataFrame) -> dict:
    pub = fg.published_rows(table)
    hct = pub[pub["high_confidence_theater"].astype(bool)]
    if len(hct):
        return {
            "title": "High-confidence theater",
            "items": [
                f"{r['org_id']}: index {r['theater_index']:.1f}, usage up without outcomes"
                for r in hct.to_dict("records")
            ],
        }
    return {
        "title": "Highest theater index",
        "items": [
            f"{r['org_id']}: {r['theater_index']:.1f} ({r['ci_low']:.1f}–{r['ci_high']:.1f})"
            for r in pub.head(3).to_dict("records")
        ],
    }


def _takeaways(
    f_share: fg.Share,
    prev_share: fg.Share | None,
    prev_label: str | None,
    q: fg.Quadrant,
    table: pd.DataFrame,
    drv: pd.DataFrame,
) -> list[str]:
    """A few sentences (plain text; the page template escapes them) a reader can take away,
    all derived from the figures."""
    out = []
    pub = fg.published_rows(table)
    if len(pub) and f_share.value is not None:
        theater = pub["theater_index"].astype(float) * pub["n_interactions"].astype(float)
        in_q = pub["org_id"].isin(
            set(q.points[q.points["quadrant"] == "Adoption theater"]["org_id"])
        )
        n_q = int(in_q.sum())
        if n_q and theater.sum() > 0:
            out.append(
                f"{n_q} of {len(pub)} orgs sit in the “Adoption theater” quadrant "
                f"(heavy and performative use); they account for "
                f"{theater[in_q].sum() / theater.sum() * 100:.0f}% of all "
                f"performative interactions."
            )
    measured = drv[drv["share"].notna()]
    if len(measured):
        top = measured.iloc[0]
        rest = ", ".join(
            f"{r['label'].lower()} ({r['share']:.1f}%)"
            for r in measured.iloc[1:3].to_dict("records")
        )
        out.append(
            f"The main driver is {top['label'].lower()} ({top['share']:.1f}% of "
            f"interactions)" + (f", then {rest}." if rest else ".")
        )
    if prev_share is not None and prev_share.value is not None and f_share.value is not None:
        moved = f_share.value - prev_share.value
        overlap = not (
            f_share.low is not None
            and prev_share.high is not None
            and (f_share.low > prev_share.high or f_share.high < prev_share.low)
        )
        out.append(
            f"Company theater share {f_share.value:.1f}% against "
            f"{prev_share.value:.1f}% in {prev_label} ({moved:+.1f} points; "
            + ("within the uncertainty)." if overlap else "a change beyond the uncertainty).")
        )
    elif prev_label is None:
        out.append("No previous quarter in the lake: changes will show from next quarter.")
    return out


def compute(inputs: ReportInputs, generated_at: str | None = None) -> Figures:
    """Every figure of the report from its inputs (no I/O)."""
    s = inputs.settings
    period = inputs.period
    has_prev = len(inputs.previous) > 0
    prev_label = inputs.previous_period.label if has_prev else None
    share = fg.company_share(inputs.index, adoption=inputs.adoption, confidence=s["confidence"])
    prev_share = (
        fg.company_share(
            inputs.previous, adoption=inputs.previous_adoption, confidence=s["confidence"]
        )
        if has_prev
        else None
    )
    usage = fg.usage_change(
        inputs.index,
        inputs.previous,
        days(period),
        days(inputs.previous_period),
        prev_label,
        inputs.adoption,
    )
    table = fg.org_table(inputs.index, inputs.previous, days(period), inputs.adoption)
    pub_orgs = list(fg.published_rows(table)["org_id"])
    q = fg.quadrant(table, share.value if share.value is not None else 0.0)
    drv = fg.drivers(inputs.index)
    return Figures(
        period=period,
        previous_label=prev_label,
        share=share,
        previous_share=prev_share,
        usage=usage,
        decoupling=fg.decoupling_summary(inputs.index),
        coverage=fg.coverage_summary(inputs.index),
        quality=fg.dq_summary(inputs.dq),
        table=table,
        quadrant=q,
        weeks=fg.weekly_trend(inputs.user_weeks, pub_orgs, period.start, period.end),
        markers=fg.policy_markers(inputs.policies, pub_orgs, period.start, period.end),
        drivers=drv,
        matrix=fg.signal_matrix(inputs.index, pub_orgs),
        look=_look(table),
        takeaways=_takeaways(share, prev_share, prev_label, q, table, drv),
        settings=s,
        runs=inputs.runs,
        run_ids=inputs.run_ids,
        versions=inputs.versions,
        formats=inputs.formats,
        lake=inputs.lake,
        interval_note=interval_sentence(inputs.index, inputs.audit_rates, s["confidence"]),
        adoption=adoption_view(
            inputs.adoption,
            inputs.previous_adoption,
            inputs.previous_period.label,
            s.get("currency", "USD"),
        ),
        generated_at=generated_at or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def build(lake: str, period: Period, cfg=None) -> tuple[str, Figures]:
    """Read the lake and return (HTML, figures) for ``period``."""
    figs = compute(load(lake, period, cfg))
    return page.render(figs), figs


def write(
    lake: str,
    period: Period,
    out: str | Path,
    *,
    cfg=None,
    pdf: str | Path | None = None,
    log_to_mlflow: bool = True,
) -> ReportResult:
    """Write the report to ``out`` (and ``pdf``), and log both to the period's MLflow run when
    that run is in the tracking store."""
    org_level = None
    estimates = 0
    try:
        html, figs = build(lake, period, cfg)
    except ReportDataError:
        # no index rows: a lake whose only usage is org-level exports still gets a report
        # of what they counted; with no usage at all, the error stands
        org_days = load_org_days(lake, period)
        if org_days is None:
            raise
        k = method_settings(cfg, [])["min_users"]
        org_level = fg.org_level_summary(org_days, k)
        index = load_org_index(lake, period)
        if index is not None:
            estimates = int(index["theater_index"].notna().sum())
        html, figs = page.render_org_level(period, org_level, k, index), None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    result = ReportResult(
        path=out,
        pdf=None,
        period=period,
        figures=figs,
        org_level=org_level,
        org_level_estimates=estimates,
    )
    if pdf:
        from .render import print_pdf

        result.pdf = print_pdf(out, pdf)
    if log_to_mlflow and cfg is not None and figs is not None and figs.runs:
        from ..tracking import log_report

        run_id = figs.runs[0].run_id
        try:
            log_report(cfg, run_id, [p for p in (result.path, result.pdf) if p])
            result.logged_run = run_id
        except Exception as exc:  # noqa: BLE001 - the report stands without the artifact
            log.warning("could not log the report to MLflow run %s: %s", run_id, exc)
            result.notes.append(f"not logged to MLflow: {exc}")
    return result

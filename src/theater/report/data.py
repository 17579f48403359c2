"""Report inputs: the gold tables for a period, read without Spark (delta-rs or Parquet files).

Everything the report shows comes from here: ``gold/org_theater_index`` (this period and the
previous one), ``gold/user_weeks`` (weekly trend, the company-level bootstrap), ``ops/dq_results``
(the runs' data-quality results), ``silver/policies`` (quota, checkpoint and mandate dates) and the
run's MLflow record. Pseudonymous user keys are replaced by integer codes on read: nothing
downstream of this module ever holds a user identifier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pyarrow.dataset as ds

from ..audit.explain import lake_rates
from ..period import Period
from ..tables import read_table

log = logging.getLogger(__name__)

INDEX = "gold/org_theater_index"
USER_WEEKS = "gold/user_weeks"
DQ = "ops/dq_results"
POLICIES = "silver/policies"
ADOPTION = "gold/org_adoption"
ORG_DAYS = "silver/org_days"
USER_WEEK_COLUMNS = [
    "org_id",
    "user_key",
    "week_start",
    "n_interactions",
    "n_measured",
    "theater_interactions",
    "full_week",
]


class ReportDataError(RuntimeError):
    """The lake has nothing to report for the period (a usage error: exit code 2)."""


@dataclass
class RunRecord:
    """What the report uses from an MLflow run (absent when tracking is off or the run is not in
    the store)."""

    run_id: str
    status: str | None = None
    start_time: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tracking_uri: str | None = None

    def lineage(self) -> dict[str, str]:
        return {
            k[len("lineage.") :]: v
            for k, v in sorted(self.params.items())
            if k.startswith("lineage.")
        }


@dataclass
class ReportInputs:
    lake: str
    period: Period
    previous_period: Period
    index: pd.DataFrame  # this period's gold/org_theater_index rows
    previous: pd.DataFrame  # the previous period's rows (maybe empty)
    user_weeks: pd.DataFrame  # this period: org_id, user (int code), week_start, ...
    dq: pd.DataFrame  # ops/dq_results of this period's run(s)
    policies: pd.DataFrame  # silver/policies (may be empty)
    versions: dict[str, Any]  # table -> Delta version read (None: Parquet / absent)
    formats: dict[str, str | None]
    runs: list[RunRecord]
    run_ids: list[str]
    settings: dict[str, Any]  # method settings (from the run's logged config or cfg)
    audit_rates: dict | None = None  # audited precision/recall over the lake (theater.audit)
    adoption: pd.DataFrame | None = None  # this period's gold/org_adoption (None: absent)
    previous_adoption: pd.DataFrame | None = None  # the previous period's, for the trend


# ------------------------------------------------------------------------- periods
def previous_period(period: Period) -> Period:
    """The previous quarter for a calendar quarter; otherwise the same length just before."""
    return period.previous()


def _in_period(period: Period) -> ds.Expression:
    return period.arrow_matches()


def _anonymize(user_weeks: pd.DataFrame) -> pd.DataFrame:
    """Replace pseudonymous user keys by integer codes (the bootstrap needs clusters, not keys)."""
    out = user_weeks.copy()
    if "user_key" in out:
        out["user"] = pd.factorize(out.pop("user_key"))[0]
    return out


# ------------------------------------------------------------------------- MLflow
def run_record(cfg, run_id: str) -> RunRecord | None:
    if cfg is None:
        return None
    from ..tracking import find_run, tracking_uri

    run = find_run(cfg, run_id)
    if run is None:
        return None
    return RunRecord(
        run_id=run_id,
        status=run.info.status,
        start_time=run.info.start_time,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tracking_uri=tracking_uri(cfg),
    )


SETTINGS = {
    "confidence": ("scoring.bootstrap.confidence", float, 0.90),
    "replicates": ("scoring.bootstrap.replicates", int, 200),
    "seed": ("scoring.bootstrap.seed", int, 20260701),
    "min_users": ("privacy.min_users", int, 10),
    "dominance_share": ("privacy.dominance_share", float, 0.5),
    "max_dwell_ms": ("signals.unused_output.max_dwell_ms", int, 5000),
    "self_summary_days": ("signals.self_summary.min_age_days", int, 7),
    "repeat_window_days": ("signals.repeat_prompt.window_days", int, 7),
    "fragment_count": ("signals.fragmentation.min_count", int, 5),
    "fragment_minutes": ("signals.fragmentation.window_minutes", int, 30),
    "padding_quantile": ("signals.padding.quantile", float, 0.90),
    "checkpoint_days": ("incentives.checkpoint_burst.working_days_before", int, 3),
    "threshold": ("scoring.threshold", float, 0.5),
    "currency": ("adoption.currency", str, "USD"),
}


def method_settings(cfg, runs: list[RunRecord]) -> dict[str, Any]:
    """Method settings as the run logged them (``cfg.*`` params), else from ``cfg``, else the
    defaults; ``source`` says which."""
    params = runs[0].params if runs else {}
    out: dict[str, Any] = {"source": "MLflow run" if params else "configuration"}
    for name, (key, cast, default) in SETTINGS.items():
        value = params.get(f"cfg.{key}")
        if value is None and cfg is not None:
            try:
                value = cfg[key]
            except KeyError:
                value = None
        try:
            out[name] = cast(value) if value is not None else default
        except (TypeError, ValueError):
            out[name] = default
    return out


# ------------------------------------------------------------------------- all inputs
def load_org_days(lake: str, period: Period) -> pd.DataFrame | None:
    """The period's silver/org_days rows (what org-level exports counted), None when the table
    is absent or holds nothing for the period: for a lake that has no index to report."""
    t = read_table(
        str(lake),
        ORG_DAYS,
        filter=(ds.field("day") >= period.start) & (ds.field("day") < period.end),
    )
    if t is None or t.rows.empty:
        return None
    return t.rows


def load_org_index(lake: str, period: Period) -> pd.DataFrame | None:
    """The period's gold index rows (org, figure, interval, basis, reasons) for the org-level
    page, None when there are none."""
    cols = ["org_id", "theater_index", "ci_low", "ci_high", "index_basis", "suppressed"]
    cols += ["not_measurable_reason"]
    t = read_table(str(lake), INDEX, filter=_in_period(period))
    if t is None or t.rows.empty:
        return None
    return t.rows[[c for c in cols if c in t.rows.columns]]


def org_level_only(lake: str, period: Period) -> bool:
    """True when the period's usage is org-level exports only: gold/org_adoption's sources
    (apart from ``all``) are all org-day formats (no person was measured, so no index can be
    published: the report is then what those exports counted, ``figures.org_level_summary``)."""
    from ..sources.exports import FORMATS

    ad = read_table(str(lake), ADOPTION, filter=_in_period(period), columns=["source_format"])
    if ad is None or ad.rows.empty:
        return False
    org_grain = {n for n, f in FORMATS.items() if f.grain == "org_day"}
    sources = set(ad.rows["source_format"].dropna()) - {"all"}
    return bool(sources) and sources <= org_grain


def load(lake: str, period: Period, cfg=None) -> ReportInputs:
    """Read everything the report needs for ``period``; raise ReportDataError when the lake has
    no gold index rows for it."""
    lake = str(lake)
    index_t = read_table(lake, INDEX, filter=_in_period(period))
    if index_t is None:
        raise ReportDataError(
            f"{INDEX} does not exist under {lake}: run the score stage first "
            "(theater run --stage score ...)"
        )
    if index_t.rows.empty:
        raise ReportDataError(
            f"{INDEX} has no rows for the period {period} ({period.label}) "
            f"under {lake}: score that period first, or pick another period (a period scored "
            "without any row had no user with an org: see refine's warnings, which name the fix)"
        )
    if org_level_only(lake, period):
        raise ReportDataError(
            f"{INDEX} holds for the period {period} only orgs of org-level exports, whose "
            "theater share is not measurable: their report is what the exports counted"
        )
    prev_period = previous_period(period)
    prev_t = read_table(lake, INDEX, filter=_in_period(prev_period))
    uw_t = read_table(lake, USER_WEEKS, filter=_in_period(period), columns=USER_WEEK_COLUMNS)
    run_ids = sorted(index_t.rows["run_id"].dropna().unique().tolist())
    dq_t = read_table(lake, DQ, filter=ds.field("run_id").isin(run_ids) if run_ids else None)
    pol_t = read_table(lake, POLICIES)
    ad_t = read_table(lake, ADOPTION, filter=_in_period(period))
    prev_ad_t = read_table(lake, ADOPTION, filter=_in_period(prev_period))
    versions = {
        INDEX: index_t.version,
        USER_WEEKS: uw_t.version if uw_t else None,
        DQ: dq_t.version if dq_t else None,
        POLICIES: pol_t.version if pol_t else None,
    }
    formats = {
        INDEX: index_t.fmt,
        USER_WEEKS: uw_t.fmt if uw_t else None,
        DQ: dq_t.fmt if dq_t else None,
        POLICIES: pol_t.fmt if pol_t else None,
    }
    runs = [r for r in (run_record(cfg, rid) for rid in run_ids) if r is not None]
    empty_uw = pd.DataFrame(
        columns=[
            "org_id",
            "user",
            "week_start",
            "n_interactions",
            "n_measured",
            "theater_interactions",
            "full_week",
        ]
    )
    return ReportInputs(
        lake=lake,
        period=period,
        previous_period=prev_period,
        index=index_t.rows.reset_index(drop=True),
        previous=prev_t.rows.reset_index(drop=True) if prev_t else index_t.rows.iloc[0:0],
        user_weeks=_anonymize(uw_t.rows) if uw_t else empty_uw,
        dq=dq_t.rows if dq_t else pd.DataFrame(),
        policies=pol_t.rows
        if pol_t
        else pd.DataFrame(
            columns=["org_id", "kind", "start_date", "end_date", "weekly_quota", "note"]
        ),
        versions=versions,
        formats=formats,
        runs=runs,
        run_ids=run_ids,
        settings=method_settings(cfg, runs),
        audit_rates=lake_rates(lake),
        adoption=ad_t.rows.reset_index(drop=True) if ad_t else None,
        previous_adoption=prev_ad_t.rows.reset_index(drop=True) if prev_ad_t else None,
    )


def days(period: Period) -> int:
    return (period.end - period.start).days


def week_days_in(period: Period, week_start: date) -> int:
    """Days of the ISO week starting ``week_start`` that lie inside the period."""
    lo = max(week_start, period.start)
    hi = min(week_start + timedelta(days=7), period.end)
    return max(0, (hi - lo).days)

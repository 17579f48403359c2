"""Pure functions: report figures from DataFrames (no I/O, no Spark).

Conventions: the theater index and shares are percentages (0-100); an org is *published* when
it is not suppressed and has an index. Every company-level figure covers the published orgs
only, so that no suppressed org's figures can be recovered by subtraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..transforms.adoption import aggregate_formats
from ..transforms.aggregates import SUBSET_OF

SIGNAL_LABELS = {
    "unused_output": "Unused output",
    "self_summary": "Self-summary",
    "repeat_prompt": "Repeat prompt",
    "fragmentation": "Fragmentation",
    "padding": "Padding",
    "quota_bunching": "Quota bunching",
    "checkpoint_burst": "Checkpoint burst",
}
INCENTIVE_SIGNALS = ("quota_bunching", "checkpoint_burst")


def signal_label(name: str) -> str:
    return SIGNAL_LABELS.get(name, name.replace("_", " ").capitalize())


def signal_names(index: pd.DataFrame) -> list[str]:
    """Signal names from the ``signal_<name>`` columns (``signal_coverage`` is not a signal)."""
    return [
        c[len("signal_") :]
        for c in index.columns
        if c.startswith("signal_") and c != "signal_coverage"
    ]


def published(index: pd.DataFrame) -> pd.DataFrame:
    keep = ~index["suppressed"].astype(bool) & index["theater_index"].notna()
    return index[keep]


def unsuppressed(index: pd.DataFrame) -> pd.DataFrame:
    """Orgs whose figures may be shown (an index or not): usage is usage."""
    return index[~index["suppressed"].astype(bool)]


def _bool(v) -> bool | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    return bool(v)


# ----------------------------------------------------------------------------- headline
@dataclass(frozen=True)
class Share:
    """Company-level theater share (percent) with its interval: the published orgs' figures
    (every basis) weighted by their recorded usage (:func:`company_share`)."""

    value: float | None
    low: float | None
    high: float | None
    n_orgs: int  # published orgs in the figure (every basis)
    usage: int  # their recorded usage: interactions plus the requests aggregate exports reported
    confidence: float
    # of them, orgs whose figure is estimated from acceptance counts (index_basis 'acceptance')
    n_acceptance_orgs: int = 0
    # their usage over the recorded usage of every unsuppressed org (published or not), 0-1:
    # how much of the usage the report may show the figure covers. None: no recorded usage
    usage_covered: float | None = None
    # unsuppressed orgs outside the figure: no published figure, or no recorded usage
    n_outside: int = 0


def measured_user_weeks(user_weeks: pd.DataFrame) -> pd.DataFrame:
    """User-weeks restricted to measured interactions: rows whose ``theater_interactions`` is
    null (no interaction with a theater probability) are dropped, and ``_n`` is the number of
    measured interactions (``n_measured`` when the lake publishes it, else ``n_interactions``:
    in older lakes every interaction had a probability)."""
    uw = user_weeks[user_weeks["theater_interactions"].notna()].copy()
    n = uw["n_measured"] if "n_measured" in uw else uw["n_interactions"]
    uw["_n"] = n.astype(float)
    uw["theater_interactions"] = uw["theater_interactions"].astype(float)
    return uw[uw["_n"] > 0]


def recorded_usage(index: pd.DataFrame, adoption: pd.DataFrame | None) -> pd.Series:
    """Per org of ``index`` (by row): its recorded usage, the interactions gold counts plus the
    requests its aggregate exports reported (:func:`export_requests_by_org`), the usage the
    report's usage card counts."""
    req = export_requests_by_org(adoption)
    n = index["n_interactions"].astype(float).fillna(0.0)
    return n + index["org_id"].map(lambda o: float(req.get(str(o), 0))).astype(float)


def company_share(
    index: pd.DataFrame, *, adoption: pd.DataFrame | None = None, confidence: float = 0.90
) -> Share:
    """The company's theater share: every published org's figure (per-interaction index or
    estimate from acceptance counts, the same quantity) weighted by its recorded usage
    (:func:`recorded_usage`), so that each org counts for the usage its figure is a share of,
    whatever basis it rests on. Orgs without a published figure (suppressed, not measurable)
    count nowhere; ``usage_covered`` says how much of the unsuppressed orgs' recorded usage the
    figure covers.

    Interval: the orgs' own intervals combined as independent, each side apart: ``value -
    sqrt(sum (w_i (x_i - low_i))^2)`` and ``value + sqrt(sum (w_i (high_i - x_i))^2)``, with
    ``w_i`` the usage shares. Independence holds for the sampling of people, since each org's
    interval resamples its own users; it does not hold for what orgs share (the acceptance
    estimator's tool baselines are set over every org), so the interval may be too narrow where
    those errors go the same way in every org; the sum of the weighted ends (``sum w_i low_i``,
    ``sum w_i high_i``) would hold under any dependence, and is wider. The interval contains the
    point, within [0, 100]; none without every org's interval.
    """
    shown = unsuppressed(index)
    usage_all = recorded_usage(shown, adoption)
    pub = shown["theater_index"].notna() & (usage_all > 0)
    rows, u = shown[pub], usage_all[pub]
    n_acc = 0
    if "index_basis" in rows:
        n_acc = int((rows["index_basis"] == "acceptance").sum())
    total_all = float(usage_all.sum())
    total = float(u.sum())
    covered = total / total_all if total_all > 0 else None
    outside = len(shown) - len(rows)
    if total <= 0:
        return Share(None, None, None, 0, 0, confidence, 0, covered, outside)
    w = u / total
    x = rows["theater_index"].astype(float)
    value = float((w * x).sum())
    low = high = None
    lo, hi = rows["ci_low"].astype(float), rows["ci_high"].astype(float)
    if lo.notna().all() and hi.notna().all():
        down = float(np.sqrt(((w * (x - lo).clip(lower=0)) ** 2).sum()))
        up = float(np.sqrt(((w * (hi - x).clip(lower=0)) ** 2).sum()))
        low, high = max(min(value - down, value), 0.0), min(max(value + up, value), 100.0)
    return Share(
        value, low, high, len(rows), int(round(total)), confidence, n_acc, covered, outside
    )


@dataclass(frozen=True)
class UsageChange:
    interactions: int  # this period, published orgs
    per_day: float
    previous_label: str | None
    change: float | None  # relative change of interactions per day, same orgs (0.08 = +8%)
    n_same_orgs: int
    same_now_per_day: float | None
    same_prev_per_day: float | None
    # gold/org_adoption, unsuppressed rows: requests that vendor aggregates reported (never
    # turned into interactions) and active people across tools; None: no adoption table
    export_requests: int | None = None
    active_users: int | None = None
    n_usage_orgs: int | None = None  # orgs with an unsuppressed 'all' adoption row


def export_requests_by_org(adoption: pd.DataFrame | None) -> dict[str, int]:
    """Per org, the requests aggregate exports reported (unsuppressed adoption rows). A source
    whose requests another one already counts (``aggregates.SUBSET_OF``: GitHub's premium
    requests within its users report) adds none where the org has a row of that other source,
    so they are not counted twice (the 'all' row counts them once per person-day)."""
    if adoption is None or adoption.empty:
        return {}
    a = adoption[~adoption["suppressed"].astype(bool)]
    a = a[a["source_format"].isin(aggregate_formats()) & a["requests"].notna()]
    have = set(zip(adoption["org_id"], adoption["source_format"]))
    counted = [
        (o, SUBSET_OF[f]) not in have if f in SUBSET_OF else True
        for o, f in zip(a["org_id"], a["source_format"])
    ]
    a = a[pd.Series(counted, index=a.index, dtype=bool)]
    return {str(k): int(v) for k, v in a.groupby("org_id")["requests"].sum().items()}


def adoption_totals(adoption: pd.DataFrame | None) -> tuple:
    """(requests from aggregate exports, active people across tools, orgs) over unsuppressed
    rows; Nones without an adoption table."""
    if adoption is None:
        return None, None, None
    a = adoption[~adoption["suppressed"].astype(bool)]
    alls = a[a["source_format"] == "all"]
    active = alls["active_users"].dropna()
    return (
        sum(export_requests_by_org(adoption).values()),
        int(active.sum()) if len(active) else 0,
        int(alls["org_id"].nunique()),
    )


def usage_change(
    index: pd.DataFrame,
    previous: pd.DataFrame,
    days_now: int,
    days_prev: int,
    previous_label: str | None,
    adoption: pd.DataFrame | None = None,
) -> UsageChange:
    """Usage this period (orgs not suppressed) and its change in interactions per day against
    the previous period, like for like: only orgs not suppressed in both periods. An org whose
    data measures no signal still used the tools: its interactions count here, with or without
    an index. ``adoption``: the period's gold/org_adoption, for what aggregate exports
    measured."""
    req, active, n_orgs = adoption_totals(adoption)
    pub = unsuppressed(index)
    total = int(pub["n_interactions"].sum())
    per_day = total / max(days_now, 1)
    prev_pub = unsuppressed(previous) if previous is not None and len(previous) else None
    if prev_pub is None or prev_pub.empty:
        return UsageChange(total, per_day, None, None, 0, None, None, req, active, n_orgs)
    same = sorted(set(pub["org_id"]) & set(prev_pub["org_id"]))
    if not same:
        return UsageChange(total, per_day, previous_label, None, 0, None, None, req, active, n_orgs)
    now = pub[pub["org_id"].isin(same)]["n_interactions"].sum() / max(days_now, 1)
    before = prev_pub[prev_pub["org_id"].isin(same)]["n_interactions"].sum() / max(days_prev, 1)
    change = (now - before) / before if before > 0 else None
    return UsageChange(
        total,
        per_day,
        previous_label,
        change,
        len(same),
        float(now),
        float(before),
        req,
        active,
        n_orgs,
    )


@dataclass(frozen=True)
class Decoupling:
    n_published: int
    n_measured: int
    n_decoupled: int
    orgs: tuple[str, ...]
    n_estimated: int = 0  # orgs with a decoupling estimate (a ratio), called or not

    @property
    def share(self) -> float | None:
        return self.n_decoupled / self.n_measured if self.n_measured else None


def decoupling_summary(index: pd.DataFrame) -> Decoupling:
    """Unsuppressed orgs where outcome decoupling could be measured, and where usage rose
    without outcomes following (``decoupled``). An org without a theater index can still have
    its decoupling measured (it needs usage and outcomes, not per-interaction signals): it
    counts, so the page never says "could not be measured" while gold holds a figure.
    ``n_published`` counts the unsuppressed orgs."""
    pub = unsuppressed(index)
    if "decoupled" not in pub:
        return Decoupling(len(pub), 0, 0, ())
    flags = pub["decoupled"].map(_bool)
    measured = flags.notna()
    dec = pub[flags.eq(True)]
    est = measured
    if "outcome_decoupling" in pub:
        est = est | pub["outcome_decoupling"].notna()
    return Decoupling(
        len(pub), int(measured.sum()), len(dec), tuple(sorted(dec["org_id"])), int(est.sum())
    )


@dataclass(frozen=True)
class Coverage:
    n_orgs: int
    n_published: int
    n_suppressed: int  # suppressed for privacy
    signal_coverage: float | None  # mean share of signals measurable, published orgs (0-1)
    n_not_measurable: int = 0  # not suppressed, but no per-interaction signal measured


def coverage_summary(index: pd.DataFrame) -> Coverage:
    pub = published(index)
    cov = pub["signal_coverage"].dropna() if "signal_coverage" in pub else pd.Series(dtype=float)
    sup = index["suppressed"].map(_bool).eq(True)
    n_sup = int(sup.sum())
    return Coverage(
        len(index),
        len(pub),
        n_sup,
        float(cov.mean()) if len(cov) else None,
        len(index) - len(pub) - n_sup,
    )


@dataclass(frozen=True)
class Quality:
    total: int
    passed: int
    warnings: int  # warning-severity expectations that did not pass
    failed: int  # critical expectations that did not pass
    by_table: pd.DataFrame  # table, checks, passed, warnings, failed


def dq_summary(dq: pd.DataFrame) -> Quality:
    cols = ["table", "checks", "passed", "warnings", "failed"]
    if dq is None or dq.empty:
        return Quality(0, 0, 0, 0, pd.DataFrame(columns=cols))
    d = dq.copy()
    d["ok"] = d["success"].astype(bool)
    d["warn"] = ~d["ok"] & (d["severity"] != "critical")
    d["fail"] = ~d["ok"] & (d["severity"] == "critical")
    by = (
        d.groupby("table_name")
        .agg(
            checks=("ok", "size"),
            passed=("ok", "sum"),
            warnings=("warn", "sum"),
            failed=("fail", "sum"),
        )
        .reset_index()
        .rename(columns={"table_name": "table"})
    )
    by[["checks", "passed", "warnings", "failed"]] = by[
        ["checks", "passed", "warnings", "failed"]
    ].astype(int)
    return Quality(
        len(d),
        int(d["ok"].sum()),
        int(d["warn"].sum()),
        int(d["fail"].sum()),
        by[cols].sort_values("table").reset_index(drop=True),
    )


# ----------------------------------------------------------------------------- org table
ORG_COLUMNS = [
    "org_id",
    "suppressed",
    "status",
    "theater_index",
    "ci_low",
    "ci_high",
    "n_users",
    "n_interactions",
    "per_user_week",
    "top_signals",
    "decoupled",
    "usage_change",
    "outcome_change",
    "outcome_decoupling",
    "outcome_decoupling_low",
    "outcome_decoupling_high",
    "high_confidence_theater",
    "rank_low",
    "rank_high",
    "previous_index",
    "change",
    "change_clear",
    "not_measurable_reason",
    "index_basis",
    "sources",
    "incentive_index",
    "incentive_ci_low",
    "incentive_ci_high",
    "incentive_basis",
    "export_requests",
    "audit_n",  # audited interactions of the org behind its interval (0: detector-only)
]
FIGURES = ORG_COLUMNS[3:]  # blanked for suppressed orgs
PUBLISHED, NOT_MEASURABLE, SUPPRESSED = "published", "not_measurable", "suppressed"


def _na(v) -> bool:
    if v is None or v is pd.NA:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # arrays / lists
        return False


def _val(v):
    return None if _na(v) else v


def _sources(v) -> list[str]:
    if _na(v):
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v if not _na(x)]


def published_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The org-table rows that carry a theater index (neither suppressed nor not measurable)."""
    return table[table["status"] == PUBLISHED]


def org_table(
    index: pd.DataFrame,
    previous: pd.DataFrame | None,
    days_now: int,
    adoption: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per org: published orgs by index (highest first), then orgs whose data measures
    no per-interaction signal (``not_measurable``) by id, then suppressed orgs by id.

    Suppressed orgs keep only ``org_id``, ``suppressed`` and ``status``: every figure is blanked
    (None), whatever the gold row holds. A not-measurable org (not suppressed, null index) has
    no index, interval, rank, tier or change, but keeps its reason, basis, sources, counts and
    its incentive index (lower bound from aggregates) when there is one. ``change`` is the
    index change in points against the previous period (published there too);
    ``change_clear`` is True when the two intervals do not overlap. Older lakes without
    ``index_basis`` / ``sources`` / incentive columns give None / [] there.
    ``export_requests``: requests the org's aggregate exports reported (``adoption``); they
    count in ``per_user_week`` with the interactions.
    """
    weeks = max(days_now, 1) / 7.0
    exported = export_requests_by_org(adoption)
    prev = (
        published(previous).set_index("org_id")
        if previous is not None and len(previous)
        else pd.DataFrame()
    )
    rows = []
    for r in index.to_dict("records"):
        out = {c: None for c in ORG_COLUMNS}
        out["org_id"] = r["org_id"]
        sup = bool(_bool(r.get("suppressed")))
        has_index = not _na(r.get("theater_index"))
        out["suppressed"] = sup
        out["status"] = SUPPRESSED if sup else PUBLISHED if has_index else NOT_MEASURABLE
        rows.append(out)
        if sup:
            continue
        _kept_figures(out, r, exported.get(str(r["org_id"])), weeks)
        if not has_index:
            out["not_measurable_reason"] = _val(r.get("not_measurable_reason"))
            out["high_confidence_theater"] = False
            continue
        for c in ("theater_index", "ci_low", "ci_high", "rank_low", "rank_high"):
            out[c] = _val(r.get(c))
        out["high_confidence_theater"] = bool(_bool(r.get("high_confidence_theater")))
        if r["org_id"] in prev.index:
            _versus_previous(out, r, prev.loc[r["org_id"]])
    df = pd.DataFrame(rows, columns=ORG_COLUMNS)
    df["_s"] = df["status"].map({PUBLISHED: 0, NOT_MEASURABLE: 1, SUPPRESSED: 2})
    df["_key"] = df["theater_index"].astype(float).fillna(-1.0)
    df = df.sort_values(["_s", "_key", "org_id"], ascending=[True, False, True])
    return df.drop(columns=["_s", "_key"]).reset_index(drop=True)


def _kept_figures(out: dict, r: dict, export_requests, weeks: float) -> None:
    """The figures of an org that is not suppressed, index or not: counts, changes, decoupling,
    basis and sources, incentive index, usage per user a week (interactions and the requests
    its aggregate exports reported), top signals."""
    for c in (
        "n_users",
        "n_interactions",
        "usage_change",
        "outcome_change",
        "outcome_decoupling",
        "outcome_decoupling_low",
        "outcome_decoupling_high",
        "index_basis",
        "incentive_index",
        "incentive_ci_low",
        "incentive_ci_high",
        "incentive_basis",
        "audit_n",
    ):
        out[c] = _val(r.get(c))
    out["sources"] = _sources(r.get("sources"))
    out["export_requests"] = export_requests
    usage = (_val(r.get("n_interactions")) or 0) + (out["export_requests"] or 0)
    out["per_user_week"] = (
        usage / r["n_users"] / weeks
        if _val(r.get("n_users"))
        and (_val(r.get("n_interactions")) is not None or out["export_requests"] is not None)
        else None
    )
    top = r.get("top_signals")
    out["top_signals"] = (
        [str(x) for x in top]
        if top is not None and not (isinstance(top, float) and math.isnan(top))
        else []
    )
    out["decoupled"] = _bool(r.get("decoupled"))


def _versus_previous(out: dict, r: dict, p) -> None:
    """``previous_index``, ``change`` (points) and ``change_clear`` (the two intervals do not
    overlap) of a published org against its row ``p`` of the previous period."""
    out["previous_index"] = float(p["theater_index"])
    out["change"] = float(r["theater_index"]) - float(p["theater_index"])
    if (
        out["ci_low"] is not None
        and out["ci_high"] is not None
        and not _na(p.get("ci_low"))
        and not _na(p.get("ci_high"))
    ):
        out["change_clear"] = bool(r["ci_low"] > p["ci_high"] or r["ci_high"] < p["ci_low"])
    else:
        out["change_clear"] = False


# ----------------------------------------------------------------------------- charts' data
QUADRANTS = {
    (True, True): "Adoption theater",
    (True, False): "Real adoption",
    (False, True): "Token compliance",
    (False, False): "Light, genuine use",
}
QUADRANT_HINTS = {
    "Adoption theater": "heavy use, much of it performative",
    "Real adoption": "heavy use, mostly genuine",
    "Token compliance": "light use, much of it performative",
    "Light, genuine use": "light use, mostly genuine",
}


@dataclass(frozen=True)
class Quadrant:
    points: pd.DataFrame  # org_id, usage (interactions per user a week), theater_index,
    #                          decoupled, quadrant
    usage_split: float  # median usage intensity of the published orgs
    index_split: float  # the company-level theater share


def quadrant(table: pd.DataFrame, company: float) -> Quadrant:
    """Usage intensity against theater share, split at the median intensity and the company
    share; each published org gets its quadrant's name."""
    pub = published_rows(table).copy()
    pts = pub[["org_id", "per_user_week", "theater_index", "decoupled"]].rename(
        columns={"per_user_week": "usage"}
    )
    pts["usage"] = pts["usage"].astype(float)
    pts["theater_index"] = pts["theater_index"].astype(float)
    split = float(pts["usage"].median()) if len(pts) else 0.0
    pts["quadrant"] = [
        QUADRANTS[(u >= split, i >= company)] for u, i in zip(pts["usage"], pts["theater_index"])
    ]
    return Quadrant(pts.reset_index(drop=True), split, float(company))


def weekly_trend(user_weeks: pd.DataFrame, orgs, start: date, end: date) -> pd.DataFrame:
    """Per ISO week (published orgs): interactions, interactions per day inside the period
    (partial weeks at the edges are scaled by their days), and the theater share (percent) over
    the week's measured interactions (None when none was measured)."""
    cols = ["week_start", "days", "partial", "n_interactions", "per_day", "theater_share"]
    uw = user_weeks[user_weeks["org_id"].isin(set(orgs))]
    if uw.empty:
        return pd.DataFrame(columns=cols)
    wk = (
        uw.groupby("week_start")
        .agg(n_interactions=("n_interactions", "sum"))
        .reset_index()
        .sort_values("week_start")
    )
    # the share is over measured interactions only (as the company share)
    mw = (
        measured_user_weeks(uw)
        .groupby("week_start")
        .agg(_n=("_n", "sum"), s=("theater_interactions", "sum"))
    )
    wk = wk.join(mw, on="week_start")
    wk["week_start"] = [
        d if isinstance(d, date) else pd.Timestamp(d).date() for d in wk["week_start"]
    ]
    wk["days"] = [
        max(0, (min(w + timedelta(days=7), end) - max(w, start)).days) for w in wk["week_start"]
    ]
    wk["partial"] = wk["days"] < 7
    wk["per_day"] = wk["n_interactions"] / wk["days"].clip(lower=1)
    wk["theater_share"] = [
        100.0 * sv / nv if nv and nv > 0 else None for sv, nv in zip(wk["s"], wk["_n"])
    ]
    wk["n_interactions"] = wk["n_interactions"].astype(int)
    return wk[cols].reset_index(drop=True)


MARKER_KINDS = {
    "checkpoint": "Review checkpoint",
    "quota": "Usage quota starts or changes",
    "mandate": "AI mandate announced",
}


def policy_markers(policies: pd.DataFrame, orgs, start: date, end: date) -> pd.DataFrame:
    """Quota, checkpoint and mandate dates inside the period, for company-wide (``*``) policies
    and the published orgs (suppressed orgs are left out)."""
    cols = ["date", "kind", "org_id", "company_wide", "label"]
    if policies is None or policies.empty:
        return pd.DataFrame(columns=cols)
    keep = set(orgs) | {"*"}
    rows = []
    for r in policies.to_dict("records"):
        kind, org = r.get("kind"), r.get("org_id")
        d = r.get("start_date")
        if kind not in MARKER_KINDS or org not in keep or d is None or pd.isna(d):
            continue
        d = d if isinstance(d, date) else pd.Timestamp(d).date()
        if not (start <= d < end):
            continue
        who = "company-wide" if org == "*" else org
        what = MARKER_KINDS[kind]
        if (
            kind == "quota"
            and r.get("weekly_quota") is not None
            and not pd.isna(r.get("weekly_quota"))
        ):
            what = f"quota {int(r['weekly_quota'])} interactions a week"
        elif kind == "checkpoint":
            what = "review checkpoint"
        elif kind == "mandate":
            what = "AI mandate"
        rows.append(
            {
                "date": d,
                "kind": kind,
                "org_id": org,
                "company_wide": org == "*",
                "label": f"{d:%d %b}: {what} ({who})",
            }
        )
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["date", "kind", "org_id"]).reset_index(drop=True)


def drivers(index: pd.DataFrame) -> pd.DataFrame:
    """Per signal, over the published orgs: the share of *all* their interactions it flagged
    (percent; for the incentive signals the summed weight), where an org in which the signal
    could not be measured contributes nothing, as it contributes nothing to the index; in how
    many orgs it could be measured, and in how many it is among the top signals."""
    pub = published(index)
    total = float(pub["n_interactions"].sum()) if len(pub) else 0.0
    rows = []
    for name in signal_names(index):
        col = pub[f"signal_{name}"].astype(float)
        measured = col.notna()
        w = pub.loc[measured, "n_interactions"].astype(float)
        share = (
            float((col[measured] * w).sum() / total * 100) if total > 0 and measured.any() else None
        )
        top = sum(1 for t in pub.get("top_signals", []) if t is not None and name in list(t))
        rows.append(
            {
                "signal": name,
                "label": signal_label(name),
                "share": share,
                "n_measured": int(measured.sum()),
                "n_orgs": len(pub),
                "n_top": top,
                "incentive": name in INCENTIVE_SIGNALS,
            }
        )
    df = pd.DataFrame(
        rows, columns=["signal", "label", "share", "n_measured", "n_orgs", "n_top", "incentive"]
    )
    df["_k"] = df["share"].astype(float).fillna(-1)
    return (
        df.sort_values(["_k", "signal"], ascending=[False, True])
        .drop(columns="_k")
        .reset_index(drop=True)
    )


def signal_matrix(index: pd.DataFrame, order) -> pd.DataFrame:
    """Published orgs x signals (percent, NaN = not measurable), in the given org order."""
    pub = published(index).set_index("org_id")
    names = signal_names(index)
    m = pub[[f"signal_{n}" for n in names]].astype(float) * 100
    m.columns = names
    return m.reindex([o for o in order if o in m.index])


# ------------------------------------------------------------------ org-level exports only
ORG_LEVEL_NO_INDEX = (
    "no org index can be computed from org-level exports: they count the active people and "
    "requests of an org, never the interactions or days of one person, and every signal of "
    "the index is measured on those"
)


def org_level_summary(org_days: pd.DataFrame, min_users: int) -> pd.DataFrame:
    """One row per (org, source, feature) of silver/org_days: days reported, the largest count
    of active (and engaged) people on any row, requests and accepted summed over daily rows
    only (a 7- or 28-day window overlaps the days around it; NA when no daily row has them).
    An org whose largest active count is under ``min_users`` or unknown is suppressed: no
    figures at all."""
    od = org_days.copy()
    od["org_id"] = od["org_id"].fillna("(no org)")
    daily = od["period_days"] == 1
    rows = []
    for (org, src, feat), g in od.groupby(["org_id", "source_format", "feature"], sort=True):
        d = g[daily.loc[g.index]]

        def total(col, d=d):
            v = d[col].dropna()
            return int(v.sum()) if len(v) else None

        def peak(col, g=g):
            v = g[col].dropna()
            return int(v.max()) if len(v) else None

        rows.append(
            dict(
                org_id=org,
                source_format=src,
                feature=feat,
                days=int(g["day"].nunique()),
                first_day=min(g["day"]),
                last_day=max(g["day"]),
                windows=", ".join(f"{int(w)}-day" for w in sorted(g["period_days"].unique())),
                peak_active_users=peak("active_users"),
                peak_engaged_users=peak("engaged_users"),
                requests=total("requests"),
                accepted=total("accepted"),
            )
        )
    out = pd.DataFrame(rows)
    peak_org = out.groupby("org_id")["peak_active_users"].max()
    small = {o for o, v in peak_org.items() if v is None or pd.isna(v) or v < min_users}
    out["suppressed"] = out["org_id"].isin(small)
    figures = ["days", "first_day", "last_day", "windows", "peak_active_users"]
    figures += ["peak_engaged_users", "requests", "accepted"]
    out[figures] = out[figures].astype(object)
    out.loc[out["suppressed"], figures] = None
    return out

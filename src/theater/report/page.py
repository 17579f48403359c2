"""The report page: figures in, one self-contained HTML document out (pure).

No external resource of any kind: system font stack, inline CSS, inline SVG, no scripts.
Print styles lay it out on A4 with charts kept whole.

The markup lives in Jinja2 templates (``templates/``, autoescaped): this module turns the
figures into plain values (numbers formatted, texts worded) and the templates escape every one
of them. Charts come from :mod:`.charts` as :class:`markupsafe.Markup` whose interpolated texts
are escaped there.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache

import jinja2
import pandas as pd

from . import charts
from .figures import NOT_MEASURABLE, QUADRANT_HINTS, SUPPRESSED, signal_label


def pct(v, digits: int = 1) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:.{digits}f}%"


def num(v, digits: int = 1) -> str:
    if v is None or pd.isna(v):
        return "—"
    return f"{v:,.{digits}f}".replace("-", "−")


def count(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{int(v):,}"


def signed(v, digits: int = 1, unit: str = "") -> str:
    if v is None or pd.isna(v):
        return "—"
    s = f"{v:+.{digits}f}{unit}"
    return s.replace("-", "−")


def day(d) -> str:
    return f"{d.day} {d:%b %Y}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's template environment: package templates, autoescape on for every template,
    undefined names are errors (a typo must not silently print nothing)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("theater.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=pct, num=num, grouped=count, signed=signed, g=lambda v: f"{v:g}")
    return env


# ----------------------------------------------------------------------------- view values
def headline_values(f) -> dict:
    """The headline cards' texts (plain text; the template escapes them)."""
    cov, dq = f.coverage, f.quality
    share_big, share_small = _share_card(f)
    usage_big, usage_small = _usage_card(f)
    dec_big, dec_small = _decoupling_card(f.decoupling)
    dq_text = (
        f"{dq.total} data-quality checks: {dq.passed} passed, {dq.warnings} warning(s), "
        f"{dq.failed} failed"
        if dq.total
        else "no data-quality results recorded"
    )
    cov_text = (
        f"{cov.n_published} of {cov.n_orgs} orgs published "
        f"({cov.n_suppressed} suppressed for privacy"
        + (f", {cov.n_not_measurable} not measurable" if cov.n_not_measurable else "")
        + ")"
        + (
            f" · signals measurable {cov.signal_coverage * 100:.0f}% on average"
            if cov.signal_coverage is not None
            else ""
        )
    )
    return dict(
        share_big=share_big,
        share_small=share_small,
        usage_big=usage_big,
        usage_small=usage_small,
        dec_big=dec_big,
        dec_small=dec_small,
        dq_text=dq_text,
        cov_text=cov_text,
    )


def _covered_pct(x: float) -> str:
    """A share of usage as a whole percent, never rounded to 0% or 100% when it is not."""
    if 0 < x < 0.005:
        return "under 1%"
    if 0.995 <= x < 1:
        return "over 99%"
    return f"{x * 100:.0f}%"


def _share_card(f) -> tuple[str, str]:
    """The theater share: its value, interval, what it covers, the previous quarter's."""
    share, prev = f.share, f.previous_label
    if share.value is None:
        share_big, share_small = "—", "no published org with recorded usage in this period"
    else:
        share_big = pct(share.value)
        interval = (
            f"{int(share.confidence * 100)}% interval {share.low:.1f}–{share.high:.1f}%"
            if share.low is not None
            else "no interval (an org without one)"
        )
        share_small = (
            f"{interval} · {share.n_orgs} published orgs weighted by their recorded usage "
            f"({share.usage:,} interactions and export requests)"
        )
        if share.n_acceptance_orgs:
            share_small += f", {share.n_acceptance_orgs} of them estimated from acceptance counts"
        if share.usage_covered is not None:
            share_small += (
                f" · covers {_covered_pct(share.usage_covered)} of the recorded usage of the "
                "orgs the report shows"
            )
        if share.n_outside:
            share_small += f" (not the {share.n_outside} org(s) without a figure)"
        if f.previous_share is not None and f.previous_share.value is not None:
            share_small += f" · {pct(f.previous_share.value)} in {prev}"
        elif prev is None:
            share_small += " · no previous quarter to compare"
    return share_big, share_small


def _usage_card(f) -> tuple[str, str]:
    """Usage: its change against the previous quarter where the same orgs were published, else
    its level (from vendor aggregates where no interaction was measured); never "0/day"."""
    usage = f.usage
    if usage.change is not None:
        usage_big = signed(usage.change * 100, 1, "%")
        usage_small = (
            f"interactions a day vs {usage.previous_label}, same "
            f"{usage.n_same_orgs} orgs · {usage.interactions:,} interactions this "
            f"period ({usage.per_day:,.0f} a day)"
        )
    elif usage.interactions == 0 and usage.n_usage_orgs == 0:
        # usage exists only in suppressed orgs (or nowhere): unknown here, never "0/day"
        usage_big = "—"
        usage_small = "no org's usage can be published: too few people in each"
    elif usage.interactions == 0 and usage.export_requests:
        # only vendor aggregates measured usage: show what they counted, never "0/day"
        usage_big = f"{usage.export_requests / max(f.period.days, 1):,.0f} requests/day"
        usage_small = (
            f"{usage.export_requests:,} requests reported by vendor aggregates, "
            f"{usage.active_users or 0:,} active people this period · no per-interaction data"
        )
    elif usage.interactions == 0 and usage.active_users:
        # people used a tool, but their exports count no request or interaction (sessions and
        # tokens only): the volume is unknown, never "0/day"
        usage_big = "n/a"
        usage_small = (
            f"{usage.active_users:,} active people this period; their exports count no "
            "requests or interactions (sessions or tokens only)"
        )
    else:
        # a handful of interactions a day keeps its decimal: never "0/day" for real usage
        usage_big = (
            f"{usage.per_day:,.1f}/day" if 0 < usage.per_day < 10 else f"{usage.per_day:,.0f}/day"
        )
        usage_small = f"{usage.interactions:,} interactions this period · " + (
            "no previous quarter in the lake to compare with"
            if usage.previous_label is None
            else f"no org published in both {usage.previous_label} and this period"
        )
    if usage.export_requests and usage.interactions:
        usage_small += f" · plus {usage.export_requests:,} requests reported by vendor aggregates"
    return usage_big, usage_small


def _decoupling_card(dec) -> tuple[str, str]:
    """How many orgs' usage rose after a mandate without outcomes following."""
    if dec.n_measured:
        dec_big = f"{dec.n_decoupled} of {dec.n_measured}"
        dec_small = (
            f"orgs where usage rose after an AI mandate but outcomes did not follow "
            f"({dec.share * 100:.0f}% of the orgs where this could be measured; "
            f"not measurable in {dec.n_published - dec.n_measured})"
        )
    elif dec.n_estimated:
        # gold holds a ratio but its interval could not call it: say so, never "not measured"
        dec_big = "n/a"
        dec_small = (
            f"outcome decoupling estimated for {dec.n_estimated} org(s) but too uncertain "
            "to call decoupled or not (see the appendix)"
        )
    else:
        dec_big = "n/a"
        dec_small = (
            "outcome decoupling could not be measured this period (no mandate with "
            "enough weeks before and after, or too few people with outcomes)"
        )
    return dec_big, dec_small


BASIS_TEXT = {
    "interactions": "per-interaction signals",
    "acceptance": "estimated from acceptance counts (excess unused output)",
    "org_aggregates": "estimated from org-level totals (excess unused output of the org; "
    "wide: no person is seen)",
    "aggregates": "vendor aggregates only",
    "none": "nothing measurable",
}


def basis_text(index_basis, sources) -> str:
    """What an org's figure rests on: its ``index_basis`` and the source formats of its data
    ("—" for an older lake that does not say)."""
    parts = []
    if index_basis is not None and not pd.isna(index_basis):
        parts.append(BASIS_TEXT.get(str(index_basis), str(index_basis)))
    srcs = [str(x) for x in (sources or [])]
    if srcs:
        parts.append("sources: " + ", ".join(srcs))
    return "; ".join(parts) or "—"


def interval_text(lo, hi) -> str:
    return "—" if lo is None or hi is None or pd.isna(lo) or pd.isna(hi) else f"{num(lo)}–{num(hi)}"


def org_rows(f) -> list[dict]:
    """One dict per org-table row, every figure formatted. ``kind``: ``published``,
    ``not_measurable`` (no index: "n/a — not measurable" with the reason, and the incentive
    index from aggregates when the org has one) or ``suppressed``."""
    rows = []
    for r in f.table.to_dict("records"):
        if r["suppressed"]:
            rows.append({"org": r["org_id"], "suppressed": True, "kind": "suppressed"})
            continue
        common = {
            "org": r["org_id"],
            "suppressed": False,
            "users": count(r["n_users"]),
            "interactions": count(r["n_interactions"]),
            "export_requests": count(r["export_requests"]) if r.get("export_requests") else None,
            "per_week": num(r["per_user_week"]),
            "basis": basis_text(r.get("index_basis"), r.get("sources")),
            "index_basis": r.get("index_basis"),
        }
        if r["status"] == NOT_MEASURABLE:
            rows.append({**common, **_not_measurable_row(r)})
            continue
        rank = (
            "—"
            if r["rank_low"] is None or pd.isna(r["rank_low"])
            else f"{int(r['rank_low'])}"
            if r["rank_low"] == r["rank_high"] or r["rank_high"] is None or pd.isna(r["rank_high"])
            else f"{int(r['rank_low'])}–{int(r['rank_high'])}"
        )
        if f.previous_label is None:
            change_kind = "none"
        elif r["change"] is None or pd.isna(r["change"]):
            change_kind = "new"
        else:
            change_kind = "value"
        rows.append(
            {
                **common,
                "kind": "published",
                "hct": bool(r["high_confidence_theater"]),
                "index_value": r["theater_index"],
                "index": num(r["theater_index"]),
                "interval": interval_text(r["ci_low"], r["ci_high"]),
                "audit_n": int(r["audit_n"]) if pd.notna(r.get("audit_n")) else 0,
                "rank": rank,
                "tops": ", ".join(signal_label(s) for s in r["top_signals"]) or "—",
                "decoupled": r["decoupled"],
                "ratio": (
                    f"ratio {num(r['outcome_decoupling'], 2)} (interval "
                    f"{num(r['outcome_decoupling_low'], 2)} to "
                    f"{num(r['outcome_decoupling_high'], 2)})"
                ),
                "change_kind": change_kind,
                "change": signed(r["change"]) if change_kind == "value" else None,
                "change_clear": bool(r["change_clear"]) if change_kind == "value" else True,
                "change_class": (
                    ("up" if r["change"] > 0 else "down")
                    if change_kind == "value" and r["change_clear"]
                    else ""
                ),
            }
        )
    return rows


def _not_measurable_row(r: dict) -> dict:
    """A kept org without an index: why, and its incentive index when it has one."""
    inc = r.get("incentive_index")
    has_inc = inc is not None and not pd.isna(inc)
    return {
        "kind": "not_measurable",
        "hct": False,
        "reason": r.get("not_measurable_reason") or "",
        "incentive": (
            f"{num(inc)} [{num(r.get('incentive_ci_low'))}, {num(r.get('incentive_ci_high'))}]"
        )
        if has_inc
        else None,
        "incentive_aggregates": has_inc
        and (r.get("index_basis") == "aggregates" or r.get("incentive_basis") == "aggregates"),
    }


def signal_definitions(f) -> list[tuple[str, str]]:
    """(label, plain-words definition) for every signal of the drivers chart."""
    s = f.settings
    dwell = s["max_dwell_ms"] / 1000
    signals = {
        "unused_output": f"The answer was thrown away: discarded, ignored, or looked at for "
        f"under {dwell:g} seconds and never accepted, inserted, copied or edited.",
        "self_summary": f"Someone asked for a summary of their own document that had not changed "
        f"for {s['self_summary_days']}+ days, and did not use the summary.",
        "repeat_prompt": f"The same (or nearly the same) prompt was sent again within "
        f"{s['repeat_window_days']} days after its earlier answer went unused, "
        f"and this answer went unused too.",
        "fragmentation": f"One task split into many tiny requests: {s['fragment_count']} or more "
        f"very short prompts on one document within {s['fragment_minutes']} "
        f"minutes.",
        "padding": f"An unusually long prompt (top {100 - s['padding_quantile'] * 100:.0f}% for "
        f"that kind of request) whose answer went unused.",
        "quota_bunching": "More people-weeks land exactly at or just above the weekly usage "
        "target than the smooth pattern of usage predicts; the excess "
        "interactions are counted as theater in proportion.",
        "checkpoint_burst": f"Usage in the {s['checkpoint_days']} working days before a review "
        f"checkpoint above the same people's usual level; the excess is "
        f"counted in proportion.",
    }
    return [(signal_label(n), signals.get(n, "See the methodology.")) for n in f.drivers["signal"]]


def run_items(f) -> list[dict]:
    by_id = {r.run_id: r for r in f.runs}
    out = []
    for rid in f.run_ids:
        rec = by_id.get(rid)
        started = (
            "?"
            if rec is None or not rec.start_time
            else datetime.fromtimestamp(rec.start_time / 1000, timezone.utc).strftime(
                "%Y-%m-%d %H:%M UTC"
            )
        )
        out.append(
            {
                "run_id": rid,
                "record": rec,
                "started": started,
                "params": rec.params if rec is not None else {},
            }
        )
    return out


def lineage_rows(f) -> list[tuple[str, dict]]:
    """(table, {"inputs": [...], "outputs": [...]}) from the runs' lineage params."""
    lineage: dict[str, dict[str, list[str]]] = {}
    for rec in f.runs:
        for key, v in rec.lineage().items():
            if key.count(".") < 2:
                continue
            stage, direction, table = key.split(".", 2)
            slot = lineage.setdefault(table, {"inputs": [], "outputs": []})
            slot.setdefault(direction, []).append(f"{stage} v{v}")
    return sorted(lineage.items())


def matrix_rows(m: pd.DataFrame) -> list[tuple[str, list[dict | None]]]:
    """Heat-map cells: None for n/a, else the value and its colour strength (40%+: full)."""

    def cell(v):
        if pd.isna(v):
            return None
        return {"value": v, "alpha": min(max(v / 40.0, 0.0), 1.0) * 0.55}

    return [(org, [cell(v) for v in row]) for org, row in zip(m.index, m.to_numpy())]


def render(f) -> str:
    """The whole page for the figures ``f`` (a :class:`theater.report.build.Figures`)."""
    p = f.period
    # every unsuppressed org whose decoupling was measured, with a theater index or not
    shown = f.table[f.table["status"] != SUPPRESSED]
    dec = shown[shown["decoupled"].notna() | shown["outcome_decoupling"].notna()]
    context = dict(
        f=f,
        title=f"AI adoption or adoption theater? {p.label}",
        period_text=f"{day(p.start)} – {day(date.fromordinal(p.end.toordinal() - 1))}",
        conf=int(f.share.confidence * 100),
        headline=headline_values(f),
        org_rows=org_rows(f),
        c=charts,
        quadrant_hints=", ".join(f"{k}: {v}" for k, v in QUADRANT_HINTS.items()),
        svg={
            "index": charts.index_chart(f.table, f.share.value),
            "quadrant": charts.quadrant_chart(f.quadrant),
            "trend": charts.trend_chart(f.weeks, f.markers),
            "drivers": charts.drivers_chart(f.drivers),
        },
        signal_defs=signal_definitions(f),
        dq_rows=f.quality.by_table.to_dict("records"),
        run_items=run_items(f),
        lineage=lineage_rows(f),
        quadrant_rows=f.quadrant.points.to_dict("records"),
        week_rows=f.weeks.to_dict("records"),
        marker_labels=list(f.markers["label"]),
        driver_rows=f.drivers.to_dict("records"),
        decoupling_rows=dec.to_dict("records"),
        matrix_columns=[signal_label(c) for c in f.matrix.columns],
        matrix_rows=matrix_rows(f.matrix),
        adoption=f.adoption,
    )
    return environment().get_template("page.html").render(context)


def _org_level_figures(index: pd.DataFrame | None) -> list[dict]:
    """Gold's figure of each org for the org-level page: the estimate with its interval and
    basis, or n/a with the reason (suppressed orgs: only that they are)."""
    if index is None:
        return []
    out = []
    for r in index.sort_values("org_id").to_dict("records"):
        has = r.get("theater_index") is not None and not pd.isna(r.get("theater_index"))
        out.append(
            dict(
                org_id=r["org_id"],
                suppressed=bool(r.get("suppressed")),
                figure=f"{r['theater_index']:.1f}%" if has else "n/a",
                interval=interval_text(r.get("ci_low"), r.get("ci_high")) if has else "—",
                basis=BASIS_TEXT.get(str(r.get("index_basis")), "—") if has else "—",
                reason=r.get("not_measurable_reason") or "",
            )
        )
    return out


def render_org_level(
    period, summary: pd.DataFrame, min_users: int, index: pd.DataFrame | None = None
) -> str:
    """The page for a lake whose period holds org-level exports only: gold's figure of each
    org (an estimate from org totals, or n/a with the reason; ``index``: the period's gold
    index rows) and what the exports counted per org and source."""
    from .figures import ORG_LEVEL_NO_INDEX

    figures = _org_level_figures(index)
    rows = []
    for r in summary.to_dict("records"):
        # counts print as integers ("140", never "140.0"); unknown is "—", never 0
        shown = {
            c: count(r[c])
            for c in ("days", "peak_active_users", "peak_engaged_users", "requests", "accepted")
        }
        shown.update(
            windows=r["windows"] or "—",
            span="—" if r["suppressed"] else f"{day(r['first_day'])} – {day(r['last_day'])}",
        )
        rows.append({**r, **shown})
    return (
        environment()
        .get_template("org_level.html")
        .render(
            title=f"AI adoption or adoption theater? {period.label}",
            period_text=(
                f"{day(period.start)} – {day(date.fromordinal(period.end.toordinal() - 1))}"
            ),
            generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            no_index=ORG_LEVEL_NO_INDEX,
            figures=figures,
            any_figure=any(f["figure"] != "n/a" for f in figures),
            rows=rows,
            n_orgs=summary["org_id"].nunique(),
            n_suppressed=summary.loc[summary["suppressed"], "org_id"].nunique(),
            k=min_users,
            period=period,
        )
    )

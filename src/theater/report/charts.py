"""Inline SVG charts (pure: figures in, markup out).

Okabe-Ito colour-blind-safe palette; every chart is ``role="img"`` with a ``<title>`` and a
``<desc>`` that states what it shows in words, and every mark has a ``<title>`` tooltip. The
report's appendix also holds each chart's numbers as a table.

Every text that goes into the markup (org ids, signal labels, policy notes, titles) passes
through :func:`markupsafe.escape`; the charts are returned as :class:`markupsafe.Markup`, so the
page template inserts them as they are and escapes everything else. All axes (gridlines and
tick labels) are drawn by one helper, :func:`axis`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, Iterable

import pandas as pd
from markupsafe import Markup, escape

from .figures import QUADRANT_HINTS, Quadrant, published_rows

# Okabe & Ito (2008), "Color Universal Design"
BLUE, SKY, GREEN, ORANGE = "#0072B2", "#56B4E9", "#009E73", "#E69F00"
VERMILLION, PURPLE, YELLOW, BLACK = "#D55E00", "#CC79A7", "#F0E442", "#000000"
GRID, INK, MUTED = "#d9d9d9", "#1a1a1a", "#5f5f5f"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif\""


def _e(text) -> str:
    """``text`` escaped for element content and attribute values (quotes included)."""
    return str(escape(str(text)))


def nice_scale(value: float, minimum: float = 0.0, max_ticks: int = 6) -> tuple[float, float]:
    """(top, step): the smallest 1-2-2.5-5 x 10^k step with at most ``max_ticks`` intervals
    covering ``max(value, minimum)``; top is the first multiple of step at or above it."""
    value = max(value, minimum, 1e-9)
    mag = 10 ** math.floor(math.log10(value / max_ticks))
    for m in (1, 2, 2.5, 5, 10, 20):
        step = m * mag
        if math.ceil(value / step - 1e-9) <= max_ticks:
            return math.ceil(value / step - 1e-9) * step, step
    return value, value / max_ticks


def ticks(top: float, step: float | None = None, bottom: float = 0.0) -> list[float]:
    step = step or nice_scale(top - bottom)[1]
    n = int(round((top - bottom) / step))
    return [round(bottom + i * step, 6) for i in range(n + 1)]


def _fmt_tick(v: float) -> str:
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" {FONT}>'
        f'<title id="{chart_id}-title">{_e(title)}</title>'
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _c(v) -> str:
    """A coordinate: integers as they are, other values to one decimal."""
    return str(v) if isinstance(v, int) else f"{float(v):.1f}"


def axis(
    values: Iterable[float],
    pos: Callable[[float], float],
    *,
    along: str,
    span: tuple,
    label_at: float,
    grid: str | None = GRID,
    label_offset: float = 0.0,
    fmt: Callable[[float], str] | None = None,
) -> list[str]:
    """Gridlines and tick labels of one axis, the same way in every chart.

    ``along="x"``: ticks along the horizontal axis; each value ``t`` gets a vertical gridline
    at ``pos(t)`` from ``span[0]`` to ``span[1]`` (y) and a centred label at height
    ``label_at``. ``along="y"``: a horizontal gridline at ``pos(t)`` from ``span[0]`` to
    ``span[1]`` (x) and a right-aligned label ending at ``label_at``, 4 px below the line so it
    sits on it. ``grid=None`` draws labels only.
    """
    fmt = fmt or _fmt_tick
    out = []
    for t in values:
        p = pos(t)
        if along == "x":
            if grid:
                out.append(
                    f'<line x1="{p:.1f}" x2="{p:.1f}" y1="{_c(span[0])}" '
                    f'y2="{_c(span[1])}" stroke="{grid}" stroke-width="1"/>'
                )
            out.append(
                _text(p, label_at + label_offset, fmt(t), size=11, anchor="middle", fill=MUTED)
            )
        elif along == "y":
            if grid:
                out.append(
                    f'<line x1="{_c(span[0])}" x2="{_c(span[1])}" y1="{p:.1f}" '
                    f'y2="{p:.1f}" stroke="{grid}" stroke-width="1"/>'
                )
            out.append(
                _text(label_at, p + 4 + label_offset, fmt(t), size=11, anchor="end", fill=MUTED)
            )
        else:
            raise ValueError(f"axis along must be 'x' or 'y', got {along!r}")
    return out


def _text(x, y, s, *, size=12, anchor="start", fill=INK, weight=None, extra="") -> str:
    w = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{w}{extra}>{_e(s)}</text>'
    )


# ----------------------------------------------------------------------------- 1. index per org
def index_chart(
    table: pd.DataFrame, company: float | None, *, chart_id: str = "chart-index", width: int = 960
) -> Markup:
    """Dot-and-interval chart: each published org's index with its interval bar, highest first,
    and a line at the company-level share."""
    pub = published_rows(table).copy()
    # an interval missing from the lake shows as the point itself (never as a bar from 0)
    for c in ("ci_low", "ci_high"):
        pub[c] = pub[c].where(pub[c].notna(), pub["theater_index"])
    not_measurable = list(table[table["status"] == "not_measurable"]["org_id"])
    left, right, top, bottom, row = 96, 56, 34, 40, 20
    height = top + bottom + row * max(len(pub), 1)
    hi = max([float(v) for v in pub["ci_high"]] + [company or 0.0, 10.0])
    xmax, xstep = nice_scale(hi)
    plot_w = width - left - right

    def x(v):
        return left + plot_w * float(v) / xmax

    body = axis(
        ticks(xmax, xstep),
        x,
        along="x",
        span=(top - 6, height - bottom),
        label_at=height - bottom + 16,
    )
    body.append(
        _text(
            left + plot_w / 2,
            height - 6,
            "Theater index (share of AI use that was performative, %) with 90% interval",
            size=12,
            anchor="middle",
            fill=MUTED,
        )
    )
    for i, r in enumerate(pub.to_dict("records")):
        body += _index_mark(r, top + row * i + row / 2, x, left)
    if company is not None:
        body.append(
            f'<line x1="{x(company):.1f}" x2="{x(company):.1f}" y1="{top - 10}" '
            f'y2="{height - bottom}" stroke="{VERMILLION}" stroke-width="1.5" '
            f'stroke-dasharray="5 4"/>'
        )
        body.append(
            _text(
                x(company),
                top - 14,
                f"company {company:.1f}%",
                size=11,
                anchor="middle",
                fill=VERMILLION,
                weight="600",
            )
        )
    desc = _index_desc(pub, company, not_measurable)
    return _svg(chart_id, width, height, "Theater index per org with 90% intervals", desc, body)


def _index_mark(r: dict, cy: float, x: Callable[[float], float], left: float) -> list[str]:
    """One org's row: its name, interval bar, point (a diamond: high-confidence theater), value."""
    body = []
    flag = bool(r.get("high_confidence_theater"))
    dot = VERMILLION if flag else BLUE
    tip = (
        f"{r['org_id']}: index {r['theater_index']:.1f} "
        f"(90% interval {r['ci_low']:.1f} to {r['ci_high']:.1f})"
        + ("; high-confidence theater" if flag else "")
    )
    body.append(f'<g class="org-mark" data-org="{_e(r["org_id"])}"><title>{_e(tip)}</title>')
    body.append(
        _text(left - 8, cy + 4, r["org_id"], size=12, anchor="end", weight="700" if flag else None)
    )
    body.append(
        f'<line x1="{x(r["ci_low"]):.1f}" x2="{x(r["ci_high"]):.1f}" y1="{cy:.1f}" '
        f'y2="{cy:.1f}" stroke="{SKY}" stroke-width="7" stroke-linecap="round"/>'
    )
    if flag:
        s = 6
        body.append(
            f'<path d="M{x(r["theater_index"]):.1f},{cy - s:.1f} l{s},{s} l{-s},{s} '
            f'l{-s},{-s} z" fill="{dot}" stroke="white" stroke-width="1"/>'
        )
    else:
        body.append(
            f'<circle cx="{x(r["theater_index"]):.1f}" cy="{cy:.1f}" r="4.5" '
            f'fill="{dot}" stroke="white" stroke-width="1"/>'
        )
    body.append(
        _text(x(r["ci_high"]) + 7, cy + 4, f"{r['theater_index']:.1f}", size=11, fill=MUTED)
    )
    body.append("</g>")
    return body


def _index_desc(pub: pd.DataFrame, company: float | None, not_measurable: list) -> str:
    """The chart's description in words: every org's index and interval."""
    flagged = [r["org_id"] for r in pub.to_dict("records") if r.get("high_confidence_theater")]
    return (
        f"{len(pub)} published orgs, highest index first: "
        + "; ".join(
            f"{r['org_id']} {r['theater_index']:.1f} ({r['ci_low']:.1f} to {r['ci_high']:.1f})"
            for r in pub.to_dict("records")
        )
        + (f". Company-level share {company:.1f}%." if company is not None else ".")
        + (f" High-confidence theater (diamond): {', '.join(flagged)}." if flagged else "")
        + (f" Not measurable, not shown: {', '.join(not_measurable)}." if not_measurable else "")
    )


# ----------------------------------------------------------------------------- 2. quadrant
def _place_labels(points, boxes_w, h, bounds):
    """Greedy label placement: for each point try right, left, above, below; keep the first spot
    that overlaps no placed label or point and stays inside ``bounds``."""
    x0, y0, x1, y1 = bounds
    placed, out = [], []
    dots = [(px - 5, py - 5, px + 5, py + 5) for px, py in points]

    def clash(b):
        return any(
            not (b[2] <= o[0] or b[0] >= o[2] or b[3] <= o[1] or b[1] >= o[3])
            for o in placed + dots
        )

    for (px, py), w in zip(points, boxes_w):
        options = []
        for d in (6, 14, 24):
            options += [
                (px + d, py - h / 2, "start"),
                (px - d - w, py - h / 2, "end"),
                (px - w / 2, py - d - h + 2, "middle"),
                (px - w / 2, py + d - 2, "middle"),
                (px + d, py - h - d / 2, "start"),
                (px + d, py + d / 2, "start"),
                (px - d - w, py - h - d / 2, "end"),
                (px - d - w, py + d / 2, "end"),
            ]
        choice = None
        for bx, by, anchor in options:
            b = (bx, by, bx + w, by + h)
            if b[0] >= x0 and b[2] <= x1 and b[1] >= y0 and b[3] <= y1 and not clash(b):
                choice = (b, anchor)
                break
        if choice is None:
            bx, by, anchor = options[0]
            choice = ((bx, by, bx + w, by + h), anchor)
        placed.append(choice[0])
        out.append(choice)
    return out


@dataclass(frozen=True)
class _Plot:
    """A plot area: its corner (``left``, ``top``), size (``pw``, ``ph``) and value scales."""

    left: float
    top: float
    pw: float
    ph: float
    x: Callable[[float], float]
    y: Callable[[float], float]


def quadrant_chart(
    q: Quadrant, *, chart_id: str = "chart-quadrant", width: int = 960, height: int = 470
) -> Markup:
    """Usage intensity (x) against theater index (y), split into four named quadrants."""
    left, right, top, bottom = 62, 24, 18, 50
    pts = q.points
    lo = float(pts["usage"].min()) if len(pts) else 0.0
    hi = float(pts["usage"].max()) if len(pts) else 10.0
    pad = max((hi - lo) * 0.08, 0.5)
    xstep = nice_scale(hi - lo + 2 * pad)[1]
    xmin = max(0.0, math.floor((lo - pad) / xstep) * xstep)
    xmax = math.ceil((hi + pad) / xstep) * xstep
    ymax, ystep = nice_scale(
        max(float(pts["theater_index"].max()) * 1.06 if len(pts) else 10, q.index_split * 1.2, 10)
    )
    pw, ph = width - left - right, height - top - bottom

    def x(v):
        return left + pw * (float(v) - xmin) / (xmax - xmin)

    def y(v):
        return top + ph * (1 - float(v) / ymax)

    plot = _Plot(left, top, pw, ph, x, y)
    xs, ys = x(q.usage_split), y(q.index_split)
    body = _quadrant_regions(plot, xs, ys)
    body += axis(
        ticks(xmax, xstep, xmin),
        x,
        along="x",
        span=(top, top + ph),
        grid=None,
        label_at=top + ph + 16,
    )
    body += axis(
        ticks(ymax, ystep), y, along="y", span=(left, left + pw), grid="white", label_at=left - 6
    )
    body += _quadrant_names(plot, xs, ys, height)
    body += _quadrant_points(plot, pts)
    return _svg(
        chart_id,
        width,
        height,
        "Usage versus value: where AI use is real and where it is theater",
        _quadrant_desc(q),
        body,
    )


def _quadrant_regions(p: _Plot, xs: float, ys: float) -> list[str]:
    """The four quadrants' tinted areas, split at ``xs`` (median usage) and ``ys``."""
    left, top, pw, ph = p.left, p.top, p.pw, p.ph
    tints = {
        "Adoption theater": "#fbe9df",
        "Token compliance": "#fdf3e1",
        "Real adoption": "#e3f1fa",
        "Light, genuine use": "#f2f2f2",
    }
    regions = {
        "Token compliance": (left, top, xs, ys),
        "Adoption theater": (xs, top, left + pw, ys),
        "Light, genuine use": (left, ys, xs, top + ph),
        "Real adoption": (xs, ys, left + pw, top + ph),
    }
    return [
        f'<rect x="{a:.1f}" y="{b:.1f}" width="{max(c - a, 0):.1f}" '
        f'height="{max(d - b, 0):.1f}" fill="{tints[name]}"/>'
        for name, (a, b, c, d) in regions.items()
    ]


def _quadrant_names(p: _Plot, xs: float, ys: float, height: int) -> list[str]:
    """The dashed split lines, each quadrant's name and hint in its corner, the axis titles."""
    left, top, pw, ph = p.left, p.top, p.pw, p.ph
    body = [
        f'<line x1="{xs:.1f}" x2="{xs:.1f}" y1="{top}" y2="{top + ph}" stroke="{MUTED}" '
        f'stroke-dasharray="4 3"/>',
        f'<line x1="{left}" x2="{left + pw}" y1="{ys:.1f}" y2="{ys:.1f}" stroke="{MUTED}" '
        f'stroke-dasharray="4 3"/>',
    ]
    corners = {
        "Token compliance": (left + 8, top + 16, "start"),
        "Adoption theater": (left + pw - 8, top + 16, "end"),
        "Light, genuine use": (left + 8, top + ph - 22, "start"),
        "Real adoption": (left + pw - 8, top + ph - 22, "end"),
    }
    for name, (cx, cy, anchor) in corners.items():
        body.append(
            _text(
                cx,
                cy,
                name,
                size=13,
                anchor=anchor,
                weight="700",
                fill=INK,
                extra=' class="quadrant-name"',
            )
        )
        body.append(_text(cx, cy + 14, QUADRANT_HINTS[name], size=11, anchor=anchor, fill=MUTED))
    body.append(
        _text(
            left + pw / 2,
            height - 8,
            "Usage intensity: interactions per user a week (dashed: median org)",
            size=12,
            anchor="middle",
            fill=MUTED,
        )
    )
    body.append(
        f'<text transform="translate(16 {top + ph / 2:.1f}) rotate(-90)" font-size="12" '
        f'text-anchor="middle" fill="{MUTED}">Theater index, % (dashed: company share)'
        f"</text>"
    )
    return body


def _quadrant_points(p: _Plot, pts: pd.DataFrame) -> list[str]:
    """A point per org (a diamond where usage rose without outcomes), labelled without
    overlaps."""
    coords = [(p.x(r["usage"]), p.y(r["theater_index"])) for r in pts.to_dict("records")]
    widths = [7.0 * len(str(o)) for o in pts["org_id"]]
    labels = _place_labels(coords, widths, 12, (p.left, p.top, p.left + p.pw, p.top + p.ph))
    body = []
    for r, (px, py), (box, _anchor) in zip(pts.to_dict("records"), coords, labels):
        dec = r.get("decoupled") is True
        tip = (
            f"{r['org_id']}: {r['usage']:.1f} interactions per user a week, index "
            f"{r['theater_index']:.1f}; {r['quadrant']}"
            + ("; usage rose without outcomes (decoupled)" if dec else "")
        )
        body.append(f'<g class="org-point" data-org="{_e(r["org_id"])}"><title>{_e(tip)}</title>')
        if dec:
            s = 6
            body.append(
                f'<path d="M{px:.1f},{py - s:.1f} l{s},{s} l{-s},{s} l{-s},{-s} z" '
                f'fill="{VERMILLION}" stroke="white" stroke-width="1"/>'
            )
        else:
            body.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" fill="{BLUE}" '
                f'stroke="white" stroke-width="1"/>'
            )
        body.append(_text(box[0], box[3] - 2, r["org_id"], size=11, fill=INK))
        body.append("</g>")
    return body


def _quadrant_desc(q: Quadrant) -> str:
    pts = q.points
    counts = pts["quadrant"].value_counts().to_dict()
    return (
        "Each published org placed by usage intensity and theater index. Quadrants split at "
        f"the median intensity ({q.usage_split:.1f} interactions per user a week) and the "
        f"company share ({q.index_split:.1f}%). "
        + "; ".join(
            f"{name}: {counts.get(name, 0)} org(s)"
            + (
                f" ({', '.join(pts[pts['quadrant'] == name]['org_id'])})"
                if counts.get(name)
                else ""
            )
            for name in QUADRANT_HINTS
        )
        + ". Diamonds: orgs where usage rose without outcomes following."
    )


# ----------------------------------------------------------------------------- 3. weekly trend
MARKER_STYLE = {
    "checkpoint": (PURPLE, "triangle"),
    "quota": (GREEN, "square"),
    "mandate": (ORANGE, "circle"),
}


def _symbol(kind: str, cx: float, cy: float) -> str:
    colour, shape = MARKER_STYLE[kind]
    if shape == "triangle":
        return (
            f'<path d="M{cx:.1f},{cy - 5:.1f} l5,9 l-10,0 z" fill="{colour}" '
            f'stroke="{INK}" stroke-width="0.5"/>'
        )
    if shape == "square":
        return (
            f'<rect x="{cx - 4.5:.1f}" y="{cy - 4.5:.1f}" width="9" height="9" '
            f'fill="{colour}" stroke="{INK}" stroke-width="0.5"/>'
        )
    return (
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{colour}" stroke="{INK}" '
        f'stroke-width="0.5"/>'
    )


@dataclass(frozen=True)
class _TrendLayout:
    """Where things stand on the trend chart: the usage panel (``top``, ``h1``), the strip of
    dated markers (``y_strip``), the share panel (``y2_top``, ``h2``), one ``band`` a week."""

    chart_id: str
    width: int
    n: int
    first: date
    umax: float
    smax: float
    left: int = 62
    right: int = 24
    top: int = 22
    h1: int = 150
    gap_strip: int = 14
    strip_h: int = 58
    h2: int = 130
    bottom: int = 44

    @property
    def pw(self) -> float:
        return self.width - self.left - self.right

    @property
    def band(self) -> float:
        return self.pw / self.n

    @property
    def y_strip(self) -> int:
        return self.top + self.h1 + self.gap_strip

    @property
    def y2_top(self) -> int:
        return self.y_strip + self.strip_h + 16

    @property
    def axis_y(self) -> int:
        return self.y2_top + self.h2

    @property
    def height(self) -> int:
        return self.y2_top + self.h2 + self.bottom

    def xd(self, d: date) -> float:
        return self.left + self.band * ((d - self.first).days / 7.0)

    def yu(self, v) -> float:
        return self.top + self.h1 * (1 - float(v) / self.umax)

    def ys(self, v) -> float:
        return self.y2_top + self.h2 * (1 - float(v) / self.smax)


def trend_chart(
    weeks: pd.DataFrame, markers: pd.DataFrame, *, chart_id: str = "chart-trend", width: int = 960
) -> Markup:
    """Two panels on one week axis: usage (interactions per day, by week) and theater share
    (%), with company-wide checkpoints as dashed lines and the org-level quota, checkpoint and
    mandate dates as symbols in a strip between the panels."""
    n = len(weeks)
    if n == 0:
        return _svg(
            chart_id,
            width,
            60,
            "Weekly usage and theater share",
            "No weekly data for the published orgs.",
            [_text(62, 30, "No weekly data for the published orgs.")],
        )
    first = weeks["week_start"].iloc[0]
    umax, ustep = nice_scale(float(weeks["per_day"].max()) * 1.05, minimum=1, max_ticks=4)
    shares = weeks["theater_share"].astype(float)
    smax, sstep = nice_scale(
        float(shares.max()) * 1.1 if shares.notna().any() else 0.0, minimum=5, max_ticks=4
    )
    lay = _TrendLayout(chart_id, width, n, first, umax, smax)
    body = _trend_panels(lay, ticks(umax, ustep), ticks(smax, sstep))
    body += _trend_weeks(lay, weeks)
    last = weeks["week_start"].iloc[-1] + timedelta(days=7)
    mk = markers[(markers["date"] >= first) & (markers["date"] < last)] if len(markers) else markers
    body += _trend_markers(lay, mk)
    desc_weeks = "; ".join(
        f"{r['week_start']:%d %b}: {r['per_day']:,.0f} a day, "
        + (
            f"{r['theater_share']:.1f}% theater"
            if not pd.isna(r["theater_share"])
            else "theater share not measured"
        )
        for r in weeks.to_dict("records")
    )
    desc_marks = "; ".join(mk["label"]) if len(mk) else "none"
    desc = (
        f"Weekly usage and theater share over {n} weeks. {desc_weeks}. Marked dates: {desc_marks}."
    )
    return _svg(
        chart_id,
        width,
        lay.height,
        "Weekly usage and theater share, with quota, review and mandate dates",
        desc,
        body,
    )


def _trend_panels(lay: _TrendLayout, usage_ticks, share_ticks) -> list[str]:
    """The hatch pattern of partial weeks, both panels' axes and titles."""
    left, pw = lay.left, lay.pw
    body = [
        f'<defs><pattern id="{lay.chart_id}-hatch" width="6" height="6" '
        f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#cfe3f1"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{BLUE}" stroke-width="2"/></pattern></defs>'
    ]
    body += axis(usage_ticks, lay.yu, along="y", span=(left, left + pw), label_at=left - 6)
    body += axis(share_ticks, lay.ys, along="y", span=(left, left + pw), label_at=left - 6)
    body.append(
        _text(
            left,
            lay.top - 8,
            "Usage: interactions per day (weekly average; hatched: "
            "partial week at the period edge)",
            size=12,
            fill=MUTED,
        )
    )
    body.append(
        _text(
            left, lay.y2_top - 6, "Theater share of the week's interactions, %", size=12, fill=MUTED
        )
    )
    return body


def _trend_weeks(lay: _TrendLayout, weeks: pd.DataFrame) -> list[str]:
    """A usage bar and a share point per week (the line breaks at unmeasured weeks), and the
    week axis."""
    left, band, top, h1 = lay.left, lay.band, lay.top, lay.h1
    body, pts = [], []
    for i, r in enumerate(weeks.to_dict("records")):
        bx = left + band * i
        fill = f"url(#{lay.chart_id}-hatch)" if r["partial"] else BLUE
        measured = not pd.isna(r["theater_share"])
        tip = (
            f"week of {r['week_start']:%d %b}: {r['per_day']:,.0f} interactions a day "
            f"({r['n_interactions']:,} in {r['days']} day(s)), theater share "
            + (f"{r['theater_share']:.1f}%" if measured else "not measured")
            + (" (partial week)" if r["partial"] else "")
        )
        body.append(
            f'<g class="week"><title>{_e(tip)}</title><rect x="{bx + band * 0.12:.1f}" '
            f'y="{lay.yu(r["per_day"]):.1f}" width="{band * 0.76:.1f}" '
            f'height="{top + h1 - lay.yu(r["per_day"]):.1f}" fill="{fill}"/></g>'
        )
        if measured:  # an unmeasured week has no point (the line breaks there)
            pts.append((bx + band / 2, lay.ys(r["theater_share"]), tip, i))
    path = " ".join(
        f"{'M' if k == 0 or pts[k - 1][3] != i - 1 else 'L'}{px:.1f},{py:.1f}"
        for k, (px, py, _, i) in enumerate(pts)
    )
    body.append(f'<path d="{path}" fill="none" stroke="{VERMILLION}" stroke-width="2.2"/>')
    for px, py, tip, _ in pts:
        body.append(
            f'<g class="week-share"><title>{_e(tip)}</title><circle cx="{px:.1f}" '
            f'cy="{py:.1f}" r="3.2" fill="{VERMILLION}"/></g>'
        )
    # x axis: month starts and week starts
    for i, r in enumerate(weeks.to_dict("records")):
        if i % 2 == 0:
            body.append(
                _text(
                    left + band * i + band / 2,
                    lay.axis_y + 15,
                    f"{r['week_start']:%d %b}",
                    size=10,
                    anchor="middle",
                    fill=MUTED,
                )
            )
    body.append(
        _text(
            left + lay.pw / 2,
            lay.height - 8,
            "Week starting (ISO weeks, UTC)",
            size=12,
            anchor="middle",
            fill=MUTED,
        )
    )
    return body


def _trend_markers(lay: _TrendLayout, mk: pd.DataFrame) -> list[str]:
    """The strip's lanes (reviews, quotas, mandates) with a symbol per dated marker; a
    company-wide date also as a dashed line across the panels, labelled."""
    left, pw, top = lay.left, lay.pw, lay.top
    lanes = {"checkpoint": 0, "quota": 1, "mandate": 2}
    lane_y = {k: lay.y_strip + 10 + 18 * v for k, v in lanes.items()}
    body = []
    for kind, ly in lane_y.items():
        body.append(
            _text(
                left - 6,
                ly + 4,
                {"checkpoint": "reviews", "quota": "quotas", "mandate": "mandates"}[kind],
                size=10,
                anchor="end",
                fill=MUTED,
            )
        )
        body.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{ly:.1f}" y2="{ly:.1f}" '
            f'stroke="{GRID}" stroke-dasharray="2 3"/>'
        )
    for r in mk.to_dict("records") if len(mk) else []:
        cx = lay.xd(r["date"])
        if r["company_wide"]:
            body.append(
                f'<g class="marker"><title>{_e(r["label"])}</title>'
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top}" y2="{lay.axis_y}" '
                f'stroke="{BLACK}" stroke-width="1.3" stroke-dasharray="6 4"/></g>'
            )
            near_right = cx > left + pw - 170
            body.append(
                _text(
                    cx - 3 if near_right else cx + 3,
                    top + 10,
                    f"{r['date']:%d %b} company-wide "
                    f"{'review' if r['kind'] == 'checkpoint' else r['kind']}",
                    size=10,
                    fill=INK,
                    anchor="end" if near_right else "start",
                )
            )
        body.append(
            f'<g class="marker"><title>{_e(r["label"])}</title>'
            f"{_symbol(r['kind'], cx, lane_y[r['kind']])}</g>"
        )
    return body


# ----------------------------------------------------------------------------- 4. drivers
def drivers_chart(
    drv: pd.DataFrame, *, chart_id: str = "chart-drivers", width: int = 960
) -> Markup:
    """Horizontal bars: each signal's interaction-weighted share over the published orgs."""
    left, right, top, bottom, row = 150, 270, 14, 36, 28
    height = top + bottom + row * max(len(drv), 1)
    vals = [float(v) for v in drv["share"].dropna()]
    xmax, xstep = nice_scale(max(vals + [1.0]) * 1.05, minimum=1, max_ticks=5)
    pw = width - left - right

    def x(v):
        return left + pw * float(v) / xmax

    body = axis(
        ticks(xmax, xstep), x, along="x", span=(top, height - bottom), label_at=height - bottom + 15
    )
    body.append(
        _text(
            left + pw / 2,
            height - 6,
            "Share of interactions flagged, % (incentive signals: mean weight)",
            size=12,
            anchor="middle",
            fill=MUTED,
        )
    )
    for i, r in enumerate(drv.to_dict("records")):
        cy = top + row * i + row / 2
        colour = ORANGE if r["incentive"] else BLUE
        share = None if pd.isna(r["share"]) else float(r["share"])
        note = f"top 3 in {r['n_top']} of {r['n_orgs']} orgs" + (
            f" · measurable in {r['n_measured']}" if r["n_measured"] < r["n_orgs"] else ""
        )
        tip = (
            f"{r['label']}: "
            + (f"{share:.1f}% of interactions" if share is not None else "not measured")
            + f"; {note}"
        )
        body.append(f'<g class="driver"><title>{_e(tip)}</title>')
        body.append(_text(left - 8, cy + 4, r["label"], size=12, anchor="end"))
        if share is not None:
            body.append(
                f'<rect x="{left}" y="{cy - 8:.1f}" width="{max(x(share) - left, 1):.1f}" '
                f'height="16" fill="{colour}"/>'
            )
            body.append(_text(x(share) + 6, cy + 4, f"{share:.1f}%", size=11, weight="600"))
        else:
            body.append(_text(left + 4, cy + 4, "not measured", size=11, fill=MUTED))
        body.append(_text(left + pw + 60, cy + 4, note, size=11, fill=MUTED))
        body.append("</g>")
    desc = "; ".join(
        f"{r['label']}: "
        + (f"{r['share']:.1f}%" if not pd.isna(r["share"]) else "not measured")
        + f", top signal in {r['n_top']} orgs"
        for r in drv.to_dict("records")
    )
    return _svg(
        chart_id,
        width,
        height,
        "Which signals drive the index",
        "Interaction-weighted share of interactions each signal flagged, published orgs. "
        + desc
        + ".",
        body,
    )

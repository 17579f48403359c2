"""The report page: figures in, one self-contained HTML document out (pure).

No external resource of any kind: system font stack, inline CSS, inline SVG, no scripts.
Print styles lay it out on A4 with charts kept whole.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from html import escape

import pandas as pd

from . import charts
from .figures import QUADRANT_HINTS, signal_label


def e(text) -> str:
    return escape(str(text), quote=True)


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


CSS = """
:root { --ink:#1a1a1a; --muted:#5f5f5f; --line:#d9d9d9; --blue:#0072B2; --sky:#56B4E9;
        --verm:#D55E00; --orange:#E69F00; --green:#009E73; --purple:#CC79A7; --bg:#fafafa; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 28px 60px; background: #fff; }
h1 { font-size: 28px; line-height: 1.2; margin: 0 0 6px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-top: 10px; border-top: 2px solid var(--ink); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p { margin: 6px 0 10px; }
.sub { color: var(--muted); margin: 0 0 4px; }
.privacy { font-size: 13px; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 18px 0 10px; }
.card { border: 1px solid var(--line); border-top: 5px solid var(--blue); border-radius: 6px;
        padding: 12px 14px; background: #fff; }
.card.theater { border-top-color: var(--verm); }
.card.decoupling { border-top-color: var(--orange); }
.card.look { border-top-color: var(--ink); }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
               font-weight: 600; }
.card .big { font-size: 32px; font-weight: 750; line-height: 1.15; margin: 4px 0; }
.card .small { font-size: 13px; color: var(--muted); }
.card ul { margin: 4px 0 0; padding-left: 18px; font-size: 14px; }
.oneline { font-size: 14px; padding: 8px 12px; background: #f1f1f1; border-radius: 4px; }
.takeaways { margin: 12px 0 0; padding-left: 20px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 8px 0 14px; }
th, td { padding: 5px 7px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em;
     border-bottom: 2px solid var(--ink); }
td.tops { font-size: 12.5px; min-width: 170px; }
#org-table .org { white-space: nowrap; }
table.compact { width: auto; min-width: 60%; }
th { vertical-align: bottom; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
header code { white-space: nowrap; }
tr.suppressed td { color: var(--muted); font-style: italic; background: #f6f6f6; }
tr.hct td:first-child { border-left: 4px solid var(--verm); }
.badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 6px; border-radius: 9px;
         border: 1px solid var(--verm); color: var(--verm); white-space: nowrap; font-style: normal; }
.faint { color: var(--muted); font-size: 12px; }
.up { color: var(--verm); font-weight: 600; }
.down { color: var(--blue); font-weight: 600; }
figure { margin: 18px 0 26px; }
figcaption { font-size: 14px; color: var(--ink); margin: 0 0 6px; }
figcaption b { font-size: 16px; }
svg.chart { max-width: 100%; height: auto; display: block; }
.legend { font-size: 12.5px; color: var(--muted); margin: 4px 0 0; }
.legend span.key { display: inline-block; width: 12px; height: 12px; vertical-align: -1px;
                   margin: 0 4px 0 10px; border: 1px solid #0003; }
.callout { border-left: 6px solid var(--verm); background: #fbeee6; padding: 10px 14px; margin: 14px 0; }
dl.signals dt { font-weight: 700; margin-top: 8px; }
dl.signals dd { margin: 2px 0 0 0; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px;
       word-break: break-all; }
.heat td.n { min-width: 64px; }
footer { margin-top: 30px; font-size: 12px; color: var(--muted); }
@media (max-width: 800px) { .cards { grid-template-columns: repeat(2, 1fr); } }
@page { size: A4; margin: 12mm 11mm 14mm; }
@media print {
  body { background: #fff; font-size: 11pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, .cards, .card, .callout, tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  section.method, section.appendix { break-before: page; page-break-before: always; }
  #org-table { font-size: 8.5pt; }
  #org-table th { font-size: 7pt; }
  #org-table th, #org-table td { padding: 3px 4px; }
  td.tops { font-size: 8pt; min-width: 0; }
  .badge { font-size: 6.5pt; padding: 0 4px; }
  .card .big { font-size: 22pt; }
  .card .label { font-size: 7.5pt; }
  .card .small, .card ul { font-size: 8pt; }
  table { font-size: 9pt; }
  .cards { grid-template-columns: repeat(4, 1fr); }
}
"""


# ----------------------------------------------------------------------------- sections
def headline(f) -> str:
    share, usage, dec, cov, dq = f.share, f.usage, f.decoupling, f.coverage, f.quality
    prev = f.previous_label
    if share.value is None:
        share_big, share_small = "—", "no published org in this period"
    else:
        share_big = pct(share.value)
        interval = (f"{int(share.confidence * 100)}% interval {share.low:.1f}–{share.high:.1f}%"
                    if share.low is not None else "no interval (no user-week data)")
        share_small = (f"{interval} · of {share.n_interactions:,} interactions in "
                       f"{share.n_orgs} published orgs")
        if f.previous_share is not None and f.previous_share.value is not None:
            share_small += f" · {pct(f.previous_share.value)} in {prev}"
        elif prev is None:
            share_small += " · no previous quarter to compare"
    if usage.change is not None:
        usage_big = signed(usage.change * 100, 1, "%")
        usage_small = (f"interactions a day vs {e(usage.previous_label)}, same "
                       f"{usage.n_same_orgs} orgs · {usage.interactions:,} interactions this "
                       f"period ({usage.per_day:,.0f} a day)")
    else:
        usage_big = f"{usage.per_day:,.0f}/day"
        usage_small = (f"{usage.interactions:,} interactions this period · "
                       + ("no previous quarter in the lake to compare with"
                          if usage.previous_label is None else
                          f"no org published in both {e(usage.previous_label)} and this period"))
    if dec.n_measured:
        dec_big = f"{dec.n_decoupled} of {dec.n_measured}"
        dec_small = (f"orgs where usage rose after an AI mandate but outcomes did not follow "
                     f"({dec.share * 100:.0f}% of the orgs where this could be measured; "
                     f"not measurable in {dec.n_published - dec.n_measured})")
    else:
        dec_big = "n/a"
        dec_small = ("outcome decoupling could not be measured this period (no mandate with "
                     "enough weeks before and after, or too few people with outcomes)")
    look = f.look
    look_items = "".join(f"<li>{e(x)}</li>" for x in look["items"])
    dq_text = (f"{dq.total} data-quality checks: {dq.passed} passed, {dq.warnings} warning(s), "
               f"{dq.failed} failed" if dq.total else "no data-quality results recorded")
    cov_text = (f"{cov.n_published} of {cov.n_orgs} orgs published "
                f"({cov.n_suppressed} suppressed for privacy)"
                + (f" · signals measurable {cov.signal_coverage * 100:.0f}% on average"
                   if cov.signal_coverage is not None else ""))
    data_share = ""
    if share.value is not None:
        data_share = (f' data-value="{share.value:.4f}"'
                      + (f' data-low="{share.low:.4f}" data-high="{share.high:.4f}"'
                         if share.low is not None else ""))
    return f"""
<section id="headline" aria-label="Headline">
  <div class="cards">
    <div class="card theater" id="headline-share"{data_share}>
      <div class="label">Theater share, company</div>
      <div class="big">{share_big}</div>
      <div class="small">{share_small}</div>
    </div>
    <div class="card usage" id="headline-usage" data-interactions="{usage.interactions}"
         data-change="{'' if usage.change is None else f'{usage.change:.6f}'}">
      <div class="label">Usage vs last quarter</div>
      <div class="big">{usage_big}</div>
      <div class="small">{usage_small}</div>
    </div>
    <div class="card decoupling" id="headline-decoupling" data-measured="{dec.n_measured}"
         data-decoupled="{dec.n_decoupled}">
      <div class="label">Outcome decoupling</div>
      <div class="big">{dec_big}</div>
      <div class="small">{dec_small}</div>
    </div>
    <div class="card look" id="headline-look">
      <div class="label">{e(look["title"])}</div>
      <ul>{look_items}</ul>
    </div>
  </div>
  <p class="oneline" id="headline-quality"><b>Coverage and quality:</b> {cov_text} ·
     {dq_text}.</p>
  <ul class="takeaways">{''.join(f'<li>{t}</li>' for t in f.takeaways)}</ul>
</section>"""


def org_table_html(f) -> str:
    rows = []
    prev = f.previous_label
    for r in f.table.to_dict("records"):
        org = e(r["org_id"])
        if r["suppressed"]:
            rows.append(f'<tr class="suppressed" data-org="{org}"><td><span class="org">{org}'
                        f'</span></td>'
                        f'<td colspan="9">suppressed: too few people, or one person accounts for '
                        f'most of the use; no figures are published</td></tr>')
            continue
        rank = ("—" if r["rank_low"] is None else
                f"{int(r['rank_low'])}" if r["rank_low"] == r["rank_high"] else
                f"{int(r['rank_low'])}–{int(r['rank_high'])}")
        tops = ", ".join(signal_label(s) for s in r["top_signals"]) or "—"
        ratio = (f'ratio {num(r["outcome_decoupling"], 2)} (interval '
                 f'{num(r["outcome_decoupling_low"], 2)} to {num(r["outcome_decoupling_high"], 2)})')
        if r["decoupled"] is True:
            dec = f'<b title="{e(ratio)}">yes</b>'
        elif r["decoupled"] is False:
            dec = f'<span title="{e(ratio)}">no</span>'
        else:
            dec = '<span class="faint">n/a</span>'
        if prev is None:
            change = '<span class="faint">—</span>'
        elif r["change"] is None:
            change = '<span class="faint">new</span>'
        else:
            cls = "up" if r["change"] > 0 else "down"
            change = (f'<span class="{cls if r["change_clear"] else ""}">'
                      f'{signed(r["change"])}</span>'
                      + ('' if r["change_clear"] else '<br><span class="faint">within noise</span>'))
        badge = (' <span class="badge" title="top-quartile index and usage rose without outcomes">'
                 'high-confidence theater</span>' if r["high_confidence_theater"] else "")
        rows.append(
            f'<tr class="{"hct" if r["high_confidence_theater"] else ""}" data-org="{org}" '
            f'data-index="{r["theater_index"]:.2f}">'
            f'<td><span class="org">{org}</span>{badge}</td>'
            f'<td class="n"><b>{num(r["theater_index"])}</b></td>'
            f'<td class="n">{num(r["ci_low"])}–{num(r["ci_high"])}</td>'
            f'<td class="n">{rank}</td>'
            f'<td class="n">{count(r["n_users"])}</td>'
            f'<td class="n">{count(r["n_interactions"])}</td>'
            f'<td class="n">{num(r["per_user_week"])}</td>'
            f'<td class="tops">{e(tops)}</td><td>{dec}</td><td class="n">{change}</td></tr>')
    conf = int(f.share.confidence * 100)
    return f"""
<section id="orgs" aria-label="Orgs">
  <h2>Orgs, highest theater index first</h2>
  <p>Index: share of the org's measured AI interactions that were performative (0–100).
     Interval: {conf}% uncertainty range. Rank band: the ranks the org takes under reasonable
     changes to the method; orgs whose bands overlap should not be told apart.
     Per user a week: interactions per person and week. Decoupled: usage rose after an AI
     mandate without outcomes following (n/a: no mandate or too few people to tell; ratios in
     the appendix). Last column: index points against
     {e(prev) if prev else "the previous quarter (none in the lake)"}, coloured only when the
     two quarters' intervals do not overlap; "new": not published then.</p>
  <table id="org-table">
    <thead><tr><th>Org</th><th class="n">Index</th><th class="n">{conf}% interval</th>
      <th class="n">Rank band</th><th class="n">Users</th><th class="n">Interactions</th>
      <th class="n">Per user a week</th><th>Top signals</th><th>Decoupled</th>
      <th class="n">vs {e(prev) if prev else "last quarter"}</th></tr></thead>
    <tbody>{''.join(rows)}</tbody>
  </table>
</section>"""


def legend(items) -> str:
    return '<p class="legend">' + "".join(
        f'<span class="key" style="background:{c}"></span>{e(t)}' for c, t in items) + "</p>"


def charts_html(f) -> str:
    q = f.quadrant
    return f"""
<section id="charts" aria-label="Charts">
  <h2>Charts</h2>
  <figure id="fig-index">
    <figcaption><b>1. Theater index per org.</b> Dots are the index, bars the
      {int(f.share.confidence * 100)}% interval; the dashed line is the company-level share.
      Overlapping bars mean the orgs cannot be told apart.</figcaption>
    {charts.index_chart(f.table, f.share.value)}
    {legend([(charts.BLUE, "index"), (charts.SKY, "interval"),
             (charts.VERMILLION, "high-confidence theater (diamond) / company share (dashed)")])}
  </figure>
  <figure id="fig-quadrant">
    <figcaption><b>2. Usage versus value.</b> Right: orgs that use AI more than the median org;
      top: orgs whose use is more performative than the company as a whole.
      {e(", ".join(f"{k}: {v}" for k, v in QUADRANT_HINTS.items()))}.</figcaption>
    {charts.quadrant_chart(q)}
    {legend([(charts.BLUE, "org"), (charts.VERMILLION, "usage rose without outcomes (diamond)")])}
  </figure>
  <figure id="fig-trend">
    <figcaption><b>3. Weekly usage and theater share.</b> Published orgs together. Review
      checkpoints, quota starts and AI mandates are marked: theater that rises just before
      reviews or after a quota points at the incentive, not at the people.</figcaption>
    {charts.trend_chart(f.weeks, f.markers)}
    {legend([(charts.BLUE, "interactions per day"), (charts.VERMILLION, "theater share"),
             (charts.PURPLE, "review checkpoint (triangle)"),
             (charts.GREEN, "quota starts or changes (square)"),
             (charts.ORANGE, "AI mandate (circle)"),
             (charts.BLACK, "company-wide date (dashed line)")])}
  </figure>
  <figure id="fig-drivers">
    <figcaption><b>4. Which signals drive the index.</b> Share of all the published orgs'
      interactions that each signal flagged (one interaction can raise several signals; where a
      signal cannot be measured it adds nothing).</figcaption>
    {charts.drivers_chart(f.drivers)}
    {legend([(charts.BLUE, "behaviour signal"), (charts.ORANGE, "incentive signal")])}
  </figure>
</section>"""


def method_html(f) -> str:
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
    names = list(f.drivers["signal"])
    dl = "".join(f"<dt>{e(signal_label(n))}</dt><dd>{e(signals.get(n, 'See the methodology.'))}"
                 f"</dd>" for n in names)
    conf = int(f.share.confidence * 100)
    dq_rows = "".join(
        f"<tr><td>{e(r['table'])}</td><td class='n'>{r['checks']}</td><td class='n'>{r['passed']}"
        f"</td><td class='n'>{r['warnings']}</td><td class='n'>{r['failed']}</td></tr>"
        for r in f.quality.by_table.to_dict("records"))
    dq_table = (f"""<table id="dq-table" class="compact"><thead><tr><th>Table</th><th class="n">Checks</th>
      <th class="n">Passed</th><th class="n">Warnings</th><th class="n">Failed</th></tr></thead>
      <tbody>{dq_rows}</tbody></table>""" if f.quality.total else
                "<p>No data-quality results were recorded for this run.</p>")
    return f"""
<section id="method" class="method" aria-label="Method and caveats">
  <h2>Method and caveats, in plain words</h2>
  <div class="callout" id="not-for-individuals"><b>Never use this report to rank, assess or
    single out individuals.</b> The index describes how a group's AI use responds to targets and
    reviews; it is built to measure incentives, not people. It is published for groups of at
    least {s['min_users']} people, and never where one person accounts for more than
    {s['dominance_share'] * 100:.0f}% of the use.</div>
  <h3>What the index is</h3>
  <p>Every AI interaction gets a probability of being theater from the signals below; an org's
    index is the average of that probability over all its interactions in the period, times 100.
    An index of 20 means about a fifth of the measured use was performative. Nothing is
    subtracted as a baseline: some unused answers are normal, so a low index is not zero.</p>
  <h3>The signals</h3>
  <dl class="signals">{dl}</dl>
  <h3>What the interval means</h3>
  <p>The interval is a {conf}% uncertainty range from a user-clustered bootstrap: the org's
    people are resampled many times ({s['replicates']} replicates in the scoring run) and the
    index recomputed; the interval holds the middle {conf}% of the results.
    <span id="interval-note">{e(f.interval_note)}</span> The company-level share pools every
    interaction of the published orgs
    (so large orgs weigh more) and its interval is the same bootstrap over all their people
    ({f.share.replicates} replicates, computed for this report from the user-week table).
    Suppressed orgs are left out of every company figure.</p>
  <h3>Outcome decoupling and the quadrants</h3>
  <p>Where an org announced an AI mandate during the period, usage and work outcomes (cycle
    time, reopened and escalated work) are compared before and after it, per person, against
    orgs without a mandate. <i>Decoupled</i> means usage clearly rose but outcomes did not
    improve with it. The quadrant chart splits orgs at the median usage intensity and at the
    company-level theater share; the names describe the pattern, not the people.</p>
  <h3>Caveats</h3>
  <ul>
    <li>The signals are behavioural proxies. They catch patterns typical of usage performed for
      a metric; an individual interaction can be flagged for innocent reasons.</li>
    <li>Signals need fields that not every tool reports; a signal that cannot be measured for an
      org counts as "not measurable", never as zero (see signal coverage below).</li>
    <li>Changes between quarters smaller than the intervals are marked "within noise".</li>
    <li>Rank bands, not ranks: orgs with overlapping bands are not meaningfully different.</li>
  </ul>
  <h3>Data quality</h3>
  <p>Every table the figures rest on was validated before it was written
    (Great Expectations suites). {f.quality.passed} of {f.quality.total} checks passed,
    {f.quality.warnings} warning(s), {f.quality.failed} failure(s). Signal coverage across
    published orgs: {('%.0f%%' % (f.coverage.signal_coverage * 100))
                     if f.coverage.signal_coverage is not None else 'unknown'}.</p>
  {dq_table}
</section>"""


def provenance_html(f) -> str:
    runs = []
    by_id = {r.run_id: r for r in f.runs}
    for rid in f.run_ids:
        rec = by_id.get(rid)
        if rec is None:
            runs.append(f"<li>Run <code>{e(rid)}</code>: no MLflow record found in the configured "
                        f"tracking store (figures come from the gold tables only).</li>")
            continue
        started = (datetime.fromtimestamp(rec.start_time / 1000, timezone.utc)
                   .strftime("%Y-%m-%d %H:%M UTC") if rec.start_time else "?")
        p = rec.params
        runs.append(f"<li>MLflow run <code>{e(rid)}</code> ({e(rec.status)}, started {started}; "
                    f"engine {e(p.get('engine', '?'))}, code {e(p.get('code_version', '?'))} "
                    f"at commit <code>{e(p.get('git_commit', '?'))[:12]}</code>; "
                    f"tracking store <code>{e(rec.tracking_uri)}</code>)</li>")
    lineage: dict[str, dict[str, list[str]]] = {}
    for rec in f.runs:
        for key, v in rec.lineage().items():
            if key.count(".") < 2:
                continue
            stage, direction, table = key.split(".", 2)
            slot = lineage.setdefault(table, {"inputs": [], "outputs": []})
            slot.setdefault(direction, []).append(f"{stage} v{v}")
    lineage_rows = "".join(
        f"<tr><td>{e(t)}</td><td>{e(', '.join(d.get('outputs', [])) or '—')}</td>"
        f"<td>{e(', '.join(d.get('inputs', [])) or '—')}</td></tr>"
        for t, d in sorted(lineage.items()))
    lineage = (f"""<table id="lineage-table" class="compact"><thead><tr><th>Table</th>
      <th>Written by (stage, Delta version)</th><th>Read by (stage, Delta version)</th></tr>
      </thead><tbody>{lineage_rows}</tbody></table>""" if lineage_rows else
               "<p>No lineage recorded (tracking disabled or the run is not in this tracking "
               "store).</p>")
    read_rows = "".join(
        f"<tr><td>{e(t)}</td><td>{e(f.formats.get(t) or 'absent')}</td>"
        f"<td class='n'>{'—' if v is None else v}</td></tr>" for t, v in f.versions.items())
    return f"""
<section id="provenance" aria-label="Provenance">
  <h2>Where these numbers come from</h2>
  <p>Every figure comes from the gold tables of the lake <code>{e(f.lake)}</code> and the
    scoring run's MLflow record; the company-level interval is computed for this report from
    <code>gold/user_weeks</code>.</p>
  <ul id="runs">{''.join(runs)}</ul>
  <h3>Data versions used by the run</h3>
  {lineage}
  <h3>Table versions read by this report</h3>
  <table id="versions-table" class="compact"><thead><tr><th>Table</th><th>Format</th><th class="n">Version</th>
    </tr></thead><tbody>{read_rows}</tbody></table>
  <p class="faint">Method settings from the {e(f.settings['source'])}:
    bootstrap {f.settings['replicates']} replicates at {int(f.settings['confidence'] * 100)}%,
    k = {f.settings['min_users']}, dominance {f.settings['dominance_share']:g},
    theater threshold {f.settings['threshold']:g}.</p>
</section>"""


def appendix_html(f) -> str:
    q = f.quadrant.points
    qrows = "".join(f"<tr><td>{e(r['org_id'])}</td><td class='n'>{r['usage']:.1f}</td>"
                    f"<td class='n'>{r['theater_index']:.1f}</td><td>{e(r['quadrant'])}</td>"
                    f"<td>{'yes' if r['decoupled'] is True else 'no' if r['decoupled'] is False else '—'}"
                    f"</td></tr>" for r in q.to_dict("records"))
    wrows = "".join(f"<tr><td>{r['week_start']:%Y-%m-%d}</td><td class='n'>{r['days']}</td>"
                    f"<td class='n'>{r['n_interactions']:,}</td><td class='n'>{r['per_day']:,.0f}"
                    f"</td><td class='n'>{r['theater_share']:.1f}%</td></tr>"
                    for r in f.weeks.to_dict("records"))
    mrows = "".join(f"<li>{e(lbl)}</li>" for lbl in f.markers["label"]) or "<li>none</li>"
    drows = "".join(f"<tr><td>{e(r['label'])}</td><td class='n'>{pct(r['share'])}</td>"
                    f"<td class='n'>{r['n_top']}</td><td class='n'>{r['n_measured']} of "
                    f"{r['n_orgs']}</td></tr>" for r in f.drivers.to_dict("records"))
    dec = f.table[~f.table["suppressed"] & f.table["decoupled"].notna()]
    decrows = "".join(
        f"<tr><td>{e(r['org_id'])}</td><td class='n'>{num(r['usage_change'], 2)}</td>"
        f"<td class='n'>{num(r['outcome_change'], 3)}</td>"
        f"<td class='n'>{num(r['outcome_decoupling'], 2)}</td>"
        f"<td class='n'>{num(r['outcome_decoupling_low'], 2)} to "
        f"{num(r['outcome_decoupling_high'], 2)}</td>"
        f"<td>{'yes' if r['decoupled'] else 'no'}</td></tr>" for r in dec.to_dict("records"))
    dec_table = (f"""<table id="decoupling-table"><thead><tr><th>Org</th>
      <th class="n">Usage change (interactions per user a week)</th>
      <th class="n">Outcome change (SD units)</th><th class="n">Outcome per extra interaction
      </th><th class="n">{int(f.share.confidence * 100)}% interval</th><th>Decoupled</th></tr>
      </thead><tbody>{decrows}</tbody></table>""" if len(dec) else
                 "<p>Outcome decoupling could not be measured for any published org.</p>")
    m = f.matrix
    head = "".join(f"<th class='n'>{e(signal_label(c))}</th>" for c in m.columns)

    def cell(v):
        if pd.isna(v):
            return "<td class='n faint'>n/a</td>"
        a = min(max(v / 40.0, 0.0), 1.0)   # 40% and above: full colour
        return (f"<td class='n' style='background:rgba(213,94,0,{a * 0.55:.2f})'>{v:.1f}</td>")

    hrows = "".join(f"<tr><td>{e(org)}</td>{''.join(cell(v) for v in row)}</tr>"
                    for org, row in zip(m.index, m.to_numpy()))
    return f"""
<section id="appendix" class="appendix" aria-label="Chart data">
  <h2>Appendix: the numbers behind the charts</h2>
  <p>Chart 1 uses the org table above. Chart 2:</p>
  <table id="quadrant-table"><thead><tr><th>Org</th><th class="n">Interactions per user a week
    </th><th class="n">Index</th><th>Quadrant</th><th>Decoupled</th></tr></thead>
    <tbody>{qrows}</tbody></table>
  <p>Chart 3, weekly (published orgs together; days = days of the week inside the period):</p>
  <table id="weekly-table"><thead><tr><th>Week starting</th><th class="n">Days</th>
    <th class="n">Interactions</th><th class="n">Per day</th><th class="n">Theater share</th>
    </tr></thead><tbody>{wrows}</tbody></table>
  <p>Marked dates:</p><ul id="marker-list">{mrows}</ul>
  <p>Chart 4, signals (share of all interactions of the published orgs):</p>
  <table id="drivers-table"><thead><tr><th>Signal</th><th class="n">Share of interactions</th>
    <th class="n">Top signal in (orgs)</th><th class="n">Measurable in (orgs)</th></tr></thead>
    <tbody>{drows}</tbody></table>
  <p>Outcome decoupling, orgs where it could be measured (changes since the mandate, against
    orgs without one):</p>
  {dec_table}
  <p>Signals per org (% of the org's measurable interactions; darker = higher):</p>
  <table id="signal-matrix" class="heat"><thead><tr><th>Org</th>{head}</tr></thead>
    <tbody>{hrows}</tbody></table>
</section>"""


def render(f) -> str:
    """The whole page for the figures ``f`` (a :class:`theater.report.build.Figures`)."""
    p = f.period
    title = f"AI adoption or adoption theater? {p.label}"
    period_text = f"{day(p.start)} – {day(date.fromordinal(p.end.toordinal() - 1))}"
    runs = ", ".join(f"<code>{e(r)}</code>" for r in f.run_ids)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
  <h1>{e(title)}</h1>
  <p class="sub">Quarterly executive report · {e(period_text)} · {f.coverage.n_published} orgs
    published · generated {e(f.generated_at)} · run {runs}</p>
  <p class="privacy">Org-level figures only; small groups are suppressed. Not for ranking or
    assessing individuals.</p>
</header>
{headline(f)}
{org_table_html(f)}
{charts_html(f)}
{method_html(f)}
{provenance_html(f)}
{appendix_html(f)}
<footer>theater-index · theater index v1 · {e(p.label)} · report generated {e(f.generated_at)}
</footer>
</main>
</body>
</html>
"""

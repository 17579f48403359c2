"""What the CLI prints: the org table, run summaries, outputs, run lists and diffs.

Pure formatting of results the pipeline and the tracking store return; no Spark here.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from .pipeline import STAGES

INCENTIVE_LABEL = "incentive (lower bound, aggregates)"


def _incentive_label(basis: str | None) -> str:
    return INCENTIVE_LABEL if "aggregates" in (basis or "") else "incentive (lower bound, events)"


def _count(n) -> str:
    """A count, or "n/a" when no source measured it (unknown is never 0)."""
    return "n/a" if n is None else f"{n:,}"


def _interval(low, high) -> str:
    return f"[{low:.1f}, {high:.1f}]" if low is not None and high is not None else "-"


def format_org_table(
    rows: list[dict], note: str | None = None, export_requests: dict | None = None
) -> str:
    """One line per org. A null theater index is "n/a (not measurable)" with its reason, never
    0; an org without a measurable theater index but with an incentive index shows that figure
    labelled for what it is, a lower bound from aggregates. Published orgs with both get a
    second line for the incentive index. ``export_requests``: per org, the requests vendor
    aggregates reported (gold/org_adoption), shown beside the interactions."""
    export_requests = export_requests or {}
    head = (
        f"{'org':<14}{'index':>7}  {'90% interval':<15}{'users':>6}{'interactions':>14}"
        f"{'export req':>12}  top signals"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        if r["suppressed"]:
            lines.append(
                f"{r['org_id']:<14}{'—':>7}  {'suppressed':<15}{'':>6}"
                f"{'':>14}{'':>12}  ({r['suppression_reason']})"
            )
            continue
        users = r.get("n_users")
        users = "—" if users is None else users  # org-level exports: no person is counted
        n = r.get("n_interactions") or 0
        req = export_requests.get(r["org_id"])
        req_s = f"{req:>12,}" if req is not None else f"{'—':>12}"
        inc = r.get("incentive_index")
        inc_ci = _interval(r.get("incentive_ci_low"), r.get("incentive_ci_high"))
        if r.get("theater_index") is None:
            reason = r.get("not_measurable_reason") or "no measured interactions"
            lines.append(
                f"{r['org_id']:<14}{'n/a':>7}  {'(not measurable)':<15}{users:>6}{n:>14,}"
                f"{req_s}  {reason}"
            )
            if inc is not None:
                lines.append(
                    f"{'':<14}{inc:>7.1f}  {inc_ci:<15}{'':>6}{'':>14}{'':>12}  "
                    f"{_incentive_label(r.get('incentive_basis'))}; "
                    f"sources {', '.join(r.get('sources') or []) or '-'}"
                )
            continue
        ci = _interval(r["ci_low"], r["ci_high"])
        top = ", ".join(r["top_signals"] or []) or "-"
        lines.append(
            f"{r['org_id']:<14}{r['theater_index']:>7.1f}  {ci:<15}{users:>6}{n:>14,}{req_s}  {top}"
        )
        if inc is not None and "aggregates" in (r.get("incentive_basis") or ""):
            lines.append(
                f"{'':<14}{inc:>7.1f}  {inc_ci:<15}{'':>6}{'':>14}{'':>12}  "
                f"{INCENTIVE_LABEL}; basis {r.get('incentive_basis')}"
            )
    if note:  # what the interval covers (theater.audit.explain)
        lines += ["", note]
    return "\n".join(lines)


def print_outputs(results: dict) -> None:
    lake = results["lake"]
    print("\nOutputs (Delta tables unless table_format=parquet):")
    for t in (
        "bronze/interactions",
        "bronze/quarantine",
        "silver/interactions",
        "gold/interaction_labels",
        "gold/user_weeks",
        "gold/org_theater_index",
        "gold/org_adoption",
    ):
        print(f"  {t:<26} {os.path.join(lake, t)}")
    docs = os.path.join(lake, "ops", "data_docs", "summary.html")
    if os.path.exists(docs):
        print(f"  {'data-quality docs':<26} {docs}  (GX pages: ops/data_docs/index.html)")


def print_summary(results: dict) -> None:
    if "ingest" in results:
        _print_ingest(results["ingest"])
    if "refine" in results:
        _print_refine(results["refine"])
    if "score" in results:
        _print_score(results)
    dq = [r for st in STAGES for r in (results.get(st) or {}).get("dq", [])]
    if dq:
        from .quality import summary_lines

        print("\nData quality (Great Expectations), per table:")
        for line in summary_lines(dq):
            print("  " + line)
    print_outputs(results)
    if results.get("mlflow"):
        print(f"\nMLflow run {results['run_id']} (experiment theater-index)")
        print(
            f"  open it:  mlflow ui --backend-store-uri {results['tracking_uri']}  "
            "(then http://127.0.0.1:5000)"
        )
        print(f"  reproduce: theater rescore --run-id {results['run_id']}")
    print(f"\ntotal {results['seconds']}s")


def _print_ingest(i: dict) -> None:
    """Files loaded, skipped and rejected; rows loaded and quarantined, per export format."""
    print(
        f"ingest: {i['files_new']} new file(s), {i['files_skipped_already_loaded']} already "
        f"loaded; rows loaded {sum(i['rows_loaded'].values()):,}, quarantined "
        f"{sum(i['rows_quarantined'].values()):,}"
    )
    if i.get("files_skipped_rejected_unchanged"):
        print(
            f"  {i['files_skipped_rejected_unchanged']} file(s) rejected before and unchanged "
            "(retried when their content changes)"
        )
    for f in i.get("files_rejected", []):
        print(f"  warning: rejected {f['file']}: {f['reason']}")
    orgs = sorted({o["org"] for o in i.get("org_folders_rejected", [])})
    if orgs:
        print("  warning: org folders not in the directory: " + ", ".join(map(repr, orgs)))
    per_file: dict = {}
    for key, n in sorted((i.get("rows_vendor") or {}).items()):
        dataset, table = key.rsplit(":", 1)
        per_file.setdefault(dataset, []).append(f"{table} {n:,}")
    for dataset, parts in per_file.items():
        print(f"  {dataset}: " + ", ".join(parts))
    for f in i.get("files_skipped", []):
        print(f"  warning: skipped {f['file']}: {f['reason']}")


def _print_refine(r: dict) -> None:
    """Silver rows of the period; orgs and identities of the vendor exports."""
    print(
        f"refine: {r['silver_interactions']:,} silver interactions in the period, "
        f"{r['unresolved_org']:,} with unresolved org"
    )
    if r.get("silver_user_days") is not None:
        print(
            f"  vendor aggregates: {r['silver_user_days']:,} user-day/person-week rows in "
            "silver/user_days for the period"
        )
    for fmt, orgs in sorted((r.get("orgs_from_export") or {}).items()):
        print(
            f"  orgs from the export {fmt} (no directory row for those users): " + ", ".join(orgs)
        )
    for fmt, n in sorted((r.get("user_days_without_org") or {}).items()):
        print(
            f"  warning: {fmt}: {n:,} user-day rows have no org; add the users to "
            "landing/directory/ or map their aliases in landing/identities/"
        )
    for fmt, c in sorted((r.get("identity_coverage") or {}).items()):
        if c["unmapped"] > 0:
            print(
                f"  identities {fmt}: {c['unmapped']:,} of {c['aliases']:,} unmapped "
                f"({c['rows_unmapped']:,} rows left out)"
            )
        conflicts = [
            f"{c[k]:,} {what}" + (f" ({c['rows_' + k]:,} rows left out)" if rows else "")
            for k, what, rows in (
                ("ambiguous", "ambiguous (mapped to several people)", True),
                ("conflicting", "conflicting with the directory", True),
                ("unknown_user", "mapped to a user not in the directory (kept)", False),
                ("several_aliases", "people under several aliases (summed)", False),
            )
            if c.get(k)
        ]
        if conflicts:
            print(f"  identities {fmt}: " + "; ".join(conflicts))


def _print_score(results: dict) -> None:
    """Labelled and flagged interactions, usage, the org table."""
    s = results["score"]
    print(
        f"score: {s['labelled_interactions']:,} interactions labelled, "
        f"{s['flagged_interactions']:,} flagged as theater; {s['orgs']} orgs "
        f"({s['orgs_suppressed']} suppressed)"
    )
    a = s.get("adoption") or {}
    if a.get("orgs_published"):
        by_source = ", ".join(f"{k} {v:,}" for k, v in sorted(a["by_source"].items()))
        print(
            f"usage (gold/org_adoption, {a['orgs_published']} published orgs): "
            f"{_count(a.get('active_users'))} active people, "
            f"{_count(a.get('engaged_users'))} engaged, {_count(a.get('requests'))} requests"
            + (f" (by source: {by_source})" if by_source else "")
        )
    print()
    from .audit.explain import interval_sentence, lake_rates

    print(
        format_org_table(
            results["orgs"],
            interval_sentence(results["orgs"], lake_rates(results["lake"])),
            a.get("export_requests_by_org"),
        )
    )


def print_report_result(period, result) -> None:
    f = result.figures
    if f is None:  # org-level exports only: usage, no index
        orgs = result.org_level["org_id"].nunique() if result.org_level is not None else 0
        n_est = getattr(result, "org_level_estimates", 0)
        what = (
            f"{n_est} orgs with a theater share estimated from org-level totals (wide intervals)"
            if n_est
            else "no org index (org-level exports measure no person)"
        )
        print(f"report {period.label}: org-level exports only ({orgs} orgs): usage shown, {what}")
        print(f"  html: {result.path.resolve()}")
        return
    share = (
        f"{f.share.value:.1f}% [{f.share.low:.1f}, {f.share.high:.1f}]"
        if f.share.value is not None and f.share.low is not None
        else "n/a"
        if f.share.value is None
        else f"{f.share.value:.1f}%"
    )
    print(
        f"report {period.label}: {f.coverage.n_published} orgs published, "
        f"{f.coverage.n_suppressed} suppressed; company theater share {share}; "
        f"previous period: {f.previous_label or 'none in the lake'}"
    )
    print(f"  html: {result.path.resolve()}")
    if result.pdf:
        print(f"  pdf:  {result.pdf}")
    if result.logged_run:
        print(f"  logged to MLflow run {result.logged_run} (artifacts report/)")
    for note in result.notes:
        print(f"  note: {note}")


def print_rescore(run_id: str, same: bool, diffs: list[str]) -> None:
    if same:
        print(
            f"rescore {run_id}: identical: every org's index, interval, counts, "
            "signals, outcome decoupling and rank band match the published run"
        )
        return
    print(f"rescore {run_id}: {len(diffs)} difference(s)")
    for d in diffs:
        print("  " + d)


def print_runs(runs) -> None:
    print(
        f"{'run id':<34}{'started (UTC)':<21}{'period':<24}{'status':<10}{'mean index':>11}{'orgs':>6}"
    )
    for r in runs:
        started = datetime.fromtimestamp(r.info.start_time / 1000, timezone.utc)
        m = r.data.metrics
        mean = f"{m['index_mean']:.1f}" if "index_mean" in m else "-"
        orgs = (
            f"{int(m['orgs_scored'] + m.get('orgs_suppressed', 0))}" if "orgs_scored" in m else "-"
        )
        period = f"{r.data.params.get('period_start', '?')}..{r.data.params.get('period_end', '?')}"
        print(
            f"{r.info.run_id:<34}{started:%Y-%m-%d %H:%M:%S}  {period:<24}"
            f"{r.info.status:<10}{mean:>11}{orgs:>6}"
        )
    if not runs:
        print("(no tracked runs yet)")


def print_runs_diff(a, b, pa: dict, pb: dict) -> None:
    """``a``/``b``: org index tables (pandas) of two runs; ``pa``/``pb``: their params."""
    m = a.merge(b, on="org_id", how="outer", suffixes=("_a", "_b"))
    m["change"] = m["theater_index_b"] - m["theater_index_a"]
    moved = m[m["change"].abs() > 0].sort_values("change", key=lambda s: -s.abs())
    print(f"orgs: {len(a)} in A, {len(b)} in B; {len(moved)} moved")
    for _, r in moved.iterrows():
        print(
            f"  {r.org_id:<14} {r.theater_index_a:>6.1f} -> {r.theater_index_b:>6.1f}  ({r.change:+.1f})"
        )
    keys = sorted(
        k for k in set(pa) | set(pb) if k.startswith(("cfg.", "period")) and pa.get(k) != pb.get(k)
    )
    print(f"configuration keys that differ: {len(keys)}")
    for k in keys:
        print(f"  {k}: {pa.get(k)} -> {pb.get(k)}")


def print_vendor_generated(summary: dict, period, out, seconds: float) -> None:
    from pathlib import Path

    counts = summary["formats"]
    print(
        f"generated {summary['native_interactions']:,} interactions for {period} in "
        f"{seconds:.1f}s, delivered as vendor exports in {len(counts)} formats "
        f"({sum(c['files'] for c in counts.values())} files)"
    )
    print(
        f"  landing zone: {Path(out) / 'landing'}  (vendor/, identities/, directory/, "
        "work_items/, policies/)"
    )
    print(f"  ground truth: {Path(out) / 'truth'}  (vendor_counts.json: expected bronze rows)")


def print_formats(formats: list[dict]) -> None:
    """The ``theater formats`` table (from ``theater.sources.exports.describe``)."""
    w = max([28] + [len(f["name"]) + 2 for f in formats])  # names never run into the grain
    head = f"{'format':<{w}}{'grain':<13}{'required fields':<58}signals it can feed"
    print(head)
    print("-" * (102 + w))
    for f in formats:
        req = ", ".join(f["required"]) or "-"
        sig = ", ".join(f"{k}({v})" if v != "Y" else k for k, v in f["signals"].items()) or "-"
        print(f"{f['name']:<{w}}{f['grain']:<13}{req:<57} {sig}")
    print(
        "\nsignals: derived from the fields each format's mapper fills and the fields each "
        "signal reads (theater.sources.exports.claims); (A) = approximate from this grain;\n"
        "(O) = an org-level figure only, no person's (theater.signals.org_acceptance).\n"
        "An org's published figure rests on its per-interaction signals or on its acceptance "
        "counts ((A), and events that report a use decision), whichever reads more of its usage\n"
        "(the per-interaction signals whenever they measure at least half of it).\n"
        "Put files under landing/vendor/<format>/ (org-level formats: "
        "landing/vendor/<format>/<org_id>/)."
    )


def print_inspections(results: list[dict]) -> None:
    """``theater inspect``: what each file is (from ``theater.sources.exports.inspect``)."""
    for r in results:
        print(r["path"])
        if r["error"]:
            print(f"  cannot be read: {r['error']}")
            if not r["format"]:
                continue
        if not r["format"]:
            print(f"  format: not recognised ({r['records']:,} record(s)); see `theater formats`")
        else:
            print(
                f"  format: {r['format']} (grain {r['grain']}); put it under "
                f"landing/vendor/{r['format']}/"
            )
        print(
            f"  records: {r['records']:,}, bad: {r['bad_records']:,}"
            + (
                " (" + ", ".join(f"{k} {v:,}" for k, v in r["bad_reasons"].items()) + ")"
                if r["bad_reasons"]
                else ""
            )
        )
        if r["rows"]:
            print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in r["rows"].items()))
        if r["date_min"]:
            print(f"  dates: {r['date_min']} .. {r['date_max']}")
        if r["identity_kinds"]:
            print(f"  identities: {', '.join(r['identity_kinds'])} ({r['users']:,} distinct)")

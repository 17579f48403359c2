"""Command line: ``theater demo | generate | run``.

Exit codes: 0 success, 1 failure, 2 usage or configuration error, 3 a data-quality gate failed.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

from .config import Config, ConfigError, load_config
from .errors import DataQualityError
from .period import Period, PeriodError

log = logging.getLogger("theater")

STAGES = ("ingest", "refine", "score")
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_DQ = 0, 1, 2, 3


def _setup_logging(verbose: bool) -> None:
    level = os.environ.get("THEATER_LOG_LEVEL", "DEBUG" if verbose else "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    for noisy in ("py4j", "pyspark", "urllib3", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conf", help="extra YAML configuration file (overrides conf/<env>.yaml)")
    p.add_argument("--env", choices=["local", "cluster"], help="environment file to layer")
    p.add_argument("--engine", choices=["sail", "spark", "remote"], help="execution engine")
    p.add_argument("--table-format", choices=["delta", "parquet"], dest="table_format")
    p.add_argument("-v", "--verbose", action="store_true")


def _period_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quarter", help="period as YYYYQn, e.g. 2026Q3")
    p.add_argument("--start", help="period start date, inclusive (YYYY-MM-DD)")
    p.add_argument("--end", help="period end date, exclusive (YYYY-MM-DD)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="theater", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate a sample quarter, run every stage, show results")
    _common(demo)
    demo.add_argument("--out", default="data/demo", help="folder for landing zone, truth, lake")
    demo.add_argument("--seed", type=int)
    demo.add_argument("--orgs", type=int)
    demo.add_argument("--users", type=int)

    gen = sub.add_parser("generate", help="write a synthetic landing zone and truth/")
    _common(gen)
    gen.add_argument("--out", required=True, help="output folder (landing/ and truth/)")
    gen.add_argument("--seed", type=int)
    gen.add_argument("--orgs", type=int)
    gen.add_argument("--users", type=int)
    _period_args(gen)
    gen.add_argument("--dirty", action="store_true",
                     help="add duplicate deliveries and malformed records (listed in truth/)")
    gen.add_argument("--formats", choices=["mixed", "parquet"], default="mixed")
    gen.add_argument("--rate-scale", type=float, default=1.0, dest="rate_scale")

    run = sub.add_parser("run", help="run pipeline stages for a period")
    _common(run)
    run.add_argument("--landing", help="landing zone folder (default: paths.landing)")
    run.add_argument("--lake", help="lake root (default: paths.lake)")
    _period_args(run)
    run.add_argument("--stage", action="append", choices=STAGES,
                     help="stage to run (repeatable; default: all, in order)")

    res = sub.add_parser("rescore", help="recompute a tracked run's index from its logged "
                                         "data versions and configuration, and compare")
    _common(res)
    res.add_argument("--run-id", required=True, dest="run_id")

    rep = sub.add_parser("report", help="write the quarterly executive report (HTML, "
                                        "optionally PDF) for a period from the gold tables")
    _common(rep)
    rep.add_argument("--lake", help="lake root (default: paths.lake)")
    _period_args(rep)
    rep.add_argument("--out", help="HTML file to write (default: theater-report-<period>.html)")
    rep.add_argument("--pdf", help="also print the report to this PDF (needs Chromium)")

    runs = sub.add_parser("runs", help="list recent tracked runs, or diff two")
    _common(runs)
    runs.add_argument("action", nargs="?", choices=["list", "diff"], default="list")
    runs.add_argument("run_ids", nargs="*", help="two run ids for diff")
    runs.add_argument("--limit", type=int, default=20)

    from .audit.cli import add_parsers as audit_parsers
    audit_parsers(sub, _common)
    return parser


def _config(args: argparse.Namespace, extra: dict | None = None) -> Config:
    overrides = {"engine": args.engine, "table_format": args.table_format, "env": args.env}
    overrides.update(extra or {})
    return load_config(env=args.env, conf_file=args.conf, overrides=overrides)


def run_pipeline(cfg: Config, period: Period, stages=STAGES, *, landing: str | None = None,
                 lake_root: str | None = None, progress=log.info, command: str = "run") -> dict:
    """Run the stages in order on one session, as one MLflow run; return each stage's metrics."""
    from .engine import session
    from .lake import Lake
    from .stages import ingest, refine, score
    from .tracking import PipelineRun

    lake = Lake(lake_root or cfg["paths.lake"], cfg["table_format"])
    landing = landing or cfg["paths.landing"]
    if "refine" in stages:
        refine.pseudonym_key(cfg)  # refuse early, before any work, when the key is missing
    if "ingest" in stages and not Path(landing).is_dir():
        raise ConfigError(f"landing zone {landing!r} is not a folder (use --landing)")
    results: dict = {"period": str(period), "lake": lake.root}
    t_all = time.time()
    progress(f"engine {cfg['engine']} ({cfg['table_format']}); period {period}; lake {lake.root}")
    with PipelineRun(cfg, period, lake.root, command) as tracked, session(cfg) as spark:
        run_id = tracked.run_id or uuid.uuid4().hex
        results["run_id"] = run_id
        results["mlflow"] = tracked.enabled
        if tracked.enabled:
            from .tracking import tracking_uri

            results["tracking_uri"] = tracking_uri(cfg)
        for stage in STAGES:
            if stage not in stages:
                continue
            t0 = time.time()
            progress(f"stage {stage}: start")
            with tracked.stage(stage):
                if stage == "ingest":
                    m = ingest.run(spark, lake, landing, progress=progress, cfg=cfg)
                    rows = sum(m["rows_loaded"].values()) + sum(m["rows_quarantined"].values())
                elif stage == "refine":
                    m = refine.run(spark, cfg, lake, period, progress=progress)
                    rows = m["silver_interactions"]
                else:
                    m = score.run(spark, cfg, lake, period, run_id=run_id, progress=progress)
                    rows = m["labelled_interactions"]
                results[stage] = m
            tracked.record_stage(stage, m, time.time() - t0, rows)
            progress(f"stage {stage}: done in {time.time() - t0:.1f}s")
        if "score" in stages:
            results["orgs"] = _org_rows(spark, lake, period)
            tracked.record_index(results["orgs"])
    results["seconds"] = round(time.time() - t_all, 1)
    return results


def _org_rows(spark, lake, period: Period) -> list[dict]:
    from pyspark.sql import functions as F

    gold = lake.read(spark, "gold/org_theater_index").where(
        (F.col("period_start") == F.lit(period.start)) & (F.col("period_end") == F.lit(period.end)))
    rows = [r.asDict() for r in gold.collect()]
    return sorted(rows, key=lambda r: (r["suppressed"], -(r["theater_index"] or 0), r["org_id"]))


def format_org_table(rows: list[dict], note: str | None = None) -> str:
    head = f"{'org':<14}{'index':>7}  {'90% interval':<15}{'users':>6}{'interactions':>14}  top signals"
    lines = [head, "-" * len(head)]
    for r in rows:
        if r["suppressed"]:
            lines.append(f"{r['org_id']:<14}{'—':>7}  {'suppressed':<15}{'':>6}"
                         f"{'':>14}  ({r['suppression_reason']})")
            continue
        ci = f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]"
        top = ", ".join(r["top_signals"] or []) or "-"
        lines.append(f"{r['org_id']:<14}{r['theater_index']:>7.1f}  {ci:<15}{r['n_users']:>6}"
                     f"{r['n_interactions']:>14,}  {top}")
    if note:  # what the interval covers (theater.audit.explain)
        lines += ["", note]
    return "\n".join(lines)


def _cmd_generate(args, cfg: Config) -> int:
    from . import synth

    if args.quarter or args.start or args.end:
        period = Period.parse(quarter=args.quarter, start=args.start, end=args.end)
    else:
        period = Period.quarter(cfg["generate.quarter"])
    t0 = time.time()
    summary = synth.generate(args.out, seed=args.seed if args.seed is not None else cfg["generate.seed"],
                             n_orgs=args.orgs or cfg["generate.orgs"],
                             n_users=args.users or cfg["generate.users"],
                             start=period.start, end=period.end, dirty=args.dirty,
                             formats=args.formats, rate_scale=args.rate_scale, progress=log.info)
    print(f"generated {summary.get('interactions', '?'):,} interactions for {period} in "
          f"{time.time() - t0:.1f}s")
    print(f"  landing zone: {Path(args.out) / 'landing'}")
    print(f"  ground truth: {Path(args.out) / 'truth'}")
    return EXIT_OK


def _print_outputs(results: dict) -> None:
    lake = results["lake"]
    print("\nOutputs (Delta tables unless table_format=parquet):")
    for t in ("bronze/interactions", "bronze/quarantine", "silver/interactions",
              "gold/interaction_labels", "gold/user_weeks", "gold/org_theater_index"):
        print(f"  {t:<26} {os.path.join(lake, t)}")
    docs = os.path.join(lake, "ops", "data_docs", "summary.html")
    if os.path.exists(docs):
        print(f"  {'data-quality docs':<26} {docs}  (GX pages: ops/data_docs/index.html)")


def _cmd_run(args, cfg: Config) -> int:
    period = Period.parse(quarter=args.quarter, start=args.start, end=args.end)
    stages = tuple(args.stage) if args.stage else STAGES
    results = run_pipeline(cfg, period, stages, landing=args.landing, lake_root=args.lake)
    _print_summary(results)
    return EXIT_OK


def _print_summary(results: dict) -> None:
    if "ingest" in results:
        i = results["ingest"]
        print(f"ingest: {i['files_new']} new file(s), {i['files_skipped_already_loaded']} already "
              f"loaded; rows loaded {sum(i['rows_loaded'].values()):,}, quarantined "
              f"{sum(i['rows_quarantined'].values()):,}")
    if "refine" in results:
        r = results["refine"]
        print(f"refine: {r['silver_interactions']:,} silver interactions in the period, "
              f"{r['unresolved_org']:,} with unresolved org")
    if "score" in results:
        s = results["score"]
        print(f"score: {s['labelled_interactions']:,} interactions labelled, "
              f"{s['flagged_interactions']:,} flagged as theater; {s['orgs']} orgs "
              f"({s['orgs_suppressed']} suppressed)")
        print()
        from .audit.explain import interval_sentence, lake_rates

        print(format_org_table(results["orgs"], interval_sentence(results["orgs"],
                                                                  lake_rates(results["lake"]))))
    dq = [r for st in STAGES for r in (results.get(st) or {}).get("dq", [])]
    if dq:
        from .quality import summary_lines

        print("\nData quality (Great Expectations), per table:")
        for line in summary_lines(dq):
            print("  " + line)
    _print_outputs(results)
    if results.get("mlflow"):
        print(f"\nMLflow run {results['run_id']} (experiment theater-index)")
        print(f"  open it:  mlflow ui --backend-store-uri {results['tracking_uri']}  "
              "(then http://127.0.0.1:5000)")
        print(f"  reproduce: theater rescore --run-id {results['run_id']}")
    print(f"\ntotal {results['seconds']}s")


def _cmd_demo(args, cfg: Config) -> int:
    from . import synth

    out = Path(args.out)
    period = Period.quarter(cfg["generate.quarter"])
    t0 = time.time()
    if (out / "lake").exists():
        # The demo owns its folder: start from an empty lake so that every run shows the whole
        # pipeline (and a lake from an older version never gets in the way).
        import shutil

        log.info("demo: removing the previous demo lake %s", out / "lake")
        shutil.rmtree(out / "lake")
    log.info("demo 1/2: generating %s orgs, %s users for %s into %s",
             args.orgs or cfg["generate.orgs"], args.users or cfg["generate.users"], period, out)
    synth.generate(out, seed=args.seed if args.seed is not None else cfg["generate.seed"],
                   n_orgs=args.orgs or cfg["generate.orgs"],
                   n_users=args.users or cfg["generate.users"],
                   start=period.start, end=period.end, dirty=True, progress=log.info)
    log.info("demo 2/2: running ingest, refine, score")
    results = run_pipeline(cfg, period, STAGES, landing=str(out / "landing"),
                           lake_root=str(out / "lake"))
    _print_summary(results)
    print(f"  {'landing zone':<26} {out / 'landing'}")
    print(f"  {'planted truth':<26} {out / 'truth'}")
    if "score" in results:
        report = _write_report(cfg, str(out / "lake"), period, out / "report.html")
        print(f"\nQuarterly report: {report.path.resolve()}")
    print(f"\ndemo finished in {time.time() - t0:.0f}s")
    return EXIT_OK


def _write_report(cfg: Config, lake: str, period: Period, out, pdf=None):
    from . import report

    result = report.write(lake, period, out, cfg=cfg, pdf=pdf)
    if result.logged_run:
        log.info("report logged to MLflow run %s (artifacts report/)", result.logged_run)
    return result


def _cmd_report(args, cfg: Config) -> int:
    from .report import ReportDataError
    from .report.render import ChromiumError

    period = Period.parse(quarter=args.quarter, start=args.start, end=args.end)
    lake = args.lake or cfg["paths.lake"]
    out = args.out or f"theater-report-{period.label}.html"
    try:
        result = _write_report(cfg, lake, period, out, args.pdf)
    except (ReportDataError, ChromiumError) as exc:
        print(f"theater: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    f = result.figures
    share = (f"{f.share.value:.1f}% [{f.share.low:.1f}, {f.share.high:.1f}]"
             if f.share.value is not None and f.share.low is not None else
             "n/a" if f.share.value is None else f"{f.share.value:.1f}%")
    print(f"report {period.label}: {f.coverage.n_published} orgs published, "
          f"{f.coverage.n_suppressed} suppressed; company theater share {share}; "
          f"previous period: {f.previous_label or 'none in the lake'}")
    print(f"  html: {result.path.resolve()}")
    if result.pdf:
        print(f"  pdf:  {result.pdf}")
    if result.logged_run:
        print(f"  logged to MLflow run {result.logged_run} (artifacts report/)")
    for note in result.notes:
        print(f"  note: {note}")
    return EXIT_OK


COMPARE = ("theater_index", "ci_low", "ci_high", "n_users", "n_interactions", "suppressed",
           "suppression_reason", "signal_coverage", "usage_change", "outcome_change",
           "outcome_decoupling", "outcome_decoupling_low", "outcome_decoupling_high", "decoupled",
           "high_confidence_theater", "rank_low", "rank_high", "detector_index",
           "interval_kind", "audit_n")


def rescore(cfg: Config, run_id: str, *, engine: str | None = None) -> tuple[bool, list[str]]:
    """Recompute run ``run_id``'s org index from the Delta versions and configuration it
    logged; return (identical, differences org by org)."""
    import yaml
    from pyspark.sql import functions as F

    from .engine import session
    from .lake import Lake
    from .stages import score
    from .tracking import get_run, load_artifact_text

    run = get_run(cfg, run_id)
    params = run.data.params
    if "lineage.score.inputs.silver/interactions" not in params:
        raise ConfigError(f"MLflow run {run_id} has no score lineage (was the score stage run?)")
    data = yaml.safe_load(load_artifact_text(cfg, run_id, "config.yaml"))
    if engine:
        data["engine"] = engine
    data.setdefault("tracking", {})["enabled"] = False
    logged = Config(data=data)
    period = Period(date.fromisoformat(params["period_start"]), date.fromisoformat(params["period_end"]))
    lake = Lake(params["lake"], logged["table_format"])
    prefix = "lineage.score.inputs."
    versions = {k[len(prefix):]: int(v) for k, v in params.items() if k.startswith(prefix)}
    out_version = int(params["lineage.score.outputs.gold/org_theater_index"])
    log.info("rescoring %s %s from %s", run_id, period, versions)
    with session(logged) as spark:
        new = {r.org_id: r.asDict() for r in
               score.recompute_index(spark, logged, lake, period, versions, run_id).collect()}
        gold = lake.read(spark, "gold/org_theater_index", version=out_version).where(
            (F.col("run_id") == run_id) & (F.col("period_start") == F.lit(period.start))
            & (F.col("period_end") == F.lit(period.end)))
        old = {r.org_id: r.asDict() for r in gold.collect()}
    diffs = []
    for org in sorted(set(new) | set(old)):
        a, b = old.get(org), new.get(org)
        if a is None or b is None:
            diffs.append(f"{org}: {'only in the recomputation' if a is None else 'missing from the recomputation'}")
            continue
        cols = [c for c in COMPARE if c in a] + [c for c in a if c.startswith("signal_")
                                                 and c != "signal_coverage"]
        for c in cols:
            x, y = a.get(c), b.get(c)
            same = (x == y) or (isinstance(x, float) and isinstance(y, float) and abs(x - y) < 1e-9)
            if not same:
                diffs.append(f"{org}: {c} published {x} recomputed {y}")
    return not diffs and bool(old), diffs


def _cmd_rescore(args, cfg: Config) -> int:
    same, diffs = rescore(cfg, args.run_id, engine=args.engine)
    if same:
        print(f"rescore {args.run_id}: identical: every org's index, interval, counts, "
              "signals, outcome decoupling and rank band match the published run")
        return EXIT_OK
    print(f"rescore {args.run_id}: {len(diffs)} difference(s)")
    for d in diffs:
        print("  " + d)
    return EXIT_FAIL


def _cmd_runs(args, cfg: Config) -> int:
    from .tracking import load_artifact_text, recent_runs

    if args.action == "list":
        runs = recent_runs(cfg, args.limit)
        print(f"{'run id':<34}{'started (UTC)':<21}{'period':<24}{'status':<10}{'mean index':>11}{'orgs':>6}")
        for r in runs:
            started = datetime.fromtimestamp(r.info.start_time / 1000, timezone.utc)
            m = r.data.metrics
            mean = f"{m['index_mean']:.1f}" if "index_mean" in m else "-"
            orgs = f"{int(m['orgs_scored'] + m.get('orgs_suppressed', 0))}" if "orgs_scored" in m else "-"
            period = f"{r.data.params.get('period_start', '?')}..{r.data.params.get('period_end', '?')}"
            print(f"{r.info.run_id:<34}{started:%Y-%m-%d %H:%M:%S}  {period:<24}"
                  f"{r.info.status:<10}{mean:>11}{orgs:>6}")
        if not runs:
            print("(no tracked runs yet)")
        return EXIT_OK
    if len(args.run_ids) != 2:
        raise ConfigError("runs diff needs exactly two run ids")
    import io

    import pandas as pd

    from .tracking import get_run

    a_id, b_id = args.run_ids
    a, b = (pd.read_csv(io.StringIO(load_artifact_text(cfg, r, "org_theater_index.csv")))
            for r in (a_id, b_id))
    m = a.merge(b, on="org_id", how="outer", suffixes=("_a", "_b"))
    m["change"] = m["theater_index_b"] - m["theater_index_a"]
    moved = m[m["change"].abs() > 0].sort_values("change", key=lambda s: -s.abs())
    print(f"orgs: {len(a)} in A, {len(b)} in B; {len(moved)} moved")
    for _, r in moved.iterrows():
        print(f"  {r.org_id:<14} {r.theater_index_a:>6.1f} -> {r.theater_index_b:>6.1f}  ({r.change:+.1f})")
    pa = get_run(cfg, a_id).data.params
    pb = get_run(cfg, b_id).data.params
    keys = sorted(k for k in set(pa) | set(pb) if k.startswith(("cfg.", "period")) and pa.get(k) != pb.get(k))
    print(f"configuration keys that differ: {len(keys)}")
    for k in keys:
        print(f"  {k}: {pa.get(k)} -> {pb.get(k)}")
    return EXIT_OK


def _cmd_audit(args, cfg: Config) -> int:
    from .audit.cli import dispatch

    return dispatch(args, cfg)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "verbose", False))
    try:
        cfg = _config(args)
        handler = {"demo": _cmd_demo, "generate": _cmd_generate, "run": _cmd_run,
                   "rescore": _cmd_rescore, "runs": _cmd_runs,
                   "report": _cmd_report, "audit": _cmd_audit}[args.command]
        return handler(args, cfg)
    except (ConfigError, PeriodError) as exc:
        print(f"theater: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DataQualityError as exc:
        print(f"theater: data-quality gate failed: {exc}", file=sys.stderr)
        return EXIT_DQ
    except KeyboardInterrupt:
        print("theater: interrupted", file=sys.stderr)
        return EXIT_FAIL
    except Exception as exc:  # noqa: BLE001 - the CLI reports, logs the trace with -v
        log.debug("failure", exc_info=True)
        print(f"theater: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

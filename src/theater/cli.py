"""Command line: parse the arguments and dispatch; nothing else.

The pipeline is ``theater.pipeline``, reproduction ``theater.reproduce``, what is printed
``theater.console``. Exit codes: 0 success, 1 failure, 2 usage or configuration error, 3 a
data-quality gate failed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from . import console, logs
from .config import Config, ConfigError, load_config
from .errors import DataQualityError, LakeBusyError, UsageError
from .period import Period, PeriodError
from .pipeline import STAGES, run_pipeline

log = logging.getLogger("theater")

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_DQ = 0, 1, 2, 3


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conf", help="extra YAML configuration file (overrides conf/<env>.yaml)")
    p.add_argument("--env", choices=["local", "cluster"], help="environment file to layer")
    p.add_argument("--engine", choices=["sail", "spark", "remote"], help="execution engine")
    p.add_argument("--table-format", choices=["delta", "parquet"], dest="table_format")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show debug lines, and other libraries' warnings",
    )
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        dest="log_format",
        help="json: one JSON object per log line (for schedulers)",
    )


def _period_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quarter", help="period as YYYYQn, e.g. 2026Q3")
    p.add_argument("--start", help="period start date, inclusive (YYYY-MM-DD)")
    p.add_argument("--end", help="period end date, exclusive (YYYY-MM-DD)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="theater", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _world_commands(sub)
    _export_commands(sub)
    _pipeline_commands(sub)
    _output_commands(sub)
    from .audit.cli import add_parsers as audit_parsers

    audit_parsers(sub, _period_args, _common)
    return parser


def _world_commands(sub) -> None:
    """demo, generate: synthetic worlds."""
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
    gen.add_argument(
        "--dirty",
        action="store_true",
        help="add duplicate deliveries and malformed records (listed in truth/)",
    )
    gen.add_argument("--formats", choices=["mixed", "parquet"], default="mixed")
    gen.add_argument("--rate-scale", type=float, default=1.0, dest="rate_scale")
    gen.add_argument(
        "--delivery",
        choices=["native", "vendor"],
        default="native",
        help="vendor: the same world delivered as vendor exports "
        "(landing/vendor/<format>/, landing/identities/)",
    )
    gen.add_argument(
        "--companion",
        action="append",
        default=[],
        metavar="FORMAT",
        help="with --delivery vendor: also write this companion report "
        "(github_copilot_premium_requests: GitHub's billing of the users report's requests)",
    )


def _export_commands(sub) -> None:
    """formats, inspect: what the vendor export files are, without reading them into the lake."""
    fmts = sub.add_parser("formats", help="list the vendor export formats theater reads")
    _common(fmts)

    insp = sub.add_parser(
        "inspect",
        help="say what vendor export files are (format, grain, "
        "records, bad records); writes nothing",
    )
    _common(insp)
    insp.add_argument("files", nargs="+", metavar="FILE")
    insp.add_argument("--format", dest="fmt", help="read as this format (default: recognise)")


def _pipeline_commands(sub) -> None:
    """run, rescore: the pipeline's stages, and a tracked run recomputed."""
    run = sub.add_parser("run", help="run pipeline stages for a period")
    _common(run)
    run.add_argument("--landing", help="landing zone folder (default: paths.landing)")
    run.add_argument("--lake", help="lake root (default: paths.lake)")
    _period_args(run)
    run.add_argument(
        "--stage",
        action="append",
        choices=STAGES,
        help="stage to run (repeatable; default: all, in order)",
    )
    run.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="wait up to this long for another run holding the lake "
        "(default: lake.lock_wait_seconds, 0)",
    )

    res = sub.add_parser(
        "rescore",
        help="recompute a tracked run's index from its logged "
        "data versions and configuration, and compare",
    )
    _common(res)
    res.add_argument("--run-id", required=True, dest="run_id")


def _output_commands(sub) -> None:
    """report, seats, runs: what the lake and the tracked runs give out."""
    rep = sub.add_parser(
        "report",
        help="write the quarterly executive report (HTML, "
        "optionally PDF) for a period from the gold tables",
    )
    _common(rep)
    rep.add_argument("--lake", help="lake root (default: paths.lake)")
    _period_args(rep)
    rep.add_argument("--out", help="HTML file to write (default: theater-report-<period>.html)")
    rep.add_argument("--pdf", help="also print the report to this PDF (needs Chromium)")

    seats = sub.add_parser(
        "seats",
        help="seats to reclaim (no use at all in the period): a per-person list, made only "
        "with --reclaim-list and logged as an MLflow artifact, never in gold or the report",
    )
    _common(seats)
    seats.add_argument("action", choices=["reclaim"])
    seats.add_argument("--lake", help="lake root (default: paths.lake)")
    _period_args(seats)
    seats.add_argument(
        "--reclaim-list",
        action="store_true",
        dest="reclaim_list",
        help="yes, make the per-person list (vendor aliases of seats with no use at all)",
    )
    seats.add_argument("--out", help="also write the list to this CSV file")

    runs = sub.add_parser("runs", help="list recent tracked runs, or diff two")
    _common(runs)
    runs.add_argument("action", nargs="?", choices=["list", "diff"], default="list")
    runs.add_argument("run_ids", nargs="*", help="two run ids for diff")
    runs.add_argument("--limit", type=int, default=20)


def _config(args: argparse.Namespace, extra: dict | None = None) -> Config:
    overrides = {"engine": args.engine, "table_format": args.table_format, "env": args.env}
    overrides.update(extra or {})
    return load_config(env=args.env, conf_file=args.conf, overrides=overrides)


def _world_args(args, cfg: Config, period: Period) -> dict:
    """The synthetic world both deliveries of ``generate`` draw: seed, size, period, rates."""
    return dict(
        seed=args.seed if args.seed is not None else cfg.generate.seed,
        n_orgs=args.orgs or cfg.generate.orgs,
        n_users=args.users or cfg.generate.users,
        start=period.start,
        end=period.end,
        rate_scale=args.rate_scale,
        progress=log.info,
    )


def _cmd_generate(args, cfg: Config) -> int:
    from . import synth

    if args.quarter or args.start or args.end:
        period = Period.parse(quarter=args.quarter, start=args.start, end=args.end)
    else:
        period = Period.quarter(cfg.generate.quarter)
    t0 = time.time()
    if args.delivery == "vendor":
        from .synth.exports import generate_vendor

        if args.dirty or args.formats != "mixed":
            raise UsageError(
                "--delivery vendor writes vendor exports (their own bad records "
                "included): --dirty and --formats do not apply"
            )

        summary = generate_vendor(
            args.out, **_world_args(args, cfg, period), companions=tuple(args.companion)
        )
        console.print_vendor_generated(summary, period, args.out, time.time() - t0)
        return EXIT_OK
    if args.companion:
        raise UsageError("--companion writes a vendor report: use it with --delivery vendor")
    summary = synth.generate(
        args.out, **_world_args(args, cfg, period), dirty=args.dirty, formats=args.formats
    )
    print(
        f"generated {summary.get('interactions', '?'):,} interactions for {period} in "
        f"{time.time() - t0:.1f}s"
    )
    print(f"  landing zone: {Path(args.out) / 'landing'}")
    print(f"  ground truth: {Path(args.out) / 'truth'}")
    return EXIT_OK


def _cmd_formats(args, cfg: Config) -> int:
    from .sources.exports import describe

    console.print_formats(describe())
    return EXIT_OK


def _cmd_inspect(args, cfg: Config) -> int:
    from .sources import limits
    from .sources.exports import FORMATS, inspect

    limits.set_current(cfg)  # the configured reader limits bound inspection too

    if args.fmt and args.fmt not in FORMATS:
        raise UsageError(f"unknown format {args.fmt!r}; known: {', '.join(sorted(FORMATS))}")
    missing = [f for f in args.files if not Path(f).is_file()]
    for f in missing:
        why = "not a file" if Path(f).exists() else "no such file"
        print(f"theater: error: {f}: {why}", file=sys.stderr)
    console.print_inspections([inspect(f, args.fmt) for f in args.files if f not in missing])
    return EXIT_USAGE if missing else EXIT_OK


def _cmd_run(args, cfg: Config) -> int:
    stages = tuple(args.stage) if args.stage else STAGES
    period = None
    if stages == ("ingest",):
        # Ingest takes no period: it loads every landing file not loaded before (files are its
        # unit of work and of idempotency); refine and score select the period's rows.
        if args.quarter or args.start or args.end:
            log.info("ingest loads every new landing file; the period is used by refine and score")
    else:
        period = Period.parse(quarter=args.quarter, start=args.start, end=args.end)
    results = run_pipeline(
        cfg, period, stages, landing=args.landing, lake_root=args.lake, wait=args.wait
    )
    console.print_summary(results)
    return EXIT_OK


def _cmd_demo(args, cfg: Config) -> int:
    from . import synth

    out = Path(args.out)
    period = Period.quarter(cfg.generate.quarter)
    t0 = time.time()
    if (out / "lake").exists():
        # The demo owns its folder: start from an empty lake so that every run shows the whole
        # pipeline (and a lake from an older version never gets in the way).
        import shutil

        log.info("demo: removing the previous demo lake %s", out / "lake")
        shutil.rmtree(out / "lake")
    log.info(
        "demo 1/2: generating %s orgs, %s users for %s into %s",
        args.orgs or cfg.generate.orgs,
        args.users or cfg.generate.users,
        period,
        out,
    )
    synth.generate(
        out,
        seed=args.seed if args.seed is not None else cfg.generate.seed,
        n_orgs=args.orgs or cfg.generate.orgs,
        n_users=args.users or cfg.generate.users,
        start=period.start,
        end=period.end,
        dirty=True,
        progress=log.info,
        seats=True,
    )
    cfg = _demo_prices(cfg)
    log.info("demo 2/2: running ingest, refine, score")
    results = run_pipeline(
        cfg, period, STAGES, landing=str(out / "landing"), lake_root=str(out / "lake")
    )
    console.print_summary(results)
    print(f"  {'landing zone':<26} {out / 'landing'}")
    print(f"  {'planted truth':<26} {out / 'truth'}")
    if "score" in results:
        report = _write_report(cfg, str(out / "lake"), period, out / "report.html")
        print(f"\nQuarterly report: {report.path.resolve()}")
    print(f"\ndemo finished in {time.time() - t0:.0f}s")
    return EXIT_OK


def _demo_prices(cfg: Config) -> Config:
    """``cfg`` with the demo's price table (``synth.seats.DEMO_PRICES``) when it configures none,
    so that the demo's seats have a cost; a configured price table is kept as it is."""
    from .synth.seats import DEMO_PRICES

    if cfg.adoption.prices:
        return cfg
    data = dict(cfg.data)
    data["adoption"] = {**data["adoption"], "prices": [dict(p) for p in DEMO_PRICES]}
    log.info("demo: pricing GitHub Copilot seats at %s a month", DEMO_PRICES[0]["seat_per_month"])
    return Config.from_dict(data, (*cfg.sources, "theater demo: demo price table"))


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
    lake = args.lake or cfg.paths.lake
    out = args.out or f"theater-report-{period.label}.html"
    try:
        result = _write_report(cfg, lake, period, out, args.pdf)
    except (ReportDataError, ChromiumError) as exc:
        print(f"theater: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    console.print_report_result(period, result)
    return EXIT_OK


def _cmd_rescore(args, cfg: Config) -> int:
    from .reproduce import rescore

    same, diffs = rescore(cfg, args.run_id, engine=args.engine)
    console.print_rescore(args.run_id, same, diffs)
    return EXIT_OK if same else EXIT_FAIL


def _cmd_audit(args, cfg: Config) -> int:
    from .audit.cli import dispatch

    return dispatch(args, cfg)


def _cmd_seats(args, cfg: Config) -> int:
    from .stages import seats

    if not args.reclaim_list:
        print(f"theater: refused: {seats.ReclaimRefused.__doc__.strip()} ", file=sys.stderr)
        print(
            f"theater: the list names people; add {seats.RECLAIM_FLAG} to make it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    import tempfile

    from .engine import session
    from .lake import Lake
    from .tracking import PipelineRun

    period = Period.parse(quarter=args.quarter, start=args.start, end=args.end)
    lake = Lake(args.lake or cfg.paths.lake, cfg.table_format)
    with PipelineRun(cfg, period, lake.root, "seats reclaim") as tracked, session(cfg) as spark:
        table = seats.reclaim(spark, cfg, lake, period, confirmed=True)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, os.path.basename(seats.RECLAIM_ARTIFACT))
            table.to_csv(path, index=False)
            if tracked.enabled:
                import mlflow

                mlflow.log_artifact(path, os.path.dirname(seats.RECLAIM_ARTIFACT))
            if args.out:
                table.to_csv(args.out, index=False)
    where = f"MLflow run {tracked.run_id}" if tracked.enabled else "no MLflow run (tracking off)"
    print(f"seats to reclaim in {period.label}: {len(table)} ({where}: {seats.RECLAIM_ARTIFACT})")
    return EXIT_OK


def _cmd_runs(args, cfg: Config) -> int:
    from .tracking import get_run, load_artifact_text, recent_runs

    if args.action == "list":
        console.print_runs(recent_runs(cfg, args.limit))
        return EXIT_OK
    if len(args.run_ids) != 2:
        raise ConfigError("runs diff needs exactly two run ids")
    import io

    import pandas as pd

    a_id, b_id = args.run_ids
    a, b = (
        pd.read_csv(io.StringIO(load_artifact_text(cfg, r, "org_theater_index.csv")))
        for r in (a_id, b_id)
    )
    console.print_runs_diff(a, b, get_run(cfg, a_id).data.params, get_run(cfg, b_id).data.params)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.setup_logging(getattr(args, "verbose", False), getattr(args, "log_format", "text"))
    try:
        cfg = _config(args)
        handler = {
            "demo": _cmd_demo,
            "generate": _cmd_generate,
            "run": _cmd_run,
            "formats": _cmd_formats,
            "inspect": _cmd_inspect,
            "rescore": _cmd_rescore,
            "runs": _cmd_runs,
            "report": _cmd_report,
            "audit": _cmd_audit,
            "seats": _cmd_seats,
        }[args.command]
        return handler(args, cfg)
    except (ConfigError, PeriodError, UsageError) as exc:
        print(f"theater: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LakeBusyError as exc:
        print(f"theater: {exc}", file=sys.stderr)
        return EXIT_FAIL
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


def entry() -> None:
    """The ``theater`` console script: :func:`main`, then :func:`exit_process`."""
    exit_process(main())


def exit_process(code: int) -> None:
    """End the process with ``code`` once a command is done, without the interpreter's
    teardown where the engine's client or ``deltalake`` was loaded.

    ``deltalake`` (delta-rs) can abort the interpreter at shutdown ("terminate called without
    an active exception", delta-io/delta-rs#2184) after the work has finished and been
    committed, which would turn a successful run into exit -6 for a scheduler. And the
    teardown of a process that ran the pipeline (every module's objects collected: PySpark's
    client, pandas, pyarrow, MLflow, GX) took about 1.9 CPU s after a 1M run, once the work was
    done. So the exit code is passed straight to the OS after the output is flushed; every
    resource of ours (lock, staging, MLflow run, engine) is closed by then.
    """
    if "deltalake" in sys.modules or "pyspark" in sys.modules:
        logs.exit_now(code)
    raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()

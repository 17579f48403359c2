"""``theater audit sample | load | plan``: the human audit loop (docs/audit_guide.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def add_parsers(subparsers, period_args, common=None) -> None:
    """Register ``audit`` with its three subcommands; ``period_args`` adds the period options
    (--quarter, --start, --end) to those that take a period, ``common`` the shared options
    (--conf, --env, --engine, ...) to each."""
    audit = subparsers.add_parser(
        "audit", help="human audit of the detector: draw a sample, load labels, plan the audit size"
    )
    sub = audit.add_subparsers(dest="audit_command", required=True)

    def allocation(p):
        p.add_argument(
            "--allocation",
            choices=("proportional", "neyman"),
            default="proportional",
            help="labels beyond audit.min_per_cell per cell: equal per org and proportional "
            "within (default), or Neyman-type on the detector's probability",
        )

    def design(p):
        p.add_argument(
            "--design",
            choices=("signal", "grouped"),
            default="signal",
            help="sample strata per org: by detector output (signal, default), or flagged / "
            "not (grouped: narrower only where the signals' precisions are alike; "
            "docs/audit_guide.md)",
        )

    s = sub.add_parser(
        "sample",
        help="draw a stratified sample (org x detector output) of the "
        "period's interactions to label",
    )
    s.add_argument("--lake", help="lake root (default: paths.lake)")
    period_args(s)
    s.add_argument("--size", type=int, required=True, help="number of interactions to label")
    s.add_argument("--out", required=True, help="CSV file to write")
    s.add_argument("--seed", type=int, help="random seed (default: audit.seed)")
    allocation(s)
    design(s)

    ld = sub.add_parser("load", help="validate a labelled CSV and load it into ops/audit_labels")
    ld.add_argument("--lake", help="lake root (default: paths.lake)")
    ld.add_argument("--labels", required=True, help="the labelled CSV from `audit sample`")

    pl = sub.add_parser("plan", help="labels needed for a target interval width")
    pl.add_argument("--lake", help="lake root (default: paths.lake)")
    period_args(pl)
    pl.add_argument(
        "--target-width",
        type=float,
        required=True,
        dest="target_width",
        help="mean full width of the orgs' 90%% intervals, in index points",
    )
    allocation(pl)
    design(pl)
    for p in (s, ld, pl):
        if common:
            common(p)


def _lake(args, cfg):
    from ..lake import Lake

    return Lake(args.lake or cfg.paths.lake, cfg.table_format)


def _period(args):
    from ..period import Period

    return Period.parse(quarter=args.quarter, start=args.start, end=args.end)


def _usage(message: str) -> int:
    """Say on stderr what keeps the command from running; the usage exit code."""
    print(f"theater: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def dispatch(args: argparse.Namespace, cfg) -> int:
    return {"sample": _sample, "load": _load, "plan": _plan}[args.audit_command](args, cfg)


def _sample(args, cfg) -> int:
    from ..engine import session
    from . import sample

    if args.size <= 0:
        return _usage("--size must be positive")
    period, lake = _period(args), _lake(args, cfg)
    if not lake.exists("gold/interaction_labels"):
        return _usage(f"no gold/interaction_labels in {lake.root}: run the score stage first")
    seed = args.seed if args.seed is not None else cfg.audit.seed
    with session(cfg) as spark:
        pop = sample.read_population(spark, lake, period)
    if pop.empty:
        return _usage(f"no scored interactions with an org in {period}")
    chosen = args.design
    drawn = sample.draw(
        pop, args.size, seed, cfg.audit.min_per_cell, args.allocation == "neyman", chosen
    )
    out = sample.sample_frame(drawn)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False)
    by = out.groupby("stratum").size().sort_values(ascending=False)
    print(
        f"audit sample {period}: {len(out):,} of {len(pop):,} interactions, "
        f"{out['org_id'].nunique()} orgs, seed {seed}, design {chosen} -> {args.out}"
    )
    print(
        f"  by {'design stratum' if chosen == 'grouped' else 'detector output'}: "
        + ", ".join(f"{h} {n}" for h, n in by.items())
    )
    print(
        "  fill in `label` (1 = theater, 0 = genuine; guide: docs/audit_guide.md), then "
        f"`theater audit load --labels {args.out}`"
    )
    return EXIT_OK


def _load(args, cfg) -> int:
    from ..engine import session
    from .labels import LabelsError, load

    lake = _lake(args, cfg)
    try:
        with session(cfg) as spark:
            res = load(spark, lake, args.labels)
    except LabelsError as exc:
        return _usage(str(exc))
    for note in res["notes"]:
        print(f"  note: {note}")
    print(
        f"audit load {args.labels}: {res['rows']:,} labels; {res['inserted']:,} new, "
        f"{res['relabelled']:,} relabelled, {res['unchanged']:,} unchanged -> "
        f"{lake.path('ops/audit_labels')}"
    )
    print("  re-run the score stage for the period to publish the debiased index")
    return EXIT_OK


def _plan(args, cfg) -> int:
    from ..engine import session
    from . import plan
    from .design import align, output_strata
    from .estimate import Settings, estimate, pooled_rates
    from .integrate import cells_frame, read_labels
    from .sample import grouped

    if args.target_width <= 0:
        return _usage("--target-width must be positive")
    period, lake = _period(args), _lake(args, cfg)
    if not lake.exists("gold/interaction_labels"):
        return _usage(f"no gold/interaction_labels in {lake.root}")

    with session(cfg) as spark:
        gl = lake.read(spark, "gold/interaction_labels").where(period.date_col("event_date"))
        cells = cells_frame(gl).toPandas()
        labels = read_labels(spark, lake, period, gl)
    cells = _published_cells(cells, cfg)
    # the strata of both designs: the plan may allocate under either
    strata = sorted({*cells["stratum"].unique(), *grouped(cells["stratum"]).unique()})
    tau2 = None
    if labels is not None and len(labels):
        # the spread between orgs that the last audit's pooling used, for a pooled plan
        est = estimate(*align(cells, labels), Settings.from_config(cfg))
        tau2 = est.attrs.get("pool_tau2")
        guess = plan.rates_guess(strata, cfg.audit.plan_precision, cfg.audit.plan_miss_rate)
        # each design's stratum rates from the labels by detector output (a domain estimate
        # under either design): per signal, and flagged / not
        out = output_strata(labels)
        rates = {}
        for lab in (out, out.assign(stratum=grouped(out["stratum"].astype(str)))):
            pooled = pooled_rates(lab, strata, guess)
            for h, r, n in zip(pooled.strata, pooled.rate, pooled.n_labels):
                if n > 0 or h not in rates:  # a stratum without labels: the guess
                    rates[h] = float(r)
        source = f"audited rates from {len(labels):,} labels"
    else:
        rates = plan.rates_guess(strata, cfg.audit.plan_precision, cfg.audit.plan_miss_rate)
        source = (
            f"no audit yet: assumed precision {cfg['audit.plan_precision']} where a signal "
            f"fired, miss rate {cfg['audit.plan_miss_rate']} where none did"
        )
    res = plan.plan(
        cells,
        rates,
        args.target_width,
        cfg.audit.confidence,
        tau2=tau2,
        min_per_cell=cfg.audit.min_per_cell,
        neyman=args.allocation == "neyman",
        design=args.design,
    )
    _print_plan(res, period, args, cells, source, tau2)
    return EXIT_OK


def _published_cells(cells, cfg):
    """The cells of orgs the index publishes: orgs it suppresses (too few users, one dominant
    user) publish no interval, so a plan spends no labels on them."""
    per_user = cells.groupby(["org_id", "user_key"])["n"].sum()
    by_org = per_user.groupby("org_id").agg(["size", "sum", "max"])
    keep = by_org[
        (by_org["size"] >= cfg.privacy.min_users)
        & (by_org["max"] / by_org["sum"] <= cfg.privacy.dominance_share)
    ].index
    return cells[cells["org_id"].isin(keep)]


def _print_plan(res, period, args, cells, source, tau2) -> None:
    print(
        f"audit plan {period}: target 90% interval width {args.target_width:g} points "
        f"({cells['org_id'].nunique()} published orgs; {source})"
    )
    if res["reachable"]:
        print(
            f"  mean width: about {res['labels']:,} labels allocated as the sample does "
            f"(`theater audit sample --size {res['labels']} --allocation {args.allocation} "
            f"--design {args.design}`; "
            "mean width "
            f"{res['mean_width']:.1f}, widest org {res['max_width']:.1f})"
        )
    else:
        print(f"  mean width not reachable: {res['note']}")
    how = (
        "pooled intervals, orgs spread as in the last audit"
        if tau2 is not None
        else "each interval on the org's own labels, no pooling assumed"
    )
    print(
        f"  every org: {res['every_org']:,} labels in all when each org gets the labels it "
        f"needs ({how}):"
    )
    per = res["per_org"].sort_values(["labels", "org_id"], ascending=[False, True])
    for r in per.itertuples(index=False):
        print(
            f"    {r.org_id:<24} {r.labels:>7,} labels of {r.interactions:,} interactions "
            f"(planned width {r.width:.1f})"
        )
    print("  score-type approximation of the bounded interval; audits so far came in narrower")

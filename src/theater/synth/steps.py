"""``generate()``: the steps in order, each a named function. One ``numpy`` generator is threaded
through the steps in a fixed order, so the same seed and parameters give byte-identical files."""

from __future__ import annotations

import datetime
import shutil
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import truth as truth_files
from .columns import interaction_table
from .dirty import plan_interaction_dirt
from .episodes import bursts, concat, episodes, expand, fillers, fix_token_extremes
from .seats import write_github_seats
from .side import directory_tables, link_work_items, policies_tables, work_items
from .variation import Variation
from .vocab import MECHANISMS, TOOLS, WORK_ITEM_KINDS
from .world import World
from .writers import FilePlan, file_rel, plan_files, write, write_interaction_files

# work-item kind -> landing format (formats="mixed")
WORK_ITEM_FORMATS = {
    "ticket": "jsonl",
    "pull_request": "parquet",
    "case": "csv",
    "document": "json",
    "other": "jsonl.gz",
}


def fresh_dirs(out: Path) -> tuple[Path, Path]:
    """Empty ``out/landing`` and ``out/truth`` (whatever was there is removed)."""
    landing, truth = out / "landing", out / "truth"
    for p in (landing, truth):
        if p.exists():
            shutil.rmtree(p)
        p.mkdir(parents=True)
    return landing, truth


def prefixed(table: pa.Table, prefix: str, names: tuple[str, ...]) -> pa.Table:
    """``table`` with ``prefix`` put before every non-null value of the columns ``names``."""
    for name in names:
        i = table.schema.get_field_index(name)
        col = pc.binary_join_element_wise(prefix, table.column(i), "")
        table = table.set_column(i, name, col)
    return table


def simulate_rows(world: World, rng, say) -> dict:
    """All interactions as code arrays, sorted by (tool, ts, user): episodes expanded to rows,
    then checkpoint bursts and quota fillers, padding pushed above each action's p90."""
    rows = expand(world, rng, episodes(world, rng))
    say(f"synth: {len(rows['ts']):,} base interactions")
    rows = concat([rows, bursts(world, rng)])
    rows = concat([rows, fillers(world, rng, rows)])
    order = np.lexsort((rows["user"], rows["ts"], rows["tool"]))
    rows = {k: v[order] for k, v in rows.items()}
    fix_token_extremes(rows)
    return rows


def redeliver(landing: Path, world: World, plan: FilePlan) -> str:
    """Copy one interaction file whole under a ``-redelivered`` name; return its landing path."""
    src = landing / file_rel(TOOLS[plan.tool], plan.week, world, plan.fmt)
    dst = src.with_name(src.name.split(".")[0] + "-redelivered." + plan.fmt)
    shutil.copyfile(src, dst)
    return str(dst.relative_to(landing))


def write_directory(
    landing: Path, world: World, mixed: bool, dirty: bool, dirty_rows: list[dict]
) -> None:
    base_dir, movers_dir = directory_tables(world)
    people = "directory/people.csv" if mixed else "directory/people.parquet"
    if dirty:
        bad_dir = {
            "user_id": "c900001",
            "org_id": world.org_ids[0],
            "org_name": world.org_names[0],
            "parent_org_id": world.org_parent[0],
            "role": "contractor",
            "valid_from": "2026-02-30",
            "valid_to": None,
        }
        base_dir = pa.concat_tables(
            [base_dir, pa.Table.from_pylist([bad_dir], schema=base_dir.schema)]
        )
        dirty_rows.append(
            {"dataset": "directory", "file": people, "kind": "bad_timestamp", "event_id": ""}
        )
    write(base_dir, landing / people, "csv" if mixed else "parquet")
    write(
        movers_dir,
        landing / ("directory/transfers.jsonl" if mixed else "directory/transfers.parquet"),
        "jsonl" if mixed else "parquet",
    )


def write_work_items(
    landing: Path, wi_table: pa.Table, mixed: bool, dirty: bool, dirty_rows: list[dict]
) -> int:
    """One file per work-item kind; returns the number of files written."""
    kinds = wi_table.column("kind").to_numpy(zero_copy_only=False)
    n_files = 0
    for kind in WORK_ITEM_KINDS:
        part = wi_table.filter(pa.array(kinds == kind))
        if part.num_rows == 0:
            continue
        fmt = WORK_ITEM_FORMATS[kind] if mixed else "parquet"
        rel = f"work_items/{kind}s.{fmt}"
        if dirty and kind == "ticket":
            rec = part.slice(0, 1).to_pylist()[0]
            rec["work_item_id"] = "WI-BAD-0000001"
            rec["kind"] = "meeting"
            part = pa.concat_tables([part, pa.Table.from_pylist([rec], schema=part.schema)])
            dirty_rows.append(
                {"dataset": "work_items", "file": rel, "kind": "bad_enum", "event_id": ""}
            )
        write(part, landing / rel, fmt)
        n_files += 1
    return n_files


def write_policies(landing: Path, world: World, mixed: bool) -> None:
    pol, ck = policies_tables(world)
    write(
        pol,
        landing / ("policies/org_policies.csv" if mixed else "policies/org_policies.parquet"),
        "csv" if mixed else "parquet",
    )
    write(
        ck,
        landing
        / ("policies/review_calendar.json" if mixed else "policies/review_calendar.parquet"),
        "json" if mixed else "parquet",
    )


def generate(
    out: str | Path,
    *,
    seed: int = 7,
    n_orgs: int = 24,
    n_users: int = 1500,
    start: datetime.date = date(2026, 7, 1),
    end: datetime.date = date(2026, 10, 1),
    dirty: bool = False,
    formats: str = "mixed",
    rate_scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
    variation: Variation | None = None,
    namespace: str = "",
    seats: bool = False,
) -> dict:
    """Write ``out/landing`` and ``out/truth``; return a summary of what was written.

    ``variation`` (:class:`theater.synth.variation.Variation`): world-level knobs for robustness
    benchmarks. None (the default) is the standard world, byte for byte; given, the truth also
    has ``hard_negatives.csv`` and the summary's params the knobs.

    ``namespace``: a prefix for every identifier the world makes (orgs, users, events,
    sessions, artifacts, work items), so that worlds generated with different seeds can land
    side by side as one larger company (a quarter too large to generate in one piece: each
    shard is generated, written and freed in turn). Not combined with ``dirty``.

    ``seats``: also write a GitHub Copilot seat listing (:mod:`theater.synth.seats`) and give
    its counts in the summary; the other files are the same with or without it."""
    _check(formats, namespace, dirty)
    say = progress or (lambda msg: None)
    landing, truth = fresh_dirs(Path(out))
    rng = np.random.default_rng(seed)
    vrng = np.random.default_rng([seed, 13])  # the knobs' own stream
    world = World(rng, n_orgs, n_users, start, end, rate_scale, variation, vrng)
    if namespace:
        world.prefix_ids(namespace)
    say(f"synth: {n_orgs} orgs, {n_users} users, {world.n_weeks} weeks")

    rows = simulate_rows(world, rng, say)
    R = len(rows["ts"])
    say(f"synth: {R:,} interactions in total; building columns")
    table, info, wi_table = _columns(world, rng, rows, namespace)
    is_th = _write_truth(truth, world, table, rows, info["org"], variation)

    say("synth: writing interaction files")
    weeks = (info["day"] - world.week_start[0]) // 7
    dirty_rows, counts_fmt, written, duplicates = _write_interactions(
        rng, landing, world, table, rows, weeks, formats, dirty, say
    )

    say("synth: writing directory, work items, policies")
    wi_files = _write_side(landing, world, wi_table, formats == "mixed", dirty, dirty_rows)

    bad_counts = truth_files.write_dirty(truth, dirty_rows)
    seat_counts = write_github_seats(landing, world, rows, seed) if seats else None
    summary = {
        "seed": seed,
        "params": _params(
            n_orgs, n_users, start, end, dirty, formats, rate_scale, namespace, variation
        ),
        "interactions": R,
        "interaction_records_written": written + duplicates["records_in_duplicate_files"],
        **_truth_counts(rows, is_th),
        "directory_users": n_users,
        "orgs": n_orgs,
        "files": counts_fmt,
        "work_item_files": wi_files,
        "work_items": wi_table.num_rows,
        "bad_records": bad_counts,
        "bad_total": len(dirty_rows),
        "duplicates": duplicates,
        **({"github_copilot_seats": seat_counts} if seats else {}),
    }
    truth_files.write_summary(truth, summary)
    say(f"synth: done, {R:,} interactions ({summary['theater_share']:.1%} theater)")
    return {**summary, "landing": str(landing), "truth": str(truth)}


def _params(n_orgs, n_users, start, end, dirty, formats, rate_scale, namespace, variation) -> dict:
    """The summary's ``params``: what the world was generated with."""
    return {
        "n_orgs": n_orgs,
        "n_users": n_users,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "dirty": dirty,
        "formats": formats,
        "rate_scale": rate_scale,
        **({"namespace": namespace} if namespace else {}),
        **({"variation": variation.as_dict()} if variation is not None else {}),
    }


def _columns(world: World, rng, rows: dict, namespace: str):
    """``(interactions table, its info, work items table)``: the rows' columns, linked to work
    items, every identifier under ``namespace``."""
    table, info = interaction_table(world, rng, rows)
    wi_table, wi_user, wi_open, _ = work_items(world, rng)
    table = link_work_items(rng, table, rows, wi_user, wi_open, wi_table.column("work_item_id"))
    if namespace:
        table = prefixed(
            table, namespace, ("event_id", "session_id", "artifact_id", "work_item_id")
        )
        wi_table = prefixed(wi_table, namespace, ("work_item_id",))
    return table, info, wi_table


def _write_truth(truth: Path, world: World, table, rows: dict, org, variation) -> np.ndarray:
    """The truth of every interaction and org (and the hard negatives of a varied world);
    returns whether each interaction is theater."""
    is_th = truth_files.write_interactions(truth, world, table, rows, org)
    truth_files.write_orgs(truth, world, rows, org, is_th)
    if variation is not None:
        truth_files.write_hard_negatives(truth, world, table, rows)
    return is_th


def _write_side(landing: Path, world: World, wi_table, mixed: bool, dirty: bool, dirty_rows):
    """The directory, work item and policy files; returns the work item files' counts."""
    write_directory(landing, world, mixed, dirty, dirty_rows)
    wi_files = write_work_items(landing, wi_table, mixed, dirty, dirty_rows)
    write_policies(landing, world, mixed)
    return wi_files


def _truth_counts(rows: dict, is_th: np.ndarray) -> dict:
    return {
        "theater_interactions": int(is_th.sum()),
        "theater_share": round(float(is_th.mean()), 6) if len(rows["ts"]) else 0.0,
        "mechanisms": {m: int((rows["mech"] == i).sum()) for i, m in enumerate(MECHANISMS)},
        "users": int(len(np.unique(rows["user"]))),
    }


def _check(formats: str, namespace: str, dirty: bool) -> None:
    if formats not in ("mixed", "parquet"):
        raise ValueError(f"formats must be 'mixed' or 'parquet', got {formats!r}")
    if namespace and dirty:
        raise ValueError("namespace cannot be combined with dirty (bad records keep plain ids)")


def _write_interactions(rng, landing: Path, world: World, table, rows, weeks, formats, dirty, say):
    """The interaction files, by week and tool in ``formats``; with ``dirty``, bad records
    planted and one file delivered twice. Returns ``(dirty rows, files per format, records
    written, the duplicates' summary)``."""
    files = plan_files(rows, weeks, formats)
    dup_fi = len(files) // 2  # re-delivered whole (kept free of other dirt)
    dirty_rows, resent = (
        plan_interaction_dirt(rng, world, table, rows, files, dup_fi) if dirty else ([], 0)
    )
    counts_fmt, written = write_interaction_files(rng, landing, world, table, files, say)
    dup_files, dup_records = [], 0
    if dirty:
        dup_files.append(redeliver(landing, world, files[dup_fi]))
        dup_records = len(files[dup_fi].idx)
        counts_fmt[files[dup_fi].fmt] += 1
    duplicates = {
        "files": dup_files,
        "records_in_duplicate_files": dup_records,
        "resent_events": resent,
        "total": dup_records + resent,
    }
    return dirty_rows, counts_fmt, written, duplicates

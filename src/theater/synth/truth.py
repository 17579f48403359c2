"""Ground truth: which interaction is theater and by what mechanism, per-org facts, the list of
dirty records, and the run summary (``out/truth/``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from .arrays import take_str
from .vocab import (
    BAD_KINDS,
    G_HEAP,
    G_ITER,
    G_LONGSUM,
    G_SINGLE,
    G_TEMPLATE,
    MECHANISMS,
    NONE,
    O_GEN_UNUSED,
)
from .world import World
from .writers import truth_csv


def write_interactions(
    truth: Path, world: World, table: pa.Table, rows: dict, org: np.ndarray
) -> np.ndarray:
    """``interactions.csv`` (event id, tool, is_theater, mechanism, org); returns is_theater."""
    is_th = (rows["mech"] != NONE).astype(np.int64)
    truth_tab = pa.table(
        {
            "event_id": table.column("event_id"),
            "tool": table.column("tool"),
            "is_theater": pa.array(is_th),
            "mechanism": take_str(MECHANISMS, rows["mech"]),
            "org_id": take_str(tuple(world.org_ids), org),
        }
    ).sort_by([("tool", "ascending"), ("event_id", "ascending")])
    truth_csv(truth_tab, truth / "interactions.csv")
    return is_th


HARD_NEGATIVE_KINDS = ("heavy_user", "iterative_chat", "shared_template", "long_summary", "heaping")


def hard_negative_kind(world: World, rows: dict) -> np.ndarray:
    """Per row: index into ``HARD_NEGATIVE_KINDS``, or -1 (theater, or a plain genuine request).

    Hard negatives are genuine interactions built to look like theater to one detector: heavy
    users (volume), iterative chats and shared templates (repeats), long documents summarized
    (self-summary) and users with exactly 10 or 20 a week in orgs without a quota (bunching)."""
    gk = rows["gk"]
    genuine = rows["mech"] == NONE
    return np.select(
        [
            genuine & (gk == G_HEAP),
            genuine & (gk == G_ITER),
            genuine & (gk == G_TEMPLATE),
            genuine & (gk == G_LONGSUM),
            genuine & (gk == G_SINGLE) & world.heavy[rows["user"]],
        ],
        [4, 1, 2, 3, 0],
        -1,
    )


def write_hard_negatives(truth: Path, world: World, table: pa.Table, rows: dict) -> None:
    """``hard_negatives.csv`` (event id, tool, kind, honest_failure): the genuine rows built as
    hard negatives; ``honest_failure`` 1 where the output was genuinely not used (a failed
    request, which the unused-output signal cannot tell from a discard)."""
    k = hard_negative_kind(world, rows)
    sel = pa.array(k >= 0)
    tab = pa.table(
        {
            "event_id": table.column("event_id").filter(sel),
            "tool": table.column("tool").filter(sel),
            "kind": take_str(HARD_NEGATIVE_KINDS, k[k >= 0]),
            "honest_failure": pa.array((rows["out"][k >= 0] == O_GEN_UNUSED).astype(np.int64)),
        }
    ).sort_by([("tool", "ascending"), ("event_id", "ascending")])
    truth_csv(tab, truth / "hard_negatives.csv")


def write_orgs(truth: Path, world: World, rows: dict, org: np.ndarray, is_th: np.ndarray) -> None:
    """``orgs.csv``: per org the planted theater share, sizes, policies and mechanism counts."""
    n_orgs, n_users = world.n_orgs, world.n_users
    n_int = np.bincount(org, minlength=n_orgs)
    n_th = np.bincount(org, weights=is_th, minlength=n_orgs)
    pair = np.unique(org.astype(np.int64) * n_users + rows["user"])
    n_usr = np.bincount(pair // n_users, minlength=n_orgs)
    per_user = np.bincount(
        org.astype(np.int64) * n_users + rows["user"], minlength=n_orgs * n_users
    )
    top = per_user.reshape(n_orgs, n_users).max(1) / np.maximum(n_int, 1)
    mech_counts = np.zeros((n_orgs, len(MECHANISMS)), np.int64)
    np.add.at(mech_counts, (org, rows["mech"]), 1)
    org_rows = []
    for o in range(n_orgs):
        org_rows.append(
            {
                "org_id": world.org_ids[o],
                "theater_share": round(float(n_th[o] / n_int[o]) if n_int[o] else 0.0, 6),
                "n_users": int(n_usr[o]),
                "n_interactions": int(n_int[o]),
                "has_quota": int(world.has_quota[o]),
                "has_checkpoint": int(bool(world.checkpoints_of(o))),
                "has_org_checkpoint": int(world.has_org_ck[o]),
                "has_mandate": int(world.has_mandate[o]),
                "top_user_share": round(float(top[o]), 6),
                **{f"n_{m}": int(mech_counts[o, i]) for i, m in enumerate(MECHANISMS)},
            }
        )
    truth_csv(pa.Table.from_pylist(org_rows), truth / "orgs.csv")


def write_dirty(truth: Path, dirty_rows: list[dict]) -> dict[str, int]:
    """``dirty.csv`` (dataset, file, kind, event id), sorted; returns the count per kind."""
    dirty_rows.sort(key=lambda r: (r["dataset"], r["file"], r["kind"], r["event_id"]))
    dschema = pa.schema([(c, pa.string()) for c in ("dataset", "file", "kind", "event_id")])
    truth_csv(pa.Table.from_pylist(dirty_rows, schema=dschema), truth / "dirty.csv")
    return {k: sum(1 for r in dirty_rows if r["kind"] == k) for k in BAD_KINDS}


def write_summary(truth: Path, summary: dict) -> None:
    (truth / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")

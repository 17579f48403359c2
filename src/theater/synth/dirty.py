"""Dirty records: bad copies of real rows (malformed lines, missing fields, bad enums,
negative numbers, bad timestamps)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .columns import event_ids
from .vocab import BAD_KINDS, FORMATS, TOOLS
from .world import World
from .writers import FilePlan, file_rel, json_lines, tool_table

_BAD_TS = (
    "2026-13-45T10:00:00Z",
    "yesterday",
    "2026-07-03 10:00:00",
    "07/03/2026 10:00",
    "2026-02-30T08:00:00+02:00",
)


def bad_rows(
    rng, template: list[dict], kinds: list[str], tool: str, next_seq: int, schema: pa.Schema
) -> tuple[list[dict], list[tuple[str, str]], list[str], int]:
    """Bad copies of template rows: (rows for the table, [(kind, event_id)], malformed lines)."""
    rows, listed, malformed = [], [], []
    for rec, kind in zip(template, kinds):
        rec = dict(rec)
        rec["event_id"] = event_ids(np.array([TOOLS.index(tool)]), np.array([next_seq]))[0].as_py()
        next_seq += 1
        eid = rec["event_id"]
        variant = int(rng.integers(0, 4))
        if kind == "malformed_line":
            line = json_lines(pa.Table.from_pylist([rec], schema=schema), False)[0]
            malformed.append(line[: max(20, int(len(line) * (0.3 + 0.4 * rng.random())))])
            listed.append((kind, eid))
            continue
        if kind == "missing_required":
            if variant == 0:
                rec["event_id"] = ""
                eid = ""
            else:
                rec["user_id"] = None
        elif kind == "bad_enum":
            if variant == 0 and "output_disposition" in rec:
                rec["output_disposition"] = "loved_it"
            else:
                rec["action"] = ("dance", "Chat", "brainstorm")[variant % 3]
        elif kind == "negative_number":
            if variant == 0 and rec.get("dwell_ms") is not None:
                rec["dwell_ms"] = -120
            elif variant == 1 and rec.get("completion_tokens") is not None:
                rec["completion_tokens"] = -1
            else:
                rec["prompt_tokens"] = -5
        elif kind == "bad_timestamp":
            if variant == 0 and rec.get("artifact_modified_ts") is not None:
                rec["artifact_modified_ts"] = "not-a-date"
            else:
                rec["event_ts"] = _BAD_TS[int(rng.integers(0, len(_BAD_TS)))]
        rows.append(rec)
        listed.append((kind, eid))
    return rows, listed, malformed, next_seq


def plan_interaction_dirt(
    rng, world: World, table: pa.Table, rows: dict, files: list[FilePlan], dup_fi: int
) -> tuple[list[dict], int]:
    """Plant dirt in the planned interaction files (in place): re-sent events (identical
    content, inside the next file of the same tool) and bad records of every kind, spread over
    files and formats. File ``dup_fi`` is re-delivered whole later and stays clean. Returns
    (dirty.csv rows, number of re-sent events)."""
    R = len(rows["ts"])
    dirty_rows: list[dict] = []
    resent = 0
    starts = np.array([f.idx[0] for f in files], dtype=np.int64)
    n_resend = int(min(300, max(20, R // 1000)))
    cand = rng.choice(R, min(n_resend, R), replace=False)
    file_of = np.searchsorted(starts, cand, side="right") - 1
    for i, f in zip(cand, file_of):
        j = f + 1
        if j < len(files) and files[j].tool == files[f].tool and j != dup_fi:
            files[j].extra_idx.append(int(i))
            resent += 1
    counter = 0
    next_seq = {t: int((rows["tool"] == t).sum()) for t in range(len(TOOLS))}
    for fi, plan in enumerate(files):
        t, w, fmt, idx = plan.tool, plan.week, plan.fmt, plan.idx
        k = int(rng.integers(0, 5))
        if fi < 2 * len(FORMATS):
            k = max(k, 2)
        if fi == dup_fi:
            k = 0
        allowed = BAD_KINDS if fmt in ("jsonl", "jsonl.gz") else BAD_KINDS[1:]
        kinds = []
        for _ in range(k):
            kinds.append(allowed[counter % len(allowed)])
            counter += 1
        tmpl_idx = np.sort(rng.choice(idx, min(k, len(idx)), replace=False))
        tt = tool_table(table, TOOLS[t], fmt, w)
        tmpl = tt.take(pa.array(tmpl_idx, type=pa.int64())).to_pylist()
        plan.bad, listed, plan.malformed, next_seq[t] = bad_rows(
            rng, tmpl, kinds[: len(tmpl)], TOOLS[t], next_seq[t], tt.schema
        )
        for kind, eid in listed:
            dirty_rows.append(
                {
                    "dataset": "interactions",
                    "file": file_rel(TOOLS[t], w, world, fmt),
                    "kind": kind,
                    "event_id": eid,
                }
            )
    return dirty_rows, resent

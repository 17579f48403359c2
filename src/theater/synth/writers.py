"""Landing-file writers: the five formats, truth CSVs, file names and per-tool columns."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .arrays import U64, cat, mix, with_nulls
from .vocab import ABSENT, FORMATS, TOOLS
from .world import World


def json_lines(table: pa.Table, explicit_null: bool) -> list[str]:
    """Each row as one JSON object (vectorised; values are plain ASCII-safe text)."""
    frags = []
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        frags.append(_json_value(col, f'"{name}":', explicit_null))
    if not frags:
        return ["{}"] * table.num_rows
    body = pc.binary_join_element_wise(*frags, ",", null_handling="skip")
    return cat("{", body, "}").to_pylist()


def _json_value(col: pa.Array, key: str, explicit_null: bool) -> pa.Array:
    t = col.type
    if pa.types.is_string(t):
        v = cat(key + '"', col, '"')
    elif pa.types.is_integer(t):
        v = cat(key, col.cast(pa.string()))
    elif pa.types.is_boolean(t):
        v = cat(key, pc.if_else(col, "true", "false"))
    elif pa.types.is_struct(t):
        inner = [
            _json_value(pc.struct_field(col, i), f'"{t.field(i).name}":', False)
            for i in range(t.num_fields)
        ]
        v = cat(key + "{", pc.binary_join_element_wise(*inner, ",", null_handling="skip"), "}")
        v = with_nulls(v, col.is_null().to_numpy(zero_copy_only=False))
    else:
        raise TypeError(f"no JSON writer for {t}")
    if explicit_null:
        v = pc.if_else(col.is_null(), key + "null", v)
    return v


def write(
    table: pa.Table,
    path: Path,
    fmt: str,
    *,
    explicit_null: bool = False,
    malformed: list[tuple[int, str]] | None = None,
) -> None:
    """Write ``table`` as ``fmt``; ``malformed`` inserts raw broken lines (jsonl only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(
            table,
            path,
            compression="zstd",
            row_group_size=1 << 20,
            write_statistics=True,
            store_schema=True,
        )
        return
    if fmt == "csv":
        keep = [n for n in table.column_names if not pa.types.is_struct(table.schema.field(n).type)]
        with open(path, "wb") as fh:
            pacsv.write_csv(table.select(keep), fh, pacsv.WriteOptions(include_header=True))
        return
    lines = json_lines(table, explicit_null)
    for pos, text in sorted(malformed or [], reverse=True):
        lines.insert(pos, text)
    if fmt == "json":
        data = ("[\n" + ",\n".join(lines) + "\n]\n").encode()
        path.write_bytes(data)
    elif fmt == "jsonl":
        path.write_bytes(("\n".join(lines) + "\n").encode())
    elif fmt == "jsonl.gz":
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz,
        ):
            gz.write(("\n".join(lines) + "\n").encode())
    else:
        raise ValueError(fmt)


def truth_csv(table: pa.Table, path: Path) -> None:
    """Plain CSV (no quoting: the values hold no commas or quotes), header first."""
    with open(path, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def file_rel(tool: str, week: int, world: World, fmt: str) -> str:
    monday = np.datetime64("1970-01-01") + np.timedelta64(int(world.week_start[week]), "D")
    y, w, _ = date.fromisoformat(str(monday)).isocalendar()
    return f"interactions/{tool}/{tool}_{y}-W{w:02d}.{fmt}"


def tool_table(table: pa.Table, tool: str, fmt: str, week: int) -> pa.Table:
    """Columns this tool's file carries: minus the fields it never sends, plus its extras."""
    drop = set(ABSENT[tool])
    if tool == "assistant":
        drop |= {"region"}
    elif tool == "ide":
        drop |= {"meta"}
    elif tool == "docs":
        drop |= {"client_version", "meta"} | ({"region"} if week % 2 else set())
    elif tool == "cli":
        drop |= {"region"}
    return table.select([c for c in table.column_names if c not in drop])


# ----------------------------------------------------------------------------- interaction files
ROTATION = ("parquet", "jsonl", "parquet", "jsonl.gz", "csv", "parquet", "json", "jsonl")


@dataclass
class FilePlan:
    """One landing file of interactions: a tool, an ISO week, a format and its row indices
    (plus, when dirty, re-sent rows and bad records to mix in)."""

    tool: int
    week: int
    fmt: str
    idx: np.ndarray
    extra_idx: list[int] = field(default_factory=list)
    bad: list[dict] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def plan_files(rows: dict, week_of: np.ndarray, formats: str) -> list[FilePlan]:
    """One file per (tool, week) run of the sorted rows; formats rotate (``mixed``, every
    format at least once) or are all Parquet."""
    R = len(rows["ts"])
    files = []
    bounds = np.flatnonzero(np.diff(rows["tool"].astype(np.int64) * 1000 + week_of)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [R]])
    for s, e in zip(starts, ends):
        t, w = int(rows["tool"][s]), int(week_of[s])
        fmt = "parquet" if formats == "parquet" else ROTATION[(w + 3 * t) % len(ROTATION)]
        files.append(FilePlan(t, w, fmt, np.arange(s, e)))
    if formats == "mixed":  # every format at least once
        have = {f.fmt for f in files}
        for fmt in FORMATS:
            if fmt not in have:
                cand = [f for f in files if f.fmt == "parquet"] or files
                cand[len(cand) // 2].fmt = fmt
                have = {f.fmt for f in files}
    return files


def write_interaction_files(
    rng, landing: Path, world: World, table: pa.Table, files: list[FilePlan], say
) -> tuple[dict[str, int], int]:
    """Write every planned file (bad records placed inside it deterministically, malformed lines
    at random positions); return (files per format, records written)."""
    counts_fmt = {f: 0 for f in FORMATS}
    written = 0
    for fi, plan in enumerate(files):
        t, w, fmt, idx = plan.tool, plan.week, plan.fmt, plan.idx
        tool = TOOLS[t]
        base = tool_table(table, tool, fmt, w)
        part = base.take(pa.array(np.concatenate([idx, np.array(plan.extra_idx, np.int64)])))
        bad, malformed = plan.bad, plan.malformed
        if bad:
            bad_t = pa.Table.from_pylist(bad, schema=part.schema)
            part = pa.concat_tables([part, bad_t])
            # put the bad ones somewhere inside the file, deterministically
            perm = np.argsort(mix(np.arange(part.num_rows, dtype=np.uint64) + U64(fi)))
            keep_order = np.arange(part.num_rows - len(bad))
            pos = np.sort(perm[: len(bad)] % max(1, part.num_rows - len(bad)))
            order = np.insert(keep_order, pos, np.arange(part.num_rows - len(bad), part.num_rows))
            part = part.take(pa.array(order))
        mal = [
            (int(p), m)
            for p, m in zip(rng.integers(0, part.num_rows + 1, len(malformed)), malformed)
        ]
        path = landing / file_rel(tool, w, world, fmt)
        write(part, path, fmt, explicit_null=(t + w) % 3 == 0, malformed=mal)
        counts_fmt[fmt] += 1
        written += part.num_rows
        if fi % 10 == 0:
            say(f"synth: wrote {fi + 1}/{len(files)} interaction files")
    return counts_fmt, written

"""A hand-written DuckDB job over the same landing zone, as the benchmark's reference.

    python benchmarks/duckdb_reference.py --landing DIR --start 2026-07-01 --end 2026-10-01 \
        --out DIR [--stage ingest]

Reads every landing file (jsonl, jsonl.gz, json array, csv, parquet) of interactions,
directory and policies with all fields as text, then runs benchmarks/duckdb_reference.sql:
contract checks routing bad records to a quarantine table, the latest delivery per
(tool, event_id), org from the directory as of the event date, pseudonyms (md5 of
key|id), the five interaction signals, the theater probability and the org shares. Writes
``org_shares.csv`` and ``summary.json`` into --out; nothing else (no Delta, no DQ, no MLflow).
``--stage ingest`` stops after reading and checking (for the ingest throughput per format).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
FIELDS = {
    "interactions": [
        "event_id",
        "event_ts",
        "user_id",
        "org_id",
        "tool",
        "action",
        "session_id",
        "prompt_fingerprint",
        "prompt_tokens",
        "completion_tokens",
        "model",
        "output_disposition",
        "dwell_ms",
        "artifact_id",
        "artifact_author_id",
        "artifact_modified_ts",
        "work_item_id",
    ],
    "directory": [
        "user_id",
        "org_id",
        "org_name",
        "parent_org_id",
        "role",
        "valid_from",
        "valid_to",
    ],
    "policies": ["org_id", "kind", "start_date", "end_date", "weekly_quota", "note"],
}
FORMATS = {
    ".jsonl.gz": "jsonl_gz",
    ".ndjson.gz": "jsonl_gz",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
SEP = "\x01"  # a byte that never occurs in the text files: read each line as one column


def landing_files(landing: Path, dataset: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in sorted((landing / dataset).rglob("*")):
        if not p.is_file() or p.name.startswith((".", "_")):
            continue
        for ext in sorted(FORMATS, key=len, reverse=True):
            if p.name.lower().endswith(ext):
                out.setdefault(FORMATS[ext], []).append(str(p))
                break
    return out


def _lit(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _from_json_text(source: str, fields: list[str]) -> str:
    """Rows (source_file, line) of JSON text -> contract fields as text + malformed flag."""
    paths = "[" + ", ".join(f"'$.\"{f}\"'" for f in fields) + "]"
    cols = ", ".join(f"v[{i + 1}] AS {f}" for i, f in enumerate(fields))
    return f"""
        SELECT source_file, NOT is_object AS malformed, {cols}
        FROM (SELECT source_file, is_object,
                     CASE WHEN is_object THEN json_extract_string(line, {paths}) END AS v
              FROM (SELECT source_file, line,
                           CASE WHEN coalesce(json_valid(line), false)
                                THEN json_type(line) = 'OBJECT' ELSE false END AS is_object
                    FROM {source}))"""


def reader_sql(con, fmt: str, files: list[str], fields: list[str]) -> str:
    """One SELECT giving (source_file, malformed, <fields as VARCHAR>) for files of one format."""
    if fmt in ("jsonl", "jsonl_gz"):
        src = (
            f"(SELECT filename AS source_file, line FROM read_csv({_lit(files)}, "
            f"columns = {{'line': 'VARCHAR'}}, header = false, delim = '{SEP}', quote = '', "
            f"escape = '', auto_detect = false, filename = true, "
            f"compression = '{'gzip' if fmt == 'jsonl_gz' else 'none'}') "
            f"WHERE trim(line) <> '')"
        )
        return _from_json_text(src, fields)
    if fmt == "json":
        src = (
            f"(SELECT filename AS source_file, json::VARCHAR AS line "
            f"FROM read_json_objects({_lit(files)}, format = 'array', filename = true))"
        )
        return _from_json_text(src, fields)
    if fmt == "csv":
        scan = (
            f"read_csv({_lit(files)}, header = true, all_varchar = true, "
            f"union_by_name = true, filename = true)"
        )
    elif fmt == "parquet":
        scan = f"read_parquet({_lit(files)}, union_by_name = true, filename = true)"
    else:
        raise ValueError(fmt)
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    cols = ", ".join(
        (f'CAST("{f}" AS VARCHAR)' if f in have else "CAST(NULL AS VARCHAR)") + f" AS {f}"
        for f in fields
    )
    return f"SELECT filename AS source_file, false AS malformed, {cols} FROM {scan}"


def landing_view(con, landing: Path, dataset: str) -> dict[str, int]:
    """CREATE VIEW landing_<dataset>: the union of every format's rows; return files per format."""
    files = landing_files(landing, dataset)
    fields = FIELDS[dataset]
    parts = [reader_sql(con, fmt, fl, fields) for fmt, fl in sorted(files.items())]
    if not parts:
        cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {f}" for f in fields)
        parts = [
            f"SELECT CAST(NULL AS VARCHAR) AS source_file, false AS malformed, {cols} WHERE false"
        ]
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW landing_{dataset} AS " + "\nUNION ALL BY NAME\n".join(parts)
    )
    return {fmt: len(fl) for fmt, fl in files.items()}


def statements(sql: str) -> list[str]:
    """The .sql file's statements (split on ';' at line ends; comments kept)."""
    out, cur = [], []
    for line in sql.splitlines():
        cur.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(cur).strip()
            if any(l.strip() and not l.strip().startswith("--") for l in cur):
                out.append(text)
            cur = []
    return out


def run(
    landing: str,
    start: str,
    end: str,
    out: str,
    *,
    stage: str = "all",
    threads: int | None = None,
    key: str | None = None,
) -> dict:
    t0 = time.time()
    landing_p, out_p = Path(landing), Path(out)
    out_p.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    key = (
        key
        or os.environ.get("THEATER_PSEUDONYM_KEY")
        or "theater-index-demo-key-not-for-production"
    )
    con.execute("SET VARIABLE pseudonym_key = $1", [key])
    con.execute(f"SET VARIABLE period_start = DATE '{start}'")
    con.execute(f"SET VARIABLE period_end = DATE '{end}'")
    files = {d: landing_view(con, landing_p, d) for d in FIELDS}
    landing_bytes = sum(p.stat().st_size for p in landing_p.rglob("*") if p.is_file())
    stmts = statements((HERE / "duckdb_reference.sql").read_text())
    seconds: dict[str, float] = {}
    t = time.time()
    for s in stmts:
        if stage == "ingest" and "CREATE TEMP TABLE silver" in s:
            break
        con.execute(s)
        if "CREATE TEMP TABLE quarantine" in s:
            seconds["ingest"] = round(time.time() - t, 2)
    seconds["total_sql"] = round(time.time() - t, 2)
    q = dict(
        con.execute(
            "SELECT dataset || '/' || reason_kind, count(*) FROM quarantine GROUP BY ALL ORDER BY 1"
        ).fetchall()
    )
    summary = {
        "files": files,
        "landing_bytes": landing_bytes,
        "quarantined": q,
        "records_read": con.execute("SELECT count(*) FROM checked_interactions").fetchone()[0],
        "policies_rows": con.execute("SELECT count(*) FROM landing_policies").fetchone()[0],
        "stage": stage,
        "seconds": seconds,
    }
    if stage != "ingest":
        summary["silver_rows"] = con.execute("SELECT count(*) FROM silver").fetchone()[0]
        summary["unresolved_org"] = con.execute(
            "SELECT count(*) FROM silver WHERE org_id IS NULL"
        ).fetchone()[0]
        summary["flagged"] = con.execute(
            "SELECT count(*) FROM labels WHERE theater_probability >= 0.5"
        ).fetchone()[0]
        con.execute(f"COPY org_shares TO '{out_p / 'org_shares.csv'}' (HEADER)")
    summary["wall_s"] = round(time.time() - t0, 2)
    (out_p / "summary.json").write_text(json.dumps(summary, indent=2))
    con.close()
    return summary


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--landing", required=True)
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--stage", choices=["all", "ingest"], default="all")
    p.add_argument("--threads", type=int)
    a = p.parse_args()
    s = run(a.landing, a.start, a.end, a.out, stage=a.stage, threads=a.threads)
    print("RESULT " + json.dumps(s), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

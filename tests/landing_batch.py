"""A hand-written landing zone of every kind of file, for the one-scan-per-kind ingest tests
(tests/integration/test_ingest_one_scan.py on Sail, tests/spark on Apache Spark).

Each file's records, and what ingest must make of them (worked out by hand, line by line):

- ``a.jsonl``: 1 g1 (extra field) good; 2 blank (no record); 3 ``{bad`` malformed; 4 g3
  action 'dance' bad_enum; 5 g4 good; 6 g2 prompt_tokens "12" as a JSON string bad_type.
- ``b.jsonl.gz``: 1 g5 good; 2 g6 prompt_tokens -1 negative_number; 3 ``{bad`` malformed (the
  same raw text as a.jsonl's line 3: each file must get its own line number).
- ``c.csv``: header; 2 g7 good (prompt_tokens 12 is text here, not a bad_type); 3 a ragged
  row (set aside while staging); 4 g8 action 'dance' bad_enum.
- ``d.json`` (array): element 1 g9 good; element 2 g10 event_ts 'yesterday' bad_timestamp.
- ``e.parquet`` g11, g12 and ``e1.parquet`` g14, both good, one schema (read by one scan).
- ``f.parquet`` g13 good: other column order and an extra column ``seat`` (its own scan).
- ``g.parquet`` g16 good: a column named ``_file`` (the scan's key name; read alone, the column
  goes to ``_extra``).
- ``k[1].jsonl`` g15 good (glob characters in the name).
- ``r.jsonl``: UTF-16 (a byte-order mark) -> rejected, never read; the others load. (One line
  that is not UTF-8 is set aside alone: tests/unit/test_landing_limits.py.)
- ``z.jsonl``: empty -> loaded, "no records".
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

#: config overrides for a hand-made zone with many bad records: the quarantine-share gate is
#: loosened (and no data docs)
LOOSE_OVERRIDES = {
    "quality.quarantine_warn_share": 1.0,
    "quality.quarantine_fail_share": 1.0,
    "quality.data_docs": False,
}
GOOD = {
    "event_id": "g1",
    "event_ts": "2026-07-01T10:00:00Z",
    "user_id": "u1",
    "tool": "ide",
    "action": "chat",
    "prompt_tokens": 12,
    "output_disposition": "accepted",
}
D = "interactions/"


def ev(i, **kw):
    return {**GOOD, "event_id": f"g{i}", **kw}


def _parquet(rows: list[dict], path: Path, columns: list[str] | None = None) -> None:
    df = pd.DataFrame(rows)
    df["event_ts"] = pd.to_datetime(df["event_ts"], utc=True)
    (df[columns] if columns else df).to_parquet(path, index=False)


def write_files(inter: Path, names: list[str] | None = None) -> list[str]:
    """Write the files (all, or those named) into ``inter``; return the names written."""
    inter.mkdir(parents=True, exist_ok=True)
    a = [
        json.dumps(ev(1, client_version="3.1")),
        "",
        "{bad",
        json.dumps(ev(3, action="dance")),
        json.dumps(ev(4)),
        json.dumps(ev(2, prompt_tokens="12")),
    ]
    csv_text = (
        "event_id,event_ts,user_id,tool,action,prompt_tokens,output_disposition\n"
        "g7,2026-07-01T10:00:00Z,u1,ide,chat,12,accepted\n"
        "g99,2026-07-01T10:00:00Z,u1,ide,chat,12,accepted,surplus\n"
        "g8,2026-07-01T10:00:00Z,u1,ide,dance,12,accepted\n"
    )
    writers = {
        "a.jsonl": lambda p: p.write_text("\n".join(a) + "\n"),
        "b.jsonl.gz": lambda p: p.write_bytes(
            gzip.compress(
                (
                    json.dumps(ev(5)) + "\n" + json.dumps(ev(6, prompt_tokens=-1)) + "\n{bad\n"
                ).encode(),
                mtime=0,  # the same bytes on every write
            )
        ),
        "c.csv": lambda p: p.write_text(csv_text),
        "d.json": lambda p: p.write_text(json.dumps([ev(9), ev(10, event_ts="yesterday")])),
        "e.parquet": lambda p: _parquet([ev(11), ev(12)], p),
        "e1.parquet": lambda p: _parquet([ev(14)], p),
        "f.parquet": lambda p: _parquet(
            [ev(13, seat="A7")], p, ["user_id", "seat", *[k for k in GOOD if k != "user_id"]]
        ),
        "g.parquet": lambda p: _parquet([ev(16, _file="x")], p),
        "k[1].jsonl": lambda p: p.write_text(json.dumps(ev(15)) + "\n"),
        "r.jsonl": lambda p: p.write_bytes(b"\xff\xfe" + json.dumps(ev(17)).encode("utf-16-le")),
        "z.jsonl": lambda p: p.write_text(""),
    }
    out = []
    for name, write in writers.items():
        if names is None or name in names:
            write(inter / name)
            out.append(name)
    return out


# event id -> file, for the bronze rows
BRONZE = {
    "g1": "a.jsonl",
    "g4": "a.jsonl",
    "g5": "b.jsonl.gz",
    "g7": "c.csv",
    "g9": "d.json",
    "g11": "e.parquet",
    "g12": "e.parquet",
    "g14": "e1.parquet",
    "g13": "f.parquet",
    "g16": "g.parquet",
    "g15": "k[1].jsonl",
}
# (file, line number, reason, event id) of each quarantined record
QUARANTINE = {
    ("a.jsonl", 3, "malformed_line: not a JSON object", None),
    ("a.jsonl", 4, "bad_enum: action", "g3"),
    ("a.jsonl", 6, "bad_type: prompt_tokens", "g2"),
    ("b.jsonl.gz", 2, "negative_number: prompt_tokens", "g6"),
    ("b.jsonl.gz", 3, "malformed_line: not a JSON object", None),
    ("c.csv", 3, "ragged_row: expected 7 fields, got 8", None),
    ("c.csv", 4, "bad_enum: action", "g8"),
    ("d.json", 2, "bad_timestamp: event_ts", "g10"),
}
# file -> (status, rows loaded, rows quarantined)
FILES = {
    "a.jsonl": ("loaded", 2, 3),
    "b.jsonl.gz": ("loaded", 1, 2),
    "c.csv": ("loaded", 1, 2),
    "d.json": ("loaded", 1, 1),
    "e.parquet": ("loaded", 2, 0),
    "e1.parquet": ("loaded", 1, 0),
    "f.parquet": ("loaded", 1, 0),
    "g.parquet": ("loaded", 1, 0),
    "k[1].jsonl": ("loaded", 1, 0),
    "r.jsonl": ("rejected", 0, 0),
    "z.jsonl": ("loaded", 0, 0),
}


def tables(spark, lake) -> dict:
    """What ingest wrote, without the batch's own id and time: sorted row tuples per table."""
    drop = {"_ingested_at", "_batch_id", "batch_id", "ingested_at"}

    def rows(table):
        df = lake.read(spark, table)
        cols = sorted(c for c in df.columns if c not in drop)
        return sorted(tuple(str(v) for v in r) for r in df.select(*cols).collect())

    return {t: rows(t) for t in ("bronze/interactions", "bronze/quarantine", "ops/ingested_files")}


def check_expected(spark, lake) -> None:
    """The hand-worked outcome (module docstring) of ingesting these files."""
    bronze = lake.read(spark, "bronze/interactions").collect()
    assert sorted((r.event_id, r._source_file) for r in bronze) == sorted(
        (e, D + f) for e, f in BRONZE.items()
    )
    by_id = {r.event_id: r for r in bronze}
    assert json.loads(by_id["g1"]._extra) == {"client_version": "3.1"}
    assert json.loads(by_id["g13"]._extra) == {"seat": "A7"}
    assert json.loads(by_id["g16"]._extra) == {"_file": "x"}
    assert by_id["g7"].prompt_tokens == "12" and by_id["g14"].event_ts.startswith("2026-07-01T10")
    q = lake.read(spark, "bronze/quarantine").collect()
    assert {(r._source_file, r.line_number, r.reason, r.event_id) for r in q} == {
        (D + f, n, why, e) for f, n, why, e in QUARANTINE
    }
    assert len(q) == len(QUARANTINE)
    assert {r.raw_record for r in q if r.reason.startswith("malformed")} == {"{bad"}
    files = lake.read(spark, "ops/ingested_files").collect()
    assert {r.source_file: (r.status, r.rows_loaded, r.rows_quarantined) for r in files} == {
        D + f: v for f, v in FILES.items()
    }
    assert len(files) == len(FILES)
    sha = {r.source_file: r.file_sha256 for r in files}
    assert all(r._file_sha256 == sha[r._source_file] for r in bronze + q)

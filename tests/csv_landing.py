"""A hand-written landing zone of CSV files, plain and not, mixed with JSON lines, and what
ingest must make of it (worked out by hand): tests/integration/test_ingest_csv_engine.py on Sail,
tests/spark/test_ingest_csv_engine_on_spark.py on Apache Spark."""

from __future__ import annotations

import gzip
import json

HEAD = '"event_id","event_ts","user_id","tool","action","prompt_tokens","output_disposition"'
TS = "2026-07-01T10:00:00Z"


def row(i, action="chat", tokens="12", extra=""):
    return f'"c{i}","{TS}","u{i}","ide","{action}",{tokens},"accepted"{extra}'


FILES = {
    # plain: quoted values holding commas, quotes and non-ASCII text, empty values (quoted and
    # not), a quote inside an unquoted value, an extra column, a bad row and two identical bad
    # rows (each gets its own line)
    "p1.csv": (
        HEAD + ',"seat"\n'
        + row(1, extra=',"A,7"') + "\n"
        + '"c2","' + TS + '","u ""2""","ide","chat",,"accepted",""\n'
        + row(3, action="dance", extra=',"B"') + "\n"
        + '"c4","' + TS + '","üser é€","ide","chat",3,"",ab"c\n'
        + row(5, tokens="-1", extra=',"C"') + "\n"
        + row(5, tokens="-1", extra=',"C"') + "\n"
    ).encode(),
    # plain: a byte-order mark, CRLF line ends, no line end after the last row
    "p2.csv": (
        "\ufeff" + HEAD + "\r\n" + row(6) + "\r\n" + row(7, action="x") + "\r\n" + row(8)
    ).encode(),
    # plain, gzip
    "p3.csv.gz": gzip.compress(
        (HEAD + "\n" + row(9) + "\n" + row(10, tokens='"a"') + "\n").encode(), mtime=0
    ),
    # not plain: a ragged row (set aside with its line by Python), then a bad row
    "rag.csv": (
        HEAD + "\n" + row(11) + "\n" + row(12, extra=',"surplus"') + "\n"
        + row(13, action="dance") + "\n"
    ).encode(),
    # not plain: a quoted value across two lines (line 3-4), then a bad row on line 5
    "multi.csv": (
        HEAD + "\n" + row(14) + "\n"
        + '"c15","' + TS + '","u15","ide","chat",1,"accepted\nstill"\n'
        + row(16, action="dance") + "\n"
    ).encode(),
    # not plain: a line that is not UTF-8 (set aside), then a bad row
    "undec.csv": (HEAD + "\n" + row(17) + "\n").encode()
    + b'"c18","' + TS.encode() + b'","u\xff","ide","chat",1,"accepted"\n'
    + (row(19, action="dance") + "\n").encode(),
    "j.jsonl": (
        json.dumps({"event_id": "j1", "event_ts": TS, "user_id": "u", "tool": "ide",
                    "action": "chat", "output_disposition": "accepted"}) + "\n{bad\n"
    ).encode(),
}  # fmt: skip
PLAIN = {"p1.csv", "p2.csv", "p3.csv.gz"}
D = "interactions/"
# (file, line, reason, event id) of each quarantined row, worked out by hand
QUARANTINE = {
    ("p1.csv", 4, "bad_enum: action", "c3"),
    ("p1.csv", 6, "negative_number: prompt_tokens", "c5"),
    ("p1.csv", 7, "negative_number: prompt_tokens", "c5"),
    ("p2.csv", 3, "bad_enum: action", "c7"),
    ("p3.csv.gz", 3, "bad_type: prompt_tokens", "c10"),
    ("rag.csv", 3, "ragged_row: expected 7 fields, got 8", None),
    ("rag.csv", 4, "bad_enum: action", "c13"),
    ("multi.csv", 3, "bad_enum: output_disposition", "c15"),  # its first line
    ("multi.csv", 5, "bad_enum: action", "c16"),
    ("undec.csv", 3, "undecodable_line: byte 0xff at column 32 is not UTF-8", None),
    ("undec.csv", 4, "bad_enum: action", "c19"),
    ("j.jsonl", 2, "malformed_line: not a JSON object", None),
}


def write(root):
    inter = root / "interactions"
    inter.mkdir(parents=True)
    for name, data in FILES.items():
        (inter / name).write_bytes(data)


def check_expected(spark, lake) -> None:
    """The hand-worked outcome of ingesting the zone."""
    q = lake.read(spark, "bronze/quarantine").collect()
    got = {(r._source_file, r.line_number, r.reason, r.event_id) for r in q}
    assert got == {(D + f, n, why, e) for f, n, why, e in QUARANTINE}
    assert len(q) == len(QUARANTINE)
    raw = {(r._source_file, r.line_number): r.raw_record for r in q}
    # the raw text of a CSV row: its values by header name, empty ones left out
    assert json.loads(raw[(D + "p1.csv", 4)]) == {
        "event_id": "c3", "event_ts": TS, "user_id": "u3", "tool": "ide", "action": "dance",
        "prompt_tokens": "12", "output_disposition": "accepted", "seat": "B",
    }  # fmt: skip
    bronze = {r.event_id: r for r in lake.read(spark, "bronze/interactions").collect()}
    assert set(bronze) == {"c1", "c2", "c4", "c6", "c8", "c9", "c11", "c14", "c17", "j1"}
    assert json.loads(bronze["c1"]._extra) == {"seat": "A,7"}
    assert bronze["c2"]._extra is None and bronze["c2"].prompt_tokens is None
    assert bronze["c2"].user_id == 'u "2"'
    assert bronze["c4"].user_id == "üser é€" and bronze["c4"].output_disposition is None
    assert json.loads(bronze["c4"]._extra) == {"seat": 'ab"c'}  # a quote inside a plain value
    raw_15 = json.loads(raw[(D + "multi.csv", 3)])
    assert raw_15["output_disposition"] == "accepted\nstill"

"""Landing files before the engine sees them (pure Python): integrity and encoding checks,
literal names, symlinks, skipped names, CSV re-framing with ragged rows and line numbers."""

from __future__ import annotations

import gzip
import json
import os

from theater.sources.landing import (
    Prepared,
    csv_to_lines,
    inspect_file,
    list_files,
    locate_lines,
    safe_path,
)


def _inspect(p, fmt="jsonl"):
    sha, size, problem, empty = inspect_file(str(p), fmt, str(p).endswith(".gz"))
    return problem, empty


def test_good_text_files_pass(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('{"a": "caf\u00e9"}\n')
    assert _inspect(p) == (None, False)
    g = tmp_path / "a.jsonl.gz"
    g.write_bytes(gzip.compress(b'{"a": 1}\n') + gzip.compress(b'{"a": 2}\n'))  # two members
    assert _inspect(g) == (None, False)


def test_a_byte_that_is_not_utf8_is_named_with_offset_and_line(tmp_path):
    p = tmp_path / "a.json"
    p.write_bytes(b'[{"a": 1},\n{"b": "caf\xe9"}]\n')
    problem, _ = _inspect(p, "json_array")
    # 11 bytes of line 1, then {"b": "caf (10 bytes): the bad byte is at offset 21 (0-based)
    assert problem.startswith("not UTF-8: byte 0xe9 at byte 21 (line 2)")


def test_a_bad_byte_after_the_first_read_is_named_with_its_line(tmp_path):
    # the file is read in 1 MiB pieces: the line counts of the pieces before the bad byte's add up
    p = tmp_path / "a.json"
    element = b'{"a": "' + b"x" * 989 + b'"},\n'  # 1,000 bytes a line
    head = b"[\n" + element * 2000  # 2,000,002 bytes: lines 1 to 2001
    p.write_bytes(head + b'{"b": "caf\xe9"}]\n')
    problem, _ = _inspect(p, "json_array")
    # line 2002 starts at byte 2,000,002; {"b": "caf is 10 bytes
    assert problem.startswith("not UTF-8: byte 0xe9 at byte 2000012 (line 2002)")


def test_a_bad_byte_in_json_lines_sets_the_line_aside(tmp_path):
    # JSON lines: the line is set aside for quarantine, the file is not refused
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a": "x"}\n' * 200000 + b'{"b": "caf\xe9"}\n')
    assert _inspect(p) == (None, False)


def test_utf16_and_nul_bytes_are_refused(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes("user_id,org_id\nu1,o1\n".encode("utf-16"))
    assert "UTF-16" in _inspect(p, "csv")[0]
    q = tmp_path / "b.csv"
    q.write_bytes("user_id,org_id\nu1,o1\n".encode("utf-16-le"))  # no byte-order mark
    assert "NUL byte at byte 1" in _inspect(q, "csv")[0]


def test_truncated_and_fake_gzip_are_refused(tmp_path):
    full = gzip.compress(b"".join(b'{"a": %d}\n' % i for i in range(2000)))
    p = tmp_path / "t.jsonl.gz"
    p.write_bytes(full[: len(full) // 2])
    assert _inspect(p)[0].startswith("truncated gzip stream")
    q = tmp_path / "f.jsonl.gz"
    q.write_text('{"a": 1}\n')
    assert _inspect(q)[0].startswith("corrupt gzip stream")


def test_empty_blank_and_header_only_files_are_empty_not_errors(tmp_path):
    for name, text, fmt in [
        ("e.jsonl", "", "jsonl"),
        ("b.jsonl", "\n  \n", "jsonl"),
        ("h.csv", "user_id,org_id\n", "csv"),
        ("h2.csv", "user_id,org_id", "csv"),
    ]:
        p = tmp_path / name
        p.write_text(text)
        assert _inspect(p, fmt) == (None, True), name
    p = tmp_path / "one.csv"
    p.write_text("user_id,org_id\nu1,o1")
    assert _inspect(p, "csv") == (None, False)


def test_a_file_that_is_not_parquet_is_refused(tmp_path):
    p = tmp_path / "x.parquet"
    p.write_text("PAR1 but not really")
    assert _inspect(p, "parquet")[0].startswith("not a readable Parquet file")


def test_glob_characters_are_taken_literally(tmp_path):
    p = tmp_path / "x[1].jsonl"
    p.write_text("{}\n")
    plain = tmp_path / "plain.jsonl"
    plain.write_text("{}\n")
    out = safe_path(str(p), str(tmp_path / "staging"))
    assert out != str(p) and not set("*?[]{}") & set(os.path.basename(out))
    assert open(out).read() == "{}\n"
    assert safe_path(str(plain), str(tmp_path / "staging")) == str(plain)


def test_symlinks_out_of_the_landing_zone_and_hidden_names_are_skipped(tmp_path):
    landing = tmp_path / "landing"
    d = landing / "interactions"
    d.mkdir(parents=True)
    (d / "good.jsonl").write_text("{}\n")
    (d / "_tmp.jsonl").write_text("{}\n")
    (d / ".x.jsonl").write_text("{}\n")
    (d / "notes.txt").write_text("x")
    outside = tmp_path / "secret.jsonl"
    outside.write_text('{"user_id": "x"}\n')
    os.symlink(outside, d / "link_out.jsonl")
    os.symlink(d / "good.jsonl", d / "link_in.jsonl")
    detail = []
    files, skipped = list_files(str(landing), "interactions", detail)
    assert [f.relpath for f in files] == ["interactions/good.jsonl", "interactions/link_in.jsonl"]
    reasons = dict(detail)
    assert set(reasons) == {
        "interactions/_tmp.jsonl",
        "interactions/.x.jsonl",
        "interactions/notes.txt",
        "interactions/link_out.jsonl",
    }
    assert "outside the landing root" in reasons["interactions/link_out.jsonl"]


def test_csv_reframing_sets_ragged_rows_aside_with_their_line(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(
        "event_id,tool,note\n"
        'e1,ide,"two\nlines"\n'  # lines 2-3
        "e2,ide\n"  # line 4: short
        "\n"  # line 5: blank
        "e3,ide,,extra\n"  # line 6: long
        "e4,cli,\n"
    )  # line 7
    out = tmp_path / "a.jsonl"
    line_map, bad = csv_to_lines(str(p), str(out))
    assert [json.loads(x) for x in out.read_text().splitlines()] == [
        {"event_id": "e1", "tool": "ide", "note": "two\nlines"},
        {"event_id": "e4", "tool": "cli"},
    ]
    assert list(line_map) == [2, 7]
    assert [(line, json.loads(raw), reason) for line, raw, reason in bad] == [
        (4, {"event_id": "e2", "tool": "ide"}, "ragged_row: expected 3 fields, got 2"),
        (
            6,
            {"event_id": "e3", "tool": "ide", "note": "", "_unnamed_1": "extra"},
            "ragged_row: expected 3 fields, got 4",
        ),
    ]


def test_line_numbers_of_quarantined_lines(tmp_path):
    import hashlib

    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a": 1}\r\nbad\n{"a": 2}\nbad\n')
    h = hashlib.sha256(b"bad").hexdigest()
    assert locate_lines(Prepared(str(p), "text"), {h}) == {(h, 1): 2, (h, 2): 4}

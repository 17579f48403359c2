"""The fast paths of landing inspection and staging give what the per-line paths give.

- A clean CSV file (no line set aside by inspection) is read by the csv module directly; the
  staged JSON lines, the line map and the ragged rows equal the per-line reader's, with
  values worked out by hand for a small file.
- The JSON depth scanner skips whole strings in one match; depth, record sizes and its state
  between pieces equal a character-by-character reading, wherever the text is cut.
"""

from __future__ import annotations

import gzip
import json

import pytest

from theater.sources.landing import csv_to_lines
from theater.sources.limits import DepthScanner

HAND = (
    "\ufeffuser_id,tool,note\r\n"
    'u1,ide,"two\r\nlines"\r\n'
    "\r\n"
    "u2,cli\r\n"  # ragged: 2 fields
    'u3,,"say ""hi"""\r\n'
    "u4,docs,é\r\n"
)


def _both(path, tmp_path):
    slow = csv_to_lines(str(path), str(tmp_path / "slow.jsonl"))
    fast = csv_to_lines(str(path), str(tmp_path / "fast.jsonl"), clean=True)
    return (
        (list(slow[0]), slow[1], (tmp_path / "slow.jsonl").read_text(encoding="utf-8")),
        (list(fast[0]), fast[1], (tmp_path / "fast.jsonl").read_text(encoding="utf-8")),
    )


def test_clean_csv_by_hand(tmp_path):
    path = tmp_path / "hand.csv"
    path.write_bytes(HAND.encode("utf-8"))
    slow, fast = _both(path, tmp_path)
    assert fast == slow
    line_map, bad, text = fast
    rows = [json.loads(x) for x in text.splitlines()]
    # BOM gone from the first name; empty value absent; quoted newline and quotes kept
    assert rows == [
        {"user_id": "u1", "tool": "ide", "note": "two\r\nlines"},
        {"user_id": "u3", "note": 'say "hi"'},
        {"user_id": "u4", "tool": "docs", "note": "é"},
    ]
    assert line_map == [2, 6, 7]  # the record of lines 2-3 starts at line 2; line 4 is blank
    assert bad == [
        (5, json.dumps({"user_id": "u2", "tool": "cli"}), "ragged_row: expected 3 fields, got 2")
    ]


@pytest.mark.parametrize(
    "body",
    [
        'a,b\n1,2\n\n\n3,"multi\nline"\n4,5,6\n',
        "a,a,b\n1,2,3\n",  # duplicate names: the per-line path keeps the last value
        'a,b\n1,"never closed\n2,3\n',
        "a,b\r1,2\r3,4\n",  # a lone CR is no line end for the per-line reader
        "a,b\n",
        "",
        "a,b\n   \n1,2",
    ],
)
def test_clean_csv_equals_per_line(tmp_path, body):
    path = tmp_path / "x.csv"
    path.write_text(body, encoding="utf-8", newline="")
    slow, fast = _both(path, tmp_path)
    assert fast == slow


def test_clean_csv_gzip(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(HAND.encode("utf-8")))
    slow, fast = _both(path, tmp_path)
    assert fast == slow and len(fast[0]) == 3


def _reference(text: str, limit: int) -> tuple:
    """Depth, max depth and largest record of ``text``, character by character."""
    depth = top = biggest = 0
    in_str = esc = False
    elem_depth = start = None
    for i, c in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            elem_depth = elem_depth or (2 if c == "[" else 3)
            depth += 1
            if depth == elem_depth:
                start = i
            top = max(top, depth)
            if top > limit:
                return (False, top)
        elif c in "]}" and depth > 0:
            if depth == elem_depth and start is not None:
                biggest = max(biggest, i + 1 - start)
                start = None
            depth -= 1
    return (True, depth, top, biggest, in_str)


@pytest.mark.parametrize(
    "text",
    [
        '[{"a": "x[y]{z}", "b": [1, 2]}, {"c": "q\\"[\\\\"}]',
        '{"data": [{"k": "v"}, {"k": "vv", "n": {"m": "]"}}]}',
        '[{"a": "unterminated [',
        '[{"a": "\\\\"}, {"b": "\\""}]',
        "[[[[[[1]]]]]]",
    ],
)
def test_depth_scanner_any_cut(text):
    for limit in (3, 64):
        want = _reference(text, limit)
        for cut in range(len(text) + 1):
            d = DepthScanner(limit)
            ok = d.feed(text[:cut]) and d.feed(text[cut:])
            got = (ok, d.max) if not ok else (ok, d.depth, d.max, d.max_element, d.in_string)
            assert got == want, (text, cut)

"""JSON re-framing as JSON lines, through the shared streamer (pure Python, no Spark)."""

from __future__ import annotations

import json

from theater.sources import stream
from theater.sources.landing import json_to_lines


def _lines(tmp_path, text, chunk=8):
    src, out = tmp_path / "a.json", tmp_path / "a.jsonl"
    src.write_text(text)
    old = stream._CHUNK
    stream._CHUNK = chunk  # elements, strings and separators cut across buffer refills
    try:
        n = json_to_lines(str(src), str(out))
    finally:
        stream._CHUNK = old
    return n, out.read_text().splitlines()


def test_array_elements_become_lines_even_across_small_chunks(tmp_path):
    items = [{"a": i, "s": 'x, ] [ " y', "meta": {"k": [1, 2]}} for i in range(50)]
    n, lines = _lines(tmp_path, " \n[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]\n")
    assert n == 50 and [json.loads(l) for l in lines] == items


def test_empty_array_and_non_objects(tmp_path):
    assert _lines(tmp_path, "[]") == (0, [])
    n, lines = _lines(tmp_path, '[1, "two", {"a": 1,\n "b": [2]}]')
    # each element's own text as delivered (JSON types are checked on it), on one line
    assert n == 3 and lines == ["1", '"two"', '{"a": 1,  "b": [2]}']


def test_not_an_array_or_broken_array_becomes_one_malformed_line(tmp_path):
    n, lines = _lines(tmp_path, '{"a": 1}')
    assert n == 1 and lines == ['{"a": 1}']
    n, lines = _lines(tmp_path, '[{"a": 1}, {"b": ')
    assert n == 2 and json.loads(lines[0]) == {"a": 1} and lines[1].strip() == '{"b":'

"""A JSON array of objects framed by its brackets (``stream.frame_json_array``) gives the lines
the general reader (``stream.iter_records``) gives, and hands every other shape back to it.

Each text is re-framed by ``landing.json_to_lines`` twice, with the bracket framing and with it
turned off, at buffer sizes that cut elements, strings and line breaks across reads."""

from __future__ import annotations

import pytest

from theater.sources import landing, stream
from theater.sources.limits import ReaderLimits

# the framing takes these (values by hand below for the first)
PLAIN = [
    '[{"a": 1, "s": "x, ] [ } {"},\n {"b": [1, {"c": 2}]}]',
    '\ufeff \r\n[\r\n{"a": 1,\r\n "b": 2},\r\n{"c": "d"}\r\n]\r\n',
    '[,{"a":1},,{"b":2},]  ,\n',
    "[]",
    '[{"u": "gh:acme/svc/src/a.py", "q": "it\'s"}, {"e": "é 😀"}]',
    '[{"a": 1}\r{"b": 2}]',  # a lone CR: a separator, and a line break inside an element
    '[{"a": tru}, {"a": NaN}, {"a" 1}, {"a": "x\ny"}, {"ok": true}]',  # malformed: the engine's
]
# the general reader takes these
OTHER = [
    '{"data": [{"a": 1}]}',
    '[{"a": 1}, 5, {"b": 2}]',
    '[{"a": 1}, "s"]',
    '[{"a": 1}, /* c */ {"b": 2}]',
    "[{'a': 1}, {\"b\": 2}]",
    '[{"a": "q\\"uote"}]',
    '[{"resourceLogs": []}]',
    '[{"a": 1}] trailing',
    '[{"a": 1}] [{"b": 2}]',
    '[{"a": 1}, {"b": ',
    '[{"a": "unclosed}, {"b": 2}]',  # a string running to the end of the file
    '[{"a": 1}, [2]]',
    '[{"a": 1]}',
    '[{"a": 1}\u00a0{"b": 2}]',
    "",
    "  \n",
    '[{"a": [[[[[[[[[[1]]]]]]]]]]}]',
]


def _frame(tmp_path, text: str, chunk: int, fast: bool, monkeypatch) -> tuple[int, bytes]:
    src, out = tmp_path / "a.json", tmp_path / "a.jsonl"
    src.write_bytes(text.encode("utf-8"))
    monkeypatch.setattr(stream, "_CHUNK", chunk)
    if not fast:
        monkeypatch.setattr(landing, "frame_json_array", lambda *a: None)
    try:
        n = landing.json_to_lines(str(src), str(out))
    finally:
        monkeypatch.undo()
    return n, out.read_bytes()


@pytest.mark.parametrize("chunk", [8, 13, 64, 1 << 20])
@pytest.mark.parametrize("text", PLAIN + OTHER)
def test_same_lines_as_the_general_reader(tmp_path, monkeypatch, text, chunk):
    assert _frame(tmp_path, text, chunk, True, monkeypatch) == _frame(
        tmp_path, text, chunk, False, monkeypatch
    )


def _framed(tmp_path, text: str, limits: ReaderLimits | None = None):
    src = tmp_path / "b.json"
    src.write_bytes(text.encode("utf-8"))
    got: list[bytes] = []
    n = stream.frame_json_array(str(src), got.append, limits or ReaderLimits(max_depth=8))
    return n, b"".join(got)


@pytest.mark.parametrize("text", PLAIN)
def test_plain_arrays_are_framed(tmp_path, text):
    assert _framed(tmp_path, text)[0] is not None


@pytest.mark.parametrize("text", OTHER)
def test_other_shapes_are_left_to_the_general_reader(tmp_path, text):
    assert _framed(tmp_path, text)[0] is None


def test_lines_by_hand(tmp_path):
    n, out = _framed(tmp_path, PLAIN[0])
    assert n == 2
    assert out == b'{"a": 1, "s": "x, ] [ } {"}\n{"b": [1, {"c": 2}]}\n'
    n, out = _framed(tmp_path, PLAIN[1])
    # BOM dropped; CR LF read as one line break, then a space (beside the one delivered)
    assert (n, out) == (2, b'{"a": 1,  "b": 2}\n{"c": "d"}\n')


def test_not_utf8_and_record_limit(tmp_path):
    src = tmp_path / "c.json"
    src.write_bytes(b'[{"a": "\xff"}]')
    assert stream.frame_json_array(str(src), print, ReaderLimits()) is None
    small = ReaderLimits(max_record_bytes=10)
    assert _framed(tmp_path, '[{"a": "0123456789"}]', small)[0] is None
    assert _framed(tmp_path, '[{"a": "0"}]', small)[0] == 1

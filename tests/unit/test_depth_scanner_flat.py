"""The depth scanner's array path (``DepthScanner._feed_flat``, used on long pieces) leaves the
same state as its per-bracket loop, wherever the text is cut into pieces.

Expected values for two small texts are worked out by hand; the rest compares the array path
(forced on every piece) with the loop (never used) on hand-made and seeded random texts,
including the pieces the array path must hand to the loop (a backslash, non-ASCII text, a
string open at a cut, a closer at depth 0, a level over the limit).
"""

from __future__ import annotations

import random

import pytest

from theater.sources.limits import DepthScanner


class _Flat(DepthScanner):
    FLAT_MIN = 0  # every piece tries the array path first


class _Loop(DepthScanner):
    FLAT_MIN = 1 << 62  # never


def _state(d: DepthScanner, ok: bool) -> tuple:
    if not ok:
        return (False, d.max)
    return (True, d.depth, d.max, d.max_element, d.in_string, d.elem_depth, d.open_size())


def _run(cls, pieces, limit):
    d = cls(limit)
    for p in pieces:
        if not d.feed(p):
            return _state(d, False)
    return _state(d, True)


def test_by_hand():
    # [{"a":"[x"},{"b":{"c":1}}]: records of 10 and 13 characters, depth 3 inside the second
    text = '[{"a":"[x"},{"b":{"c":1}}]'
    d = _Flat(64)
    assert d._feed_flat(text) is True
    assert (d.depth, d.max, d.max_element, d.in_string, d.elem_depth) == (0, 3, 13, False, 2)
    # cut inside the second record: that record stays open, 4 characters so far
    d = _Flat(64)
    assert d._feed_flat(text[:16]) is True
    assert (d.depth, d.elem_start, d.open_size(), d.max_element) == (2, 12, 4, 10)
    assert d._feed_flat(text[16:]) is True
    assert (d.depth, d.max_element) == (0, 13)
    # a wrapper object: records at depth 3
    d = _Flat(64)
    assert d._feed_flat('{"data":[{"k":1},{"k":22}]}') is True
    assert (d.elem_depth, d.max_element, d.max) == (3, 8, 3)
    # a piece that begins inside a string: its brackets up to the closing quote are text
    d = _Flat(64)
    assert d._feed_flat('[{"a":"x') is True and d.in_string
    assert d._feed_flat('[y]"},{"b":"}') is True
    assert (d.depth, d.max_element, d.in_string, d.open_size()) == (2, 12, True, 7)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no brackets at all",
        '[{"a": "x[y]{z}", "b": [1, 2]}, {"c": "q\\"[\\\\"}]',
        '{"data": [{"k": "v"}, {"k": "vv", "n": {"m": "]"}}]}',
        '[{"a": "unterminated [',
        "[[[[[[1]]]]]]",
        "]] [{}] }",  # closers at depth 0 are ignored
        '[{"é": "[ü"}, {"b": 1}]',
        '[1, "x", {"a": [[{"b": "c"}]]}, {}] trailing [',
    ],
)
@pytest.mark.parametrize("limit", [3, 64])
def test_flat_equals_loop_any_cut(text, limit):
    for cut in range(len(text) + 1):
        pieces = [text[:cut], text[cut:]]
        assert _run(_Flat, pieces, limit) == _run(_Loop, pieces, limit), (text, cut)


def _random_json(rng: random.Random, depth: int = 0) -> str:
    r = rng.random()
    if depth > 6 or r < 0.35:
        return rng.choice(['"s"', '"a[b"', '"}{"', "12", "true", "null", '"x]"', '""'])
    if r < 0.65:
        items = [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return "[" + ",".join(items) + "]"
    keys = [f'"k{i}":{_random_json(rng, depth + 1)}' for i in range(rng.randint(0, 4))]
    return "{" + ",".join(keys) + "}"


@pytest.mark.parametrize("seed", range(6))
def test_flat_equals_loop_random(seed):
    rng = random.Random(seed)
    text = "[" + ",".join(_random_json(rng) for _ in range(60)) + "]"
    if seed % 3 == 1:  # sometimes broken: a stray closer or an unclosed string
        k = rng.randrange(len(text))
        text = text[:k] + rng.choice(["]", '"', "}}", "\\"]) + text[k:]
    for limit in (4, 64):
        for _ in range(40):
            cuts = sorted(rng.randrange(len(text) + 1) for _ in range(rng.randint(1, 4)))
            pieces = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)])]
            assert _run(_Flat, pieces, limit) == _run(_Loop, pieces, limit), (seed, cuts)


def test_flat_hands_over():
    # each of these leaves the loop to read the piece: nothing changed by the array path
    for text, state in [
        ('{"a": "\\"x"}', {}),
        ('{"é": 1}', {}),
        ("}", {}),
        ("[[[[[", {}),
        ('x"]', {"in_string": True, "escape": True}),
    ]:
        d = _Flat(3)
        for k, v in state.items():
            setattr(d, k, v)
        before = dict(vars(d))
        assert d._feed_flat(text) is None, text
        assert vars(d) == before

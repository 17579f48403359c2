"""Bounds on reading one delivered file, shared by every reader (native landing, vendor
exports, ``theater inspect``): nesting depth, record size, decompressed bytes and ratio.

A file is untrusted input: without bounds one 2 MB ``.json.gz`` of whitespace expands to
gigabytes, one 10,000-level JSON value exhausts the interpreter's stack, and one 100 MB line is
held (and quarantined) whole. Each reader checks these limits as it streams, so a file over a
limit costs at most about the limit to find, and the reason names the limit and its setting.

The limits in force are a process-wide setting (:func:`set_current`), set from the
configuration (``readers:`` in conf/base.yaml) by the stages and commands that read files;
code that reads without configuration gets the defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_MB = 1 << 20


@dataclass(frozen=True)
class ReaderLimits:
    max_depth: int = 64
    max_record_bytes: int = 16 * _MB
    max_decompressed_bytes: int = 8 << 30
    max_ratio: float = 200.0
    ratio_min_bytes: int = 64 * _MB
    quarantine_prefix_bytes: int = 4096

    @classmethod
    def from_config(cls, cfg: Any) -> "ReaderLimits":
        """From a Config (its ``readers`` section), a mapping of the section, or None."""
        if cfg is None:
            return cls()
        section = getattr(cfg, "readers", None)
        if section is None and isinstance(cfg, dict):
            section = cfg.get("readers", cfg)
        if section is None:
            return cls()
        get = (
            (lambda k: section.get(k))
            if isinstance(section, dict)
            else (lambda k: getattr(section, k, None))
        )
        kw = {}
        for name in cls.__dataclass_fields__:
            v = get(name)
            if v is not None:
                kw[name] = float(v) if name == "max_ratio" else int(v)
        return cls(**kw)

    def too_deep(self, depth_seen: int | None = None) -> str:
        return (
            f"over_limit: JSON nested deeper than {self.max_depth} levels "
            f"(readers.max_depth = {self.max_depth})"
        )

    def too_big(self, size: int) -> str:
        return (
            f"oversized_record: {size} bytes, over readers.max_record_bytes = "
            f"{self.max_record_bytes}"
        )

    def check_bytes(self, text_bytes: int, compressed_bytes: int | None) -> str | None:
        """The reason a file that has produced ``text_bytes`` so far (from ``compressed_bytes``
        on disk when compressed) is over a limit, or None."""
        if text_bytes > self.max_decompressed_bytes:
            return (
                f"over_limit: more than {self.max_decompressed_bytes} bytes of text "
                f"(readers.max_decompressed_bytes = {self.max_decompressed_bytes})"
            )
        if (
            compressed_bytes is not None
            and text_bytes > self.ratio_min_bytes
            and text_bytes > self.max_ratio * max(compressed_bytes, 1)
        ):
            return (
                f"over_limit: decompression ratio over {self.max_ratio:g} "
                f"({text_bytes} bytes of text from {compressed_bytes} compressed; "
                f"readers.max_ratio = {self.max_ratio:g}): a decompression bomb?"
            )
        return None


_current = ReaderLimits()


def current() -> ReaderLimits:
    """The limits in force (set from the configuration by the caller that reads files)."""
    return _current


def set_current(limits: ReaderLimits | Any) -> ReaderLimits:
    """Put ``limits`` (a ReaderLimits, a Config or None for the defaults) in force; returns the
    previous limits."""
    global _current
    prev = _current
    _current = limits if isinstance(limits, ReaderLimits) else ReaderLimits.from_config(limits)
    return prev


_BRACKETS = re.compile(r'["\[\]{}]')
_STRING_END = re.compile(r'["\\]')
# text without brackets, where each string is whole (closed within the piece fed)
_TO_BRACKET = re.compile(r'[^"\[\]{}]*(?:"[^"\\]*(?:\\.[^"\\]*)*"[^"\[\]{}]*)*', re.DOTALL)


class DepthScanner:
    """Nesting depth of JSON text fed in pieces, without decoding it and without recursion:
    brackets outside strings are counted (a tolerant scan: malformed text gives some depth, never
    an error). ``feed`` returns False as soon as the depth exceeds ``limit``.

    It also measures the records of a JSON file (``max_element``, in characters): the values at
    depth 2 of a top-level array (``[{...}, ...]``), else at depth 3 (a wrapper object's array,
    ``{"data": [{...}]}``).
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.depth = 0
        self.max = 0
        self.in_string = False
        self.escape = False
        self.offset = 0  # characters fed before the current piece
        self.elem_depth: int | None = None
        self.elem_start: int | None = None
        self.max_element = 0

    def open_size(self) -> int:
        """Size so far of a record still open (the text ended inside it)."""
        if self.elem_start is None:
            return 0
        return self.offset - self.elem_start

    #: Pieces at least this long are tried by :meth:`_feed_flat` first (below it, numpy's set-up
    #: costs more than the loop; a single record checked by :func:`deeper_than` is short).
    FLAT_MIN = 4096

    def feed(self, text: str) -> bool:
        if len(text) >= self.FLAT_MIN:
            done = self._feed_flat(text)
            if done is not None:
                return done
        i, n = 0, len(text)
        base = self.offset
        self.offset += n
        if self.escape and n:
            i, self.escape = 1, False
        while i < n:
            if self.in_string:
                m = _STRING_END.search(text, i)
                if m is None:
                    return True
                if m.group() == "\\":
                    if m.start() + 1 >= n:
                        self.escape = True
                        return True
                    i = m.start() + 2
                    continue
                self.in_string = False
                i = m.end()
                continue
            # everything up to the next bracket, whole strings included, in one C-level match:
            # a flat record costs two steps of this loop, not one per string
            i = _TO_BRACKET.match(text, i).end()
            m = _BRACKETS.search(text, i)
            if m is None:
                return True
            c = m.group()
            i = m.end()
            if c == '"':
                self.in_string = True
            elif c in "[{":
                if self.elem_depth is None:
                    self.elem_depth = 2 if c == "[" else 3
                self.depth += 1
                if self.depth == self.elem_depth:
                    self.elem_start = base + m.start()
                if self.depth > self.max:
                    self.max = self.depth
                    if self.depth > self.limit:
                        return False
            elif self.depth > 0:
                if self.depth == self.elem_depth and self.elem_start is not None:
                    size = base + m.end() - self.elem_start
                    if size > self.max_element:
                        self.max_element = size
                    self.elem_start = None
                self.depth -= 1
        return True

    def _feed_flat(self, text: str) -> bool | None:
        """:meth:`feed` for the common piece, with the same state after it, in a few array
        operations instead of one Python step per bracket: ASCII text without a backslash
        (every quote opens or closes a string), not starting just after a backslash, whose
        brackets never close below depth 0 and never go past the limit. None (nothing changed)
        for any other piece, which the loop reads."""
        if self.escape or "\\" in text or not text.isascii():
            return None
        import numpy as np

        a = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        opener = (a == 0x5B) | (a == 0x7B)  # [ {
        at = np.flatnonzero(opener | (a == 0x5D) | (a == 0x7D))  # and ] }
        quotes = np.flatnonzero(a == 0x22)
        inside = 1 if self.in_string else 0  # a piece may begin inside a string
        if len(quotes) and len(at):
            # outside every string: an even number of quotes before it (the open one counted)
            at = at[((np.searchsorted(quotes, at) + inside) & 1) == 0]
        elif inside:
            at = at[:0]
        depth, top, elem_depth, start = self.depth, self.max, self.elem_depth, self.elem_start
        biggest = self.max_element
        if len(at):
            step = np.where(opener[at], 1, -1)
            after = depth + np.cumsum(step)
            if after.min() < 0 or after.max() > self.limit:
                return None  # a closer the loop ignores, or the level where it stops
            if elem_depth is None:  # no bracket before: the first one here opens
                elem_depth = 2 if a[at[0]] == 0x5B else 3
            top = max(top, int(after.max()))
            depth = int(after[-1])
            opens = at[(step == 1) & (after == elem_depth)]
            closes = at[(step == -1) & (after == elem_depth - 1)]
            # at the element's level opens and closes alternate; a close first ends the
            # element open when the piece began
            if len(closes) and (not len(opens) or closes[0] < opens[0]):
                if start is not None:
                    biggest = max(biggest, self.offset + int(closes[0]) + 1 - start)
                start = None
                closes = closes[1:]
            if len(closes):
                biggest = max(biggest, int((closes + 1 - opens[: len(closes)]).max()))
                start = None
            if len(opens) > len(closes):
                start = self.offset + int(opens[-1])
        self.depth, self.max, self.elem_depth, self.elem_start = depth, top, elem_depth, start
        self.max_element = biggest
        self.in_string = (len(quotes) + inside) % 2 == 1
        self.offset += len(text)
        return True


def deeper_than(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests deeper than ``limit`` (cheap when it holds few brackets)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    return not DepthScanner(limit).feed(text)

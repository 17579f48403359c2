"""Per-interaction theater signals.

Each module exposes ``NAME`` and a function returning a transform that adds the boolean column
``sig_<NAME>``: true (fired), false (measured, did not fire) or null (NA: the fields it needs
are absent). Three-valued SQL logic carries NA through: ``false AND null`` is false, ``true AND
null`` is null.
"""
from . import fragmentation, padding, repeat_prompt, self_summary, unused_output

ALL = (unused_output, self_summary, repeat_prompt, fragmentation, padding)
NAMES = tuple(m.NAME for m in ALL)


def column(name: str) -> str:
    return f"sig_{name}"

"""Per-interaction theater signals.

Each module exposes ``NAME`` and a function returning a transform that adds the boolean column
``sig_<NAME>``: true (fired), false (measured, did not fire) or null (NA: the fields it needs
are absent). Three-valued SQL logic carries NA through: ``false AND null`` is false, ``true AND
null`` is null.

Incentive components (``quota_bunching``, ``checkpoint_burst``) are org-level estimates turned
into per-interaction weights: ``sig_<NAME>`` is a double in [0, 1], null where not measured
(estimated and applied by ``theater.stages.incentives``).
"""

from . import (
    checkpoint_burst,
    fragmentation,
    padding,
    quota_bunching,
    repeat_prompt,
    self_summary,
    unused_output,
)

ALL = (unused_output, self_summary, repeat_prompt, fragmentation, padding)
FLAG_NAMES = tuple(m.NAME for m in ALL)
INCENTIVE_NAMES = (quota_bunching.NAME, checkpoint_burst.NAME)
NAMES = FLAG_NAMES + INCENTIVE_NAMES


def column(name: str) -> str:
    return f"sig_{name}"

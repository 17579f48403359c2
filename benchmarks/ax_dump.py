"""``theater.cli`` with the acceptance estimator's inputs kept: every call of
``theater.signals.acceptance_excess.estimate`` (and of ``acceptance_codes.estimate_counts``, the
score stage's path: its coded counts written as the same string rows) also writes its two
frames (``acc.parquet``, ``users.parquet``) under ``$AX_DUMP``, so a benchmark can rank alternative estimators on exactly
what the score stage read. Benchmark-only; not part of the product.

Usage: AX_DUMP=DIR python benchmarks/ax_dump.py run --landing ... (any ``theater`` arguments)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from theater import cli
from theater.signals import acceptance_codes as codes
from theater.signals import acceptance_excess as ax

_estimate = ax.estimate
_estimate_counts = codes.estimate_counts


def _dump(acc, users) -> None:
    out = Path(os.environ["AX_DUMP"])
    out.mkdir(parents=True, exist_ok=True)
    acc.to_parquet(out / "acc.parquet", index=False)
    users.to_parquet(out / "users.parquet", index=False)


def _dumping(acc, users, s=None):
    _dump(acc, users)
    return _estimate(acc, users, s)


def _dumping_counts(c, users, s=None):
    _dump(c.frame(), users)
    return _estimate_counts(c, users, s)


if __name__ == "__main__":
    if not os.environ.get("AX_DUMP"):
        raise SystemExit("ax_dump: set AX_DUMP to the folder for the estimator's inputs")
    ax.estimate = _dumping
    codes.estimate_counts = _dumping_counts
    sys.argv[0] = "theater"
    cli.entry()

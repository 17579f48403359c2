"""Suites that run only when asked for by path (``pytest tests/spark``, ``make test-cluster``):
the main run skips their folders."""

from __future__ import annotations

from pathlib import Path


def asked_for(config, folder: Path) -> bool:
    """Whether the pytest command line names ``folder`` or something inside it."""
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        p = (base / arg.split("::")[0]).resolve()
        if p == folder or folder in p.parents:
            return True
    return False

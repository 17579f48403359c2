"""One valid native interaction, and JSON-lines files of copies of it under their own ids, for
the ingest tests that need good lines whose content does not matter."""

from __future__ import annotations

import json
from pathlib import Path

EVENT = {
    "event_ts": "2026-07-06T10:00:00Z",
    "user_id": "u1",
    "org_id": "o1",
    "tool": "ide",
    "action": "chat",
}


def event_lines(prefix: str, n: int) -> list[str]:
    """``n`` JSON lines of ``EVENT`` with event ids ``prefix0`` .. ``prefix{n-1}``."""
    return [json.dumps({**EVENT, "event_id": f"{prefix}{i}"}) for i in range(n)]


def write_lines(path: Path, lines: list[str]) -> None:
    """``lines`` to ``path``, each ended by a newline (its folder made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))

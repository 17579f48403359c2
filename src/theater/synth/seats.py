"""Seats for a generated world: a GitHub Copilot seat listing in ``landing/seats/``.

The world's ``ide`` tool stands for Copilot: everyone who uses it in the period holds a seat,
and so does a share of the others (``UNUSED_SHARE``: licences handed out and never used). Every
seat is assigned 1-400 days before the period and still held at its end (no
``pending_cancellation_date``). The listing is the one GitHub's
``GET /enterprises/{enterprise}/copilot/billing/seats`` returns (``{"total_seats": n,
"seats": [...]}``), taken at the period's end: ``assignee.login`` is the person's directory
``user_id`` (an id or a mail address; this world's people use it as their GitHub login), and
``last_activity_at`` the holder's last ``ide`` interaction (null if none), except for a planted
share of lapsed holders (``LAPSED_SHARE``) who stopped using Copilot for another IDE assistant:
their last activity is 29-120 days before the period's end, or null (never used). Copilot's use
shows in the listing only (no usage source of the native landing zone is GitHub's), so a seat
is idle exactly when its last activity is before the period's last 28 days or null: the
summary's ``idle``.

Its own random stream (``[seed, 31]``), so a world with seats has the same interactions,
directory and truth files as one without. ``DEMO_PRICES`` is the price table ``theater demo``
uses with it (GitHub Copilot Business's list price), since the default configuration has none.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from .vocab import TOOLS

#: of the people with no ``ide`` use, the share who hold a seat anyway
UNUSED_SHARE = 0.15
#: the share of holders who stopped using Copilot (their seats are idle)
LAPSED_SHARE = 0.12
#: the demo's price table (``adoption.prices`` entries): GitHub Copilot Business, per seat
DEMO_PRICES = ({"tool": "github_copilot", "effective_from": "2026-01-01", "seat_per_month": 19},)
FILE = "seats/github_copilot_seats.json"
EDITORS = ("vscode/1.104.0/copilot/1.360.0", "JetBrains-IU/252.2/copilot-intellij/1.5.52")


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(int(seconds), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_github_seats(landing: Path, world, rows: dict, seed: int) -> dict:
    """Write ``landing/seats/github_copilot_seats.json`` for ``world`` and its interaction
    ``rows`` (code arrays: ``user``, ``tool``, ``ts`` in UTC epoch seconds); returns its counts
    (seats, seats used in the period, idle seats)."""
    rng = np.random.default_rng([seed, 31])
    n = world.n_users
    ide = rows["tool"] == TOOLS.index("ide")
    last = np.full(n, -1, np.int64)
    np.maximum.at(last, rows["user"][ide], rows["ts"][ide])
    first = np.full(n, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, rows["user"][ide], rows["ts"][ide])
    holds = (last >= 0) | (rng.random(n) < UNUSED_SHARE)
    lapsed = holds & (rng.random(n) < LAPSED_SHARE)
    never = lapsed & (rng.random(n) < 0.5)
    last = np.where(lapsed, world.t1 - rng.integers(29 * 86400, 120 * 86400, n), last)
    last = np.where(never, -1, last)
    used = last >= 0
    # assigned 1-400 days before the earliest of the period's start and the first use
    since = np.minimum(np.minimum(first, np.where(used, last, first)), world.t0) // 86400
    since = since - rng.integers(1, 401, n)
    editor = rng.integers(0, len(EDITORS), n)
    seats = []
    for u in np.flatnonzero(holds):
        seats.append(
            {
                "created_at": _iso(since[u] * 86400 + 9 * 3600),
                "updated_at": _iso(since[u] * 86400 + 9 * 3600),
                "pending_cancellation_date": None,
                "last_activity_at": _iso(last[u]) if used[u] else None,
                "last_activity_editor": EDITORS[editor[u]] if used[u] else None,
                "plan_type": "business",
                "assignee": {"login": str(world.ident[u]), "id": int(u) + 1, "type": "User"},
            }
        )
    path = landing / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"total_seats": len(seats), "seats": seats}, indent=1))
    recent = world.t1 - 28 * 86400
    return {
        "seats": int(holds.sum()),
        "used_in_period": int((holds & (last >= world.t0)).sum()),
        "idle": int((holds & (last < recent)).sum()),
    }

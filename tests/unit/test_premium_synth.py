"""The synthetic premium requests report (a companion of GitHub's users report): the allowance
arithmetic on a hand-made frame, and a generated delivery read back by the format with the
counts of the native events it bills (independently of the writer) and of vendor_counts.json."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date

import pandas as pd
import pyarrow.dataset as pads
import pytest

from theater.sources.exports import FORMATS, recognise
from theater.sources.stream import iter_records
from theater.synth import generate
from theater.synth.exports import COMPANIONS, write_vendor_delivery
from theater.synth.exports import github_copilot_premium_requests as w
from theater.synth.exports.common import DAY_MS

NAME = "github_copilot_premium_requests"


def _events(rows):
    """(user, day, action, model) -> native-like rows (ms at noon UTC of the day)."""
    out = []
    for i, (user, day, action, model) in enumerate(rows):
        ms = int(pd.Timestamp(day, tz="UTC").value // 1_000_000) + DAY_MS // 2
        out.append(
            {
                "user_id": user,
                "ms": ms,
                "action": action,
                "model": model,
                "output_disposition": "accepted",
                "completion_tokens": 0,
                "event_id": f"e{i}",
            }
        )
    return pd.DataFrame(out)


def test_billed_by_hand(monkeypatch):
    # quota 3 a month. u1 2026-03-01: 2 Sonnet chats + 1 completion (not a premium request)
    # + 1 gpt-4.1-mini chat (0x: no row) -> Sonnet 2, inside the allowance (discount 8c, net 0).
    # u1 03-02: 2 Sonnet + 1 Codex, billed in model-name order: Sonnet the 3rd (inside) and
    # 4th (over) request of the month -> gross 8c, discount 4c, net 4c; Codex the 5th (over)
    # -> net 4c. u1 04-01: a new month, 1 Sonnet inside.
    monkeypatch.setattr(w, "MONTHLY_QUOTA", 3)
    d = _events(
        [
            ("u1", "2026-03-01", "chat", "claude-sonnet-4"),
            ("u1", "2026-03-01", "chat", "claude-sonnet-4"),
            ("u1", "2026-03-01", "complete", "claude-sonnet-4"),
            ("u1", "2026-03-01", "chat", "gpt-4.1-mini"),
            ("u1", "2026-03-02", "agent", "codex-1"),
            ("u1", "2026-03-02", "chat", "claude-sonnet-4"),
            ("u1", "2026-03-02", "code_edit", "claude-sonnet-4"),
            ("u1", "2026-04-01", "chat", "claude-sonnet-4"),
        ]
    )
    g = w.billed(d)
    got = [
        (r.day, r.model, r.quantity, r.gross, r.discount, r.net, bool(r.exceeds))
        for r in g.itertuples()
    ]
    assert got == [
        ("2026-03-01", "claude-sonnet-4", 2, 8, 8, 0, False),
        ("2026-03-02", "claude-sonnet-4", 2, 8, 4, 4, True),
        ("2026-03-02", "codex-1", 1, 4, 0, 4, True),
        ("2026-04-01", "claude-sonnet-4", 1, 4, 4, 0, False),
    ]


def test_billed_in_model_order_within_a_day(monkeypatch):
    # the allowance runs in day order, models by name within a day: claude-sonnet-4 first
    monkeypatch.setattr(w, "MONTHLY_QUOTA", 1)
    g = w.billed(
        _events(
            [
                ("u1", "2026-03-02", "agent", "codex-1"),
                ("u1", "2026-03-02", "chat", "claude-sonnet-4"),
            ]
        )
    )
    assert [(r.model, r.discount, r.net) for r in g.itertuples()] == [
        ("claude-sonnet-4", 4, 0),
        ("codex-1", 0, 4),
    ]


def test_unknown_companion_refused(tmp_path):
    with pytest.raises(ValueError, match="not a companion format"):
        write_vendor_delivery(tmp_path / "native", tmp_path / "out", 1, ("cursor_daily_usage",))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("premium_world")
    native, out = root / "native", root / "vendor"
    generate(
        native,
        seed=13,
        n_orgs=6,
        n_users=60,
        start=date(2026, 7, 1),
        end=date(2026, 7, 15),
        formats="parquet",
    )
    counts = write_vendor_delivery(native, out, seed=13, companions=(NAME,))
    return native, out, counts


def test_generated_report_read_back_with_the_native_counts(world):
    native, out, counts = world
    assert COMPANIONS[NAME] == "github_copilot_users"
    files = sorted((out / "landing" / "vendor" / NAME).rglob("*.csv"))
    assert [p.name for p in files] == ["premium_request_usage_report_2026-07.csv"]
    rows, bad = [], 0
    for p in files:
        assert recognise(str(p)) == NAME
        for rec in iter_records(str(p)):
            assert rec.error is None
            rows.extend(FORMATS[NAME].map_record(rec.record))
    truth = json.loads((out / "truth" / "vendor_counts.json").read_text())
    c = truth["formats"][NAME]
    assert (c["files"], c["records"], c["user_days"], bad) == (1, len(rows), len(rows), 0)
    assert truth["companions"] == {NAME: "github_copilot_users"}

    # independently: the native requested events of the orgs whose IDE is delivered as the
    # users report, on a billed model, per (login, day)
    stacks = pd.read_csv(out / "truth" / "vendor_stacks.csv")
    gh_orgs = set(stacks[(stacks.tool == "ide") & (stacks.format == "github_copilot_users")].org_id)
    nat = (
        pads.dataset(str(native / "landing" / "interactions"), format="parquet")
        .to_table(columns=["event_id", "tool", "user_id", "event_ts", "action", "model"])
        .to_pandas()
    )
    org = {
        (r["tool"], r["event_id"]): r["org_id"]
        for r in csv.DictReader(open(native / "truth" / "interactions.csv"))
    }
    nat["org"] = [org.get(k) for k in zip(nat.tool, nat.event_id)]
    nat["day"] = pd.to_datetime(nat.event_ts, utc=True, format="ISO8601").dt.strftime("%Y-%m-%d")
    sel = nat[
        (nat.tool == "ide")
        & nat.org.isin(gh_orgs)
        & (nat.action != "complete")
        & nat.model.isin(["claude-sonnet-4", "codex-1"])
    ]
    ids = pd.read_csv(out / "landing" / "identities" / "identities.csv")
    login = dict(ids[ids.alias_kind == "github_login"][["user_id", "alias"]].values)
    want = Counter((login[u], d) for u, d in zip(sel.user_id, sel.day))
    got = Counter()
    for r in rows:
        got[(r["user_id"], r["day"])] += r["requests"]
    assert len(want) > 20 and got == want
    # cost: per person and month, the requests beyond the allowance at 0.04 dollars
    month = Counter()
    for (user, day), n in want.items():
        month[(user, day[:7])] += n
    cents = sum(max(0, n - w.MONTHLY_QUOTA) * w.PRICE_CENTS for n in month.values())
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(cents / 100)


def test_without_companions_nothing_written(world, tmp_path):
    native, _, _ = world
    counts = write_vendor_delivery(native, tmp_path / "plain", seed=13)
    assert NAME not in counts["formats"] and counts["companions"] == {}
    assert not (tmp_path / "plain" / "landing" / "vendor" / NAME).exists()

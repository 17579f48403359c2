"""The report's adoption section: what a vendor dashboard shows (seats, active, engaged, idle,
cost) across every tool at once, and the same net of theater, from ``gold/org_adoption``'s
``source_format = 'all'`` rows. Suppressed orgs show no figure at all; unknown prints as "—",
never 0. Plain values only: the template escapes them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..transforms.adoption import ALL
from .page import count, num

#: the company card's figures, summed over the published orgs' ``all`` rows
SUMMED = (
    "active_users",
    "engaged_users",
    "licensed_seats",
    "idle_seats",
    "theater_only_seats",
    "requests",
    "genuine_users",
    "genuine_users_low",
    "genuine_users_high",
    "genuine_requests",
    "genuine_requests_low",
    "genuine_requests_high",
    "cost",
    "automation_requests",
    "new_users",
    "retained_users",
    "reactivated_users",
    "lapsed_users",
)


@dataclass
class AdoptionView:
    cards: list[dict]  # label, big, small
    rows: list[dict]  # per org, highest active users first; suppressed ones last
    n_published: int
    n_suppressed: int
    previous_label: str | None
    currency: str
    notes: list[str] = field(default_factory=list)


def _all_rows(adoption: pd.DataFrame | None) -> pd.DataFrame:
    if adoption is None or adoption.empty:
        return pd.DataFrame()
    return adoption[adoption["source_format"] == ALL].copy()


def _sum(rows: pd.DataFrame, col: str):
    """Sum of the known values; None when no org knows it (unknown is not 0)."""
    if col not in rows or rows[col].isna().all():
        return None
    return float(rows[col].sum(skipna=True))


def _money(v, currency: str, digits: int = 0) -> str:
    return "—" if v is None or pd.isna(v) else f"{num(v, digits)} {currency}"


def _range(lo, hi) -> str:
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    return f"{count(lo)}–{count(hi)}"


def _change(now, before) -> str:
    if now is None or before is None or pd.isna(now) or pd.isna(before) or before == 0:
        return "—"
    return f"{(now - before) / before * 100:+.0f}%".replace("-", "−")


def _card_active(t: dict, p_active, previous_label: str | None) -> dict:
    return {
        "id": "adoption-active",
        "label": "Active people, every tool",
        "big": count(t["active_users"]),
        "small": f"{count(t['engaged_users'])} engaged (use in half the weeks or more)"
        + (
            f" · {_change(t['active_users'], p_active)} vs {previous_label}"
            if previous_label and p_active
            else ""
        ),
    }


def _card_genuine(t: dict, pub: pd.DataFrame) -> dict:
    gu = _range(t["genuine_users_low"], t["genuine_users_high"])
    # net figures compare with the orgs whose theater is measured, never with all orgs
    measured = pub[pub["genuine_users"].notna()] if "genuine_users" in pub else pub.iloc[0:0]
    m_active, m_requests = _sum(measured, "active_users"), _sum(measured, "requests")
    return {
        "id": "adoption-genuine",
        "label": "Active net of theater",
        "big": count(t["genuine_users"]),
        "small": (
            f"of {count(m_active)} active in the {len(measured)} of {len(pub)} orgs whose "
            f"theater is measured ({gu or '—'}) · {count(t['genuine_requests'])} of "
            f"{count(m_requests)} of their requests genuine"
            if len(measured)
            else "theater is not measurable in any published org"
        ),
    }


def _card_seats(t: dict) -> dict:
    return {
        "id": "adoption-seats",
        "label": "Seats",
        "big": count(t["licensed_seats"]),
        "small": f"{count(t['idle_seats'])} idle 28 days · "
        f"{count(t['theater_only_seats'])} used only for theater",
    }


def _card_cost(t: dict, currency: str) -> dict:
    def per(den: str):
        return t["cost"] / t[den] if t["cost"] is not None and t[den] else None

    return {
        "id": "adoption-cost",
        "label": "Cost",
        "big": _money(t["cost"], currency),
        "small": "per active person: "
        + _money(per("active_users"), currency)
        + " · per genuine request: "
        + _money(per("genuine_requests"), currency, 2),
    }


def _org_row(r: dict, prev_by_org: dict, currency: str) -> dict:
    share = r.get("performative_cost_share")
    return {
        "org": r["org_id"],
        "suppressed": False,
        "active": count(r["active_users"]),
        "engaged": count(r["engaged_users"]),
        "genuine": count(r["genuine_users"]),
        "genuine_range": _range(r["genuine_users_low"], r["genuine_users_high"]),
        "seats": count(r["licensed_seats"]),
        "idle": count(r["idle_seats"]),
        "cost": _money(r["cost"], currency),
        "per_user": _money(r["cost_per_active_user"], currency),
        "performative": "—" if share is None or pd.isna(share) else f"{share * 100:.0f}%",
        "cohorts": "/".join(
            count(r[c])
            for c in ("new_users", "retained_users", "reactivated_users", "lapsed_users")
        ),
        "vs_previous": _change(r["active_users"], prev_by_org.get(r["org_id"])),
    }


def _org_rows(
    pub: pd.DataFrame, hidden: pd.DataFrame, prev_pub: pd.DataFrame, currency: str
) -> list[dict]:
    """Published orgs, highest active first, then the suppressed ones (no figure at all)."""
    prev_by_org = (
        dict(zip(prev_pub["org_id"], prev_pub["active_users"])) if not prev_pub.empty else {}
    )
    ordered = pub.sort_values(["active_users", "org_id"], ascending=[False, True])
    out = [_org_row(r, prev_by_org, currency) for r in ordered.to_dict("records")]
    return out + [{"org": o, "suppressed": True} for o in sorted(hidden["org_id"])]


def _notes(t: dict, pub: pd.DataFrame) -> list[str]:
    notes = []
    unconverted = (
        int((pub["cost_note"] == "vendor_usd_not_converted").sum()) if "cost_note" in pub else 0
    )
    if t["automation_requests"]:
        notes.append(
            f"{count(t['automation_requests'])} requests made by bots, coding agents or "
            "policy-triggered reviews are counted apart and in no figure above."
        )
    if t["licensed_seats"] is None:
        notes.append("No seat file for this period (landing/seats/): seats show as —.")
    if unconverted:
        notes.append(
            f"Cost of {unconverted} org(s) shows as —: vendors report their own cost in US "
            "dollars and the price table is in another currency with no adoption.usd_rate to "
            "convert them (never summed unconverted)."
        )
    elif t["cost"] is None:
        notes.append("No price in the configuration (adoption.prices): cost shows as —.")
    return notes


def view(
    adoption: pd.DataFrame | None,
    previous: pd.DataFrame | None = None,
    previous_label: str | None = None,
    currency: str = "USD",
) -> AdoptionView | None:
    """The section's values; None without an adoption table (nothing to show)."""
    rows = _all_rows(adoption)
    if rows.empty:
        return None
    supp = rows["suppressed"].astype(bool)
    pub, hidden = rows[~supp], rows[supp]
    prev = _all_rows(previous)
    prev_pub = prev[~prev["suppressed"].astype(bool)] if not prev.empty else prev
    t = {c: _sum(pub, c) for c in SUMMED}
    p_active = _sum(prev_pub, "active_users") if not prev_pub.empty else None
    cards = [
        _card_active(t, p_active, previous_label),
        _card_genuine(t, pub),
        _card_seats(t),
        _card_cost(t, currency),
    ]
    return AdoptionView(
        cards=cards,
        rows=_org_rows(pub, hidden, prev_pub, currency),
        n_published=len(pub),
        n_suppressed=len(hidden),
        previous_label=previous_label if not prev_pub.empty else None,
        currency=currency,
        notes=_notes(t, pub),
    )

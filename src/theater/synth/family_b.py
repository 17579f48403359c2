"""A second, independent world family for the incentive mechanisms ("family B").

The main generator (the rest of ``theater.synth``, "family A") is the world the incentive
detectors were designed and tuned on. This module shares no code with it: its own calendar,
activity model, mechanisms and columns, written to the same native landing contract, so that
detection can be measured on worlds whose details nobody tuned against. Every knob is drawn per
world or per team from the seed (``team_knobs``); the truth lists them.

Teams are orgs (``org_id``) under two departments. What differs from family A:

==================  =========================================================================
quotas              a threshold per team drawn from 7-36 (not a fixed ladder); in half of the
                    worlds a company-wide ``*`` quota covers the teams without their own; a
                    team's quota may start inside the period (pre-quota weeks) or change once
top-up timing       per team: ``end_burst`` (the week's shortfall sent in one run on Thursday or
                    Friday afternoon) or ``spread`` (the shortfall paced over the working days)
top-up target       the quota plus an overshoot of 0, 1 or 2 (p 0.5 / 0.3 / 0.2); only users
                    who reached a team-level share of the quota on their own bother
filler outputs      a per-team share (0.2-0.7) of fillers look used: accepted, edited or
                    inserted and read for 5-40 s; the rest are discarded, ignored or glanced at
review cadence      per team: monthly (last working day), monthly on the first Monday,
                    quarterly (once, late in the period), ad hoc (2-4 dates), or none; in some
                    worlds a company-wide ``*`` review as well
burst shape         per team: a lead of 1-5 working days before the review, rising towards it;
                    a per-team share of users bursts; bursts' outputs look used at a per-team
                    share (0.2-0.7)
hard negatives      genuinely heavy users (3-5x), release crunches (a team at 1.8-2.5x for 3-5
                    working days), on-call weeks (one or two users a team at 2.5-4x a week)
==================  =========================================================================

``generate_b(out, seed=..., n_teams=..., ...)`` writes ``out/landing`` (interactions per tool
and ISO week, directory, work items, policies; all Parquet) and ``out/truth``
(``interactions.csv``: event_id, tool, is_theater, mechanism, org_id; ``hard_negatives.csv``:
event_id, tool, kind, honest_failure; ``teams.json``: every team's knobs). Same seed and
parameters -> the same files.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TOOLS = ("assistant", "ide", "docs", "cli")
ACTIONS_BY_TOOL = (
    ("chat", "rewrite", "summarize", "search"),
    ("complete", "code_edit", "agent", "review"),
    ("rewrite", "summarize", "generate", "chat"),
    ("agent", "code_edit", "generate", "other"),
)
TZ_HOURS = (-7, -5, 0, 1, 2, 5.5, 9)
MECH_NONE, MECH_FILLER, MECH_BURST = 0, 1, 2
MECHANISMS = ("none", "quota_filler", "checkpoint_burst")
# hard-negative kinds (0: not a hard negative)
HN_NONE, HN_HEAVY, HN_CRUNCH, HN_ONCALL = 0, 1, 2, 3
HN_KINDS = ("", "heavy_user", "release_crunch", "on_call")
# what the output looks like
LOOK_USED, LOOK_READ, LOOK_FAILED, LOOK_UNUSED, LOOK_SILENT = range(5)


def _working_days(start: date, end: date) -> list[date]:
    out, d = [], start
    while d < end:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def team_knobs(rng, n_teams: int, start: date, end: date) -> tuple[list[dict], dict]:
    """Per-team knobs and the world's own (company-wide quota and review)."""
    wdays = _working_days(start, end)
    mondays = sorted({_monday(d) for d in wdays if _monday(d) >= start})
    world = {
        "company_quota": int(rng.integers(8, 25)) if rng.random() < 0.5 else None,
        "company_review": (
            wdays[int(rng.integers(len(wdays) // 3, len(wdays) - 3))]
            if rng.random() < 0.35
            else None
        ),
    }
    teams = []
    for i in range(n_teams):
        own_quota = rng.random() < 0.6
        k = {
            "org_id": f"tm-{i + 1:02d}",
            "name": f"Team {chr(65 + i % 26)}{i // 26 or ''}",
            "parent": "dept-product" if i % 2 else "dept-platform",
            "users": int(rng.integers(110, 260)),
            "quota": int(rng.integers(7, 37)) if own_quota else None,
            "quota_from": None,
            "quota_change": None,
            "topup": str(rng.choice(["end_burst", "spread"])),
            "compliance": round(float(rng.uniform(0.3, 0.8)), 2),
            "reach": round(float(rng.uniform(0.2, 0.6)), 2),
            "filler_look_used": round(float(rng.uniform(0.2, 0.7)), 2),
            "cadence": str(
                rng.choice(
                    ["monthly", "monthly_first_monday", "quarterly", "ad_hoc", "none"],
                    p=[0.25, 0.2, 0.2, 0.25, 0.1],
                )
            ),
            "burst_lead": int(rng.integers(1, 6)),
            "burst_users": round(float(rng.uniform(0.25, 0.7)), 2),
            "burst_size": round(float(rng.uniform(1.0, 4.0)), 2),
            "burst_look_used": round(float(rng.uniform(0.2, 0.7)), 2),
            "crunch": rng.random() < 0.5,
        }
        if k["quota"] is not None:
            r = rng.random()
            if r < 0.35:  # introduced inside the period: pre-quota weeks to compare with
                k["quota_from"] = mondays[int(rng.integers(2, 5))].isoformat()
            elif r < 0.55:  # changed once
                m = mondays[int(rng.integers(5, 8))]
                k["quota_change"] = [
                    m.isoformat(),
                    max(5, int(round(k["quota"] * rng.choice([0.7, 1.4])))),
                ]
        quota_level = k["quota"] or world["company_quota"]
        # median weekly genuine usage relative to the quota binding on the team (or free)
        k["median_week"] = round(
            float(quota_level * rng.uniform(0.7, 1.4) if quota_level else rng.uniform(5, 30)), 1
        )
        # review dates
        months = sorted({(d.year, d.month) for d in wdays})
        if k["cadence"] == "monthly":
            dates = [max(d for d in wdays if (d.year, d.month) == ym) for ym in months]
        elif k["cadence"] == "monthly_first_monday":
            dates = [
                min(d for d in wdays if (d.year, d.month) == ym and d.weekday() == 0)
                for ym in months
            ]
        elif k["cadence"] == "quarterly":
            dates = [wdays[int(rng.integers(len(wdays) - 15, len(wdays) - 2))]]
        elif k["cadence"] == "ad_hoc":
            idx = rng.choice(np.arange(6, len(wdays) - 1), int(rng.integers(2, 5)), replace=False)
            dates = [wdays[int(j)] for j in sorted(idx)]
        else:
            dates = []
        k["reviews"] = [d.isoformat() for d in dates if d > wdays[5]]
        if k["crunch"]:
            j = int(rng.integers(3, len(wdays) - 6))
            k["crunch_days"] = [d.isoformat() for d in wdays[j : j + int(rng.integers(3, 6))]]
            k["crunch_factor"] = round(float(rng.uniform(1.8, 2.5)), 2)
        teams.append(k)
    return teams, world


def _quota_on(k: dict, world: dict, monday: date) -> int | None:
    """The quota binding on a team's week (its own overrides the company's)."""
    if k["quota"] is not None:
        if k["quota_from"] and monday < date.fromisoformat(k["quota_from"]):
            return world["company_quota"]
        if k["quota_change"] and monday >= date.fromisoformat(k["quota_change"][0]):
            return int(k["quota_change"][1])
        return int(k["quota"])
    return world["company_quota"]


class _Rows:
    """Interactions as parallel lists of numpy arrays, concatenated at the end."""

    def __init__(self):
        self.parts: list[dict] = []

    def add(self, user, day, mech, hn, look):
        n = len(user)
        if n == 0:
            return
        self.parts.append(
            {
                "user": np.asarray(user, np.int64),
                "day": np.asarray(day, np.int64),  # index into the calendar
                "mech": np.full(n, mech, np.int8) if np.isscalar(mech) else np.asarray(mech),
                "hn": np.full(n, hn, np.int8) if np.isscalar(hn) else np.asarray(hn, np.int8),
                "look": np.asarray(look, np.int8),
                # local hour of day (fraction), filled in later unless given
                "hour": np.full(n, np.nan),
            }
        )

    def done(self) -> dict:
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}


def _genuine_looks(rng, n: int) -> np.ndarray:
    """Genuine outputs: mostly used, some read, a few honest failures or silent."""
    return rng.choice(
        [LOOK_USED, LOOK_READ, LOOK_FAILED, LOOK_SILENT], n, p=[0.84, 0.11, 0.03, 0.02]
    ).astype(np.int8)


def _theater_looks(rng, n: int, look_used: float) -> np.ndarray:
    r = rng.random(n)
    out = np.where(r < look_used, LOOK_USED, LOOK_UNUSED)
    # some of the unused-looking ones send no disposition, only a short glance or nothing
    out = np.where((out == LOOK_UNUSED) & (rng.random(n) < 0.3), LOOK_SILENT, out)
    return out.astype(np.int8)


def simulate(rng, teams: list[dict], world: dict, start: date, end: date):
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    D = len(days)
    dow = np.array([d.weekday() for d in days])
    day_of = {d: i for i, d in enumerate(days)}
    team_of, weekly, heavy, tz, away, mondays = _people(rng, teams, days, dow)
    # per-user daily rate: working days carry the week, weekends a little
    day_w = np.where(dow < 5, 0.194, 0.015)
    lam = weekly[:, None] * day_w[None, :] * ~away
    mult, hn_day = _hard_negative_days(rng, teams, team_of, heavy, mondays, day_of, D)
    counts = rng.poisson(lam * mult)
    rows = _Rows()
    uu, dd = np.nonzero(counts)
    reps = counts[uu, dd]
    gu, gd = np.repeat(uu, reps), np.repeat(dd, reps)
    rows.add(gu, gd, MECH_NONE, hn_day[gu, gd], _genuine_looks(rng, len(gu)))
    _bursts(rng, rows, teams, world, team_of, weekly, away, day_of, dow)
    out = _fillers(rng, rows.done(), teams, world, team_of, away, days, dow, start)
    return out, days, team_of, tz, heavy


def _people(rng, teams, days, dow):
    """Users: team, weekly genuine level (5% heavy users at 3-5x), time zone, days away (0-2
    vacation weeks for 70% of users, a company holiday Monday in September)."""
    D = len(days)
    team_of = np.concatenate([np.full(k["users"], t) for t, k in enumerate(teams)])
    U = len(team_of)
    med = np.array([teams[t]["median_week"] for t in team_of])
    weekly = med * np.exp(rng.normal(0.0, 0.55, U))
    heavy = rng.random(U) < 0.05
    weekly[heavy] *= rng.uniform(3.0, 5.0, heavy.sum())
    tz = rng.choice(TZ_HOURS, U)
    away = np.zeros((U, D), bool)
    mondays = [i for i in range(D) if dow[i] == 0]
    for u in np.flatnonzero(rng.random(U) < 0.7):
        for m in rng.choice(mondays, int(rng.integers(1, 3)), replace=False):
            away[u, m : m + 7] = True
    holiday = [i for i in mondays if days[i].month == 9][:1]
    away[:, holiday] = rng.random((U, len(holiday))) < 0.9
    return team_of, weekly, heavy, tz, away, mondays


def _hard_negative_days(rng, teams, team_of, heavy, mondays, day_of, D):
    """(usage multiplier, hard-negative kind) per user-day: on-call weeks (1-2 users a team a
    week at 2.5-4x), release crunches (a team at its crunch factor), heavy users."""
    U = len(team_of)
    mult = np.ones((U, D))
    hn_day = np.zeros((U, D), np.int8)
    for t, k in enumerate(teams):
        members = np.flatnonzero(team_of == t)
        for m in mondays:
            oc = rng.choice(members, int(rng.integers(1, 3)), replace=False)
            mult[oc, m : m + 7] *= rng.uniform(2.5, 4.0)
            hn_day[oc, m : m + 7] = HN_ONCALL
        if k["crunch"]:
            cd = [day_of[date.fromisoformat(x)] for x in k["crunch_days"]]
            mult[np.ix_(members, cd)] *= k["crunch_factor"]
            hn_day[np.ix_(members, cd)] = HN_CRUNCH
    hn_day[heavy, :] = HN_HEAVY
    return mult, hn_day


def _bursts(rng, rows, teams, world, team_of, weekly, away, day_of, dow) -> None:
    """Checkpoint bursts: per review, a share of the team adds ``burst_size`` working days'
    worth of usage over the lead, rising towards the review (lead position 0 = the day before:
    the most)."""
    for t, k in enumerate(teams):
        reviews = list(k["reviews"]) + (
            [world["company_review"].isoformat()] if world["company_review"] else []
        )
        if not reviews:
            continue
        members = np.flatnonzero(team_of == t)
        for rv in sorted(set(reviews)):
            r = day_of[date.fromisoformat(rv)]
            lead = [i for i in range(r - 1, max(r - 10, -1), -1) if dow[i] < 5][: k["burst_lead"]]
            who = members[rng.random(len(members)) < k["burst_users"]]
            ramp = np.array([len(lead) - pos + 1.0 for pos in range(len(lead))])
            ramp /= ramp.sum()
            for pos, i in enumerate(lead):
                mean = weekly[who] * 0.194 * k["burst_size"] * ramp[pos] * ~away[who, i]
                extra = rng.poisson(mean)
                bu = np.repeat(who, extra)
                looks = _theater_looks(rng, len(bu), k["burst_look_used"])
                rows.add(bu, np.full(len(bu), i), MECH_BURST, 0, looks)


def _fillers(rng, base, teams, world, team_of, away, days, dow, start) -> dict:
    """Quota fillers, per user and ISO week of the period, after every other interaction:
    compliers who reached ``reach`` of the quota on their own top up to the quota plus an
    overshoot, in one run late in the week (``end_burst``) or spread over it; returns the rows
    with the fillers added."""
    D, U = len(days), len(team_of)
    filler_u, filler_d, filler_h = [], [], []
    week_of_day = np.array([(d - _monday(start)).days // 7 for d in days])
    user_week = np.zeros((U, week_of_day.max() + 1), np.int64)
    np.add.at(user_week, (base["user"], week_of_day[base["day"]]), 1)
    complier = np.zeros(U, bool)
    for t, k in enumerate(teams):
        members = np.flatnonzero(team_of == t)
        complier[members] = rng.random(len(members)) < k["compliance"]
    for w in range(user_week.shape[1]):
        wdays = [i for i in range(D) if week_of_day[i] == w and dow[i] < 5]
        if not wdays:
            continue
        monday = _monday(days[wdays[0]])
        for t, k in enumerate(teams):
            q = _quota_on(k, world, monday)
            if q is None:
                continue
            members = np.flatnonzero((team_of == t) & complier)
            n = user_week[members, w]
            present = ~away[members][:, wdays].all(axis=1)
            target = q + rng.choice([0, 1, 2], len(members), p=[0.5, 0.3, 0.2])
            short = present & (n < q) & (n >= np.ceil(k["reach"] * q))
            need = np.where(short, target - n, 0)
            for u, m in zip(members[need > 0], need[need > 0]):
                day, hour = _topup_times(rng, k["topup"], m, [i for i in wdays if not away[u, i]])
                filler_u.append(np.full(m, u))
                filler_d.append(day)
                filler_h.append(np.minimum(hour, 23.9))
    if not filler_u:
        return base
    fu, fd, fh = map(np.concatenate, (filler_u, filler_d, filler_h))
    lu = np.array([teams[team_of[u]]["filler_look_used"] for u in fu])
    look = np.where(rng.random(len(fu)) < lu, LOOK_USED, LOOK_UNUSED).astype(np.int8)
    look = np.where((look == LOOK_UNUSED) & (rng.random(len(fu)) < 0.3), LOOK_SILENT, look)
    rows2 = _Rows()
    rows2.parts = [base]
    rows2.add(fu, fd, MECH_FILLER, 0, look)
    rows2.parts[-1]["hour"] = fh
    return rows2.done()


def _topup_times(rng, topup: str, m: int, avail: list[int]):
    """(day indices, local hours) of a user's ``m`` fillers in a week with working days
    ``avail``: one run on the last (70%) or second-to-last day from 14-18h, or spread."""
    if topup == "end_burst":
        last = avail[-2:]
        day = np.full(m, last[-1] if rng.random() < 0.7 or len(last) < 2 else last[0])
        hour = np.sort(rng.uniform(14.0, 18.0, 1))[0] + np.arange(m) * rng.uniform(0.01, 0.05)
        return day, hour
    return np.sort(rng.choice(avail, m)), rng.uniform(9.0, 17.5, m)


def _outputs(rng, look: np.ndarray, tool: np.ndarray):
    """(disposition, dwell ms; -1 = none) of each output from how it looks."""
    R = len(look)
    disp = np.full(R, None, dtype=object)
    dwell = np.full(R, -1, np.int64)
    used_choice = np.array(["accepted", "edited", "inserted", "copied"], dtype=object)
    s = look == LOOK_USED
    disp[s] = used_choice[rng.integers(0, 4, s.sum())]
    dwell[s] = rng.integers(5000, 40000, s.sum())
    s = look == LOOK_READ
    dwell[s] = rng.integers(6000, 90000, s.sum())
    s = (look == LOOK_FAILED) | (look == LOOK_UNUSED)
    disp[s] = np.where(rng.random(s.sum()) < 0.55, "discarded", "ignored")
    dwell[s] = rng.integers(500, 4500, s.sum())
    s = look == LOOK_SILENT
    dwell[s] = np.where(rng.random(s.sum()) < 0.5, -1, rng.integers(200, 3000, s.sum()))
    disp[tool == 3] = None  # the CLI reports no disposition
    dwell[tool == 3] = -1
    return disp, dwell


def _prompts(rng, user: np.ndarray, theater: np.ndarray):
    """(prompt tokens, prompt fingerprints as hex): theater prompts are short and often re-sent
    from a small per-user set."""
    R = len(user)
    tokens = np.round(np.exp(rng.normal(np.log(120), 0.6, R))).astype(np.int64)
    tokens[theater] = np.round(np.exp(rng.normal(np.log(40), 0.5, theater.sum()))).astype(np.int64)
    tokens = np.maximum(tokens, 12)
    fp = rng.integers(0, 2**63, R, dtype=np.int64).astype(np.uint64) * np.uint64(2) + rng.integers(
        0, 2, R
    ).astype(np.uint64)
    reuse = theater & (rng.random(R) < 0.4)
    pool = np.uint64(0x9E3779B97F4A7C15) * (
        user.astype(np.uint64) * np.uint64(4) + rng.integers(0, 3, R).astype(np.uint64)
    )
    fp[reuse] = pool[reuse]
    fp_hex = [f"{int(x):016x}" for x in fp]
    return tokens, fp_hex


def _columns(rng, r: dict, days: list[date], team_of, tz, teams) -> tuple[pa.Table, dict]:
    """Code arrays -> the interaction table (contract fields) and the truth columns."""
    R = len(r["user"])
    hour = np.where(np.isnan(r["hour"]), rng.uniform(8.0, 18.5, R), r["hour"])
    day0 = np.datetime64(days[0].isoformat(), "s")
    local = day0 + (r["day"] * 86400 + (hour * 3600).astype(np.int64)).astype("timedelta64[s]")
    off = tz[r["user"]]
    utc = local - (off * 3600).astype(np.int64).astype("timedelta64[s]")
    order = np.argsort(utc, kind="stable")
    r = {k: v[order] for k, v in r.items()}
    utc, off = utc[order], off[order]
    tool = rng.choice(4, R, p=[0.35, 0.35, 0.15, 0.15])
    # fillers and bursts come mostly from the chat surface (cheapest to send)
    theater = r["mech"] != MECH_NONE
    tool[theater] = rng.choice(4, theater.sum(), p=[0.6, 0.2, 0.15, 0.05])
    action_i = rng.integers(0, 4, R)
    action = np.array(ACTIONS_BY_TOOL, dtype=object)[tool, action_i]
    seq = np.zeros(R, np.int64)
    for t in range(4):
        s = tool == t
        seq[s] = np.arange(s.sum())
    letters = np.array(["ba", "bi", "bd", "bc"], dtype=object)
    event_id = [f"{a}-{s:09d}" for a, s in zip(letters[tool], seq)]
    sign = np.where(off < 0, "-", "+")
    hh = np.abs(off).astype(int)
    mm = ((np.abs(off) - hh) * 60).round().astype(int)
    local_s = (utc + (off * 3600).astype(np.int64).astype("timedelta64[s]")).astype(str)
    event_ts = [f"{t}{sg}{h:02d}:{m:02d}" for t, sg, h, m in zip(local_s, sign, hh, mm)]
    look = r["look"]
    disp, dwell = _outputs(rng, look, tool)
    tokens, fp_hex = _prompts(rng, r["user"], theater)
    comp = np.round(np.exp(rng.normal(np.log(300), 0.7, R))).astype(np.int64)
    art = rng.random(R) < 0.6
    art_id = np.where(
        art, np.char.add("doc-", (r["user"] * 50 + rng.integers(0, 50, R)).astype(str)), None
    )
    art_id[theater & (rng.random(R) < 0.8)] = None
    users = [f"b{u:06d}@example.org" for u in range(len(team_of))]
    user_id = np.array(users, dtype=object)[r["user"]]
    org = np.array([k["org_id"] for k in teams], dtype=object)[team_of[r["user"]]]
    org_sent = np.where(rng.random(R) < 0.1, None, org)  # some rows leave it to the directory
    table = pa.table(
        {
            "event_id": pa.array(event_id, pa.string()),
            "event_ts": pa.array(event_ts, pa.string()),
            "user_id": pa.array(user_id, pa.string()),
            "org_id": pa.array(org_sent, pa.string()),
            "tool": pa.array(np.array(TOOLS, dtype=object)[tool], pa.string()),
            "action": pa.array(action, pa.string()),
            "session_id": pa.array(
                [f"bs-{u}-{d}" for u, d in zip(r["user"], r["day"])], pa.string()
            ),
            "prompt_fingerprint": pa.array(fp_hex, pa.string()),
            "prompt_tokens": pa.array(tokens, pa.int64()),
            "completion_tokens": pa.array(comp, pa.int64()),
            "model": pa.array(np.where(tool == 1, "codex-1", "gpt-4.1"), pa.string()),
            "output_disposition": pa.array(disp, pa.string()),
            "dwell_ms": pa.array(np.where(dwell < 0, None, dwell), pa.int64()),
            "artifact_id": pa.array(art_id, pa.string()),
        }
    )
    truth = {
        "event_id": event_id,
        "tool": np.array(TOOLS, dtype=object)[tool],
        "is_theater": theater.astype(int),
        "mechanism": np.array(MECHANISMS, dtype=object)[r["mech"]],
        "org_id": org,
        "hn": r["hn"],
        # genuinely unused: a failed request, or one glanced at and left without a disposition
        "honest_failure": np.isin(r["look"], (LOOK_FAILED, LOOK_SILENT)).astype(int),
        "week": np.array([str(x)[:10] for x in utc.astype("datetime64[W]")]),
        "day": r["day"],
    }
    return table, truth


def _write_interactions(landing: Path, table: pa.Table, weeks) -> None:
    """Interactions: one Parquet file per tool and ISO week."""
    tools = table.column("tool").to_numpy(zero_copy_only=False)
    for t in TOOLS:
        for w in sorted(set(weeks[tools == t])):
            sel = (tools == t) & (weeks == w)
            path = landing / "interactions" / t / f"{t}_{w}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.filter(pa.array(sel)), path)


def _write_directory(landing: Path, teams, team_of) -> None:
    """The directory: every user in their team, under its department."""
    n_users = len(team_of)
    n_users = len(team_of)
    directory = pa.table(
        {
            "user_id": [f"b{u:06d}@example.org" for u in range(n_users)],
            "org_id": [teams[t]["org_id"] for t in team_of],
            "org_name": [teams[t]["name"] for t in team_of],
            "parent_org_id": [teams[t]["parent"] for t in team_of],
            "role": ["engineer"] * n_users,
            "valid_from": ["2025-01-06"] * n_users,
            "valid_to": pa.array([None] * n_users, pa.string()),
        }
    )
    (landing / "directory").mkdir()
    pq.write_table(directory, landing / "directory" / "people.parquet")


def _write_work_items(rng, landing: Path, teams, team_of, start: date, end: date) -> None:
    """Work items: a few tickets per user."""
    n_users = len(team_of)
    wi_user = np.repeat(np.arange(n_users), 3)
    opened = [
        (start + timedelta(days=int(d))).isoformat() + "T10:00:00Z"
        for d in rng.integers(0, (end - start).days - 5, len(wi_user))
    ]
    wi = pa.table(
        {
            "work_item_id": [f"BWI-{i:07d}" for i in range(len(wi_user))],
            "user_id": [f"b{u:06d}@example.org" for u in wi_user],
            "org_id": [teams[team_of[u]]["org_id"] for u in wi_user],
            "kind": ["ticket"] * len(wi_user),
            "opened_ts": opened,
            "closed_ts": pa.array([None] * len(wi_user), pa.string()),
            "reopened_count": pa.array([0] * len(wi_user), pa.int64()),
            "escalated": pa.array([False] * len(wi_user), pa.bool_()),
        }
    )
    (landing / "work_items").mkdir()
    pq.write_table(wi, landing / "work_items" / "tickets.parquet")


def _write_policies(landing: Path, teams, world) -> None:
    """Policies: quotas (company-wide and per team, with their starts and changes) and reviews."""
    pol = []
    if world["company_quota"]:
        pol.append(("*", "quota", "2026-01-05", None, world["company_quota"], "company target"))
    if world["company_review"]:
        pol.append(
            ("*", "checkpoint", world["company_review"].isoformat(), None, None, "all-hands")
        )
    for k in teams:
        if k["quota"] is not None:
            first = k["quota_from"] or "2026-03-02"
            if k["quota_change"]:
                pol.append((k["org_id"], "quota", first, k["quota_change"][0], k["quota"], None))
                pol.append(
                    (k["org_id"], "quota", k["quota_change"][0], None, k["quota_change"][1], None)
                )
            else:
                pol.append((k["org_id"], "quota", first, None, k["quota"], None))
        for rv in k["reviews"]:
            pol.append((k["org_id"], "checkpoint", rv, None, None, k["cadence"]))
    cols = list(zip(*pol)) if pol else [[]] * 6
    policies = pa.table(
        {
            "org_id": pa.array(cols[0], pa.string()),
            "kind": pa.array(cols[1], pa.string()),
            "start_date": pa.array(cols[2], pa.string()),
            "end_date": pa.array(cols[3], pa.string()),
            "weekly_quota": pa.array(cols[4], pa.int64()),
            "note": pa.array(cols[5], pa.string()),
        }
    )
    (landing / "policies").mkdir()
    pq.write_table(policies, landing / "policies" / "policies.parquet")


def _write_truth(truth_dir: Path, tr: dict):
    """truth/interactions.csv and truth/hard_negatives.csv; returns (the truth frame, the
    hard-negative mask)."""
    import pandas as pd

    t = pd.DataFrame({k: tr[k] for k in ("event_id", "tool", "is_theater", "mechanism", "org_id")})
    t.to_csv(truth_dir / "interactions.csv", index=False)
    hn = tr["hn"] > 0
    pd.DataFrame(
        {
            "event_id": np.asarray(tr["event_id"], dtype=object)[hn],
            "tool": tr["tool"][hn],
            "kind": np.array(HN_KINDS, dtype=object)[tr["hn"][hn]],
            "honest_failure": tr["honest_failure"][hn],
        }
    ).to_csv(truth_dir / "hard_negatives.csv", index=False)
    return t, hn


def generate_b(
    out: str | Path,
    *,
    seed: int,
    n_teams: int = 6,
    start: date = date(2026, 7, 1),
    end: date = date(2026, 10, 1),
    users_scale: float = 1.0,
) -> dict:
    """Write a family-B world to ``out/landing`` and ``out/truth``; return its summary.

    ``users_scale`` scales every team's size (CI-sized worlds: ~0.6 keeps the larger teams
    above the bunching estimator's 100-user sample rule)."""
    out = Path(out)
    landing, truth_dir = out / "landing", out / "truth"
    for p in (landing, truth_dir):
        if p.exists():
            shutil.rmtree(p)
        p.mkdir(parents=True)
    rng = np.random.default_rng([seed, 0xB])
    teams, world = team_knobs(rng, n_teams, start, end)
    for k in teams:
        k["users"] = max(10, int(round(k["users"] * users_scale)))
    rows, days, team_of, tz, heavy = simulate(rng, teams, world, start, end)
    table, tr = _columns(rng, rows, days, team_of, tz, teams)
    _write_interactions(landing, table, tr["week"])
    _write_directory(landing, teams, team_of)
    _write_work_items(rng, landing, teams, team_of, start, end)
    _write_policies(landing, teams, world)
    t, hn = _write_truth(truth_dir, tr)
    summary = {
        "family": "B",
        "seed": seed,
        "interactions": int(len(t)),
        "mechanisms": {m: int((t["mechanism"] == m).sum()) for m in MECHANISMS},
        "hard_negatives": int(hn.sum()),
        "world": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in world.items()},
        "teams": teams,
    }
    (truth_dir / "teams.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary

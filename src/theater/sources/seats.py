"""Seat assignments from ``landing/seats/`` -> canonical seat rows (pure Python, no Spark).

A seat is a licence of one tool held by one vendor alias over a span of days. Formats:

``github_copilot_seats``
    GitHub's Copilot seat assignment listing (``GET /orgs/{org}/copilot/billing/seats`` or the
    enterprise one): JSON ``{"total_seats": n, "seats": [...]}``, a JSON array of seat objects,
    or NDJSON, one seat object per line. Fields: ``assignee.login`` (alias, kind
    ``github_login``; a seat assigned to a team or organization object is skipped and
    counted), ``plan_type``, ``created_at`` (assigned from), ``pending_cancellation_date``
    (assigned to, exclusive: the next billing cycle's start), ``last_activity_at`` (the
    vendor's own last use), ``last_activity_editor`` (read, not kept).
``m365_copilot_licensed``
    Microsoft 365 Copilot usage user detail (Graph ``getMicrosoft365CopilotUsageUserDetail``,
    CSV or JSON ``{"value": [...]}``): it lists the users holding a Microsoft 365 Copilot
    licence. ``User Principal Name`` / ``userPrincipalName`` (alias, kind ``upn``),
    ``Report Refresh Date`` (the day the licence is seen: the seat's span starts there, its
    assignment date is not in the report), ``Last Activity Date`` (the vendor's last use).
``viva_enabled_days``
    A Viva Insights person query (CSV, one row per person and week, ``MetricDate`` the week's
    Sunday) with ``Total_Copilot_enabled_days``: the days of the week the person held a
    Microsoft 365 Copilot licence. ``PersonId`` (alias, kind ``person_id``). See
    :func:`enabled_spans` for how weeks become seat spans; ``Total_Copilot_active_days`` gives
    the vendor's last use (the last day of the last week with an active day).
``seats_csv``
    A plain CSV with the header ``alias,tool,assigned_from,assigned_to`` (``assigned_to``
    exclusive, blank = still held; optional ``alias_kind`` and ``plan``).

Keys are compared after squashing case and punctuation (``User Principal Name`` =
``userPrincipalName``). A file no format recognises, or a record without an alias or with a
bad date, raises :class:`SeatsFileError` naming the file and the record; nothing of a bad file
is loaded, so it is never half-counted. Aliases are raw identifiers: they stay in
``bronze/seats`` and are resolved and pseudonymised by the refine stage like any vendor alias.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

GITHUB = "github_copilot_seats"
M365 = "m365_copilot_licensed"
PLAIN = "seats_csv"
VIVA = "viva_enabled_days"
FORMATS = (GITHUB, M365, VIVA, PLAIN)
#: the tool a format's seats are for
TOOL_OF = {GITHUB: "github_copilot", M365: "m365_copilot", VIVA: "m365_copilot"}
#: formats that give the vendor's own last use of a seat (its use is measurable from them)
LAST_ACTIVITY_FORMATS = (GITHUB, M365, VIVA)
#: usage sources (``source_format``) that are use of a seat's tool: a seat is idle when none of
#: them shows its holder active. A tool not here is matched by name prefix
#: (``cursor`` -> ``cursor_daily_usage``, ``cursor_usage_events``); with no source at all, its
#: use cannot be measured and its seats are never called idle.
TOOL_SOURCES = {
    "github_copilot": (
        "github_copilot_users",
        "github_copilot_org_usage",
        "github_copilot_enterprise_usage",
        "github_copilot_org_metrics",
    ),
    "m365_copilot": ("m365_copilot_audit", "viva_person_query", "m365_copilot_reports"),
    "cursor": ("cursor_daily_usage", "cursor_usage_events"),
    "claude_code": ("claude_code_analytics", "claude_code_otel"),
    "amazon_q": ("amazon_q_user_activity",),
}
EXTENSIONS = (".json", ".jsonl", ".ndjson", ".csv")
SCHEMA = (
    "source_format string, tool string, alias string, alias_kind string, plan string, "
    "assigned_from date, assigned_to date, seen_on date, last_activity date, "
    "_source_file string, _file_sha256 string, _record int"
)


class SeatsFileError(ValueError):
    """A seats file that cannot be read: names the file and, when known, the record."""

    def __init__(self, path: str, message: str, record: int | None = None):
        where = f"{path}" + (f", record {record}" if record is not None else "")
        super().__init__(f"landing/seats: {where}: {message}")
        self.path, self.record = path, record


@dataclass(frozen=True)
class Seat:
    source_format: str
    tool: str
    alias: str
    alias_kind: str
    plan: str | None
    assigned_from: dt.date | None
    assigned_to: dt.date | None  # exclusive
    seen_on: dt.date | None
    last_activity: dt.date | None
    _source_file: str = ""
    _file_sha256: str = ""
    _record: int = 0


_SQUASH = re.compile(r"[^0-9a-z]+")


def squash(name: str) -> str:
    return _SQUASH.sub("", str(name).lower())


def _date(value, path: str, record: int, field: str) -> dt.date | None:
    """A date or an ISO 8601 timestamp (its UTC day); blank -> None."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        ts = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if ts.tzinfo is not None:
            ts = ts.astimezone(dt.timezone.utc)
        return ts.date()
    except ValueError:
        raise SeatsFileError(path, f"{field}: not a date: {text[:40]!r}", record) from None


def _records(path: Path, text: str) -> list:
    """JSON records of a .json/.jsonl/.ndjson file."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".ndjson")):
        out = []
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SeatsFileError(str(path), f"not JSON: {exc.msg}", i) from None
        return out
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeatsFileError(str(path), f"not JSON: {exc.msg} (line {exc.lineno})") from None
    if isinstance(data, dict):
        for k in ("seats", "value"):
            if isinstance(data.get(k), list):
                return data[k]
        return [data]
    if isinstance(data, list):
        return data
    raise SeatsFileError(str(path), "expected a JSON object or array")


def _squashed(rec: dict) -> dict:
    return {squash(k): v for k, v in rec.items()} if isinstance(rec, dict) else {}


def _github(recs: list, path: str) -> tuple[list[Seat], int]:
    seats, skipped = [], 0
    for i, rec in enumerate(recs, 1):
        if not isinstance(rec, dict):
            raise SeatsFileError(path, "a seat is not a JSON object", i)
        a = rec.get("assignee")
        if isinstance(a, dict):
            if str(a.get("type") or "User").lower() != "user":
                skipped += 1  # a team's or organization's seat: no person
                continue
            login = a.get("login")
        else:
            login = a
        if login is None or str(login).strip() == "":
            raise SeatsFileError(path, "assignee has no login", i)
        seats.append(
            Seat(
                GITHUB,
                TOOL_OF[GITHUB],
                str(login).strip(),
                "github_login",
                rec.get("plan_type"),
                _date(rec.get("created_at"), path, i, "created_at"),
                _date(rec.get("pending_cancellation_date"), path, i, "pending_cancellation_date"),
                None,
                _date(rec.get("last_activity_at"), path, i, "last_activity_at"),
            )
        )
    return seats, skipped


def _m365(recs: list[dict], path: str) -> list[Seat]:
    seats = []
    for i, rec in enumerate(recs, 1):
        r = _squashed(rec)
        upn = r.get("userprincipalname")
        if upn is None or str(upn).strip() == "":
            raise SeatsFileError(path, "User Principal Name is blank", i)
        seen = _date(r.get("reportrefreshdate"), path, i, "Report Refresh Date")
        if seen is None:
            raise SeatsFileError(path, "Report Refresh Date is blank", i)
        last = r.get("lastactivitydate", r.get("lastactivitydateutc"))
        seats.append(
            Seat(
                M365,
                TOOL_OF[M365],
                str(upn).strip(),
                "upn",
                None,
                None,
                None,
                seen,
                _date(last, path, i, "Last Activity Date"),
            )
        )
    return seats


def _plain(recs: list[dict], path: str) -> list[Seat]:
    seats = []
    for i, rec in enumerate(recs, 1):
        r = _squashed(rec)
        alias, tool = (str(r.get(k) or "").strip() for k in ("alias", "tool"))
        if not alias or not tool:
            raise SeatsFileError(path, "alias and tool must not be blank", i)
        start = _date(r.get("assignedfrom"), path, i, "assigned_from")
        if start is None:
            raise SeatsFileError(path, "assigned_from is blank", i)
        end = _date(r.get("assignedto"), path, i, "assigned_to")
        if end is not None and end <= start:
            raise SeatsFileError(path, f"assigned_to {end} is not after assigned_from {start}", i)
        seats.append(
            Seat(
                PLAIN,
                tool.lower(),
                alias,
                str(r.get("aliaskind") or "").strip() or "alias",
                str(r.get("plan") or "").strip() or None,
                start,
                end,
                None,
                None,
            )
        )
    return seats


WEEK = dt.timedelta(days=7)


def enabled_spans(
    weeks: list[tuple[dt.date, int]], file_last: dt.date
) -> list[tuple[dt.date, dt.date | None]]:
    """One person's ``(week Sunday, enabled days 0..7)`` -> seat spans ``[from, to)``.

    Weeks with an enabled day that follow each other make one span; a week with none, or a
    week missing from the file, ends it. Viva says how many days of a week were enabled, not
    which: a span's first week holds its enabled days at the week's end (the licence arrived
    during the week), its last week at the week's start (it left during the week); weeks
    inside a span are held whole. A span still held in the file's last week (``file_last``) is
    open (``to`` None): the file is a snapshot, its end is no unassignment. A one-week span
    that ends holds its days from the week's start."""
    on = sorted((d, n) for d, n in weeks if n > 0)
    runs: list[list[tuple[dt.date, int]]] = []
    for d, n in on:
        if runs and runs[-1][-1][0] + WEEK == d:
            runs[-1].append((d, n))
        else:
            runs.append([(d, n)])
    spans = []
    for run in runs:
        (first, n_first), (last, n_last) = run[0], run[-1]
        open_end = last >= file_last
        if len(run) == 1 and not open_end:
            spans.append((first, first + dt.timedelta(days=n_first)))
            continue
        start = first + dt.timedelta(days=7 - n_first)
        spans.append((start, None if open_end else last + dt.timedelta(days=n_last)))
    return spans


def _count(value, path: str, record: int, field: str, *, required: bool) -> int | None:
    """A whole number of days of a week (0..7); blank -> None unless ``required``."""
    if value is None or str(value).strip() == "":
        if required:
            raise SeatsFileError(path, f"{field} is blank", record)
        return None
    try:
        n = float(str(value).strip())
    except ValueError:
        n = -1.0
    if n != int(n) or not 0 <= n <= 7:
        raise SeatsFileError(path, f"{field}: not a number of days 0..7: {value!r}", record)
    return int(n)


def _viva(recs: list[dict], path: str) -> list[Seat]:
    weeks: dict[str, list[tuple[dt.date, int]]] = {}
    active: dict[str, dt.date] = {}
    for i, rec in enumerate(recs, 1):
        r = _squashed(rec)
        person = str(r.get("personid") or "").strip()
        if not person:
            raise SeatsFileError(path, "PersonId is blank", i)
        week = _date(r.get("metricdate"), path, i, "MetricDate")
        if week is None or week.weekday() != 6:
            raise SeatsFileError(path, f"MetricDate {week} is not a Sunday (Viva weeks)", i)
        enabled = _count(
            r.get("totalcopilotenableddays"), path, i, "Total_Copilot_enabled_days", required=True
        )
        weeks.setdefault(person, []).append((week, enabled))
        used = _count(
            r.get("totalcopilotactivedays"), path, i, "Total_Copilot_active_days", required=False
        )
        if used:
            # the week's last day: the latest the use can be (idle only when not even that is
            # recent)
            last = week + dt.timedelta(days=6)
            active[person] = max(active.get(person, last), last)
    if not weeks:
        return []
    file_last = max(d for w in weeks.values() for d, _ in w)
    seats = []
    for person in sorted(weeks):
        for start, end in enabled_spans(weeks[person], file_last):
            seats.append(
                Seat(
                    VIVA,
                    TOOL_OF[VIVA],
                    person,
                    "person_id",
                    None,
                    start,
                    end,
                    None,
                    active.get(person),
                )
            )
    return seats


def read_file(path: str | Path) -> tuple[str, list[Seat], int]:
    """(format, seats, seats skipped as not a person's) of one landing/seats file."""
    path = Path(path)
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SeatsFileError(str(path), "not UTF-8 text") from None
    name = path.name.lower()
    skipped = 0
    if name.endswith(".csv"):
        recs = list(csv.DictReader(io.StringIO(text)))
        header = {squash(h) for h in (recs[0].keys() if recs else [])}
        if {"alias", "tool", "assignedfrom"} <= header:
            fmt, seats = PLAIN, _plain(recs, str(path))
        elif {"personid", "metricdate", "totalcopilotenableddays"} <= header:
            fmt, seats = VIVA, _viva(recs, str(path))
        elif "userprincipalname" in header:
            fmt, seats = M365, _m365(recs, str(path))
        elif not recs:
            raise SeatsFileError(str(path), "no records (empty or header only)")
        else:
            raise SeatsFileError(
                str(path),
                "unknown CSV header: expected alias,tool,assigned_from,assigned_to, a "
                "Microsoft 365 Copilot usage user detail report (User Principal Name) or a "
                "Viva Insights person query with Total_Copilot_enabled_days",
            )
    elif name.endswith((".json", ".jsonl", ".ndjson")):
        recs = _records(path, text)
        first = _squashed(recs[0]) if recs else {}
        if "assignee" in first:
            fmt = GITHUB
            seats, skipped = _github(recs, str(path))
        elif "userprincipalname" in first:
            fmt, seats = M365, _m365(recs, str(path))
        else:
            raise SeatsFileError(
                str(path),
                "not a seat listing: expected GitHub Copilot seats (assignee, created_at) or "
                "a Microsoft 365 Copilot usage user detail report (userPrincipalName)",
            )
    else:
        raise SeatsFileError(str(path), f"unknown extension (known: {', '.join(EXTENSIONS)})")
    rel = path.name
    seats = [
        Seat(**{**asdict(s), "_source_file": rel, "_file_sha256": sha, "_record": i})
        for i, s in enumerate(seats, 1)
    ]
    return fmt, seats, skipped


def list_files(folder: str | Path) -> list[Path]:
    """Seat files under ``folder`` (recursively), in name order; hidden files left out."""
    root = Path(folder)
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith((".", "_")) and p.name.lower().endswith(EXTENSIONS)
    )


def sources_of(tool: str, known: set[str]) -> set[str]:
    """The usage sources among ``known`` that are use of ``tool``."""
    mapped = set(TOOL_SOURCES.get(tool, ()))
    return {s for s in known if s in mapped or s.startswith(f"{tool}_") or s == tool}

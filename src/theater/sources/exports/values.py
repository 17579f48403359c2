"""Reading values out of vendor records: the one dialect every format's mapper uses (pure
functions, no I/O).

- the error a mapper raises (:class:`VendorRecordError`, whose text starts with a reason code);
- field names (:func:`norm_key`), nested lookups (:func:`get_path`), presence
  (:func:`is_blank`, :func:`require` for fields of a record, :func:`required_text` for a value);
- typed values: counts (:func:`as_int`), identifiers (:func:`as_str`: scalars only),
  free text (:func:`as_text`: anything, as text), :func:`sum_known`;
- time: :func:`parse_ts`, :func:`parse_day`, :func:`instant_us` (every vendor notation);
- chat transcripts: :func:`last_user_text` (for fingerprints only).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any


class VendorRecordError(ValueError):
    """A vendor record that cannot be mapped. ``str(exc)`` starts with a reason code:
    ``missing_required: <field>``, ``bad_timestamp: <value>``, ``bad_type: <field>``,
    ``malformed_line``, ``unknown_shape``..."""

    @property
    def reason(self) -> str:
        """The reason code alone (text before the first colon)."""
        return str(self).split(":", 1)[0].strip()


def norm_key(name: str) -> str:
    """Header/field name -> lower snake case (``"Copilot actions taken in Teams"`` and
    ``"Copilot_actions_taken_in_Teams"`` -> ``copilot_actions_taken_in_teams``)."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def norm_keys(record: dict) -> dict:
    """A record with :func:`norm_key` keys (first occurrence wins)."""
    out: dict = {}
    for k, v in record.items():
        out.setdefault(norm_key(k), v)
    return out


# ---------------------------------------------------------------------------------------------
# value helpers


def is_blank(value: Any) -> bool:
    """None, or a string that is empty/whitespace: the source did not report the value."""
    return value is None or (isinstance(value, str) and not value.strip())


def require(record: dict, *names: str) -> None:
    """Raise ``missing_required: <name>`` for the first field absent or blank."""
    for name in names:
        if is_blank(get_path(record, name)):
            raise VendorRecordError(f"missing_required: {name}")


def get_path(record: Any, dotted: str, default: Any = None) -> Any:
    """``get_path(r, "actor.email_address")``: nested dict lookup; ``default`` when absent."""
    cur = record
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def as_int(value: Any, name: str) -> int | None:
    """A count: int, integral float or numeric string -> int; blank -> None (not reported).

    Negative numbers, booleans, fractions and text raise ``bad_type: <name>``.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise VendorRecordError(f"bad_type: {name} ({value!r})")
    if isinstance(value, int):
        out = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise VendorRecordError(f"bad_type: {name} ({value!r})")
        out = int(value)
    elif isinstance(value, str):
        text = (
            value.strip().replace(",", "")
            if re.fullmatch(r"\s*\d{1,3}(,\d{3})+\s*", value)
            else value.strip()
        )
        try:
            out = int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise VendorRecordError(f"bad_type: {name} ({value!r})") from None
            if not math.isfinite(f) or f != int(f):
                raise VendorRecordError(f"bad_type: {name} ({value!r})") from None
            out = int(f)
    else:
        raise VendorRecordError(f"bad_type: {name} ({type(value).__name__})")
    if out < 0:
        raise VendorRecordError(f"bad_type: {name} (negative {out})")
    return out


def as_str(value: Any, name: str) -> str | None:
    """A scalar identifier as text (ints are written in decimal); blank -> None."""
    if is_blank(value):
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise VendorRecordError(f"bad_type: {name} ({type(value).__name__})")
    if isinstance(value, float):
        if value != int(value):
            raise VendorRecordError(f"bad_type: {name} ({value!r})")
        value = int(value)
    return str(value).strip()


def as_text(value: Any) -> str | None:
    """Any value as stripped text (``str()`` of it); None or blank -> None. For free-text fields
    (model names, actions) where a vendor may write a number; identifiers use :func:`as_str`."""
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def required_text(value: Any, field: str) -> str:
    """:func:`as_text` of a value that must be there: ``missing_required: <field>`` otherwise."""
    s = as_text(value)
    if s is None:
        raise VendorRecordError(f"missing_required: {field}")
    return s


def as_amount(value: Any, name: str) -> float | None:
    """A money amount: number or numeric string -> float; blank -> None (not reported).

    Negative, non-finite, boolean or non-numeric values raise ``bad_type: <name>``."""
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise VendorRecordError(f"bad_type: {name} ({value!r})")
    try:
        out = float(value.strip() if isinstance(value, str) else value)
    except ValueError:
        raise VendorRecordError(f"bad_type: {name} ({value!r})") from None
    if not math.isfinite(out) or out < 0:
        raise VendorRecordError(f"bad_type: {name} ({value!r})")
    return out


def sum_known(*values: int | None) -> int | None:
    """Sum of the reported values; None when none is reported (unknown is not 0)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2}|[+-]\d{2}|UTC)?"
)
_MDY = re.compile(
    r"(\d{1,2})([-/])(\d{1,2})\2(\d{4})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?"
)
_NUM = re.compile(r"[+-]?\d+(\.\d+)?")


def _fmt_utc(t: dt.datetime) -> str:
    t = t.astimezone(dt.timezone.utc)
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        base += "." + f"{t.microsecond:06d}".rstrip("0")
    return base + "Z"


def _tz(assume_tz: str) -> dt.tzinfo:
    if assume_tz.upper() in ("UTC", "Z"):
        return dt.timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(assume_tz)


def _from_epoch(number: float, raw: Any) -> str:
    mag = abs(number)
    if isinstance(number, int) and mag >= 1e11:  # exact integer arithmetic for ms/us/ns
        per_sec = 1000 if mag < 1e14 else 1_000_000 if mag < 1e17 else 1_000_000_000
        whole, rest = divmod(number, per_sec)
        try:
            t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
                seconds=whole, microseconds=rest * 1_000_000 // per_sec
            )
        except (OverflowError, ValueError):
            raise VendorRecordError(f"bad_timestamp: {raw!r}") from None
        return _fmt_utc(t)
    if mag < 1e11:  # seconds (up to year 5138)
        secs = number
    elif mag < 1e14:  # milliseconds
        secs = number / 1e3
    elif mag < 1e17:  # microseconds
        secs = number / 1e6
    else:  # nanoseconds
        secs = number / 1e9
    try:
        whole = math.floor(secs)
        micro = round((secs - whole) * 1e6)
        t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
            seconds=whole, microseconds=micro
        )
    except (OverflowError, ValueError):
        raise VendorRecordError(f"bad_timestamp: {raw!r}") from None
    return _fmt_utc(t)


def parse_ts(value: Any, *, assume_tz: str = "UTC") -> str:
    """Any vendor timestamp -> RFC 3339 UTC ending in ``Z`` (``2026-03-01T09:30:00Z``; sub-second
    digits kept, trailing zeros dropped).

    Accepted: RFC 3339 / ISO 8601 with or without offset (``T`` or space; without an offset the
    time is in ``assume_tz``, an IANA name, default UTC); epoch seconds, milliseconds,
    microseconds or nanoseconds as int, float or numeric string (unit by magnitude:
    < 1e11 s, < 1e14 ms, < 1e17 us, else ns); ``MM-DD-YYYY`` and ``MM/DD/YYYY`` (US order, as
    Amazon Q and Viva write them, optional time); ``YYYY-MM-DD`` (midnight). Anything else raises
    ``VendorRecordError("bad_timestamp: <value>")``.
    """
    if isinstance(value, bool) or value is None:
        raise VendorRecordError(f"bad_timestamp: {value!r}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise VendorRecordError(f"bad_timestamp: {value!r}")
        return _from_epoch(value, value)
    if not isinstance(value, str):
        raise VendorRecordError(f"bad_timestamp: {value!r}")
    text = value.strip()
    if _NUM.fullmatch(text):
        return _from_epoch(float(text) if "." in text else int(text), value)
    try:
        m = _ISO.fullmatch(text)
        if m:
            y, mo, d, hh, mi, ss, frac, off = m.groups()
            micro = int((frac or "0")[:6].ljust(6, "0"))
            t = dt.datetime(
                int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), micro
            )
            if off is None:
                t = t.replace(tzinfo=_tz(assume_tz))
            elif off in ("Z", "z", "UTC"):
                t = t.replace(tzinfo=dt.timezone.utc)
            else:
                sign = -1 if off[0] == "-" else 1
                digits = off[1:].replace(":", "")
                minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
                t = t.replace(tzinfo=dt.timezone(sign * dt.timedelta(minutes=minutes)))
            return _fmt_utc(t)
        m = _MDY.fullmatch(text)
        if m:
            mo, _, d, y, hh, mi, ss, ampm = m.groups()
            hour = int(hh or 0)
            if ampm:
                if not 1 <= hour <= 12:
                    raise ValueError(text)
                hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
            t = dt.datetime(
                int(y), int(mo), int(d), hour, int(mi or 0), int(ss or 0), tzinfo=_tz(assume_tz)
            )
            return _fmt_utc(t)
    except (ValueError, OverflowError, KeyError):
        pass
    raise VendorRecordError(f"bad_timestamp: {value!r}")


def required_ts(value: Any, field: str, *, assume_tz: str = "UTC") -> str:
    """:func:`parse_ts` of a timestamp that must be there: ``missing_required: <field>`` when it
    is None or empty (any other value is parsed, and rejected there if it is no timestamp)."""
    if value in (None, ""):
        raise VendorRecordError(f"missing_required: {field}")
    return parse_ts(value, assume_tz=assume_tz)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def instant_us(value: Any, *, assume_tz: str = "UTC") -> int:
    """The instant of any :func:`parse_ts` input as integer microseconds since the epoch: the
    same instant gives the same number whatever its unit (s, ms, us, ns) or notation (epoch
    number or text, RFC 3339 with any offset). Build derived ids from this, never from the
    timestamp's text."""
    t = dt.datetime.fromisoformat(parse_ts(value, assume_tz=assume_tz).replace("Z", "+00:00"))
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


def parse_day(value: Any, *, assume_tz: str = "UTC") -> str:
    """A vendor date (any :func:`parse_ts` input) -> ``YYYY-MM-DD`` of the UTC instant.

    A bare date (``2026-03-01``, ``03-01-2026``) is that calendar day.
    """
    return parse_ts(value, assume_tz=assume_tz)[:10]


def _content_text(content: Any) -> str:
    """Text of a chat message's content: a string, or a list of parts with ``text``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return _content_text(content.get("text") if "text" in content else content.get("content"))
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, dict):
                if "text" in p and isinstance(p["text"], str):
                    parts.append(p["text"])
                elif "content" in p:
                    parts.append(_content_text(p["content"]))
        return "\n".join(x for x in parts if x)
    return ""


def last_user_text(messages: Any) -> str | None:
    """The last user turn of a chat message list (OpenAI / Anthropic / Converse / GenAI shapes).

    Accepts a JSON string as well. Returns None when there is no user text (prompts not stored).
    """
    if messages is None:
        return None
    if isinstance(messages, str):
        s = messages.strip()
        if not s or s in ("{}", "[]", "null"):
            return None
        try:
            messages = json.loads(s)
        except ValueError:
            return s  # a bare prompt string
    if isinstance(messages, dict):
        for key in ("messages", "input"):
            if key in messages:
                return last_user_text(messages[key])
        for key in ("prompt", "inputText", "text"):
            if isinstance(messages.get(key), str) and messages[key].strip():
                return messages[key]
        return None
    if isinstance(messages, list):
        text = None
        for m in messages:
            if isinstance(m, dict) and m.get("role") in ("user", "human"):
                t = _content_text(m.get("content", m.get("parts")))
                if t.strip():
                    text = t
        return text
    return None

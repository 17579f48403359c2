"""Helpers shared by the per-event vendor mappers (pure functions, no I/O).

- ``otlp_attrs`` (= ``base.otlp_attributes``): OTLP key/value list or already-plain dict -> dict.
- ``interaction`` (= ``base.interaction_row``): a canonical interaction row.
- ``as_str``, ``require``: text fields, ``missing_required: <field>``.
- ``last_user_text``: the last user turn of a chat message list (for fingerprints only).
"""

from __future__ import annotations

import json
from typing import Any

from theater.sources.vendor.base import INTERACTION_FIELDS as CONTRACT_FIELDS  # noqa: F401
from theater.sources.vendor.base import VendorRecordError, as_int, interaction_row  # noqa: F401
from theater.sources.vendor.base import otlp_attributes as otlp_attrs  # noqa: F401


def interaction(source_format: str, alias_kind: str, **fields: Any) -> dict:
    """Canonical ``interactions`` row (``base.interaction_row``: every contract field, None unless
    given; extra keys are refused)."""
    return interaction_row(source_format, alias_kind, **fields)


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def require(value: Any, field: str) -> str:
    s = as_str(value)
    if s is None:
        raise VendorRecordError(f"missing_required: {field}")
    return s


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

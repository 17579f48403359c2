"""What each export format feeds, derived from what the pipeline computes over its rows.

``theater formats`` prints, for each signal, whether the score stage can compute it from the
canonical fields the format's mapper fills (its ``fills``) at its grain (:func:`derive`). A new
signal is a new entry in :data:`SIGNALS` and a rule here: no format module names signals. The rules
mirror the code that reads the rows:

Per-event rows (``silver/interactions``, ``theater.signals``): a signal is measured only when
every field it reads is reported (its NA rule):

- ``unused_output``: the use of the output (``output_disposition`` or ``dwell_ms``);
- ``self_summary``: the artifact's author and modification time, and the use of the output;
- ``repeat_prompt``: ``prompt_fingerprint`` and the use of the output;
- ``fragmentation``: ``prompt_tokens`` and ``artifact_id``;
- ``padding``: ``prompt_tokens`` and the use of the output;
- ``quota_bunching``, ``checkpoint_burst``, ``outcome_decoupling``: usage per user over time
  (every event row).

User-day and person-week rows (``silver/user_days``, ``theater.transforms.aggregates``):

- ``unused_output`` (A): the unused share of outputs, when the format reports rejections or
  dismissals (``rejected``, ``dismissed``), or acceptances against outputs shown or requested
  (``accepted`` with ``suggestions_shown`` or ``requests``: the acceptance basis of the index,
  ``theater.signals.acceptance_excess``);
- ``quota_bunching``, ``outcome_decoupling``: a usage count per user (``requests``, outputs
  shown, or decisions);
- ``checkpoint_burst``: the same, on daily rows only (a week cannot show a 3-day burst);
- nothing else: aggregates carry no prompts, artifacts or authorship.

Org-day rows (``silver/org_days``) feed no per-person signal: no person is seen. Where they
count accepted outputs against outputs shown or requested, they feed ``unused_output`` (O): the
org-level acceptance estimate, ``theater.signals.org_acceptance``, one figure per org and no
person's.

Each format's ``fills`` is checked against its mapper: a unit test maps the format's fixture and
compares the fields that come out non-null with it, so a claim changes when the code does.
"""

from __future__ import annotations

SIGNALS = (
    "unused_output",
    "self_summary",
    "repeat_prompt",
    "fragmentation",
    "padding",
    "quota_bunching",
    "checkpoint_burst",
    "outcome_decoupling",
)
SIGNAL_LEVELS = ("Y", "A", "O", "N")

#: Keys every row of a table has: not evidence of any measurement.
ROW_KEYS = frozenset(
    {
        "source_format",
        "user_id",
        "user_alias_kind",
        "event_id",
        "event_ts",
        "tool",
        "day",
        "feature",
        "period_days",
        "update_id",
        "update_kind",
        "update_ts",
        "tool_name",
    }
)
USE_OF_OUTPUT = frozenset({"output_disposition", "dwell_ms"})
USAGE_COUNTS = frozenset({"requests", "suggestions_shown", "accepted", "rejected", "dismissed"})


def derive(grain: str, fields: frozenset[str] | set[str]) -> dict[str, str]:
    """{signal: "Y" | "A" | "O" | "N"} for rows of ``grain`` filling ``fields`` (module docstring)."""
    out = {s: "N" for s in SIGNALS}
    if grain == "event":
        use = bool(fields & USE_OF_OUTPUT)
        out["unused_output"] = "Y" if use else "N"
        authored = {"artifact_author_id", "artifact_modified_ts"} <= fields
        out["self_summary"] = "Y" if authored and use else "N"
        out["repeat_prompt"] = "Y" if "prompt_fingerprint" in fields and use else "N"
        out["fragmentation"] = "Y" if {"prompt_tokens", "artifact_id"} <= fields else "N"
        out["padding"] = "Y" if "prompt_tokens" in fields and use else "N"
        for s in ("quota_bunching", "checkpoint_burst", "outcome_decoupling"):
            out[s] = "Y"
    elif grain in ("user_day", "person_week"):
        counted = bool(fields & USAGE_COUNTS)
        accepted_of = "accepted" in fields and bool(fields & {"suggestions_shown", "requests"})
        if fields & {"rejected", "dismissed"} or accepted_of:
            out["unused_output"] = "A"
        if counted:
            out["quota_bunching"] = out["outcome_decoupling"] = "Y"
            if grain == "user_day":
                out["checkpoint_burst"] = "Y"
    elif grain == "org_day":
        if "accepted" in fields and fields & {"suggestions_shown", "requests"}:
            out["unused_output"] = "O"
    return out

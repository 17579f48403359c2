"""Vocabularies and integer codes shared by the generator's steps.

Where the input contract (``theater/contract/*.schema.json``) defines a set of values, the
vocabulary is read from it: interaction actions, output dispositions and work-item kinds.
Tools are not an enum in the contract (any surface name is valid), so the four simulated tools
are listed here. Arrays indexed by a code (per tool, per action) are built from name-keyed
tables in the contract's order, so a reordered contract changes no number silently.
"""

from __future__ import annotations

import numpy as np

from ..contracts import contract


def _enum(dataset: str, field: str) -> tuple[str, ...]:
    values = contract(dataset).field(field).enum
    if not values:
        raise ValueError(f"contract {dataset}.{field} defines no enum")
    return values


TOOLS = ("assistant", "ide", "docs", "cli")
ACTIONS = _enum("interactions", "action")
MECHANISMS = (
    "none",
    "discard",
    "self_summary",
    "repeat",
    "fragment",
    "padding",
    "quota_filler",
    "checkpoint_burst",
)
# code 0 is "not reported" (null); the contract's values follow in its order
DISPOSITIONS = (None, *_enum("interactions", "output_disposition"))
USED = ("accepted", "inserted", "copied", "edited")
WORK_ITEM_KINDS = _enum("work_items", "kind")
POLICY_KINDS = _enum("policies", "kind")
FORMATS = ("parquet", "jsonl", "jsonl.gz", "json", "csv")
BAD_KINDS = ("malformed_line", "missing_required", "bad_enum", "negative_number", "bad_timestamp")

A_, I_, D_, C_ = (TOOLS.index(t) for t in TOOLS)  # tool codes
(CHAT, SUMMARIZE, REWRITE, GENERATE, COMPLETE, CODE_EDIT, AGENT, REVIEW, SEARCH, OTHER) = (
    ACTIONS.index(a)
    for a in (
        "chat",
        "summarize",
        "rewrite",
        "generate",
        "complete",
        "code_edit",
        "agent",
        "review",
        "search",
        "other",
    )
)
(NONE, DISCARD, SELF_SUMMARY, REPEAT, FRAGMENT, PADDING, QUOTA_FILLER, CHECKPOINT_BURST) = range(
    len(MECHANISMS)
)
# disposition codes (0: null)
(ACCEPTED, INSERTED, COPIED, EDITED, DISCARDED, IGNORED, UNKNOWN) = (
    DISPOSITIONS.index(d)
    for d in ("accepted", "inserted", "copied", "edited", "discarded", "ignored", "unknown")
)
NOT_REPORTED = 0
# genuine episode kinds
G_SINGLE, G_ITER, G_TEMPLATE, G_LONGSUM, G_HEAP, G_THEATER = range(6)
# outcome classes -> disposition / dwell
O_USED, O_READ, O_GEN_UNUSED, O_TH_UNUSED, O_TH_NULL, O_ITER_MID = range(6)


def by_action(values: dict[str, float], dtype=float) -> np.ndarray:
    """A per-action array in ``ACTIONS`` order from a name-keyed table (every action given)."""
    missing = set(ACTIONS) - set(values)
    if missing or set(values) - set(ACTIONS):
        raise ValueError(
            f"per-action table does not match the contract's actions: "
            f"missing {sorted(missing)}, unknown {sorted(set(values) - set(ACTIONS))}"
        )
    return np.array([values[a] for a in ACTIONS], dtype=dtype)


# action mix per tool (rows: TOOLS, cols: ACTIONS)
TOOL_ACTIONS = np.array(
    [
        by_action(
            dict(
                chat=0.45,
                summarize=0.14,
                rewrite=0.12,
                generate=0.12,
                complete=0,
                code_edit=0,
                agent=0,
                review=0,
                search=0.13,
                other=0.04,
            )
        ),  # assistant
        by_action(
            dict(
                chat=0.12,
                summarize=0,
                rewrite=0,
                generate=0,
                complete=0.45,
                code_edit=0.25,
                agent=0.08,
                review=0.10,
                search=0,
                other=0,
            )
        ),  # ide
        by_action(
            dict(
                chat=0.10,
                summarize=0.35,
                rewrite=0.25,
                generate=0.20,
                complete=0,
                code_edit=0,
                agent=0,
                review=0.10,
                search=0,
                other=0,
            )
        ),  # docs
        by_action(
            dict(
                chat=0,
                summarize=0,
                rewrite=0,
                generate=0.20,
                complete=0,
                code_edit=0.20,
                agent=0.35,
                review=0,
                search=0.15,
                other=0.10,
            )
        ),  # cli
    ]
)
# prompt tokens: 24 + lognormal(median - 24, sigma) -> 10th percentile > 30 for every action
TOK_MEDIAN = by_action(
    dict(
        chat=80,
        summarize=600,
        rewrite=150,
        generate=120,
        complete=45,
        code_edit=200,
        agent=400,
        review=500,
        search=50,
        other=60,
    )
)
TOK_SIGMA = by_action(
    dict(
        chat=0.6,
        summarize=0.7,
        rewrite=0.6,
        generate=0.7,
        complete=0.5,
        code_edit=0.7,
        agent=0.7,
        review=0.7,
        search=0.5,
        other=0.6,
    )
)
COMP_MEDIAN = by_action(
    dict(
        chat=300,
        summarize=250,
        rewrite=200,
        generate=450,
        complete=30,
        code_edit=250,
        agent=1200,
        review=350,
        search=150,
        other=120,
    )
)
GENUINE_MIN_TOKENS = 24

# (suffix, offset minutes)
TZ = (
    ("Z", 0),
    ("+00:00", 0),
    ("+01:00", 60),
    ("+02:00", 120),
    ("+05:30", 330),
    ("+05:45", 345),
    ("+09:00", 540),
    ("+10:00", 600),
    ("-03:00", -180),
    ("-04:00", -240),
    ("-05:00", -300),
    ("-07:00", -420),
)
TZ_OFF = np.array([m for _, m in TZ], dtype=np.int64)
REGION_OF_TZ = (
    "eu-west-1",
    "eu-west-1",
    "eu-west-1",
    "eu-central-1",
    "ap-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-southeast-2",
    "sa-east-1",
    "us-east-1",
    "us-east-1",
    "us-west-2",
)
HOME_TZ = ((2, 3, 3, 1), (9, 10, 9, 11), (4, 4, 5, 6), (3, 9, 7, 8))  # per org "home region"

# columns a tool never sends (absent from its files)
ABSENT = {
    "assistant": (),
    "ide": ("artifact_author_id",),
    "docs": ("session_id",),
    "cli": ("output_disposition", "dwell_ms", "artifact_author_id", "artifact_modified_ts"),
}

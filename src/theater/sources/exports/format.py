"""What an export format is, and the registry of them.

A *format* is one module under :mod:`theater.sources.exports.formats` that registers one
:class:`VendorFormat` when imported: a pure ``map_record`` that turns one vendor record (a dict,
as :func:`theater.sources.stream.iter_records` yields it) into canonical rows
(:mod:`theater.sources.exports.rows`), a ``looks_like`` that recognises the format from one
record, and ``fills``, the canonical fields its mapper fills. The signals a format can feed are
derived from ``fills`` and its grain (:mod:`theater.sources.exports.claims`): a format names no
signal, so adding a signal touches no format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .claims import derive

GRAINS = ("event", "user_day", "person_week", "org_day")
IDENTITY_KINDS = (
    "github_login",
    "github_id",
    "email",
    "upn",
    "identity_center_id",
    "iam_arn",
    "person_id",
    "api_key",
    "account_uuid",
    "user_id",
)
FILE_KINDS = ("json", "jsonl", "csv")


@dataclass(frozen=True)
class VendorFormat:
    """One export format. ``fills``: the canonical fields its mapper fills beyond the keys every
    row has (checked against the mapper on the format's fixture by a unit test); the signals
    it feeds follow from them (:attr:`signals`)."""

    name: str
    grain: str
    summary: str
    required: tuple[str, ...]
    fills: frozenset[str]
    identity_kinds: tuple[str, ...]
    file_kinds: tuple[str, ...]
    map_record: Callable[[dict], list[dict]]
    looks_like: Callable[[dict], bool]
    docs: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise ValueError(f"{self.name}: grain {self.grain!r} not in {GRAINS}")
        object.__setattr__(self, "fills", frozenset(self.fills))
        bad_files = set(self.file_kinds) - set(FILE_KINDS)
        if bad_files:
            raise ValueError(f"{self.name}: unknown file kinds {sorted(bad_files)}")

    @property
    def signals(self) -> dict[str, str]:
        """{signal: "Y" | "A" | "N"}, every signal: derived from the grain and ``fills``."""
        return derive(self.grain, self.fills)

    def feeds(self) -> dict[str, str]:
        """Signals this format can feed (level Y or A)."""
        return {k: v for k, v in self.signals.items() if v != "N"}


#: Registry, filled by each format module calling :func:`register` at import.
FORMATS: dict[str, VendorFormat] = {}


def register(fmt: VendorFormat) -> VendorFormat:
    if fmt.name in FORMATS and FORMATS[fmt.name] is not fmt:
        raise ValueError(f"vendor format {fmt.name!r} registered twice")
    FORMATS[fmt.name] = fmt
    return fmt

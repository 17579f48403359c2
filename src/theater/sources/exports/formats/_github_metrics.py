"""What GitHub's Copilot usage-metrics reports (users, user-teams, organization and enterprise
aggregates) share: the counts of one block, the ``totals_by_feature`` split, and who a per-user
record is about.

The per-user reports must name the user and the GitHub account the same way so that their rows
join on ``user_id`` and ``user_alias_kind``.
"""

from __future__ import annotations

from ..values import VendorRecordError, as_int, as_str, is_blank, sum_known

#: (canonical count, report field) of one block (a record or a ``totals_by_feature`` entry).
COUNTS = (
    ("requests", "user_initiated_interaction_count"),
    ("suggestions_shown", "code_generation_activity_count"),
    ("accepted", "code_acceptance_activity_count"),
    ("lines_suggested", "loc_suggested_to_add_sum"),
    ("lines_accepted", "loc_added_sum"),
)


def block_counts(block: dict, where: str) -> dict:
    """{canonical count: int or None} of one block; ``where`` prefixes the field names in
    errors (``""`` or ending in ``.``)."""
    return {k: as_int(block.get(f), f"{where}{f}") for k, f in COUNTS}


def feature_counts(rec: dict, where: str) -> dict[str, dict]:
    """{feature: counts} of the record's ``totals_by_feature`` (empty when absent); a feature
    given twice adds up, unknown staying unknown."""
    features = rec.get("totals_by_feature")
    if features is not None and not isinstance(features, list):
        raise VendorRecordError(f"bad_type: {where}totals_by_feature")
    by_feature: dict[str, dict] = {}
    for i, block in enumerate(features or []):
        if not isinstance(block, dict) or is_blank(block.get("feature")):
            raise VendorRecordError(f"bad_type: {where}totals_by_feature[{i}]")
        feat = as_str(block["feature"], "feature")
        counts = block_counts(block, f"{where}totals_by_feature[{i}].")
        if feat in by_feature:
            prev = by_feature[feat]
            counts = {k: sum_known(prev[k], v) for k, v in counts.items()}
        by_feature[feat] = counts
    return by_feature


def github_user(record: dict) -> tuple[str, str]:
    """(user, alias kind): ``user_login`` (``github_login``), else ``user_id`` (``github_id``);
    ``missing_required: user_login`` when neither is given."""
    if not is_blank(record.get("user_login")):
        return as_str(record["user_login"], "user_login"), "github_login"
    if not is_blank(record.get("user_id")):
        return as_str(record["user_id"], "user_id"), "github_id"
    raise VendorRecordError("missing_required: user_login")


def github_account(record: dict) -> str | None:
    """The GitHub organization id, else the enterprise id (a GitHub account, not an HR org)."""
    return as_str(record.get("organization_id"), "organization_id") or as_str(
        record.get("enterprise_id"), "enterprise_id"
    )

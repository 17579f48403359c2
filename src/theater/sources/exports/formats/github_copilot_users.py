"""GitHub Copilot usage metrics, users report (new usage-metrics API): one record per user and day.

Delivered as NDJSON (``..._users.json`` / ``.jsonl``; one JSON object per line) from the signed
download links of ``GET /enterprises/{e}/copilot/metrics/reports/users-1-day`` (or the org
report). Field names: GitHub docs "Copilot usage metrics" reference and example schema.
"""

from __future__ import annotations

from ..format import VendorFormat, register
from ..rows import user_day_row
from ..values import VendorRecordError, as_int, get_path, parse_day, require
from ._github_metrics import block_counts, feature_counts, github_account, github_user

NAME = "github_copilot_users"

DOCS = """\
## github_copilot_users - GitHub Copilot usage metrics, users report

Grain: user x day, NDJSON (one record per line). One canonical `user_days` row per entry of
`totals_by_feature` (feature = GitHub's feature name, e.g. `code_completion`,
`chat_panel_ask_mode`, `chat_panel_agent_mode`, `chat_panel_edit_mode`, `agent_edit`,
`chat_inline`), plus a `cli` row from `totals_by_cli`. A record without `totals_by_feature`
gives one `all` row from its top-level totals. The features of one record partition its
activity (the top-level totals are their sum), so `all` never appears beside them.

| vendor field | canonical field | note |
|---|---|---|
| `user_login` (else `user_id`) | `user_id` | `user_alias_kind` = `github_login` (else `github_id`) |
| `organization_id` (else `enterprise_id`) | `vendor_org` | GitHub org/enterprise id, not an HR org |
| - | `org_id` | None (resolved later from the directory) |
| `day` | `day` | YYYY-MM-DD |
| `totals_by_feature[].feature` | `feature` | |
| `.user_initiated_interaction_count` | `requests` | prompts the user sent (0 for code_completion) |
| `.code_generation_activity_count` | `suggestions_shown` | generations shown |
| `.code_acceptance_activity_count` | `accepted` | |
| `.loc_suggested_to_add_sum` | `lines_suggested` | |
| `.loc_added_sum` | `lines_accepted` | |
| `totals_by_cli.prompt_count` | `requests` (feature `cli`) | |
| `totals_by_cli.session_count` | `sessions` (feature `cli`) | |
| `totals_by_cli.token_usage.prompt_tokens_sum` / `output_tokens_sum` | `prompt_tokens` / `output_tokens` (feature `cli`) | CLI only |
| - | `rejected`, `dismissed` | None: GitHub reports no rejections |
| - | `period_days` | 1 |

Lost: the IDE, language and model breakdowns (`totals_by_ide`, `totals_by_language_feature`,
`totals_by_language_model`, `totals_by_model_feature`), lines deleted
(`loc_suggested_to_delete_sum`, `loc_deleted_sum`), `used_agent`/`used_chat` flags, CLI
`request_count` and `avg_tokens_per_request`, plugin/IDE versions. Sessions and tokens exist
only for the CLI. Whether CLI prompts are also inside the top-level totals is undocumented:
the `cli` row is kept apart, so do not add it to the IDE features when comparing with
`user_initiated_interaction_count`. Not measurable: per-request disposition, prompt text, dwell.
"""


def map_record(record: dict) -> list[dict]:
    require(record, "day")
    user, kind = github_user(record)
    day = parse_day(record["day"])
    org = github_account(record)
    common = dict(vendor_org=org, period_days=1)
    by_feature = feature_counts(record, "")
    rows = [
        user_day_row(NAME, user, kind, day, name, **common, **counts)
        for name, counts in by_feature.items()
    ]
    if not by_feature:  # the features partition the totals: never both
        rows.append(
            user_day_row(NAME, user, kind, day, "all", **common, **block_counts(record, "totals."))
        )
    cli = record.get("totals_by_cli")
    if isinstance(cli, dict) and cli:
        rows.append(
            user_day_row(
                NAME,
                user,
                kind,
                day,
                "cli",
                **common,
                requests=as_int(cli.get("prompt_count"), "totals_by_cli.prompt_count"),
                sessions=as_int(cli.get("session_count"), "totals_by_cli.session_count"),
                prompt_tokens=as_int(
                    get_path(cli, "token_usage.prompt_tokens_sum"),
                    "totals_by_cli.token_usage.prompt_tokens_sum",
                ),
                output_tokens=as_int(
                    get_path(cli, "token_usage.output_tokens_sum"),
                    "totals_by_cli.token_usage.output_tokens_sum",
                ),
            )
        )
    elif cli is not None and not isinstance(cli, dict):
        raise VendorRecordError("bad_type: totals_by_cli")
    return rows


def looks_like(record: dict) -> bool:
    return (
        "day" in record
        and ("user_login" in record or "user_id" in record)
        and any(
            k in record
            for k in (
                "totals_by_feature",
                "code_generation_activity_count",
                "user_initiated_interaction_count",
                "totals_by_ide",
            )
        )
    )


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="user_day",
        summary="GitHub Copilot usage metrics users report (NDJSON): per user-day and feature",
        required=("day", "user_login"),
        fills=(
            "accepted",
            "lines_accepted",
            "lines_suggested",
            "output_tokens",
            "prompt_tokens",
            "requests",
            "sessions",
            "suggestions_shown",
            "vendor_org",
        ),
        identity_kinds=("github_login", "github_id"),
        file_kinds=("jsonl", "json"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)

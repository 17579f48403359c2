"""Amazon Q Developer user activity report (CSV): one row per user and day.

Written daily by Amazon Q to ``s3://.../QDeveloperLogs/by_user_analytic/...csv`` (1,000 users
per file, ``part_N`` suffixes). AWS documents the metric names ("User activity report
metrics") but not the column order and publishes no sample, so columns are found by name,
case- and punctuation-insensitively (``Inline_AcceptanceCount`` = ``inline_acceptancecount``).
"""

from __future__ import annotations

from ..format import VendorFormat, register
from ..rows import user_day_row
from ..values import VendorRecordError, as_int, as_str, is_blank, norm_keys, parse_day, sum_known

NAME = "amazon_q_user_activity"

# feature -> {canonical count: [vendor columns summed]} (normalized names)
FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "chat": {
        "requests": ("chat_messagessent",),
        "accepted": ("chat_messagesinteracted",),
        "lines_accepted": ("chat_aicodelines",),
    },
    "code_completion": {
        "suggestions_shown": ("inline_suggestionscount",),
        "accepted": ("inline_acceptancecount",),
        "lines_accepted": ("inline_aicodelines",),
    },
    "inline_chat": {
        "requests": ("inlinechat_totaleventcount",),
        "accepted": ("inlinechat_acceptanceeventcount",),
        "rejected": ("inlinechat_rejectioneventcount",),
        "dismissed": ("inlinechat_dismissaleventcount",),
        "lines_suggested": (
            "inlinechat_acceptedlineadditions",
            "inlinechat_rejectedlineadditions",
            "inlinechat_dismissedlineadditions",
        ),
        "lines_accepted": ("inlinechat_acceptedlineadditions",),
    },
    "dev_agent": {
        "suggestions_shown": ("dev_generationeventcount",),
        "accepted": ("dev_acceptanceeventcount",),
        "lines_suggested": ("dev_generatedlines",),
        "lines_accepted": ("dev_acceptedlines",),
    },
    "doc_generation": {
        "requests": ("docgeneration_eventcount",),
        "accepted": ("docgeneration_acceptedfilescreations", "docgeneration_acceptedfileupdates"),
        "rejected": ("docgeneration_rejectedfilecreations", "docgeneration_rejectedfileupdates"),
        "lines_suggested": (
            "docgeneration_acceptedlineadditions",
            "docgeneration_acceptedlineupdates",
            "docgeneration_rejectedlineadditions",
            "docgeneration_rejectedlineupdates",
        ),
        "lines_accepted": (
            "docgeneration_acceptedlineadditions",
            "docgeneration_acceptedlineupdates",
        ),
    },
    "test_generation": {
        "requests": ("testgeneration_eventcount",),
        "suggestions_shown": ("testgeneration_generatedtests",),
        "accepted": ("testgeneration_acceptedtests",),
        "lines_suggested": ("testgeneration_generatedlines",),
        "lines_accepted": ("testgeneration_acceptedlines",),
    },
    "code_review": {
        "suggestions_shown": ("codefix_generationeventcount",),
        "accepted": ("codefix_acceptanceeventcount",),
        "lines_suggested": ("codefix_generatedlines",),
        "lines_accepted": ("codefix_acceptedlines",),
    },
    "transformation": {
        "requests": ("transformation_eventcount",),
        "lines_suggested": ("transformation_linesgenerated",),
    },
}

DOCS = """\
## amazon_q_user_activity - Amazon Q Developer user activity report

Grain: user x day, CSV with one row per user who used Amazon Q that day. Columns are matched by
name (case and punctuation ignored); the order is undocumented and extra columns are ignored.
One `user_days` row per metric family present in the row (a family is present when at least
one of its columns has a value; a reported 0 is kept as 0, an empty cell is None). `Date` is
`MM-DD-YYYY`; `UserId` is the IAM Identity Center user id.

| vendor column(s) | canonical field | feature |
|---|---|---|
| `UserId` | `user_id` (`user_alias_kind` = `identity_center_id`) | |
| `Date` (MM-DD-YYYY) | `day` | |
| - | `vendor_org`, `org_id` | None (the AWS account is only in the S3 path) |
| `Chat_MessagesSent` | `requests` | `chat` (counts prompts *and* responses) |
| `Chat_MessagesInteracted` | `accepted` | `chat` (positive interactions: insert, link, upvote) |
| `Chat_AICodeLines` | `lines_accepted` | `chat` |
| `Inline_SuggestionsCount` / `Inline_AcceptanceCount` / `Inline_AICodeLines` | `suggestions_shown` / `accepted` / `lines_accepted` | `code_completion` |
| `InlineChat_TotalEventCount` | `requests` | `inline_chat` |
| `InlineChat_AcceptanceEventCount` / `RejectionEventCount` / `DismissalEventCount` | `accepted` / `rejected` / `dismissed` | `inline_chat` |
| `InlineChat_{Accepted,Rejected,Dismissed}LineAdditions` (sum) | `lines_suggested` | `inline_chat` |
| `InlineChat_AcceptedLineAdditions` | `lines_accepted` | `inline_chat` |
| `Dev_GenerationEventCount` / `Dev_AcceptanceEventCount` | `suggestions_shown` / `accepted` | `dev_agent` (/dev) |
| `Dev_GeneratedLines` / `Dev_AcceptedLines` | `lines_suggested` / `lines_accepted` | `dev_agent` |
| `DocGeneration_EventCount` | `requests` | `doc_generation` (/doc) |
| `DocGeneration_Accepted{FilesCreations,FileUpdates}` (sum) | `accepted` | `doc_generation` |
| `DocGeneration_Rejected{FileCreations,FileUpdates}` (sum) | `rejected` | `doc_generation` |
| `DocGeneration_{Accepted,Rejected}Line{Additions,Updates}` (sum) | `lines_suggested` | `doc_generation` |
| `DocGeneration_AcceptedLine{Additions,Updates}` (sum) | `lines_accepted` | `doc_generation` |
| `TestGeneration_EventCount` / `GeneratedTests` / `AcceptedTests` | `requests` / `suggestions_shown` / `accepted` | `test_generation` |
| `TestGeneration_GeneratedLines` / `AcceptedLines` | `lines_suggested` / `lines_accepted` | `test_generation` |
| `CodeFix_GenerationEventCount` / `AcceptanceEventCount` | `suggestions_shown` / `accepted` | `code_review` |
| `CodeFix_GeneratedLines` / `AcceptedLines` | `lines_suggested` / `lines_accepted` | `code_review` |
| `Transformation_EventCount` / `LinesGenerated` | `requests` / `lines_suggested` | `transformation` |
| - | `sessions`, tokens | None (not reported) |

A sum over several columns is None only when all are empty; an empty part adds nothing.
Lost: line deletions (`InlineChat_*LineDeletions`), `CodeReview_FindingsCount`,
`CodeReview_SucceededEventCount`, `CodeReview_FailedEventCount`,
`Transformation_LinesIngested`, anything per request. `Chat_MessagesSent` counts both
directions, so chat `requests` is about twice the prompts (consistent within a user, which is
what quota bunching compares). Amazon Q is the richest acceptance source (accept / reject /
dismiss per family) but only per user-day.
"""


def map_record(record: dict) -> list[dict]:
    rec = norm_keys(record)
    for field in ("userid", "date"):
        if is_blank(rec.get(field)):
            raise VendorRecordError(
                f"missing_required: {'UserId' if field == 'userid' else 'Date'}"
            )
    user = as_str(rec["userid"], "UserId")
    day = parse_day(rec["date"])
    rows = []
    for feature, spec in FAMILIES.items():
        cols = {c for cs in spec.values() for c in cs}
        if all(is_blank(rec.get(c)) for c in cols):
            continue
        counts = {k: sum_known(*(as_int(rec.get(c), c) for c in cs)) for k, cs in spec.items()}
        rows.append(user_day_row(NAME, user, "identity_center_id", day, feature, **counts))
    return rows


def looks_like(record: dict) -> bool:
    rec = norm_keys(record)
    return (
        "userid" in rec
        and "date" in rec
        and any(
            k.startswith(
                (
                    "inline_",
                    "inlinechat_",
                    "chat_messagessent",
                    "dev_",
                    "codefix_",
                    "testgeneration_",
                )
            )
            for k in rec
        )
    )


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="user_day",
        summary="Amazon Q Developer user activity report (CSV): per user-day and feature family",
        required=("UserId", "Date"),
        fills=(
            "accepted",
            "dismissed",
            "lines_accepted",
            "lines_suggested",
            "rejected",
            "requests",
            "suggestions_shown",
        ),
        identity_kinds=("identity_center_id",),
        file_kinds=("csv",),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)

"""Side datasets: directory (type 2), work items and their links, policies and reviews."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrays import cat, int_col, num_text, rfc3339, take_str, with_nulls
from .vocab import WORK_ITEM_KINDS
from .world import ROLES_BIZ, ROLES_ENG, World


def directory_tables(world: World) -> tuple[pa.Table, pa.Table]:
    """(rows of users who never moved, rows of movers) as tables."""
    U = world.n_users
    epoch = np.datetime64("1970-01-01")

    def d2s(d):
        return pa.array(
            np.datetime_as_string(epoch + np.asarray(d).astype("timedelta64[D]"), unit="D")
        )

    role_eng = np.array(ROLES_ENG)[np.arange(U) % len(ROLES_ENG)]
    role_biz = np.array(ROLES_BIZ)[(np.arange(U) * 7) % len(ROLES_BIZ)]
    role = np.where(world.org_eng[world.org1], role_eng, role_biz)

    def table(users, org, vfrom, vto):
        return pa.table(
            {
                "user_id": world.ident_arr.take(pa.array(users, type=pa.int64())),
                "org_id": take_str(tuple(world.org_ids), org),
                "org_name": take_str(tuple(world.org_names), org),
                "parent_org_id": take_str(tuple(world.org_parent), org),
                "role": pa.array(role[users].tolist(), type=pa.string()),
                "valid_from": d2s(vfrom),
                "valid_to": with_nulls(d2s(np.where(vto < 0, 0, vto)), vto < 0),
            }
        )

    stay = np.flatnonzero(~world.mover)
    base = table(stay, world.org1[stay], world.hire_day[stay], np.full(len(stay), -1))
    mv = np.flatnonzero(world.mover)
    users = np.repeat(mv, 2)
    org = np.ravel(np.column_stack([world.org1[mv], world.org2[mv]]))
    vfrom = np.ravel(np.column_stack([world.hire_day[mv], world.move_day[mv]]))
    vto = np.ravel(np.column_stack([world.move_day[mv], np.full(len(mv), -1)]))
    return base, table(users, org, vfrom, vto)


TICKET, PULL_REQUEST, CASE, DOCUMENT, OTHER_ITEM = (
    WORK_ITEM_KINDS.index(k) for k in ("ticket", "pull_request", "case", "document", "other")
)


def work_items(world: World, rng) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """Work items; returns (table, user, opened_ts, closed_ts) sorted by (user, opened)."""
    U = world.n_users
    span = world.t1 - world.t0
    n = rng.poisson(world.n_weeks * 1.2 * np.minimum(world.rate / 12, 3), U)
    user = np.repeat(np.arange(U), n)
    N = len(user)
    opened = world.t0 - 14 * 86400 + (rng.random(N) * (span + 13 * 86400)).astype(np.int64)
    order = np.lexsort((opened, user))
    user, opened = user[order], opened[order]
    dur = (np.exp(rng.normal(np.log(3), 1, N)) * 86400).astype(np.int64)
    closed = opened + dur
    still_open = closed >= world.t1
    org = world.org_at(user, opened // 86400)
    eng = world.org_eng[org]
    r = rng.random(N)
    kind = np.where(
        eng,
        np.select([r < 0.5, r < 0.9], [PULL_REQUEST, TICKET], OTHER_ITEM),
        np.select([r < 0.4, r < 0.8], [CASE, DOCUMENT], TICKET),
    )
    th = world.p[user]
    reopened = rng.poisson(0.15 + 1.2 * th)
    escalated = rng.random(N) < 0.04 + 0.25 * th
    tz = world.tz[user]
    table = pa.table(
        {
            "work_item_id": cat("WI-", num_text(np.arange(N) + 1, 7)),
            "user_id": world.ident_arr.take(pa.array(user)),
            "org_id": take_str(tuple(world.org_ids), org, rng.random(N) < 0.1),
            "kind": take_str(WORK_ITEM_KINDS, kind),
            "opened_ts": rfc3339(opened, tz),
            "closed_ts": with_nulls(rfc3339(closed, tz), still_open),
            "reopened_count": int_col(reopened, rng.random(N) < 0.05),
            "escalated": pa.array(escalated, mask=rng.random(N) < 0.05),
        }
    )
    return table, user, opened, closed


def link_work_items(rng, table: pa.Table, rows: dict, wi_user, wi_open, wi_id) -> pa.Table:
    R = table.num_rows
    share = np.array([0.35, 0.5, 0.2, 0.4])[rows["tool"]]
    want = rng.random(R) < share
    big = np.int64(1) << 36
    keys = wi_user.astype(np.int64) * big + wi_open
    q = rows["user"].astype(np.int64) * big + rows["ts"]
    idx = np.searchsorted(keys, q, side="right") - 1
    ok = want & (idx >= 0)
    idx = np.maximum(idx, 0)
    ok &= wi_user[idx] == rows["user"] if len(wi_user) else False
    col = wi_id.take(pa.array(idx)) if len(wi_user) else pa.nulls(R, pa.string())
    col = with_nulls(col, ~ok)
    return table.set_column(table.schema.get_field_index("work_item_id"), "work_item_id", col)


def policies_tables(world: World) -> tuple[pa.Table, pa.Table]:
    epoch = np.datetime64("1970-01-01")

    def ds(d):
        return None if d is None else str(epoch + np.timedelta64(int(d), "D"))

    rows = []
    for o, s, e, q in world.quota_rows:
        rows.append(
            {
                "org_id": world.org_ids[o],
                "kind": "quota",
                "start_date": ds(s),
                "end_date": ds(e),
                "weekly_quota": q,
                "note": f"AI adoption target: {q} interactions per person per week",
            }
        )
    for o in np.flatnonzero(world.has_mandate):
        rows.append(
            {
                "org_id": world.org_ids[o],
                "kind": "mandate",
                "start_date": ds(world.mandate_day[o]),
                "end_date": None,
                "weekly_quota": None,
                "note": "AI-first mandate announced",
            }
        )
    rows.sort(key=lambda r: (r["org_id"], r["kind"], r["start_date"]))
    ck = [
        {
            "org_id": "*",
            "kind": "checkpoint",
            "start_date": ds(d),
            "end_date": None,
            "weekly_quota": None,
            "note": "company-wide quarterly review",
        }
        for d in world.star_ck
    ]
    for o in range(world.n_orgs):
        for d in world.org_ck[o]:
            ck.append(
                {
                    "org_id": world.org_ids[o],
                    "kind": "checkpoint",
                    "start_date": ds(d),
                    "end_date": None,
                    "weekly_quota": None,
                    "note": "team AI usage review",
                }
            )
    schema = pa.schema(
        [
            ("org_id", pa.string()),
            ("kind", pa.string()),
            ("start_date", pa.string()),
            ("end_date", pa.string()),
            ("weekly_quota", pa.int64()),
            ("note", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema), pa.Table.from_pylist(ck, schema=schema)

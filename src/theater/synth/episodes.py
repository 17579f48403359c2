"""Interactions as rows of integer codes: episodes, their expansion into rows, checkpoint
bursts and quota fillers."""

from __future__ import annotations

import numpy as np

from .arrays import U64, lognormal_tokens, mix, pick
from .vocab import (
    A_,
    ACTIONS,
    C_,
    CHAT,
    CHECKPOINT_BURST,
    D_,
    DISCARD,
    FRAGMENT,
    G_HEAP,
    G_ITER,
    G_LONGSUM,
    G_SINGLE,
    G_TEMPLATE,
    G_THEATER,
    GENERATE,
    I_,
    O_GEN_UNUSED,
    O_ITER_MID,
    O_READ,
    O_TH_NULL,
    O_TH_UNUSED,
    O_USED,
    OTHER,
    PADDING,
    QUOTA_FILLER,
    REPEAT,
    REWRITE,
    SEARCH,
    SELF_SUMMARY,
    SUMMARIZE,
    TOK_MEDIAN,
    TOOL_ACTIONS,
    TZ_OFF,
)
from .world import World


def episodes(world: World, rng) -> dict:
    """Base activity as episodes (one interaction or a chain)."""
    W, U = world.n_weeks, world.n_users
    dow_w = np.array([0.19, 0.19, 0.19, 0.19, 0.19, 0.025, 0.025])
    avail = (world.week_mask * dow_w).sum(1) / dow_w.sum()
    lam = world.rate[:, None] * avail[None, :]
    if world.holiday.any():
        lam = np.where(world.away, 0.1 * lam, lam)
    counts = rng.poisson(lam)
    heap_users = np.flatnonzero(world.heap > 0)
    if len(heap_users):
        cell = np.ix_(heap_users, np.flatnonzero(world.full_week))
        # exactly 10 or 20 a week, except in a week the user is away
        counts[cell] = np.where(world.away[cell], counts[cell], world.heap[heap_users, None])
    uw = np.repeat(np.arange(U * W), counts.ravel())
    user, week = uw // W, uw % W
    E = len(user)
    cw = np.cumsum(world.week_mask * dow_w, 1)
    cw = cw / cw[:, -1:]
    dow = pick(rng, cw[week])
    is_heap = world.heap[user] > 0
    hf = is_heap & world.full_week[week]
    if world.holiday.any():
        hf &= ~world.away[user, week]
    dow[hf] = rng.integers(0, 5, hf.sum())
    day = world.week_start[week] + dow
    org = world.org_at(user, day)
    # theater or not
    p = world.p[user] * np.where(day < world.mandate_day[org], 0.35, 1.0)
    th = rng.random(E) < p
    mech = np.zeros(E, np.int64)
    mcum = np.cumsum(world.org_mix, 1)
    mech[th] = 1 + pick(rng, mcum[org[th]])
    gk = np.full(E, G_THEATER)
    gen = ~th
    gk[gen] = np.array([G_SINGLE, G_ITER, G_TEMPLATE, G_LONGSUM])[
        pick(rng, np.tile(np.cumsum([0.895, 0.03, 0.06, 0.015]), (gen.sum(), 1)))
    ]
    gk[is_heap] = G_HEAP
    tool = pick(rng, world.tool_cum[user])
    r = rng.random(E)
    needs_unused = np.isin(mech, (DISCARD, SELF_SUMMARY, REPEAT, PADDING))
    tool[needs_unused & (tool == C_)] = A_
    tool[mech == SELF_SUMMARY] = np.where(r[mech == SELF_SUMMARY] < 0.7, D_, A_)
    tool[gk == G_LONGSUM] = np.where(r[gk == G_LONGSUM] < 0.7, D_, A_)
    tool[(gk == G_ITER) & (tool == C_)] = A_
    tool[(gk == G_ITER) & (tool == D_)] = A_
    action = pick(rng, np.cumsum(TOOL_ACTIONS, 1)[tool])
    action[(mech == SELF_SUMMARY) | (gk == G_LONGSUM)] = SUMMARIZE
    action[gk == G_ITER] = CHAT
    fm = (mech == FRAGMENT) & (action == SUMMARIZE)  # fragments keep the tool's action mix
    action[fm] = np.array([REWRITE, GENERATE, CHAT])[rng.integers(0, 3, fm.sum())]
    pad_bad = (mech == PADDING) & np.isin(action, (SEARCH, OTHER))
    action[pad_bad] = CHAT
    length = np.ones(E, np.int64)
    length[gk == G_ITER] = rng.integers(3, 7, (gk == G_ITER).sum())
    length[mech == REPEAT] = 1 + rng.integers(1, 4, (mech == REPEAT).sum())
    length[mech == FRAGMENT] = rng.integers(5, 9, (mech == FRAGMENT).sum())
    return dict(user=user, day=day, tool=tool, action=action, mech=mech, gk=gk, length=length)


def start_seconds(world: World, rng, user: np.ndarray, reserve: np.ndarray) -> np.ndarray:
    """Second of the UTC day: working hours in the user's zone, kept inside the UTC day."""
    h = np.clip(rng.normal(13.0, 2.6, len(user)), 7, 20.9)
    sec = ((h * 3600).astype(np.int64) - TZ_OFF[world.tz[user]] * 60) % 86400
    return np.where(sec > 86399 - reserve, sec - reserve, sec)


def expand(world: World, rng, ep: dict) -> dict:
    """Episodes -> rows, with times, artifacts, fingerprints, outcomes.

    The helpers draw from ``rng`` in a fixed order (start times, artifacts, gaps,
    fingerprints, tokens, outcomes): a world is reproduced from its seed only while it holds."""
    length = ep["length"]
    multi = (ep["gk"] == G_ITER) | (ep["mech"] == FRAGMENT)
    sec = start_seconds(world, rng, ep["user"], np.where(multi, 1800, 0))
    ep_ts = ep["day"] * 86400 + sec
    tool, user, mech, gk, action = (ep[k] for k in ("tool", "user", "mech", "gk", "action"))
    key, author, age = _episode_artifacts(world, rng, ep)
    # -- rows: episode ``row_ep``, step ``k`` of ``n_ep`` within it
    R = int(length.sum())
    row_ep = np.repeat(np.arange(len(length)), length)
    first = np.concatenate([[0], np.cumsum(length)[:-1]])
    k = np.arange(R) - first[row_ep]
    m = mech[row_ep]
    g = gk[row_ep]
    n_ep = length[row_ep]
    ts = ep_ts[row_ep] + _offsets(rng, k, m, g, n_ep, first[row_ep])
    rmech = m.copy()
    rmech[(m == REPEAT) & (k == 0)] = DISCARD
    fp = _fingerprints(rng, k, m, g, first[row_ep])
    ract = action[row_ep]
    tokens = _tokens(rng, ract, m, g)
    out = _outcomes(rng, k, m, g, n_ep, rmech)
    # sessions
    sess = np.where(multi[row_ep], mix(row_ep.astype(np.uint64) + U64(1 << 50)), U64(0))
    rows = dict(
        user=user[row_ep],
        ts=ts,
        tool=tool[row_ep],
        action=ract,
        mech=rmech,
        gk=g,
        out=out,
        tokens=tokens,
        fp=fp,
        art_key=key[row_ep],
        art_author=author[row_ep],
        art_age=age[row_ep],
        sess=sess,
    )
    keep = rows["ts"] < world.t1
    return {k2: v[keep] for k2, v in rows.items()}


def _episode_artifacts(world: World, rng, ep: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per episode: the artifact key (-1: none), its author (documents only; -1 otherwise) and
    its age in seconds at the episode (-1: none or unknown)."""
    tool, user, day, mech, gk, action = (
        ep[k] for k in ("tool", "user", "day", "mech", "gk", "action")
    )
    E = len(user)
    org = world.org_at(user, day)
    has_art = np.select(
        [tool == D_, tool == I_, tool == A_],
        [True, True, rng.random(E) < 0.35],
        rng.random(E) < 0.5,
    )
    has_art |= np.isin(mech, (SELF_SUMMARY, FRAGMENT)) | np.isin(gk, (G_TEMPLATE, G_LONGSUM))
    doc_ns = (tool == A_) | (tool == D_)
    # authors: self (40%) or another member of the org (at that day, approx. by home org)
    members = np.argsort(world.org1, kind="stable")
    offs = np.concatenate([[0], np.cumsum(world.org_size)])
    other = members[offs[org] + (rng.random(E) * world.org_size[org]).astype(np.int64)]
    own = rng.random(E) < 0.4
    own |= mech == SELF_SUMMARY
    author = np.where(own, user, other)
    key = np.where(
        doc_ns,
        author.astype(np.int64) * 1024 + rng.integers(0, 24, E),
        org.astype(np.int64) * 65536 + rng.integers(0, 400, E),
    )
    # templates and fragment bursts work on an artifact nothing else touches
    fresh = (gk == G_TEMPLATE) | (mech == FRAGMENT)
    key[fresh] = (1 << 40) + np.flatnonzero(fresh)
    key[~has_art] = -1
    author = np.where(doc_ns & has_art, author, -1)
    own = author == user
    day_s = 86400.0
    age = np.where(tool == I_, rng.uniform(0.01, 30, E), rng.uniform(0.02, 90, E)) * day_s
    gen_sum_own = own & (action == SUMMARIZE) & (mech != SELF_SUMMARY)
    age[gen_sum_own] = rng.uniform(0.1, 6.5, gen_sum_own.sum()) * day_s
    ss = mech == SELF_SUMMARY
    age[ss] = rng.uniform(8, 60, ss.sum()) * day_s
    age = age.astype(np.int64)
    age[~has_art | (tool == C_)] = -1
    return key, author, age


def _offsets(rng, k, m, g, n_ep, first_row) -> np.ndarray:
    """Seconds of each row after its episode's start: iterations a few minutes apart, fragment
    bursts packed into half an hour, repeats minutes to two days apart."""
    R = len(k)
    gap = np.zeros(R, np.int64)
    nxt = k > 0
    it = nxt & (g == G_ITER)
    gap[it] = rng.integers(60, 241, it.sum())
    fr = nxt & (m == FRAGMENT)
    hi = np.minimum(300, 1740 // np.maximum(n_ep[fr] - 1, 1))
    gap[fr] = (60 + rng.random(fr.sum()) * (hi - 60)).astype(np.int64)
    rp = nxt & (m == REPEAT)
    gap[rp] = rng.integers(600, 172800, rp.sum())
    cs = np.cumsum(gap)
    return cs - cs[first_row]


def _fingerprints(rng, k, m, g, first_row) -> np.ndarray:
    """Prompt fingerprints: random, templates from a Zipf pool of 40, repeats their episode's
    first prompt with up to 3 bits flipped."""
    R = len(k)
    fp = rng.bit_generator.random_raw(R).astype(np.uint64)
    tpl = g == G_TEMPLATE
    n_tpl = 40
    tpl_pool = mix(np.arange(n_tpl, dtype=np.uint64) + U64(0x7E3A1D))
    zipf = 1.0 / np.arange(1, n_tpl + 1) ** 0.8
    fp[tpl] = tpl_pool[pick(rng, np.tile(np.cumsum(zipf / zipf.sum()), (tpl.sum(), 1)))]
    rep = (m == REPEAT) & (k > 0)
    orig = fp[first_row[rep]]
    nbits = rng.integers(0, 4, rep.sum())
    flips = np.zeros(rep.sum(), np.uint64)
    for j in range(3):
        pos = rng.integers(0, 64, rep.sum()).astype(np.uint64)
        flips ^= np.where(nbits > j, U64(1) << pos, U64(0))
    fp[rep] = orig ^ flips
    return fp


def _tokens(rng, ract, m, g) -> np.ndarray:
    """Prompt tokens: log-normal by action; fragments tiny, padding and long summaries large,
    iterations at least the action's median."""
    tokens = lognormal_tokens(rng, ract)
    fr_all = m == FRAGMENT
    tokens[fr_all] = rng.integers(2, 9, fr_all.sum())
    pd = m == PADDING
    tokens[pd] = (TOK_MEDIAN[ract[pd]] * rng.uniform(4, 10, pd.sum())).astype(np.int64)
    ls = g == G_LONGSUM
    tokens[ls] = rng.integers(2500, 9000, ls.sum())
    gi = g == G_ITER
    tokens[gi] = np.maximum(tokens[gi], TOK_MEDIAN[ract[gi]].astype(np.int64))
    return tokens


def _outcomes(rng, k, m, g, n_ep, rmech) -> np.ndarray:
    """The true outcome of each row (used, read, unused, mid-iteration)."""
    R = len(k)
    out = np.full(R, O_USED)
    genuine_plain = np.isin(g, (G_SINGLE, G_HEAP))
    r = rng.random(R)
    out[genuine_plain & (r >= 0.875)] = O_READ
    out[genuine_plain & (r >= 0.975)] = O_GEN_UNUSED
    out[(g == G_ITER) & (k < n_ep - 1)] = O_ITER_MID
    out[np.isin(rmech, (DISCARD, SELF_SUMMARY, REPEAT, PADDING))] = O_TH_UNUSED
    fr_all = m == FRAGMENT
    out[fr_all] = np.where(rng.random(fr_all.sum()) < 0.5, O_USED, O_TH_UNUSED)
    return out


def extra_rows(world: World, rng, user, day, mech, unused: float = 0.75) -> dict:
    """Single theater interactions (bursts, fillers) for given users and days."""
    n = len(user)
    tool = pick(rng, world.tool_cum[user])
    tool[tool == C_] = A_  # junk usage goes where it is counted and seen: not the cli
    action = pick(rng, np.cumsum(TOOL_ACTIONS, 1)[tool])
    ts = day * 86400 + start_seconds(world, rng, user, np.zeros(n, np.int64))
    org = world.org_at(user, day)
    has_art = np.select(
        [tool == D_, tool == I_, tool == A_],
        [True, True, rng.random(n) < 0.35],
        rng.random(n) < 0.5,
    )
    doc_ns = (tool == A_) | (tool == D_)
    key = np.where(
        doc_ns,
        user.astype(np.int64) * 1024 + rng.integers(0, 24, n),
        org.astype(np.int64) * 65536 + rng.integers(0, 400, n),
    )
    key[~has_art] = -1
    author = np.where(doc_ns & has_art, user, -1)
    age = (rng.uniform(0.02, 6.5, n) * 86400).astype(np.int64)
    age[~has_art | (tool == C_)] = -1
    out = np.where(rng.random(n) < unused, O_TH_UNUSED, O_TH_NULL)
    return dict(
        user=user,
        ts=ts,
        tool=tool,
        action=action,
        mech=np.full(n, mech),
        gk=np.full(n, G_THEATER),
        out=out,
        tokens=lognormal_tokens(rng, action),
        fp=rng.bit_generator.random_raw(n).astype(np.uint64),
        art_key=key,
        art_author=author,
        art_age=age,
        sess=np.zeros(n, np.uint64),
    )


def bursts(world: World, rng) -> dict | None:
    users_all, days_all = [], []
    eligible = ~world.heavy & (world.heap == 0)
    for o in range(world.n_orgs):
        if not world.burst_org[o]:
            continue
        for c in world.checkpoints_of(o):
            wdays, d = [], c - 1
            while len(wdays) < 3:
                if (d + 3) % 7 < 5:
                    wdays.append(d)
                d -= 1
            wdays = [d for d in wdays if world.sd <= d < world.ed]
            if not wdays:
                continue
            members = np.flatnonzero(
                eligible
                & (world.org_at(np.arange(world.n_users), np.full(world.n_users, wdays[0])) == o)
            )
            burst = members[rng.random(len(members)) < world.burst_share[o]]
            if not len(burst):
                continue
            mult = rng.uniform(1, 2.5, len(burst))
            for d in sorted(wdays):
                same = world.org_at(burst, np.full(len(burst), d)) == o
                n = rng.poisson(world.rate[burst] / 5 * mult) * same
                users_all.append(np.repeat(burst, n))
                days_all.append(np.full(n.sum(), d, np.int64))
    if not users_all:
        return None
    user, day = np.concatenate(users_all), np.concatenate(days_all)
    return extra_rows(world, rng, user, day, CHECKPOINT_BURST)


def fillers(world: World, rng, rows: dict) -> dict | None:
    W = world.n_weeks
    wk = (rows["ts"] // 86400 - world.week_start[0]) // 7
    counts = np.bincount(rows["user"] * W + wk, minlength=world.n_users * W).reshape(-1, W)
    fills_u, fills_d = [], []
    filler_user = rng.random(world.n_users) < world.filler_rate[world.org1]
    filler_user &= ~world.heavy
    for w in np.flatnonzero(world.full_week):
        monday = int(world.week_start[w])
        org = world.org_at(np.arange(world.n_users), np.full(world.n_users, monday))
        q = world.quota_wk[org, w]
        c = counts[:, w]
        short = (q > 0) & (c < q) & (c >= 2) & filler_user & ~world.away[:, w]
        u = np.flatnonzero(short)
        if not len(u):
            continue
        n = q[u] - c[u] + (rng.random(len(u)) < 0.35)
        uu = np.repeat(u, n)
        dow = pick(
            rng, np.tile(np.cumsum([0.05, 0.08, 0.15, 0.27, 0.35, 0.05, 0.05]), (len(uu), 1))
        )
        fills_u.append(uu)
        fills_d.append(monday + dow)
    if not fills_u:
        return None
    return extra_rows(
        world,
        rng,
        np.concatenate(fills_u),
        np.concatenate(fills_d),
        QUOTA_FILLER,
        world.var.filler_unused,
    )


def concat(parts: list[dict]) -> dict:
    parts = [p for p in parts if p is not None]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def fix_token_extremes(rows: dict) -> None:
    """Padding above each action's 90th percentile (with margin); check fragments stay short."""
    for _ in range(6):
        changed = False
        for a in range(len(ACTIONS)):
            sel = rows["action"] == a
            if not sel.any():
                continue
            p90 = np.quantile(rows["tokens"][sel], 0.9, method="inverted_cdf")
            low = sel & (rows["mech"] == PADDING) & (rows["tokens"] <= 1.3 * p90)
            if low.any():
                rows["tokens"][low] = (
                    p90 * (1.5 + (rows["fp"][low] % U64(150)).astype(float) / 100)
                ).astype(np.int64)
                changed = True
        if not changed:
            break

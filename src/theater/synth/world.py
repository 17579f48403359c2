"""The world: orgs, users, calendar and policies (everything but the interactions)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from .variation import STANDARD_LEVEL_P, STANDARD_LEVELS, Variation
from .vocab import HOME_TZ, TZ

_FIRST = (
    "ana",
    "ben",
    "chen",
    "dana",
    "eli",
    "fatima",
    "george",
    "hana",
    "ivan",
    "julia",
    "kofi",
    "lena",
    "marco",
    "nina",
    "omar",
    "priya",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "umar",
    "vera",
    "wei",
    "xena",
    "yusuf",
    "zoe",
)
_LAST = (
    "silva",
    "berg",
    "wang",
    "kowalski",
    "haddad",
    "okafor",
    "novak",
    "tanaka",
    "garcia",
    "müller",
    "rossi",
    "smith",
    "singh",
    "ivanova",
    "dubois",
    "kim",
    "larsen",
    "mensah",
)
_DEPTS = (
    "Platform Engineering",
    "Payments",
    "Mobile Apps",
    "Data Science",
    "Customer Support",
    "Sales EMEA",
    "Sales Americas",
    "Marketing",
    "Finance",
    "Legal",
    "People Operations",
    "Security",
    "Infrastructure",
    "Search",
    "Growth",
    "Design",
    "Procurement",
    "Risk & Compliance",
    "Developer Experience",
    "Claims Processing",
    "Underwriting",
    "Research",
    "Partnerships",
    "Internal Tools",
)
_ENG_DEPTS = {
    "Platform Engineering",
    "Payments",
    "Mobile Apps",
    "Data Science",
    "Security",
    "Infrastructure",
    "Search",
    "Developer Experience",
    "Internal Tools",
    "Research",
}
_DIVISIONS = ("div-engineering", "div-go-to-market", "div-corporate")
ROLES_ENG = (
    "engineer",
    "senior engineer",
    "staff engineer",
    "engineering manager",
    "data scientist",
)
ROLES_BIZ = ("analyst", "specialist", "manager", "associate", "account executive")


class World:
    """Orgs, users, calendar and policies: everything but the interactions."""

    def __init__(self, rng, n_orgs, n_users, start, end, rate_scale, variation=None, vrng=None):
        if n_orgs < 2:
            raise ValueError("n_orgs must be >= 2")
        if n_users < 8 * n_orgs:
            raise ValueError(f"n_users must be >= 8 * n_orgs ({8 * n_orgs}), got {n_users}")
        if (end - start).days < 7:
            raise ValueError("period must be at least 7 days")
        self.rng = rng
        self.var = variation if variation is not None else Variation()
        self.vrng = vrng if vrng is not None else np.random.default_rng(0)
        self.start, self.end = start, end
        epoch = date(1970, 1, 1)
        self.sd, self.ed = (start - epoch).days, (end - epoch).days
        self.t0, self.t1 = self.sd * 86400, self.ed * 86400
        first_monday = self.sd - (self.sd + 3) % 7
        self.n_weeks = -(-(self.ed - first_monday) // 7)
        self.week_start = first_monday + 7 * np.arange(self.n_weeks)
        d = self.week_start[:, None] + np.arange(7)[None, :]
        self.week_mask = (d >= self.sd) & (d < self.ed)
        self.full_week = self.week_mask.all(1)
        self._orgs(n_orgs, n_users)
        self._users(n_users, rate_scale)
        self._policies()
        self._holidays()

    # -- orgs
    def _orgs(self, n_orgs, n_users):
        rng = self.rng
        n_small = max(1, round(n_orgs / 8))
        small = rng.integers(6, 13, n_small)
        small[0] = rng.integers(6, 10)  # below k = 10 for sure
        dom = int(rng.integers(10, 13))
        n_rest = n_orgs - n_small - 1
        if n_rest < 1:
            raise ValueError("n_orgs too small for the org mix")
        left = n_users - small.sum() - dom
        floor = min(14, left // n_rest)
        w = np.exp(rng.normal(0, 0.6, n_rest))
        rest = floor + np.floor(w / w.sum() * (left - floor * n_rest)).astype(int)
        rest[np.argmax(w)] += left - rest.sum()
        sizes = np.concatenate([small, [dom], rest])
        role = np.array(["small"] * n_small + ["dominated"] + ["regular"] * n_rest)
        perm = rng.permutation(n_orgs)
        self.org_size, self.org_role = sizes[perm], role[perm]
        self.n_orgs = n_orgs
        self.org_ids = [f"org-{i + 1:03d}" for i in range(n_orgs)]
        names, eng = [], []
        for i in range(n_orgs):
            dept = _DEPTS[i % len(_DEPTS)]
            names.append(dept if i < len(_DEPTS) else f"{dept} {i // len(_DEPTS) + 1}")
            eng.append(dept in _ENG_DEPTS)
        self.org_names, self.org_eng = names, np.array(eng)
        self.org_parent = [_DIVISIONS[0] if e else _DIVISIONS[1 + i % 2] for i, e in enumerate(eng)]
        self.org_home = rng.integers(0, len(HOME_TZ), n_orgs)
        tw = np.where(self.org_eng[:, None], [[0.30, 0.40, 0.10, 0.20]], [[0.55, 0.02, 0.40, 0.03]])
        self.org_tools = tw
        # theater intensity: a few near zero, the rest spread geometrically 0.02 .. 0.45
        n_zero = 2 if n_orgs >= 8 else 1
        spread = np.geomspace(0.02, 0.55, n_orgs - n_zero)
        target = np.concatenate([rng.uniform(0.002, 0.008, n_zero), spread])
        order = rng.permutation(n_orgs)
        self.org_target = target[order]
        self.org_quiet = np.zeros(n_orgs, bool)
        self.org_quiet[order < n_zero] = True
        # mechanism mix over discard, self_summary, repeat, fragment, padding
        mix = rng.dirichlet(np.full(5, 0.8), n_orgs) * np.array([1, 1, 0.6, 0.15, 0.8])
        self.org_mix = mix / mix.sum(1, keepdims=True)
        rows_per_ep = np.array([1, 1, 3, 6.5, 1])
        l_th = self.org_mix @ rows_per_ep
        l_g = 1.3
        t = self.org_target
        self.org_p = t * l_g / (l_th * (1 - t) + t * l_g)

    # -- users
    def _users(self, n_users, rate_scale):
        rng = self.rng
        U = n_users
        org = np.repeat(np.arange(self.n_orgs), self.org_size)
        org = org[rng.permutation(U)]
        self.n_users = U
        self.org1 = org.copy()
        home = self.org_home[org]
        tzc = np.array(HOME_TZ)[home, rng.integers(0, 4, U)]
        other = rng.random(U) < 0.15
        tzc[other] = rng.integers(1, len(TZ), other.sum())
        self.tz = tzc
        is_mail = rng.random(U) < 0.35
        first = rng.integers(0, len(_FIRST), U)
        last = rng.integers(0, len(_LAST), U)
        ident = []
        for u in range(U):
            if is_mail[u]:
                ident.append(
                    f"{_FIRST[first[u]]}.{_LAST[last[u]].replace('ü', 'ue')}"
                    f".{u + 1:05d}@acme-corp.example"
                )
            else:
                ident.append(f"u{u + 1:06d}")
        self.ident = np.array(ident, dtype=object)
        self.ident_arr = pa.array(ident, type=pa.string())
        # activity
        rate = np.exp(rng.normal(np.log(12), self.var.rate_sigma, U)) * rate_scale
        heavy = rng.random(U) < 0.05
        rate[heavy] *= rng.uniform(3, 5, heavy.sum())
        self.heavy = heavy
        role = self.org_role[org]
        # the dominated org: one user does most of the work
        self.dominant = -1
        dom_org = np.flatnonzero(self.org_role == "dominated")
        if len(dom_org):
            members = np.flatnonzero(org == dom_org[0])
            rate[members] = np.minimum(rate[members], 14 * rate_scale)
            heavy[members] = False
            self.dominant = int(members[0])
            rate[self.dominant] = 2.4 * rate[members[1:]].sum()
            heavy[self.dominant] = True
        # movers: ~3%, among regular orgs, on a Monday after the first week
        mondays = self.week_start[(self.week_start > self.sd) & (self.week_start < self.ed - 6)]
        regular = np.flatnonzero(self.org_role == "regular")
        cand = np.flatnonzero((role == "regular") & ~heavy)
        n_move = int(round(0.03 * U)) if len(mondays) and len(regular) > 1 else 0
        movers = (
            rng.choice(cand, min(n_move, len(cand)), replace=False) if n_move else np.array([], int)
        )
        self.mover = np.zeros(U, bool)
        self.mover[movers] = True
        self.move_day = np.full(U, np.iinfo(np.int64).max // 4, np.int64)
        self.org2 = org.copy()
        if len(movers):
            self.move_day[movers] = rng.choice(mondays, len(movers))
            dest = regular[rng.integers(0, len(regular), len(movers))]
            same = dest == org[movers]
            dest[same] = regular[(np.searchsorted(regular, dest[same]) + 1) % len(regular)]
            self.org2[movers] = dest
        self.rate = rate
        # tools per user
        alpha = self.org_tools[org] * 12 + 0.05
        g = rng.gamma(alpha)
        self.tool_cum = np.cumsum(g / g.sum(1, keepdims=True), 1)
        # theater propensity
        gfac = rng.gamma(2.0, 1 / 2.0, U)
        p = np.minimum(0.9, self.org_p[org] * gfac)
        p[heavy] = 0.0
        self.p = p
        self.heap = np.zeros(U, np.int64)  # filled once policies are known
        self.hire_day = self.sd - rng.integers(30, 2500, U)

    def prefix_ids(self, prefix: str) -> None:
        """Put ``prefix`` before every org and user identifier (see ``generate(namespace=)``)."""
        self.org_ids = [prefix + o for o in self.org_ids]
        self.ident = np.array([prefix + u for u in self.ident], dtype=object)
        self.ident_arr = pa.array(list(self.ident), type=pa.string())

    def org_at(self, user: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(
            self.mover[user] & (day >= self.move_day[user]), self.org2[user], self.org1[user]
        )

    # -- policies
    def _policies(self):
        """Quotas, checkpoints and mandates of the orgs; the genuine heapers. The steps draw
        from ``rng`` in this order: a world is reproduced from its seed only while it holds."""
        active = np.flatnonzero(~self.org_quiet)
        self._quotas(active)
        self._checkpoints(active)
        self._mandates(active)
        # heaping: exact 10 or 20 a week, genuine, in orgs without any quota
        org = self.org1
        cand = ~self.has_quota[org] & ~self.heavy & ~self.mover & (self.org_role[org] == "regular")
        pick = cand & (self.rng.random(self.n_users) < 0.06)
        self.heap[pick] = np.where(self.rng.random(pick.sum()) < 0.6, 10, 20)
        self.p[pick] = 0.0

    def _quotas(self, active):
        """``quota_rows`` (org, start, end, Q), the weekly quota ``quota_wk``, ``has_quota``:
        some quotas start mid-period, one is raised, some change (a variation's knob)."""
        rng, n = self.rng, self.n_orgs
        full_idx = np.flatnonzero(self.full_week)
        self.quota_rows: list[tuple[int, int, int | None, int]] = []  # org, start, end, Q
        self.quota_wk = np.zeros((n, self.n_weeks), np.int64)
        v, vrng = self.var, self.vrng
        n_quota = max(1, round(v.quota_share * n)) if v.quota_share > 0 else 0
        q_orgs = np.sort(rng.choice(active, min(n_quota, len(active)), replace=False))
        for j, o in enumerate(q_orgs):
            q = int(rng.choice(STANDARD_LEVELS, p=STANDARD_LEVEL_P))
            if v.quota_levels is not None:
                q = int(vrng.choice(v.quota_levels))
            if j % 2 == 1 and len(full_idx) >= 3:  # starts mid-period: pre-quota weeks
                w = int(full_idx[rng.integers(1, max(2, len(full_idx) - 1))])
                s = int(self.week_start[w])
            else:
                s = int(self.week_start[0] - 7 * rng.integers(2, 10))
            if j == 2 and len(full_idx) >= 4:  # a raised quota: two rows
                w = int(full_idx[len(full_idx) // 2])
                mid = int(self.week_start[w])
                s = min(s, mid - 7)
                self.quota_rows.append((int(o), s, mid, 10))
                self.quota_rows.append((int(o), mid, None, 15))
            elif v.quota_change > 0 and len(full_idx) >= 4 and vrng.random() < v.quota_change:
                # a changed quota (up or down) in the middle half of the period
                levels = [x for x in (v.quota_levels or STANDARD_LEVELS) if x != q] or [q + 5]
                w = int(full_idx[vrng.integers(len(full_idx) // 4, 3 * len(full_idx) // 4 + 1)])
                mid = int(self.week_start[w])
                s = min(s, mid - 7)
                self.quota_rows.append((int(o), s, mid, q))
                self.quota_rows.append((int(o), mid, None, int(vrng.choice(levels))))
            else:
                self.quota_rows.append((int(o), s, None, q))
        for o, s, e, q in self.quota_rows:
            on = (self.week_start >= s) & ((self.week_start < e) if e is not None else True)
            self.quota_wk[o, on] = q
        self.has_quota = np.zeros(n, bool)
        self.has_quota[[r[0] for r in self.quota_rows]] = True

    def _checkpoints(self, active):
        """Checkpoints, company-wide (``star_ck``) and per org (``org_ck``), on weekdays inside
        the period; the orgs with bursts before them and their share."""
        rng, n = self.rng, self.n_orgs
        span = self.ed - self.sd

        def weekday_on_or_after(day):
            return day + np.where((day + 3) % 7 >= 5, 7 - (day + 3) % 7, 0)

        n_star = 2 if span >= 60 else 1
        star = [
            int(weekday_on_or_after(self.sd + int(span * f)))
            for f in ((0.45, 0.9) if n_star == 2 else (0.6,))
        ]
        self.star_ck = [d for d in star if self.sd + 5 <= d < self.ed]
        self.org_ck: list[list[int]] = [[] for _ in range(n)]
        n_ck = max(1, round(0.25 * n))
        for o in np.sort(rng.choice(active, min(n_ck, len(active)), replace=False)):
            k = int(rng.integers(1, 3))
            days = sorted(
                {
                    int(weekday_on_or_after(self.sd + int(rng.integers(6, max(7, span - 1)))))
                    for _ in range(k)
                }
            )
            self.org_ck[o] = [d for d in days if d < self.ed]
        self.has_org_ck = np.array([bool(c) for c in self.org_ck])
        self.burst_org = self.has_org_ck | (rng.random(n) < 0.4)
        self.burst_org &= ~self.org_quiet
        self.burst_share = rng.uniform(0.3, 0.8, n)

    def _mandates(self, active):
        """The orgs with a usage mandate and its day (before or inside the period); every
        org's filler rate."""
        rng, n = self.rng, self.n_orgs
        span = self.ed - self.sd
        self.mandate_day = np.full(n, -(np.iinfo(np.int64).max // 4), np.int64)
        self.has_mandate = np.zeros(n, bool)
        n_m = max(1, round(0.35 * n))
        for o in np.sort(rng.choice(active, min(n_m, len(active)), replace=False)):
            self.has_mandate[o] = True
            self.mandate_day[o] = (
                self.sd - int(rng.integers(10, 60))
                if rng.random() < 0.4
                else self.sd + int(rng.integers(7, max(8, span // 2)))
            )
        self.filler_rate = rng.uniform(0.5, 0.95, n)

    # -- holiday weeks
    def _holidays(self):
        """``away[u, w]``: user u is away in week w (holiday weeks only)."""
        self.holiday = np.zeros(self.n_weeks, bool)
        self.away = np.zeros((self.n_users, self.n_weeks), bool)
        v = self.var
        cand = np.flatnonzero(self.full_week)[1:]
        if v.holiday_weeks and len(cand):
            wk = self.vrng.choice(cand, min(v.holiday_weeks, len(cand)), replace=False)
            self.holiday[wk] = True
            self.away[:, wk] = self.vrng.random((self.n_users, len(wk))) < v.holiday_away

    def checkpoints_of(self, o: int) -> list[int]:
        return sorted(set(self.star_ck) | set(self.org_ck[o]))

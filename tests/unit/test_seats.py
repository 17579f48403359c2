"""Seat inputs (theater.sources.seats) and the seat figures of gold/org_adoption
(theater.transforms.adoption.seat_figures, reclaim_list) on small hand-made inputs; expected
values worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import date

import pytest

from theater.sources import seats as src
from theater.transforms import adoption as ad
from theater.transforms.aggregates import USER_DAYS_SCHEMA
from theater.transforms.vendor import USER_DAY_COUNTS

D = date.fromisoformat
START, END = D("2026-03-01"), D("2026-04-01")  # the last 28 days: 4 .. 31 March


# ------------------------------------------------------------------------------ readers
def test_github_seat_listing(tmp_path):
    listing = {
        "total_seats": 3,
        "seats": [
            {
                "created_at": "2026-01-10T09:00:00Z",
                "pending_cancellation_date": None,
                "last_activity_at": "2026-03-20T23:30:00-02:00",  # 21 March in UTC
                "last_activity_editor": "vscode/1.99",
                "plan_type": "business",
                "assignee": {"login": "octo-ana", "id": 11, "type": "User"},
            },
            {
                "created_at": "2026-02-01T00:00:00Z",
                "pending_cancellation_date": "2026-04-01",
                "last_activity_at": None,
                "plan_type": "enterprise",
                "assignee": {"login": "octo-ben", "type": "User"},
            },
            {
                "created_at": "2026-02-01T00:00:00Z",
                "plan_type": "business",
                "assignee": {"slug": "platform", "type": "Team"},
            },
        ],
    }
    f = tmp_path / "seats.json"
    f.write_text(json.dumps(listing))
    fmt, seats, skipped = src.read_file(f)
    assert (fmt, len(seats), skipped) == (src.GITHUB, 2, 1)  # a team's seat is no person
    a, b = seats
    assert (a.alias, a.alias_kind, a.tool, a.plan) == (
        "octo-ana",
        "github_login",
        "github_copilot",
        "business",
    )
    assert (a.assigned_from, a.assigned_to, a.last_activity) == (
        D("2026-01-10"),
        None,
        D("2026-03-21"),
    )
    assert (b.assigned_to, b.last_activity) == (D("2026-04-01"), None)


def test_m365_licensed_users_and_plain_csv(tmp_path):
    m = tmp_path / "m365.csv"
    m.write_text(
        "Report Refresh Date,User Principal Name,Display Name,Last Activity Date,"
        "Microsoft Teams Copilot Last Activity Date\n"
        "2026-03-30,Ana@Example.com,Ana,2026-03-12,2026-03-12\n"
        "2026-03-30,ben@example.com,Ben,,\n"
    )
    fmt, seats, _ = src.read_file(m)
    assert fmt == src.M365
    assert [(s.alias, s.seen_on, s.last_activity, s.assigned_from) for s in seats] == [
        ("Ana@Example.com", D("2026-03-30"), D("2026-03-12"), None),
        ("ben@example.com", D("2026-03-30"), None, None),
    ]
    p = tmp_path / "plain.csv"
    p.write_text(
        "alias,tool,assigned_from,assigned_to\nu5,Cursor,2026-03-10,\nu6,windsurf,2026-01-01,2026-02-01\n"
    )
    fmt, seats, _ = src.read_file(p)
    assert fmt == src.PLAIN
    assert [(s.alias, s.tool, s.assigned_from, s.assigned_to) for s in seats] == [
        ("u5", "cursor", D("2026-03-10"), None),
        ("u6", "windsurf", D("2026-01-01"), D("2026-02-01")),
    ]


@pytest.mark.parametrize(
    "name, text, needle",
    [
        (
            "a.csv",
            "alias,tool,assigned_from\nu1,cursor,10/03/2026\n",
            "record 1: assigned_from: not a date",
        ),
        ("b.csv", "alias,tool,assigned_from\n,cursor,2026-03-10\n", "record 1: alias and tool"),
        ("c.csv", "who,what\nx,y\n", "unknown CSV header"),
        (
            "d.json",
            '{"seats": [{"assignee": {"type": "User"}, "created_at": "2026-01-01"}]}',
            "no login",
        ),
        ("e.json", "{not json", "not JSON"),
        ("f.txt", "x", "unknown extension"),
    ],
)
def test_a_bad_seat_file_names_the_file_and_record(tmp_path, name, text, needle):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(src.SeatsFileError) as err:
        src.read_file(f)
    assert name in str(err.value) and needle in str(err.value)


def test_tools_map_to_their_usage_sources():
    known = {"github_copilot_users", "cursor_daily_usage", "native", "viva_person_query"}
    assert src.sources_of("github_copilot", known) == {"github_copilot_users"}
    assert src.sources_of("cursor", known) == {"cursor_daily_usage"}
    assert src.sources_of("m365_copilot", known) == {"viva_person_query"}
    assert src.sources_of("windsurf", known) == set()


# ------------------------------------------------------------------------- seat figures
SEATS_SCHEMA = (
    "source_format string, tool string, user_key string, alias string, plan string, "
    "assigned_from date, assigned_to date, seen_on date, last_activity date"
)


def _ud(src_, user, day, feature, org="A", **counts):
    return (src_, user, org, None, D(day), feature, *[counts.get(n) for n in USER_DAY_COUNTS], 1)


# Org A, March 2026. Seats (silver rows, user_key = the alias here):
#   u1 GitHub from 10 Jan, uses GitHub on 20 Mar                 -> used, not idle
#   u2 GitHub from 1 Feb, uses GitHub on 2 Mar only (before 4 Mar) -> used, idle
#   u3 GitHub from 1 Feb, no use, vendor's last activity 1 Dec 2025 -> idle, reclaim
#   u4 GitHub 1 Jan .. 15 Feb: not held in March                  -> not counted
#   u5 Cursor (plain CSV) from 10 Mar, no use (Cursor usage exists) -> idle, reclaim
#   u6 Windsurf (plain CSV): no usage source for it                -> licensed, never idle
#   u7 GitHub from 1 Feb, no use here but vendor saw a use 25 Mar -> used, not idle
# u1 also uses Cursor on 5 Mar without a Cursor seat. Org B: b1 uses GitHub, has no seat.
# By hand, 'all' of A: licensed 6 (u1, u2, u3, u5, u6, u7), idle 3 (u2, u3, u5);
# github_copilot_users: licensed 4 (u1, u2, u3, u7), idle 2; cursor_daily_usage: 1 and 1.
# Theater: u1 every labelled interaction flagged (share 1.0), u2 0.25 -> theater-only 1.
SEATS = [
    (
        "github_copilot_seats",
        "github_copilot",
        "u1",
        "ana",
        None,
        D("2026-01-10"),
        None,
        None,
        D("2026-03-20"),
    ),
    (
        "github_copilot_seats",
        "github_copilot",
        "u2",
        "ben",
        None,
        D("2026-02-01"),
        None,
        None,
        None,
    ),
    (
        "github_copilot_seats",
        "github_copilot",
        "u3",
        "cy",
        None,
        D("2026-02-01"),
        None,
        None,
        D("2025-12-01"),
    ),
    (
        "github_copilot_seats",
        "github_copilot",
        "u4",
        "dee",
        None,
        D("2026-01-01"),
        D("2026-02-15"),
        None,
        None,
    ),
    ("seats_csv", "cursor", "u5", "eve", None, D("2026-03-10"), None, None, None),
    ("seats_csv", "windsurf", "u6", "fay", None, D("2026-01-01"), None, None, None),
    (
        "github_copilot_seats",
        "github_copilot",
        "u7",
        "gus",
        None,
        D("2026-02-01"),
        None,
        None,
        D("2026-03-25"),
    ),
]
USAGE = [
    _ud("github_copilot_users", "u1", "2026-03-20", "chat", requests=2),
    _ud("cursor_daily_usage", "u1", "2026-03-05", "chat", requests=1),
    _ud("github_copilot_users", "u2", "2026-03-02", "chat", requests=1),
    _ud("github_copilot_users", "b1", "2026-03-02", "chat", org="B", requests=1),
]
DIRECTORY = [(f"u{i}", "A", D("2025-01-01"), None) for i in range(1, 8)]


@pytest.fixture(scope="module")
def world(spark):
    seats = spark.createDataFrame(SEATS, SEATS_SCHEMA)
    activity = ad.combined(
        None, ad.aggregate_activity(spark.createDataFrame(USAGE, USER_DAYS_SCHEMA), START, END)
    )
    directory = spark.createDataFrame(
        DIRECTORY, "user_key string, org_id string, valid_from date, valid_to date"
    )
    theater = spark.createDataFrame(
        [("A", "u1", 1.0), ("A", "u2", 0.25)],
        "org_id string, user_key string, theater_share double",
    )
    return seats, activity, directory, theater


def _adoption_rows(spark, activity, theater, **seat_figures) -> dict:
    """``org_adoption`` of orgs A (index 40 [30, 50]) and B (10 [0, 20]), both published, with
    ``seat_figures`` (``seats`` or ``seat_costs``): {(org, source_format): row}."""
    index = spark.createDataFrame(
        [("A", False, None, 40.0, 30.0, 50.0), ("B", False, None, 10.0, 0.0, 20.0)],
        "org_id string, suppressed boolean, suppression_reason string, theater_index double, "
        "ci_low double, ci_high double",
    )
    adoption = ad.org_adoption(
        activity,
        START,
        END,
        min_users=1,
        dominance_share=1.0,
        run_id="r",
        index_suppressed=index,
        theater=theater,
        **seat_figures,
    )
    return {(r.org_id, r.source_format): r.asDict() for r in adoption.collect()}


def test_licensed_idle_and_theater_only_seats_by_hand(spark, world):
    seats, activity, directory, theater = world
    fig = ad.seat_figures(seats, activity, START, END, directory=directory, theater=theater)
    got = {(r.org_id, r.source_format): r.asDict() for r in fig.collect()}
    assert got[("A", "all")] == {
        "org_id": "A",
        "source_format": "all",
        "licensed_seats": 6,
        "idle_seats": 3,
        "theater_only_seats": 1,
    }
    assert (
        got[("A", "github_copilot_users")]["licensed_seats"],
        got[("A", "github_copilot_users")]["idle_seats"],
    ) == (4, 2)
    assert (
        got[("A", "cursor_daily_usage")]["licensed_seats"],
        got[("A", "cursor_daily_usage")]["idle_seats"],
    ) == (1, 1)
    assert ("B", "all") not in got
    rows = _adoption_rows(spark, activity, theater, seats=fig)
    assert (rows[("A", "all")]["licensed_seats"], rows[("A", "all")]["idle_seats"]) == (6, 3)
    assert rows[("A", "all")]["theater_only_seats"] == 1
    # org B gave no seat: NA, never 0
    b = rows[("B", "all")]
    assert b["active_users"] == 1
    assert (
        b["licensed_seats"] is None and b["idle_seats"] is None and b["theater_only_seats"] is None
    )


def test_the_reclaim_list_holds_only_seats_with_no_use_at_all(spark, world):
    seats, activity, _, _ = world
    out = ad.reclaim_list(seats, activity, START, END).collect()
    assert [(r.tool, r.alias) for r in out] == [("cursor", "eve"), ("github_copilot", "cy")]
    # nobody who used the tool: u1, u2 (ours), u7 (the vendor's last activity) are not in it
    users = {r.user_key for r in seats.where(seats["alias"].isin([r.alias for r in out])).collect()}
    used = {r.user_key for r in activity.where("active > 0").collect()} | {"u7"}
    assert not users & used
    assert set(out[0].asDict()) == {"tool", "alias", "assigned_from"}  # the vendor alias only


def test_the_reclaim_list_refuses_without_its_flag(spark, cfg, tmp_path):
    from theater.lake import Lake
    from theater.period import Period
    from theater.stages import seats as stage

    with pytest.raises(stage.ReclaimRefused, match="--reclaim-list"):
        stage.reclaim(spark, cfg, Lake(str(tmp_path)), Period(START, END), confirmed=False)


def test_the_cli_refuses_the_reclaim_list_without_its_flag(capsys, tmp_path):
    from theater.cli import main

    code = main(["seats", "reclaim", "--quarter", "2026Q1", "--lake", str(tmp_path / "lake")])
    assert code == 2
    assert "--reclaim-list" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()  # nothing read, nothing written


# ---------------------------------------------------------------------------------- cost
def test_cost_by_hand(spark, world):
    # Prices from 1 Jan: GitHub Copilot seat 36.5 a month (1.2 a day), Cursor seat 36.5 and
    # 0.5 per Cursor request; Windsurf has no price. March: 31 days.
    # Seat costs in A: u1, u2, u3, u7 GitHub 31 x 1.2 = 37.2 each; u5 Cursor from 10 Mar:
    # 22 x 1.2 = 26.4; u6 Windsurf unknown (left out, not 0). Usage: u1's Cursor request 0.5.
    # 'all': 4 x 37.2 + 26.4 + 0.5 = 175.7; active u1, u2 -> 87.85 per active user;
    # requests 4, index 0.4 -> genuine round(2.4) = 2 -> 87.85 per genuine request.
    # Performative share: costs x shares (u1 37.7 x 1.0, u2 37.2 x 0.25, u3 and u7 37.2 x 0.4
    # (no labels: the org's index), u5 26.4 x 0.4) = 87.32 / 175.7 = 0.4970; shares - 0.1:
    # 69.75 / 175.7 = 0.3970; + 0.1 (u1 clipped at 1): 101.12 / 175.7 = 0.5755.
    # Org B: GitHub usage, no seat, no GitHub usage price -> cost NA (null), never 0.
    from theater.config import Adoption

    prices = Adoption(
        "USD",
        (
            {"tool": "github_copilot", "effective_from": "2026-01-01", "seat_per_month": 36.5},
            {
                "tool": "cursor",
                "effective_from": "2026-01-01",
                "seat_per_month": 36.5,
                "per_request": 0.5,
            },
            {"tool": "cursor", "effective_from": "2026-04-01", "seat_per_month": 99},  # later
        ),
    ).prices_on(START)
    seats, _, directory, theater = world
    activity = ad.combined(
        None,
        ad.aggregate_activity(spark.createDataFrame(USAGE, USER_DAYS_SCHEMA), START, END, prices),
    )
    rows = _adoption_rows(
        spark,
        activity,
        theater,
        seat_costs=ad.seat_costs(seats, activity, START, END, prices, directory=directory),
    )
    a = rows[("A", "all")]
    assert a["cost"] == pytest.approx(175.7)
    assert a["cost_per_active_user"] == pytest.approx(87.85)
    assert a["cost_per_genuine_request"] == pytest.approx(87.85)
    assert (
        a["performative_cost_share_low"],
        a["performative_cost_share"],
        a["performative_cost_share_high"],
    ) == pytest.approx((0.397, 0.497, 0.5755))
    assert rows[("A", "github_copilot_users")]["cost"] == pytest.approx(148.8)
    assert rows[("A", "cursor_daily_usage")]["cost"] == pytest.approx(26.9)
    b = rows[("B", "all")]
    assert b["active_users"] == 1
    assert b["cost"] is None and b["cost_per_active_user"] is None
    assert b["performative_cost_share"] is None


def test_model_prices_apply_to_events(spark):
    # Two LiteLLM events of u1 (model gpt-x: 1000 prompt + 500 output tokens; model other:
    # 2000 prompt tokens, output unknown) and one native 'ide' completion. Prices: gpt-x
    # 0.002 / 0.01 per 1k; any model of litellm 0.001 per 1k prompt; 'ide' nothing.
    # Costs: 0.002 + 0.005 = 0.007; 2 x 0.001 = 0.002; native: null -> total 0.009.
    from theater.config import Adoption

    prices = Adoption(
        "USD",
        (
            {
                "tool": "litellm_spend_logs",
                "model": "gpt-x",
                "effective_from": "2026-01-01",
                "per_1k_prompt_tokens": 0.002,
                "per_1k_output_tokens": 0.01,
            },
            {
                "tool": "litellm_spend_logs",
                "effective_from": "2026-01-01",
                "per_1k_prompt_tokens": 0.001,
            },
        ),
    ).prices_on(START)
    events = spark.createDataFrame(
        [
            (
                "A",
                "u1",
                D("2026-03-02"),
                "other",
                None,
                "litellm_spend_logs",
                "assistant",
                "gpt-x",
                1000,
                500,
            ),
            (
                "A",
                "u1",
                D("2026-03-02"),
                "other",
                None,
                "litellm_spend_logs",
                "assistant",
                "other",
                2000,
                None,
            ),
            ("A", "u1", D("2026-03-03"), "complete", None, None, "ide", None, 10, 10),
        ],
        "org_id string, user_key string, event_date date, action string, output_disposition string, "
        "source_format string, tool string, model string, prompt_tokens bigint, completion_tokens bigint",
    )
    act = ad.event_activity(events, prices)
    got = {
        r.source_format: r.cost
        for r in act.groupBy("source_format")
        .agg({"cost": "sum"})
        .withColumnRenamed("sum(cost)", "cost")
        .collect()
    }
    assert got["litellm_spend_logs"] == pytest.approx(0.009)
    assert got["native"] is None


@pytest.mark.parametrize(
    "entry, needle",
    [
        ({"tool": "cursor", "effective_from": "2026-13-01", "seat_per_month": 1}, "effective_from"),
        ({"tool": "cursor", "effective_from": "2026-01-01"}, "gives no price"),
        (
            {"tool": "cursor", "effective_from": "2026-01-01", "seat_per_month": -1},
            "seat_per_month",
        ),
        (
            {"tool": "cursor", "effective_from": "2026-01-01", "per_seat": 1},
            "unknown key 'per_seat'",
        ),
        ({"effective_from": "2026-01-01", "per_request": 1}, "'tool'"),
    ],
)
def test_a_bad_price_entry_is_refused_by_name(cfg, entry, needle):
    from theater.config import ConfigError

    with pytest.raises(ConfigError) as err:
        cfg.with_overrides(
            {
                "adoption.prices": [
                    {"tool": "ok", "effective_from": "2026-01-01", "per_request": 1},
                    entry,
                ]
            }
        )
    assert "adoption.prices[1]" in str(err.value) and needle in str(err.value)


# ------------------------------------------------------------------------------- cohorts
def test_cohorts_and_days_to_first_use_by_hand(spark):
    # 2026Q2, previous quarter Q1. GitHub users in org A:
    #   p1 active in Q2 and Q1 -> retained; p2 only in Q2, never before -> new;
    #   p3 in Q2 and in Q4 2025, not Q1 -> reactivated; p4 in Q1 only -> lapsed;
    #   p5 in Q3 2025 only -> none of them.
    # Seats assigned in Q2: p2 on 10 Apr, first use 17 Apr (7 days); p6 on 1 Apr, first use
    # 3 Apr (2); p8 on 1 Apr, first use 21 Apr (20); p7 on 1 May, never used (not in it);
    # p1's seat from January is not assigned in Q2. Median of 2, 7, 20 = 7.
    q2s, q2e, q1s = D("2026-04-01"), D("2026-07-01"), D("2026-01-01")
    g = "github_copilot_users"
    now = [
        _ud(g, "p1", "2026-04-15", "chat", requests=1),
        _ud(g, "p2", "2026-04-17", "chat", requests=1),
        _ud(g, "p3", "2026-05-02", "chat", requests=1),
        _ud(g, "p6", "2026-04-03", "chat", requests=1),
        _ud(g, "p8", "2026-04-21", "chat", requests=1),
        _ud(g, "p8", "2026-05-21", "chat", requests=1),
    ]
    before = [
        _ud(g, "p1", "2026-02-02", "chat", requests=1),
        _ud(g, "p3", "2025-11-03", "chat", requests=1),
        _ud(g, "p4", "2026-03-30", "chat", requests=1),
        _ud(g, "p5", "2025-08-01", "chat", requests=1),
    ]
    current = ad.combined(
        None, ad.aggregate_activity(spark.createDataFrame(now, USER_DAYS_SCHEMA), q2s, q2e)
    )
    prior = ad.combined(
        None,
        ad.aggregate_activity(
            spark.createDataFrame(before, USER_DAYS_SCHEMA), D("2000-01-01"), q2s
        ),
    )
    c = {
        (r.org_id, r.source_format): r.asDict()
        for r in ad.cohorts(current, prior, q1s, q2s).collect()
    }
    for src_ in (g, "all"):
        r = c[("A", src_)]
        assert (r["new_users"], r["retained_users"], r["reactivated_users"], r["lapsed_users"]) == (
            3,
            1,
            1,
            1,
        )  # new: p2, p6, p8
    seats = spark.createDataFrame(
        [
            ("github_copilot_seats", "github_copilot", u, u, None, D(d), None, None, None)
            for u, d in (
                ("p1", "2026-01-05"),
                ("p2", "2026-04-10"),
                ("p6", "2026-04-01"),
                ("p7", "2026-05-01"),
                ("p8", "2026-04-01"),
            )
        ],
        SEATS_SCHEMA,
    )
    f = {
        (r.org_id, r.source_format): r.median_days_to_first_use
        for r in ad.days_to_first_use(seats, current, prior, q2s, q2e).collect()
    }
    assert f[("A", "all")] == 7.0 and f[("A", g)] == 7.0
    # without any earlier period in the lake, everyone active is new
    c0 = {
        (r.org_id, r.source_format): r.asDict()
        for r in ad.cohorts(current, None, q1s, q2s).collect()
    }
    assert c0[("A", "all")]["new_users"] == 5 and c0[("A", "all")]["lapsed_users"] == 0

"""Visits: planning, starting, check-ins, extensions, the ways a visit ends, its timeline,
the buddy, bad input and who sees what (on a simulated clock)."""

import datetime

from conftest import (activate, advance, assert_error, clock_args, clock_now, create_org,
                      create_user, create_visit, escalations_of, fmt_time, get_visit, make_crew,
                      ok, parse_time, visit_action)

MIN = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
ADDRESS = "12 Oak Street, Leeds"
MISSING = 987654321


def start_server(server_factory):
    return server_factory(extra_args=clock_args())


def simple_visit(srv, crew, minutes=30, **fields):
    body = {"address": ADDRESS,
            "expected_departure": fmt_time(clock_now(srv) + minutes * MIN)}
    body.update(fields)
    return create_visit(srv, crew.worker.token, **body)


def kinds(visit):
    return [e["kind"] for e in visit["events"]]


def ids_of(items):
    return [i["id"] for i in items]


def listed(srv, token, query=""):
    return ids_of(ok(srv.call("GET", "/api/v1/visits" + query, token=token))["items"])


def test_plan_then_start(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    t0 = clock_now(srv)
    body = {"address": ADDRESS, "latitude": 53.8, "longitude": -1.55,
            "people": "Mr A (patient), his son", "phones": ["+44 113 496 0000", "0113 496 0001"],
            "expected_arrival": fmt_time(t0 + 10 * MIN),
            "expected_departure": fmt_time(t0 + 2 * HOUR), "checkin_interval": 1800,
            "transport": {"mode": "car", "vehicle_id": crew.vehicle["id"]},
            "buddy_id": crew.buddy.id, "accompanied_by": "Sam (student nurse)",
            "notes": "key safe 1234 is wrong, ring the bell"}
    visit = create_visit(srv, crew.worker.token, **body)
    assert visit["kind"] == "visit" and visit["state"] == "planned", visit
    assert visit["worker_id"] == crew.worker.id and visit["created_by"] == crew.worker.id, visit
    assert visit["organisation_id"] == crew.worker.user["organisation_id"], visit
    for key in ("address", "latitude", "longitude", "people", "phones", "checkin_interval",
                "buddy_id", "accompanied_by", "notes"):
        assert visit[key] == body[key], (key, visit)
    assert visit["transport"]["mode"] == "car", visit
    assert visit["transport"]["vehicle_id"] == crew.vehicle["id"], visit
    assert parse_time(visit["expected_arrival"]) == t0 + 10 * MIN, visit
    assert parse_time(visit["expected_departure"]) == t0 + 2 * HOUR, visit
    assert parse_time(visit["created_at"]) == t0, visit
    assert visit["buddy_accepted"] is False, visit
    for key in ("started_at", "deadline_at", "last_checkin_at", "closed_at", "outcome",
                "close_note", "last_location", "escalation_id"):
        assert visit[key] is None, (key, visit)

    got = get_visit(srv, crew.worker.token, visit["id"])
    assert {k: v for k, v in got.items() if k != "events"} == visit
    assert kinds(got)[0] == "planned", got["events"]
    assert got["events"][0]["actor_id"] == crew.worker.id
    assert parse_time(got["events"][0]["at"]) == t0
    assert visit["id"] in listed(srv, crew.worker.token, "?state=planned")
    assert visit["id"] not in listed(srv, crew.worker.token, "?state=active")

    # only the worker starts it
    assert_error(visit_action(srv, crew.lm.token, visit["id"], "start"), 403)
    t1 = advance(srv, 600)
    started = ok(visit_action(srv, crew.worker.token, visit["id"], "start"))
    assert started["state"] == "active", started
    assert parse_time(started["started_at"]) == t1, started
    assert parse_time(started["deadline_at"]) == t1 + 30 * MIN, started
    assert_error(visit_action(srv, crew.worker.token, visit["id"], "start"), 409)
    assert get_visit(srv, crew.worker.token, visit["id"])["started_at"] == started["started_at"]

    for query, present in (("?state=active", True), ("?state=planned", False),
                           ("?state=closed", False), ("?worker_id=%d" % crew.worker.id, True),
                           ("?buddy_id=%d" % crew.buddy.id, True),
                           ("?team_id=%d" % crew.team["id"], True),
                           ("?team_id=%d" % crew.other_team["id"], False),
                           ("?worker_id=%d" % crew.outsider.id, False)):
        assert (visit["id"] in listed(srv, crew.admin, query)) is present, query

    # a shift started at once: its deadline is the "home safe" time
    shift = create_visit(srv, crew.worker.token, kind="shift", address="Community round",
                         expected_departure=fmt_time(t1 + 8 * HOUR), start=True)
    assert shift["kind"] == "shift" and shift["state"] == "active", shift
    assert parse_time(shift["started_at"]) == t1, shift
    assert parse_time(shift["deadline_at"]) == t1 + 8 * HOUR, shift
    assert shift["buddy_id"] is None and shift["checkin_interval"] is None, shift


def test_checkin_moves_deadline(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    t0 = clock_now(srv)
    visit = simple_visit(srv, crew, minutes=60, checkin_interval=1800, start=True)
    assert parse_time(visit["deadline_at"]) == t0 + 30 * MIN, visit

    # the interval is sooner than the departure
    advance(srv, 600)
    visit = ok(visit_action(srv, crew.worker.token, visit["id"], "checkin"))
    assert parse_time(visit["last_checkin_at"]) == t0 + 10 * MIN, visit
    assert parse_time(visit["deadline_at"]) == t0 + 40 * MIN, visit
    assert visit["last_location"] is None, visit

    # now the departure is sooner than the interval
    advance(srv, 25 * 60)
    visit = ok(visit_action(srv, crew.worker.token, visit["id"], "checkin",
                            {"latitude": 53.79, "longitude": -1.54, "note": "still with Mr A"}))
    assert parse_time(visit["last_checkin_at"]) == t0 + 35 * MIN, visit
    assert parse_time(visit["deadline_at"]) == t0 + 60 * MIN, visit
    assert visit["last_location"] is not None, visit
    assert escalations_of(srv, crew.admin, visit["id"]) == []

    got = get_visit(srv, crew.worker.token, visit["id"])
    checkins = [e for e in got["events"] if e["kind"] == "checkin"]
    assert len(checkins) == 2, got["events"]
    assert [parse_time(e["at"]) for e in checkins] == [t0 + 10 * MIN, t0 + 35 * MIN]
    assert all(e["actor_id"] == crew.worker.id for e in checkins), checkins
    assert checkins[0]["location"] is None and checkins[1]["location"] is not None, checkins

    # a visit that is not active takes no check-in
    planned = simple_visit(srv, crew)
    assert_error(visit_action(srv, crew.worker.token, planned["id"], "checkin"), 409)
    assert get_visit(srv, crew.worker.token, planned["id"])["last_checkin_at"] is None


def test_late_checkin_gives_fifteen_minutes(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    t0 = clock_now(srv)
    visit = simple_visit(srv, crew, minutes=30, start=True)
    advance(srv, 31 * 60)
    cases = escalations_of(srv, crew.admin, visit["id"])
    assert len(cases) == 1 and cases[0]["state"] == "open", cases
    t_in = advance(srv, 60)
    late = ok(visit_action(srv, crew.worker.token, visit["id"], "checkin"))
    assert parse_time(late["last_checkin_at"]) == t_in, late
    assert parse_time(late["expected_departure"]) == t_in + 15 * MIN, late
    assert parse_time(late["deadline_at"]) == t_in + 15 * MIN, late
    assert late["escalation_id"] is None and late["state"] == "active", late
    case = ok(srv.call("GET", "/api/v1/escalations/%d" % cases[0]["id"], token=crew.admin))
    assert case["state"] == "resolved" and case["outcome"] == "safe", case
    assert parse_time(visit["expected_departure"]) == t0 + 30 * MIN
    # no new case before the new deadline
    advance(srv, 14 * 60)
    assert len(escalations_of(srv, crew.admin, visit["id"])) == 1


def test_extend_needs_reason_and_later_time(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    t0 = clock_now(srv)
    visit = simple_visit(srv, crew, minutes=30, start=True)
    vid = visit["id"]
    advance(srv, 20 * 60)

    def refused(body, field=None, status=422):
        assert_error(visit_action(srv, crew.worker.token, vid, "extend", body), status,
                     field=field)

    refused({"by": 1200}, "reason")
    refused({"by": 1200, "reason": ""}, "reason")
    refused({"by": 1200, "reason": "x" * 501}, "reason")
    refused({"until": fmt_time(t0 + 25 * MIN), "reason": "delayed"}, "until")
    refused({"until": fmt_time(t0 + 30 * MIN), "reason": "delayed"}, "until")
    refused({"until": fmt_time(t0 + 10 * MIN), "reason": "delayed"}, "until")
    refused({"until": "later", "reason": "delayed"}, "until")
    refused({"by": 0, "reason": "delayed"}, "by")
    refused({"by": -600, "reason": "delayed"}, "by")
    refused({"by": 59, "reason": "delayed"}, "by")
    refused({"by": 86401, "reason": "delayed"}, "by")
    refused({"reason": "delayed"})
    assert_error(visit_action(srv, crew.lm.token, vid, "extend",
                              {"by": 1200, "reason": "delayed"}), 403)
    same = get_visit(srv, crew.worker.token, vid)
    assert parse_time(same["expected_departure"]) == t0 + 30 * MIN, same
    assert same["last_checkin_at"] is None and "extended" not in kinds(same), same

    visit = ok(visit_action(srv, crew.worker.token, vid, "extend",
                            {"by": 1200, "reason": "patient fell, waiting for ambulance"}))
    assert parse_time(visit["expected_departure"]) == t0 + 50 * MIN, visit
    assert parse_time(visit["last_checkin_at"]) == t0 + 20 * MIN, visit
    assert parse_time(visit["deadline_at"]) == t0 + 50 * MIN, visit

    advance(srv, 300)
    visit = ok(visit_action(srv, crew.worker.token, vid, "extend",
                            {"until": fmt_time(t0 + 80 * MIN), "reason": "ambulance is late"}))
    assert parse_time(visit["expected_departure"]) == t0 + 80 * MIN, visit
    assert parse_time(visit["last_checkin_at"]) == t0 + 25 * MIN, visit
    assert parse_time(visit["deadline_at"]) == t0 + 80 * MIN, visit

    got = get_visit(srv, crew.worker.token, vid)
    extended = [e for e in got["events"] if e["kind"] == "extended"]
    assert len(extended) == 2, got["events"]
    assert "patient fell, waiting for ambulance" in repr(extended[0]), extended
    assert "ambulance is late" in repr(extended[1]), extended



def test_end_safe(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    t0 = clock_now(srv)
    visit = simple_visit(srv, crew, minutes=30, start=True)
    vid = visit["id"]
    t1 = advance(srv, 300)
    closed = ok(visit_action(srv, crew.worker.token, vid, "end",
                             {"outcome": "safe", "note": "all good"}))
    assert closed["state"] == "closed" and closed["outcome"] == "safe", closed
    assert closed["close_note"] == "all good", closed
    assert parse_time(closed["closed_at"]) == t1, closed
    assert closed["deadline_at"] is None, closed

    for action, body in (("checkin", None), ("extend", {"by": 600, "reason": "delayed"}),
                         ("end", {"outcome": "safe"}), ("start", None)):
        assert_error(visit_action(srv, crew.worker.token, vid, action, body), 409)
    got = get_visit(srv, crew.worker.token, vid)
    assert {k: v for k, v in got.items() if k != "events"} == \
        {k: v for k, v in closed.items() if k != "incident_report_prompted"}
    ended = [e for e in got["events"] if e["kind"] == "ended"]
    assert len(ended) == 1 and parse_time(ended[0]["at"]) == t1, got["events"]

    # its old deadline passes unnoticed
    advance(srv, 3600)
    assert escalations_of(srv, crew.admin, vid) == []
    assert parse_time(closed["expected_departure"]) == t0 + 30 * MIN
    assert vid in listed(srv, crew.worker.token, "?state=closed")


def test_withdraw(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    visit = simple_visit(srv, crew, minutes=30, start=True)
    vid = visit["id"]
    assert_error(visit_action(srv, crew.lm.token, vid, "end",
                              {"outcome": "withdrawn", "note": "not my call"}), 403)
    assert get_visit(srv, crew.worker.token, vid)["state"] == "active"
    t1 = advance(srv, 120)
    answer = ok(visit_action(srv, crew.worker.token, vid, "end",
                             {"outcome": "withdrawn", "note": "dog loose, I left"}))
    assert answer["incident_report_prompted"] is True, answer
    assert answer["state"] == "closed" and answer["outcome"] == "withdrawn", answer
    assert answer["close_note"] == "dog loose, I left", answer
    assert parse_time(answer["closed_at"]) == t1, answer
    got = get_visit(srv, crew.lm.token, vid)
    assert got["outcome"] == "withdrawn" and got["state"] == "closed", got
    advance(srv, 3600)
    assert escalations_of(srv, crew.admin, vid) == []


def test_cancel_planned(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    visit = simple_visit(srv, crew, minutes=90, buddy_id=crew.buddy.id)
    vid = visit["id"]
    cancel = {"outcome": "cancelled", "note": "patient in hospital"}
    assert_error(visit_action(srv, crew.outsider.token, vid, "end", cancel), 404)
    assert_error(visit_action(srv, crew.buddy.token, vid, "end", cancel), 403)
    st, body, _ = visit_action(srv, crew.worker.token, vid, "end", {"outcome": "safe"})
    assert st in (409, 422), (st, body)
    assert get_visit(srv, crew.worker.token, vid)["state"] == "planned"

    t1 = advance(srv, 60)
    closed = ok(visit_action(srv, crew.lm.token, vid, "end", cancel))
    assert closed["state"] == "closed" and closed["outcome"] == "cancelled", closed
    assert closed["close_note"] == "patient in hospital", closed
    assert parse_time(closed["closed_at"]) == t1, closed
    assert_error(visit_action(srv, crew.worker.token, vid, "start"), 409)
    assert kinds(get_visit(srv, crew.worker.token, vid))[-1] == "ended"

    # the worker cancels their own planned visit; an active one is not cancelled
    own = simple_visit(srv, crew, minutes=90)
    assert ok(visit_action(srv, crew.worker.token, own["id"], "end",
                           {"outcome": "cancelled"}))["outcome"] == "cancelled"
    active = simple_visit(srv, crew, minutes=90, start=True)
    st, body, _ = visit_action(srv, crew.worker.token, active["id"], "end",
                               {"outcome": "cancelled"})
    assert st in (409, 422), (st, body)
    assert get_visit(srv, crew.worker.token, active["id"])["state"] == "active"


def test_timeline_in_order(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    t0 = clock_now(srv)
    visit = simple_visit(srv, crew, minutes=60, buddy_id=crew.buddy.id)
    vid = visit["id"]
    advance(srv, 60)
    ok(visit_action(srv, crew.buddy.token, vid, "buddy/accept"))
    advance(srv, 60)
    ok(visit_action(srv, crew.worker.token, vid, "start"))
    advance(srv, 60)
    ok(visit_action(srv, crew.worker.token, vid, "checkin", {"note": "arrived"}))
    advance(srv, 60)
    ok(visit_action(srv, crew.worker.token, vid, "extend", {"by": 600, "reason": "busy"}))
    advance(srv, 60)
    ok(visit_action(srv, crew.worker.token, vid, "end", {"outcome": "safe"}))

    events = get_visit(srv, crew.buddy.token, vid)["events"]
    got = [(e["kind"], e["actor_id"], parse_time(e["at"])) for e in events]
    w, b = crew.worker.id, crew.buddy.id
    assert sorted(got[:2]) == sorted([("planned", w, t0), ("buddy_nominated", w, t0)]), got
    assert got[2:] == [("buddy_accepted", b, t0 + 1 * MIN), ("started", w, t0 + 2 * MIN),
                       ("checkin", w, t0 + 3 * MIN), ("extended", w, t0 + 4 * MIN),
                       ("ended", w, t0 + 5 * MIN)], got


def test_buddy_nomination_and_handover(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    visit = simple_visit(srv, crew, minutes=60, buddy_id=crew.buddy.id, start=True)
    vid = visit["id"]
    # only the nominated buddy accepts
    for who in (crew.lm, crew.worker):
        assert_error(visit_action(srv, who.token, vid, "buddy/accept"), 403)
    assert ok(visit_action(srv, crew.buddy.token, vid, "buddy/accept"))["buddy_accepted"] is True

    assert_error(visit_action(srv, crew.other_lm.token, vid, "buddy",
                              {"buddy_id": crew.outsider.id}), 404)
    for bad in (crew.worker.id, MISSING):
        assert_error(visit_action(srv, crew.worker.token, vid, "buddy", {"buddy_id": bad}), 422,
                     field="buddy_id")
    same = get_visit(srv, crew.worker.token, vid)
    assert same["buddy_id"] == crew.buddy.id and same["buddy_accepted"] is True, same

    handed = ok(visit_action(srv, crew.buddy.token, vid, "buddy", {"buddy_id": crew.outsider.id}))
    assert handed["buddy_id"] == crew.outsider.id and handed["buddy_accepted"] is False, handed
    # the new buddy sees the visit and must accept; the old one cannot accept for them
    assert get_visit(srv, crew.outsider.token, vid)["buddy_id"] == crew.outsider.id
    st, body, _ = visit_action(srv, crew.buddy.token, vid, "buddy/accept")
    assert st in (403, 404), (st, body)
    accepted = ok(visit_action(srv, crew.outsider.token, vid, "buddy/accept"))
    assert accepted["buddy_accepted"] is True and accepted["buddy_id"] == crew.outsider.id
    events = get_visit(srv, crew.worker.token, vid)["events"]
    assert kinds({"events": events}).count("buddy_nominated") == 2, events
    assert [e["actor_id"] for e in events if e["kind"] == "buddy_accepted"] == \
        [crew.buddy.id, crew.outsider.id], events


def test_who_may_plan(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    t0 = clock_now(srv)
    body = {"worker_id": crew.worker.id, "address": ADDRESS,
            "expected_departure": fmt_time(t0 + HOUR)}
    for who in (crew.lm, crew.sm):
        visit = create_visit(srv, who.token, **body)
        assert visit["worker_id"] == crew.worker.id and visit["created_by"] == who.id, visit
        assert visit["state"] == "planned", visit
    visit = create_visit(srv, crew.admin, **body)
    assert visit["worker_id"] == crew.worker.id, visit
    before = listed(srv, crew.admin, "?worker_id=%d" % crew.worker.id)
    assert len(before) == 3, before
    for who in (crew.other_lm, crew.buddy, crew.operator):
        assert_error(srv.call("POST", "/api/v1/visits", token=who.token, body=body), 403)
    assert listed(srv, crew.admin, "?worker_id=%d" % crew.worker.id) == before
    # the one planning may not start it for the worker
    assert_error(visit_action(srv, crew.lm.token, before[0], "start"), 403)
    assert ok(visit_action(srv, crew.worker.token, before[0], "start"))["state"] == "active"


def test_bad_visit_input(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    admin = crew.admin
    t0 = clock_now(srv)
    disabled, _ = create_user(srv, admin, "gone-buddy", ["worker"])
    ok(srv.call("PATCH", "/api/v1/users/%d" % disabled["id"], token=admin,
                body={"disabled": True}))
    _, foreign, otp = create_org(srv, admin, "Elsewhere Trust", "elsewhere-admin")
    activate(srv, "elsewhere-admin", otp)
    their_car = ok(srv.call("POST", "/api/v1/users/%d/vehicles" % crew.outsider.id,
                            token=crew.outsider.token, body={"registration": "NOT MINE"}), 201)
    dep = fmt_time(t0 + HOUR)
    cases = [
        ({"expected_departure": fmt_time(t0 - MIN)}, "expected_departure"),
        ({"expected_arrival": fmt_time(t0 + 2 * HOUR)}, "expected_departure"),
        ({"expected_arrival": dep}, "expected_departure"),
        ({"expected_departure": fmt_time(t0 + datetime.timedelta(days=7, hours=1))},
         "expected_departure"),
        ({"expected_arrival": fmt_time(t0 - 6 * MIN)}, "expected_arrival"),
        ({"expected_departure": "tomorrow"}, "expected_departure"),
        ({"expected_departure": None}, "expected_departure"),
        ({"address": ""}, "address"),
        ({"address": "x" * 501}, "address"),
        ({"address": None}, "address"),
        ({"buddy_id": MISSING}, "buddy_id"),
        ({"buddy_id": crew.worker.id}, "buddy_id"),
        ({"buddy_id": disabled["id"]}, "buddy_id"),
        ({"buddy_id": foreign["id"]}, "buddy_id"),
        ({"transport": {"mode": "car", "vehicle_id": their_car["id"]}}, "transport.vehicle_id"),
        ({"transport": {"mode": "car", "vehicle_id": MISSING}}, "transport.vehicle_id"),
        ({"transport": {"mode": "rocket"}}, "transport.mode"),
        ({"checkin_interval": 59}, "checkin_interval"),
        ({"checkin_interval": 86401}, "checkin_interval"),
        ({"phones": ["0113 496 0000"] * 6}, "phones"),
        ({"kind": "holiday"}, "kind"),
        ({"people": "p" * 501}, "people"),
        ({"notes": "n" * 2001}, "notes"),
        ({"latitude": 91.0, "longitude": -1.5}, "latitude"),
        ({"latitude": 53.8, "longitude": 181.0}, "longitude"),
        ({"start": "yes"}, "start"),
        ({"colour": "red"}, "colour"),
        ({"worker_id": MISSING}, None),
        ({"latitude": 53.8}, None),
    ]
    wrong = []
    for change, field in cases:
        body = {"address": ADDRESS, "expected_departure": dep}
        for k, v in change.items():
            if v is None and k in ("address", "expected_departure"):
                del body[k]
            else:
                body[k] = v
        st, answer, _ = srv.call("POST", "/api/v1/visits", token=crew.worker.token, body=body)
        if change == {"worker_id": MISSING}:
            if st not in (403, 404, 422):
                wrong.append((change, st, answer))
            continue
        try:
            assert_error((st, answer, None), 422, "invalid_field", field)
        except AssertionError as e:
            wrong.append((change, "expected 422 naming %s" % field, str(e)[:300]))
    assert not wrong, "\n".join(repr(w) for w in wrong)
    # nothing was made
    for who in (crew.worker, crew.lm):
        assert listed(srv, who.token) == []
    assert listed(srv, admin) == []


def test_acting_on_someone_elses_visit(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    visit = simple_visit(srv, crew, minutes=60, buddy_id=crew.buddy.id, start=True)
    vid = visit["id"]
    advance(srv, 120)
    for who in (crew.outsider, crew.other_lm):
        for action, body in (("checkin", None), ("extend", {"by": 600, "reason": "delayed"}),
                             ("end", {"outcome": "safe"})):
            st, answer, _ = visit_action(srv, who.token, vid, action, body)
            assert st in (403, 404), (who, action, st, answer)
    for who in (crew.buddy, crew.lm, crew.operator):
        for action, body in (("checkin", None), ("extend", {"by": 600, "reason": "delayed"}),
                             ("end", {"outcome": "withdrawn"})):
            assert_error(visit_action(srv, who.token, vid, action, body), 403)
    for who in (crew.buddy, crew.operator):
        assert_error(visit_action(srv, who.token, vid, "end", {"outcome": "safe"}), 403)
    got = get_visit(srv, crew.worker.token, vid)
    assert got["state"] == "active" and got["last_checkin_at"] is None, got
    assert got["deadline_at"] == visit["deadline_at"], got
    assert got["expected_departure"] == visit["expected_departure"], got
    assert not {"checkin", "extended", "ended"} & set(kinds(got)), got["events"]
    # The worker's line manager may end it safe (having confirmed the worker is back).
    ended = ok(visit_action(srv, crew.lm.token, vid, "end", {"outcome": "safe"}))
    assert ended["state"] == "closed" and ended["outcome"] == "safe", ended


def test_visit_visibility(server_factory):
    srv = start_server(server_factory)
    crew = make_crew(srv)
    visit = simple_visit(srv, crew, minutes=60, buddy_id=crew.buddy.id, start=True)
    vid = visit["id"]
    path = "/api/v1/visits/%d" % vid
    for who in (crew.worker, crew.buddy, crew.lm, crew.sm, crew.operator):
        got = ok(srv.call("GET", path, token=who.token))
        assert got["id"] == vid and got["events"], got
        assert vid in listed(srv, who.token), who
    assert vid in listed(srv, crew.admin)
    assert vid in listed(srv, crew.buddy.token, "?buddy_id=%d" % crew.buddy.id)
    assert vid in listed(srv, crew.lm.token, "?team_id=%d" % crew.team["id"])

    _, _, otp = create_org(srv, crew.admin, "Elsewhere Trust", "elsewhere-admin")
    foreign_admin = activate(srv, "elsewhere-admin", otp)
    for token in (crew.outsider.token, crew.other_lm.token, foreign_admin):
        assert_error(srv.call("GET", path, token=token), 404)
        assert vid not in listed(srv, token)
        assert listed(srv, token, "?worker_id=%d" % crew.worker.id) == []


def test_buddy_sees_next_of_kin_only_while_watching(server_factory):
    """A buddy gets the worker's contact details and next of kin once they accept to watch
    a visit, and loses them when it ends; never the home address."""
    srv = start_server(server_factory)
    crew = make_crew(srv)
    path = "/api/v1/users/%d" % crew.worker.id

    def seen():
        return ok(srv.call("GET", path, token=crew.buddy.token))

    assert "next_of_kin" not in seen() and "phone" not in seen()
    visit = simple_visit(srv, crew, minutes=60, buddy_id=crew.buddy.id, start=True)
    assert "next_of_kin" not in seen()  # nominated, not yet accepted
    ok(visit_action(srv, crew.buddy.token, visit["id"], "buddy/accept"))
    watching = seen()
    assert watching["next_of_kin"]["name"] == crew.KIN["name"], watching
    assert "phone" in watching and "home_address" not in watching, watching
    ok(visit_action(srv, crew.worker.token, visit["id"], "end", {"outcome": "safe"}))
    assert "next_of_kin" not in seen()


def test_buddy_hands_over_before_going_off_duty(server_factory):
    """§6.18.3: a buddy with workers still out cannot go off duty until they hand over; an
    off-duty colleague cannot be nominated."""
    srv = start_server(server_factory)
    crew = make_crew(srv)
    duty = "/api/v1/me/duty"
    visit = simple_visit(srv, crew, minutes=60, buddy_id=crew.buddy.id, start=True)
    assert_error(srv.call("POST", duty, token=crew.buddy.token, body={"on_duty": False}),
                 409, "conflict", "on_duty")
    me = ok(srv.call("GET", "/api/v1/me", token=crew.buddy.token))["user"]
    assert me["on_duty"] is True, me
    # The outsider goes off duty and so cannot take the visit over.
    off = ok(srv.call("POST", duty, token=crew.outsider.token, body={"on_duty": False}))
    assert off["on_duty"] is False, off
    assert_error(visit_action(srv, crew.buddy.token, visit["id"], "buddy",
                              {"buddy_id": crew.outsider.id}), 422, "invalid_field", "buddy_id")
    # Handed to the line manager, the buddy may go.
    ok(visit_action(srv, crew.buddy.token, visit["id"], "buddy", {"buddy_id": crew.lm.id}))
    off = ok(srv.call("POST", duty, token=crew.buddy.token, body={"on_duty": False}))
    assert off["on_duty"] is False, off
    back = ok(srv.call("POST", duty, token=crew.buddy.token, body={"on_duty": True}))
    assert back["on_duty"] is True, back
    assert_error(srv.call("POST", duty, token=crew.buddy.token, body={"on_duty": "no"}),
                 422, "invalid_field", "on_duty")

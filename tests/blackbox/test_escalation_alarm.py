"""An overdue worker's escalation reaching the operators: a policy level whose contact is
`operators` opens one `overdue` alarm in their queue, on the case's visit, below red
alarms; it is on the live stream and in the outbox, is opened once per case, is closed when
the worker is heard from, is no URN case and no red-alarm figure. Runs on both backends,
on a simulated clock."""

import datetime

from conftest import (advance, assert_error, clock_args, clock_now, escalations_of, fmt_time,
                      get_escalation, make_crew, ok, parse_time, unique, visit_action)
from sse import EventStream
from test_escalation import open_case, start_visit, steps_of

S = datetime.timedelta(seconds=1)
LEVELS = [{"contact": "buddy", "limit": 60}, {"contact": "operators", "limit": 600}]


def start(server_factory, smtp_sink):
    srv = server_factory(extra_args=clock_args(smtp_sink))
    crew = make_crew(srv)
    put = ok(srv.call("PUT", "/api/v1/escalation-policy", token=crew.admin,
                      body={"levels": LEVELS}))
    assert put["levels"] == LEVELS, put
    return srv, crew


def overdue_alarms(srv, token, state="all"):
    items = ok(srv.call("GET", "/api/v1/alarms?state=%s" % state, token=token))["items"]
    return [a for a in items if a["kind"] == "overdue"]


def get_alarm(srv, token, alarm_id):
    return ok(srv.call("GET", "/api/v1/alarms/%d" % alarm_id, token=token))


def outbox(srv, event, user_id):
    return int(srv.db.value("SELECT count(*) FROM outbox WHERE event = ? AND user_id = ?",
                            event, user_id))


def alarm_event(stream, kind):
    return stream.until(lambda e: e.kind == kind, timeout=10)[-1]


def test_operators_level_opens_one_overdue_alarm_closed_when_the_worker_checks_in(
        server_factory, smtp_sink):
    srv, crew = start(server_factory, smtp_sink)
    op = crew.operator
    visit = start_visit(srv, crew)
    vid = visit["id"]

    # the deadline passes: the buddy is told, the operators not yet
    esc = open_case(srv, crew, visit)
    assert esc["level"] == 0 and esc["level_contact"] == "buddy", esc
    assert steps_of(esc, "notified", level=0, user_id=crew.buddy.id), esc["steps"]
    assert overdue_alarms(srv, op.token) == []
    assert outbox(srv, "alarm.notify", op.id) == 0

    with EventStream(srv.port, op.token) as s:
        assert s.status == 200, (s.status, s.body)
        # the buddy's minute runs out: the case climbs to the operators and an alarm opens
        now = advance(srv, 60)
        esc = get_escalation(srv, crew.admin, esc["id"])
        assert esc["level"] == 1 and esc["level_contact"] == "operators", esc
        alarms = overdue_alarms(srv, op.token)
        assert len(alarms) == 1, alarms
        overdue = alarms[0]
        assert overdue["visit_id"] == vid and overdue["worker_id"] == crew.worker.id, overdue
        assert overdue["state"] == "open" and overdue["priority"] == 3, overdue
        assert overdue["duress"] is False, overdue
        assert parse_time(overdue["opened_at"]) == now, overdue
        e = alarm_event(s, "alarm.opened")
        assert (e.data["alarm_id"], e.data["alarm_kind"], e.data["visit_id"]) == \
            (overdue["id"], "overdue", vid), e
        assert e.data["priority"] == 3, e

    # the level's step names the alarm; the operator's notice is queued
    (step,) = steps_of(esc, "alarm_opened", level=1)
    assert step["detail"] == "alarm %d" % overdue["id"], step
    assert outbox(srv, "alarm.notify", op.id) == 1
    assert outbox(srv, "alarm.notify", crew.worker.id) == 0
    full = get_alarm(srv, op.token, overdue["id"])
    assert full["source"] == "escalation" and full["kind"] == "overdue", full
    mails = [m for m in smtp_sink.to(crew.mail_of("operator")) if "OVERDUE" in m.subject]
    assert len(mails) == 1, [m.subject for m in smtp_sink.to(crew.mail_of("operator"))]

    # a red alarm of another worker opened at the same moment goes first in the queue
    red = ok(srv.call("POST", "/api/v1/alerts/red", token=crew.outsider.token,
                      body={"alert_id": unique("a")}), 201)["alarm_id"]
    queue = ok(srv.call("GET", "/api/v1/alarms", token=op.token))["items"]
    ids = [a["id"] for a in queue]
    assert ids.index(red) < ids.index(overdue["id"]), queue
    red_item = [a for a in queue if a["id"] == red][0]
    assert red_item["opened_at"] == overdue["opened_at"], (red_item, overdue)
    assert red_item["priority"] < overdue["priority"], (red_item, overdue)

    # the worker never sees it
    assert_error(srv.call("GET", "/api/v1/alarms/%d" % overdue["id"], token=crew.worker.token),
                 404)

    # an overdue alarm is no URN case
    ok(srv.call("POST", "/api/v1/alarms/%d/claim" % overdue["id"], token=op.token, body={}))
    assert_error(srv.call("POST", "/api/v1/alarms/%d/calls" % overdue["id"], token=op.token,
                          body={"to": "police_urn", "outcome": "passed on"}), 422, field="to")
    assert get_alarm(srv, op.token, overdue["id"])["police_urn"] is None

    # climbing again at the top tells again but opens no second alarm
    advance(srv, 600)
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["state"] == "open" and esc["level"] == 1, esc
    assert len(steps_of(esc, "alarm_opened")) == 1, esc["steps"]
    (again,) = steps_of(esc, "alarm_already_opened", level=1)
    assert again["detail"] == "alarm %d" % overdue["id"], again
    assert len(overdue_alarms(srv, op.token)) == 1
    assert srv.db.value("SELECT count(*) FROM alarms WHERE kind = 5") == "1"

    # not a red-alarm figure: only the red alarm is counted
    t = clock_now(srv)
    figures = ok(srv.call("GET", "/api/v1/alarm-figures?from=%s&to=%s" % (
        fmt_time(t - 3600 * S), fmt_time(t + S)), token=op.token))
    assert figures["red_alarms"] == 1, figures

    # the worker checks in: the case is resolved and the alarm closed as genuine
    ok(visit_action(srv, crew.worker.token, vid, "checkin", {}))
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["state"] == "resolved" and esc["outcome"] == "safe", esc
    closed = get_alarm(srv, op.token, overdue["id"])
    assert closed["state"] == "closed" and closed["outcome"] == "genuine", closed
    assert closed["found_safe"] == esc["outcome_note"] and closed["found_safe"], closed
    assert closed["closed_by"] == crew.worker.id, closed
    assert [line for line in closed["timeline"] if line["kind"] == "closed"], closed["timeline"]
    assert overdue["id"] not in [a["id"] for a in
                                 ok(srv.call("GET", "/api/v1/alarms", token=op.token))["items"]]
    # the red alarm of the other worker is untouched
    assert get_alarm(srv, op.token, red)["state"] == "open"


def test_operator_closing_the_alarm_leaves_the_case(server_factory, smtp_sink):
    srv, crew = start(server_factory, smtp_sink)
    op = crew.operator
    visit = start_visit(srv, crew)
    esc = open_case(srv, crew, visit)
    advance(srv, 60)
    (overdue,) = overdue_alarms(srv, op.token)
    ok(srv.call("POST", "/api/v1/alarms/%d/claim" % overdue["id"], token=op.token, body={}))
    ok(srv.call("POST", "/api/v1/alarms/%d/close" % overdue["id"], token=op.token,
                body={"outcome": "genuine", "found_safe": "phoned her, she is fine"}))
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["state"] == "open" and esc["level"] == 1, esc

    # the case goes on at the top, without a new alarm
    advance(srv, 600)
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["state"] == "open", esc
    assert len(steps_of(esc, "alarm_already_opened", level=1)) == 1, esc["steps"]
    assert len(overdue_alarms(srv, op.token)) == 1

    # the operator resolves the case through the case route; the alarm stays as closed
    ok(srv.call("POST", "/api/v1/escalations/%d/resolve" % esc["id"], token=op.token,
                body={"outcome": "safe", "how": "phoned her, she is fine"}))
    assert get_escalation(srv, crew.admin, esc["id"])["state"] == "resolved"
    a = get_alarm(srv, op.token, overdue["id"])
    assert a["state"] == "closed" and a["closed_by"] == op.id, a
    assert len([line for line in a["timeline"] if line["kind"] == "closed"]) == 1, a["timeline"]


def test_resolved_safe_by_a_contact_closes_the_alarm(server_factory, smtp_sink):
    srv, crew = start(server_factory, smtp_sink)
    op = crew.operator
    visit = start_visit(srv, crew)
    esc = open_case(srv, crew, visit)
    advance(srv, 60)
    (overdue,) = overdue_alarms(srv, op.token)
    ok(srv.call("POST", "/api/v1/escalations/%d/resolve" % esc["id"], token=crew.lm.token,
                body={"outcome": "safe", "how": "she called me back"}))
    a = get_alarm(srv, op.token, overdue["id"])
    assert a["state"] == "closed" and a["outcome"] == "genuine", a
    assert a["found_safe"] == "she called me back" and a["closed_by"] == crew.lm.id, a


def test_handed_to_the_police_keeps_the_alarm_open(server_factory, smtp_sink):
    srv, crew = start(server_factory, smtp_sink)
    op = crew.operator
    visit = start_visit(srv, crew)
    esc = open_case(srv, crew, visit)
    advance(srv, 60)
    (overdue,) = overdue_alarms(srv, op.token)
    ok(srv.call("POST", "/api/v1/escalations/%d/resolve" % esc["id"], token=op.token,
                body={"outcome": "police", "police_reference": "WY-1", "how": "police sent"}))
    assert get_alarm(srv, op.token, overdue["id"])["state"] == "open"


def test_without_operators_the_senior_manager_is_told(server_factory, smtp_sink):
    srv, crew = start(server_factory, smtp_sink)
    ok(srv.call("PATCH", "/api/v1/users/%d" % crew.operator.id, token=crew.admin,
                body={"disabled": True}))
    visit = start_visit(srv, crew)
    esc = open_case(srv, crew, visit)
    advance(srv, 60)
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["level"] == 1, esc
    assert len(steps_of(esc, "alarm_opened", level=1)) == 1, esc["steps"]
    (overdue,) = overdue_alarms(srv, crew.sm.token)
    assert overdue["visit_id"] == visit["id"], overdue
    assert outbox(srv, "alarm.notify", crew.sm.id) == 1
    assert outbox(srv, "alarm.notify", crew.operator.id) == 0


def test_operators_level_first_and_bad_policies(server_factory, smtp_sink):
    srv, crew = start(server_factory, smtp_sink)
    path = "/api/v1/escalation-policy"
    for bad, field in (
            ([{"contact": "operators", "limit": 600, "user_id": crew.operator.id}],
             "levels[0].user_id"),
            ([{"contact": "operators", "limit": 600, "channel_id": 1}], "levels[0].channel_id"),
            ([{"contact": "operators", "limit": 59}], "levels[0].limit"),
            ([{"contact": "Operators", "limit": 600}], "levels[0].contact"),
            ([{"contact": "operator", "limit": 600}], "levels[0].contact"),
            ([{"contact": "buddy", "limit": 60}, {"contact": 7, "limit": 600}],
             "levels[1].contact")):
        assert_error(srv.call("PUT", path, token=crew.admin, body={"levels": bad}), 422,
                     field=field)

    # a policy of the operators alone: the case opens straight into the queue
    only = [{"contact": "operators", "limit": 60}]
    assert ok(srv.call("PUT", path, token=crew.admin, body={"levels": only}))["levels"] == only
    assert ok(srv.call("GET", path, token=crew.worker.token))["levels"] == only
    visit = start_visit(srv, crew)
    esc = open_case(srv, crew, visit)
    assert esc["level_contact"] == "operators", esc
    (step,) = steps_of(esc, "alarm_opened", level=0)
    (overdue,) = overdue_alarms(srv, crew.operator.token)
    assert step["detail"] == "alarm %d" % overdue["id"], step
    assert escalations_of(srv, crew.admin, visit["id"])[0]["id"] == esc["id"]

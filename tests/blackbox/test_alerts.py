"""Alerts of workers and devices: red alerts (retries, durability), duress codes on check-in,
visit end, amber clear and cancel, cancelling within the window, amber alerts and their
deadlines, positions, the alert profile, device reports and tests, and hostile input (on a
simulated clock, on both backends)."""

import datetime
import threading

import pytest

from conftest import (activate, advance, assert_error, clock_args, clock_now, create_org,
                      create_visit, fmt_time, get_visit, make_crew, new_account, ok, parse_time,
                      unique, visit_action)

S = datetime.timedelta(seconds=1)
MIN = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
ADDRESS = "12 Oak Street, Leeds"
CODE = "4821"
DURESS = "9173"
MISSING = 987654321

# Kinds and states as stored (core/alarm.h).
RED, DURESS_KIND, AMBER, TEST = 1, 2, 3, 4
OPEN, CLOSED = 1, 3


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv(module_factory):
    return module_factory(extra_args=clock_args())


@pytest.fixture(scope="module")
def crew(srv):
    """make_crew's team, plus `twin`, a second worker of the same team; the worker and the
    twin have the same normal and duress codes."""
    c = make_crew(srv)
    c.twin = new_account(srv, c.admin, unique("tia"), ["worker"], team_ids=[c.team["id"]])
    c.lsms = new_account(srv, c.admin, unique("lou"), ["lsms"])
    for w in (c.worker, c.twin):
        set_codes(srv, w)
    return c


def set_codes(srv, worker, code=CODE, duress=DURESS):
    body = ok(srv.call("PUT", "/api/v1/me/alert-profile", token=worker.token,
                       body={"code": code, "duress_code": duress}))
    assert body["has_code"] is True and body["has_duress_code"] is True, body
    return body


def red(srv, token, **body):
    return srv.call("POST", "/api/v1/alerts/red", token=token, body=body)


def alarms_of(srv, worker_id, where="", *params):
    """The worker's alarms in the database: (id, kind, state, duress, source, alert_id,
    cancelled_at, priority), oldest first."""
    return srv.db.query("SELECT id, kind, state, duress, source, alert_id, cancelled_at, "
                        "priority, amber_alert_id FROM alarms WHERE worker_id = ? " + where
                        + " ORDER BY id", worker_id, *params)


def last_alarm_id(srv):
    return int(srv.db.value("SELECT COALESCE(MAX(id), 0) FROM alarms"))


def new_alarms(srv, worker_id, since):
    return alarms_of(srv, worker_id, "AND id > ?", since)


def start_visit(srv, worker, minutes=30):
    return create_visit(srv, worker.token, address=ADDRESS, start=True,
                        expected_departure=fmt_time(clock_now(srv) + minutes * MIN))


def end_visits(srv, *pairs):
    for worker, visit in pairs:
        ok(visit_action(srv, worker.token, visit["id"], "end", {"outcome": "safe"}))


def without(obj, keys):
    """obj without the keys that differ between twins (ids, the worker); nested too."""
    if isinstance(obj, dict):
        return {k: without(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [without(v, keys) for v in obj]
    return obj


TWIN_KEYS = {"id", "worker_id", "created_by", "actor_id", "alarm_id", "alert_id", "visit_id"}


def amber(srv, token, **body):
    return srv.call("POST", "/api/v1/alerts/amber", token=token, body=body)


def amber_list(srv, token, query=""):
    return ok(srv.call("GET", "/api/v1/alerts/amber" + query, token=token))["items"]


def outbox_users(srv, event, since_id=0):
    return sorted(int(r[0]) for r in srv.db.query(
        "SELECT user_id FROM outbox WHERE event = ? AND id > ?", event, since_id))


def last_outbox_id(srv):
    return int(srv.db.value("SELECT COALESCE(MAX(id), 0) FROM outbox"))


# -- red alerts ----------------------------------------------------------------------------


def test_red_alert_stored_once_per_alert_id(srv, crew):
    now = clock_now(srv)
    alert_id = unique("red-")
    body = {"alert_id": alert_id, "message": "help, front room", "latitude": 53.8,
            "longitude": -1.55, "accuracy": 12.5, "location_at": fmt_time(now - MIN)}
    first = ok(red(srv, crew.worker.token, **body), 201)
    assert first["alert_id"] == alert_id and first["duplicate"] is False, first
    assert parse_time(first["opened_at"]) == now, first
    # the organisation's cancel window (60 s unless set)
    assert parse_time(first["cancel_until"]) == now + MIN, first
    rows = alarms_of(srv, crew.worker.id, "AND alert_id = ?", alert_id)
    assert len(rows) == 1 and int(rows[0][0]) == first["alarm_id"], rows
    assert (int(rows[0][1]), int(rows[0][2]), int(rows[0][3]), rows[0][4]) == \
        (RED, OPEN, 0, "api"), rows
    stored = srv.db.query("SELECT message, latitude, longitude FROM alarms WHERE id = ?",
                          first["alarm_id"])[0]
    assert stored[0] == "help, front room" and float(stored[1]) == 53.8, stored
    assert int(srv.db.value("SELECT COUNT(*) FROM positions WHERE worker_id = ? AND "
                            "source = 'red'", crew.worker.id)) >= 1

    # a retry, even later and with other fields, answers the first alarm
    advance(srv, 5)
    again = ok(red(srv, crew.worker.token, alert_id=alert_id, message="retry"), 200)
    assert again == dict(first, duplicate=True), (again, first)
    assert len(alarms_of(srv, crew.worker.id, "AND alert_id = ?", alert_id)) == 1

    # an alert id is the worker's for one alert of one kind
    assert_error(srv.call("POST", "/api/v1/alerts/test", token=crew.worker.token,
                          body={"alert_id": alert_id}), 409, field="alert_id")

    # another worker's alert id of the same text is their own alarm
    other = ok(red(srv, crew.twin.token, alert_id=alert_id), 201)
    assert other["alarm_id"] != first["alarm_id"] and other["duplicate"] is False, other

    # no alert id: every press is an alarm
    since = last_alarm_id(srv)
    a = ok(red(srv, crew.buddy.token), 201)
    b = ok(srv.call("POST", "/api/v1/alerts/red", token=crew.buddy.token), 201)
    assert a["alert_id"] is None and a["alarm_id"] != b["alarm_id"], (a, b)
    assert len(new_alarms(srv, crew.buddy.id, since)) == 2


def test_red_alert_survives_sigkill(server_factory):
    s = server_factory()
    admin = s.admin()
    worker = new_account(s, admin, "killed-worker", ["worker"])
    answer = ok(red(s, worker.token, alert_id="kill-1", message="acknowledged then killed"), 201)
    s.kill()
    s.start()
    rows = alarms_of(s, worker.id)
    assert [int(r[0]) for r in rows] == [answer["alarm_id"]], rows
    assert rows[0][5] == "kill-1" and int(rows[0][1]) == RED, rows
    # the retry after the restart finds it
    again = ok(red(s, worker.token, alert_id="kill-1"), 200)
    assert again["alarm_id"] == answer["alarm_id"] and again["duplicate"] is True, again


# -- duress --------------------------------------------------------------------------------


def duress_alarms(srv, worker_id, since, source):
    return [r for r in new_alarms(srv, worker_id, since)
            if int(r[1]) == DURESS_KIND and int(r[3]) == 1 and r[4] == source]


def test_duress_on_checkin_answers_as_the_normal_code(srv, crew):
    v1, v2 = start_visit(srv, crew.worker), start_visit(srv, crew.twin)
    since = last_alarm_id(srv)
    forced = ok(visit_action(srv, crew.worker.token, v1["id"], "checkin",
                             {"code": DURESS, "note": "all fine"}))
    normal = ok(visit_action(srv, crew.twin.token, v2["id"], "checkin",
                             {"code": CODE, "note": "all fine"}))
    assert without(forced, TWIN_KEYS) == without(normal, TWIN_KEYS), (forced, normal)
    assert forced["last_checkin_at"] is not None
    assert len(duress_alarms(srv, crew.worker.id, since, "checkin")) == 1
    assert new_alarms(srv, crew.twin.id, since) == []
    # the alarm carries the visit; the worker's own view of it shows nothing
    assert srv.db.value("SELECT visit_id FROM alarms WHERE worker_id = ? AND id > ?",
                        crew.worker.id, since) == str(v1["id"])
    mine, twin = get_visit(srv, crew.worker.token, v1["id"]), get_visit(srv, crew.twin.token,
                                                                         v2["id"])
    assert without(mine, TWIN_KEYS) == without(twin, TWIN_KEYS), (mine, twin)
    assert "duress" not in str(mine) and "alarm" not in str(mine), mine
    # no code at all still checks in, and opens nothing
    ok(visit_action(srv, crew.worker.token, v1["id"], "checkin"))
    assert len(new_alarms(srv, crew.worker.id, since)) == 1
    end_visits(srv, (crew.worker, v1), (crew.twin, v2))


def test_duress_on_visit_end_answers_as_the_normal_code(srv, crew):
    v1, v2 = start_visit(srv, crew.worker), start_visit(srv, crew.twin)
    since = last_alarm_id(srv)
    forced = ok(visit_action(srv, crew.worker.token, v1["id"], "end",
                             {"outcome": "safe", "code": DURESS}))
    normal = ok(visit_action(srv, crew.twin.token, v2["id"], "end",
                             {"outcome": "safe", "code": CODE}))
    assert forced["state"] == "closed", forced
    assert without(forced, TWIN_KEYS) == without(normal, TWIN_KEYS), (forced, normal)
    rows = duress_alarms(srv, crew.worker.id, since, "visit_end")
    assert len(rows) == 1, new_alarms(srv, crew.worker.id, since)
    assert new_alarms(srv, crew.twin.id, since) == []
    assert srv.db.value("SELECT visit_id FROM alarms WHERE id = ?", rows[0][0]) == str(v1["id"])
    mine, twin = get_visit(srv, crew.worker.token, v1["id"]), get_visit(srv, crew.twin.token,
                                                                         v2["id"])
    assert without(mine, TWIN_KEYS) == without(twin, TWIN_KEYS), (mine, twin)


def test_duress_on_a_failed_checkin_or_end_still_opens_the_alarm(srv, crew):
    # A visit already ended: the check-in and the end are refused alike for both codes,
    # and the duress code still opens its silent alarm on its own.
    v1, v2 = start_visit(srv, crew.worker), start_visit(srv, crew.twin)
    end_visits(srv, (crew.worker, v1), (crew.twin, v2))
    since = last_alarm_id(srv)
    for action, body, source in (("checkin", {}, "checkin"),
                                 ("end", {"outcome": "safe"}, "visit_end")):
        forced = visit_action(srv, crew.worker.token, v1["id"], action, dict(body, code=DURESS))
        normal = visit_action(srv, crew.twin.token, v2["id"], action, dict(body, code=CODE))
        assert forced[0] == normal[0] == 409, (forced, normal)
        assert forced[1] == normal[1], (forced, normal)
        assert len(duress_alarms(srv, crew.worker.id, since, source)) == 1, source
    assert new_alarms(srv, crew.twin.id, since) == []
    # a duress code with a field the route refuses: the same 422, and the alarm
    v3 = start_visit(srv, crew.worker)
    bad = visit_action(srv, crew.worker.token, v3["id"], "checkin",
                       {"code": DURESS, "note": "x" * 501})
    assert bad[0] == 422, bad
    assert len(duress_alarms(srv, crew.worker.id, since, "checkin")) == 2
    end_visits(srv, (crew.worker, v3))


def test_duress_on_amber_clear_answers_as_the_normal_code(srv, crew):
    deadline = fmt_time(clock_now(srv) + 20 * MIN)
    a1 = ok(amber(srv, crew.worker.token, status="Going into flat 3", deadline=deadline), 201)
    a2 = ok(amber(srv, crew.twin.token, status="Going into flat 3", deadline=deadline), 201)
    assert a1["state"] == "watching", a1
    since = last_alarm_id(srv)
    forced = ok(srv.call("POST", "/api/v1/alerts/amber/%d/clear" % a1["id"],
                         token=crew.worker.token, body={"code": DURESS}))
    normal = ok(srv.call("POST", "/api/v1/alerts/amber/%d/clear" % a2["id"],
                         token=crew.twin.token, body={"code": CODE}))
    assert forced["state"] == "kept" and forced["cleared_at"] is not None, forced
    assert without(forced, TWIN_KEYS) == without(normal, TWIN_KEYS), (forced, normal)
    assert len(duress_alarms(srv, crew.worker.id, since, "amber")) == 1
    assert new_alarms(srv, crew.twin.id, since) == []
    # cleared: the deadline passes without an amber alarm for either
    advance(srv, 21 * 60)
    assert [r for r in new_alarms(srv, crew.worker.id, since) if int(r[1]) == AMBER] == []
    assert new_alarms(srv, crew.twin.id, since) == []
    # someone else's amber alert is not there for them
    assert_error(srv.call("POST", "/api/v1/alerts/amber/%d/clear" % a1["id"],
                          token=crew.twin.token, body={}), 404)


def cancel(srv, worker, alarm, code):
    return srv.call("POST", "/api/v1/alarms/%d/cancel" % alarm["alarm_id"], token=worker.token,
                    body={"code": code})


def test_duress_on_cancel_answers_as_the_normal_code(srv, crew):
    mine = ok(red(srv, crew.worker.token), 201)
    twins = ok(red(srv, crew.twin.token), 201)
    advance(srv, 10)
    since = last_outbox_id(srv)
    forced = ok(cancel(srv, crew.worker, mine, DURESS))
    normal = ok(cancel(srv, crew.twin, twins, CODE))
    assert normal["cancelled"] is True and normal["alarm_id"] == twins["alarm_id"], normal
    assert without(forced, TWIN_KEYS) == without(normal, TWIN_KEYS), (forced, normal)
    # the twin's is cancelled (still open for an operator to close, lower in the queue)
    row = alarms_of(srv, crew.twin.id, "AND id = ?", twins["alarm_id"])[0]
    assert int(row[2]) == OPEN and row[6] is not None and int(row[7]) == 4, row
    # the worker's is cancelled in their eyes, but marked duress it keeps its place
    row = alarms_of(srv, crew.worker.id, "AND id = ?", mine["alarm_id"])[0]
    assert int(row[2]) == OPEN and int(row[3]) == 1 and row[6] is not None \
        and int(row[7]) == 1, row
    line = srv.db.query("SELECT kind, detail FROM alarm_events WHERE alarm_id = ? AND kind IN "
                        "('duress', 'cancelled') ORDER BY id", mine["alarm_id"])
    assert line == [["duress", "the duress code was given to cancel"], ["cancelled", None]], line
    assert srv.db.query("SELECT kind FROM alarm_events WHERE alarm_id = ? AND kind = "
                        "'cancelled'", twins["alarm_id"]) == [["cancelled"]]
    # the live events tell those who handle alarms
    changes = srv.db.query("SELECT kind FROM events WHERE alarm_id = ? AND kind = "
                           "'alarm.updated'", mine["alarm_id"])
    assert len(changes) == 2, changes
    # those told "needs help now" are told at once not to call openly; never the worker
    told = srv.db.query("SELECT user_id, subject FROM outbox WHERE event = 'alarm.notify' AND "
                        "id > ? AND subject LIKE 'NOW SILENT ALARM%'", since)
    assert crew.operator.id in [int(u) for u, _ in told], told
    assert crew.worker.id not in [int(u) for u, _ in told], told
    assert all("do not call the worker openly" in subj for _, subj in told), told
    # a second cancel, inside the window and after it: the same answers with either code
    advance(srv, 10)
    forced, normal = cancel(srv, crew.worker, mine, DURESS), cancel(srv, crew.twin, twins, CODE)
    assert forced[0] == normal[0] == 409 and forced[1] == normal[1], (forced, normal)
    assert "already cancelled" in normal[1]["error"]["message"], normal
    forced, normal = cancel(srv, crew.worker, mine, CODE), cancel(srv, crew.twin, twins, CODE)
    assert forced[0] == normal[0] == 409 and forced[1] == normal[1], (forced, normal)
    # past the window (and past the re-notify interval): the worker's is told again
    advance(srv, 61)
    forced, normal = cancel(srv, crew.worker, mine, DURESS), cancel(srv, crew.twin, twins, CODE)
    assert forced[0] == normal[0] == 409 and forced[1] == normal[1], (forced, normal)
    renotified = lambda a: int(srv.db.value(  # noqa: E731
        "SELECT COUNT(*) FROM alarm_events WHERE alarm_id = ? AND kind = 'renotified'",
        a["alarm_id"]))
    assert renotified(mine) >= 1 and renotified(twins) == 0, (renotified(mine),
                                                              renotified(twins))
    assert int(alarms_of(srv, crew.worker.id, "AND id = ?", mine["alarm_id"])[0][7]) == 1
    # closed by an operator: the same refusal with either code, and the duress code, with
    # nobody left to see a mark on the closed alarm, opens a new silent one
    for alarm in (mine, twins):
        path = "/api/v1/alarms/%d/" % alarm["alarm_id"]
        ok(srv.call("POST", path + "claim", token=crew.operator.token, body={}))
        ok(srv.call("POST", path + "close", token=crew.operator.token,
                    body={"outcome": "genuine", "found_safe": "called her, she is safe"}))
    since = last_alarm_id(srv)
    forced = srv.call("POST", "/api/v1/alarms/%d/cancel" % mine["alarm_id"],
                      token=crew.worker.token, body={"code": DURESS})
    normal = srv.call("POST", "/api/v1/alarms/%d/cancel" % twins["alarm_id"],
                      token=crew.twin.token, body={"code": CODE})
    assert forced[0] == normal[0] == 409 and forced[1] == normal[1], (forced, normal)
    assert len(duress_alarms(srv, crew.worker.id, since, "cancel")) == 1
    assert new_alarms(srv, crew.twin.id, since) == []


def test_wrong_code_does_nothing(srv, crew):
    visit = start_visit(srv, crew.worker)
    before = get_visit(srv, crew.worker.token, visit["id"])
    since = last_alarm_id(srv)
    for code in ("0000", "12ab", "1", "1" * 13, 1234):
        assert_error(visit_action(srv, crew.worker.token, visit["id"], "checkin",
                                  {"code": code}), 422, field="code")
    assert_error(visit_action(srv, crew.worker.token, visit["id"], "end",
                              {"outcome": "safe", "code": "5555"}), 422, field="code")
    assert get_visit(srv, crew.worker.token, visit["id"]) == before
    end_visits(srv, (crew.worker, visit))
    # a worker with no codes: any code is wrong
    nocode = new_account(srv, crew.admin, unique("nia"), ["worker"])
    v2 = start_visit(srv, nocode)
    assert_error(visit_action(srv, nocode.token, v2["id"], "checkin", {"code": CODE}), 422,
                 field="code")
    alarm = ok(red(srv, nocode.token), 201)
    assert_error(srv.call("POST", "/api/v1/alarms/%d/cancel" % alarm["alarm_id"],
                          token=nocode.token, body={"code": CODE}), 422, field="code")
    assert alarms_of(srv, nocode.id)[0][6] is None  # not cancelled
    # the worker's alarm with a wrong code
    mine = ok(red(srv, crew.worker.token), 201)
    assert_error(srv.call("POST", "/api/v1/alarms/%d/cancel" % mine["alarm_id"],
                          token=crew.worker.token, body={"code": "1111"}), 422, field="code")
    assert_error(srv.call("POST", "/api/v1/alarms/%d/cancel" % mine["alarm_id"],
                          token=crew.worker.token, body={}), 422, field="code")
    rows = new_alarms(srv, crew.worker.id, since)
    assert [(int(r[0]), r[6]) for r in rows] == [(mine["alarm_id"], None)], rows
    advance(srv, 60)  # past the wait the wrong codes earned (see the next test)


def test_wrong_codes_are_throttled_and_the_duress_code_still_raises_its_alarm(srv, crew):
    w = new_account(srv, crew.admin, unique("thr"), ["worker"], team_ids=[crew.team["id"]])
    set_codes(srv, w)
    visit = start_visit(srv, w)
    since = last_alarm_id(srv)
    for _ in range(3):  # the first few mistakes cost nothing
        assert_error(visit_action(srv, w.token, visit["id"], "checkin", {"code": "9999"}), 422,
                     field="code")
    # then each try must wait, whichever code is given, and says so alike
    waits = [visit_action(srv, w.token, visit["id"], "checkin", {"code": c})
             for c in ("9999", CODE, DURESS)]
    for st, body, headers in waits:
        assert st == 429 and body["error"]["field"] == "code", (st, body)
        assert int(headers["retry-after"]) >= 1, headers
    assert waits[1][1] == waits[2][1], waits
    # made to wait, the duress code still opened its silent alarm, once
    assert len(duress_alarms(srv, w.id, since, "code_throttled")) == 1
    assert get_visit(srv, w.token, visit["id"])["last_checkin_at"] is None
    # after the wait the right code works and clears the count
    advance(srv, 60)
    ok(visit_action(srv, w.token, visit["id"], "checkin", {"code": CODE}))
    for _ in range(3):
        assert_error(visit_action(srv, w.token, visit["id"], "checkin", {"code": "9999"}), 422,
                     field="code")
    assert len(new_alarms(srv, w.id, since)) == 1
    advance(srv, 60)
    end_visits(srv, (w, visit))


# -- cancelling ----------------------------------------------------------------------------


def test_cancel_within_the_window_only_by_the_worker(srv, crew):
    alarm = ok(red(srv, crew.worker.token), 201)
    path = "/api/v1/alarms/%d/cancel" % alarm["alarm_id"]
    # to anyone else it does not exist, whatever they send
    for who in (crew.twin, crew.operator, crew.lm):
        assert_error(srv.call("POST", path, token=who.token, body={"code": CODE}), 404)
    assert_error(srv.call("POST", "/api/v1/alarms/%d/cancel" % MISSING,
                          token=crew.worker.token, body={"code": CODE}), 404)
    now = advance(srv, 30)
    done = ok(srv.call("POST", path, token=crew.worker.token, body={"code": CODE}))
    assert done == {"alarm_id": alarm["alarm_id"], "cancelled": True,
                    "cancelled_at": fmt_time(now)}, done
    body = assert_error(srv.call("POST", path, token=crew.worker.token, body={"code": CODE}),
                        409)
    assert "already cancelled" in body["error"]["message"], body
    events = srv.db.query("SELECT kind FROM events WHERE alarm_id = ? AND kind = "
                          "'alarm.updated'", alarm["alarm_id"])
    assert len(events) == 1, events

    late = ok(red(srv, crew.worker.token), 201)
    advance(srv, 61)
    body = assert_error(srv.call("POST", "/api/v1/alarms/%d/cancel" % late["alarm_id"],
                                 token=crew.worker.token, body={"code": CODE}), 409)
    assert "operator will call" in body["error"]["message"], body
    assert alarms_of(srv, crew.worker.id, "AND id = ?", late["alarm_id"])[0][6] is None


def upload(srv, worker, alarm_id):
    return srv.call("POST", "/api/v1/alarms/%d/evidence" % alarm_id, token=worker.token,
                    raw=b"RIFF....WAVE recording", headers={"Content-Type": "audio/wav"})


def test_silent_alarms_are_not_found_by_trying_ids(srv, crew):
    # Whoever holds the phone tries alarm ids with cancel and upload: a silent alarm of the
    # worker (a duress code on a check-in or an end) answers as an id that does not exist.
    v1, v2 = start_visit(srv, crew.worker), start_visit(srv, crew.worker)
    since = last_alarm_id(srv)
    ok(visit_action(srv, crew.worker.token, v1["id"], "checkin", {"code": DURESS}))
    ok(visit_action(srv, crew.worker.token, v2["id"], "end", {"outcome": "safe", "code": DURESS}))
    hidden = [int(r[0]) for r in new_alarms(srv, crew.worker.id, since)]
    assert len(hidden) == 2, hidden
    nothing = {"alarm_id": MISSING}
    for code in (CODE, DURESS):
        missing = cancel(srv, crew.worker, nothing, code)
        assert missing[0] == 404, missing
        for alarm_id in hidden:
            got = cancel(srv, crew.worker, {"alarm_id": alarm_id}, code)
            assert (got[0], got[1]) == (missing[0], missing[1]), (got, missing)
    missing = upload(srv, crew.worker, MISSING)
    assert missing[0] == 404, missing
    for alarm_id in hidden:
        got = upload(srv, crew.worker, alarm_id)
        assert (got[0], got[1]) == (missing[0], missing[1]), (got, missing)
    # nothing happened to them, and no further alarm opened
    rows = new_alarms(srv, crew.worker.id, since)
    assert [int(r[0]) for r in rows] == hidden and all(r[6] is None for r in rows), rows
    assert int(srv.db.value("SELECT COUNT(*) FROM evidence WHERE alarm_id IN (?, ?)",
                            *hidden)) == 0
    # the worker's own red alert takes its recording, and its id is no hidden one
    mine = ok(red(srv, crew.worker.token), 201)
    assert ok(upload(srv, crew.worker, mine["alarm_id"]), 201)["kind"] == "audio"
    end_visits(srv, (crew.worker, v1))


# -- amber alerts --------------------------------------------------------------------------


def test_amber_deadline_passing_opens_an_alarm(srv, crew):
    now = clock_now(srv)
    a = ok(amber(srv, crew.buddy.token, alert_id=unique("amb-"), status="Meeting Mr B alone",
                 latitude=53.81, longitude=-1.56, accuracy=30, deadline=fmt_time(now + 15 * MIN)),
           201)
    assert a["state"] == "watching" and parse_time(a["deadline_at"]) == now + 15 * MIN, a
    assert a["location"]["latitude"] == 53.81 and a["location"]["accuracy"] == 30, a
    assert a["visit_id"] is None, a
    # a retry answers the first
    again = ok(amber(srv, crew.buddy.token, alert_id=a["alert_id"], status="other"), 200)
    assert again == a, (again, a)
    assert int(srv.db.value("SELECT COUNT(*) FROM positions WHERE worker_id = ? AND source = "
                            "'amber'", crew.buddy.id)) == 1
    since = last_alarm_id(srv)
    advance(srv, 15 * 60 - 1)
    assert new_alarms(srv, crew.buddy.id, since) == []
    advance(srv, 2)
    rows = new_alarms(srv, crew.buddy.id, since)
    assert [(int(r[1]), r[8]) for r in rows] == [(AMBER, str(a["id"]))], rows
    listed = amber_list(srv, crew.buddy.token)
    assert listed[0]["id"] == a["id"] and listed[0]["state"] == "alarmed", listed
    assert "alarm_id" not in listed[0], listed  # the alarm is not the worker's to see
    seen = amber_list(srv, crew.lm.token, "?worker_id=%d" % crew.buddy.id)
    assert seen[0]["alarm_id"] == int(rows[0][0]), seen
    # too late to clear: the same refusal with either code
    assert_error(srv.call("POST", "/api/v1/alerts/amber/%d/clear" % a["id"],
                          token=crew.buddy.token, body={}), 409)


def test_checkin_before_the_deadline_clears_amber(srv, crew):
    visit = start_visit(srv, crew.worker, minutes=60)
    now = clock_now(srv)
    first = ok(amber(srv, crew.worker.token, status="first", deadline=fmt_time(now + 10 * MIN)),
               201)
    # a new amber alert clears the one still watching and attaches to the visit
    a = ok(amber(srv, crew.worker.token, status="Mr A's flat, son is agitated",
                 deadline=fmt_time(now + 10 * MIN)), 201)
    assert a["visit_id"] == visit["id"] and a["state"] == "watching", a
    states = {x["id"]: x["state"] for x in amber_list(srv, crew.worker.token)}
    assert states[first["id"]] == "kept" and states[a["id"]] == "watching", states
    since = last_alarm_id(srv)
    advance(srv, 5 * 60)
    ok(visit_action(srv, crew.worker.token, visit["id"], "checkin"))
    got = [x for x in amber_list(srv, crew.worker.token) if x["id"] == a["id"]][0]
    assert got["state"] == "kept" and got["cleared_at"] == fmt_time(now + 5 * MIN), got
    advance(srv, 10 * 60)
    assert new_alarms(srv, crew.worker.id, since) == []
    end_visits(srv, (crew.worker, visit))
    # without a deadline an amber alert is kept from the start
    kept = ok(amber(srv, crew.worker.token, status="leaving"), 201)
    assert kept["state"] == "kept" and kept["deadline_at"] is None, kept


def test_amber_list_who_sees_what(srv, crew):
    ok(amber(srv, crew.outsider.token, status="at the depot", latitude=51.5, longitude=-0.12),
       201)
    own = amber_list(srv, crew.outsider.token)
    assert own[0]["location"]["latitude"] == 51.5 and own[0]["location_shared"] is True, own
    path = "?worker_id=%d" % crew.outsider.id
    # their own line manager, senior managers, operators, the LSMS: without consent, no place
    for who in (crew.other_lm, crew.sm, crew.operator, crew.lsms):
        items = amber_list(srv, who.token, path)
        assert items[0]["id"] == own[0]["id"], (who, items)
        assert items[0]["location"] is None and items[0]["location_shared"] is False, items
    # another team's line manager and a colleague do not see them
    for who in (crew.lm, crew.worker):
        assert_error(srv.call("GET", "/api/v1/alerts/amber" + path, token=who.token), 403)
    assert_error(srv.call("GET", "/api/v1/alerts/amber?worker_id=%d" % MISSING,
                          token=crew.sm.token), 404)
    ok(srv.call("PUT", "/api/v1/me/alert-profile", token=crew.outsider.token,
                body={"location_consent": True}))
    items = amber_list(srv, crew.other_lm.token, path)
    assert items[0]["location"]["latitude"] == 51.5, items
    # paging: newest first, before the last one shown
    ok(amber(srv, crew.outsider.token, status="second"), 201)
    page = ok(srv.call("GET", "/api/v1/alerts/amber?limit=1", token=crew.outsider.token))
    assert page["items"][0]["status"] == "second" and page["next_before"], page
    rest = amber_list(srv, crew.outsider.token, "?before=%d" % page["next_before"])
    assert rest[0]["status"] == "at the depot", rest


def test_concurrent_amber_alerts_with_one_alert_id_store_one(srv, crew):
    # A device retrying at once over two connections: one is stored (201), the other
    # answers it (200), on either backend.
    racer = new_account(srv, crew.admin, unique("rae"), ["worker"])
    for _ in range(6):
        alert_id = unique("race-")
        start, answers = threading.Barrier(2), [None, None]

        def post(i):
            start.wait()
            answers[i] = amber(srv, racer.token, alert_id=alert_id, status="at the door")

        threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a[0] for a in answers) == [200, 201], answers
        assert answers[0][1] == answers[1][1], answers
        assert srv.db.value("SELECT COUNT(*) FROM amber_alerts WHERE worker_id = ? AND "
                            "alert_id = ?", racer.id, alert_id) == "1"


def test_amber_in_another_organisation_is_invisible(srv, crew):
    org, oadmin, otp = create_org(srv, srv.admin(), unique("Other Org "), unique("oadmin"))
    token = activate(srv, oadmin["username"], otp)
    ok(amber(srv, token, status="elsewhere"), 201)
    assert_error(srv.call("GET", "/api/v1/alerts/amber?worker_id=%d" % oadmin["id"],
                          token=crew.sm.token), 404)
    mine = amber_list(srv, token)
    assert_error(srv.call("POST", "/api/v1/alerts/amber/%d/clear" % mine[0]["id"],
                          token=crew.worker.token, body={}), 404)


# -- positions -----------------------------------------------------------------------------


def test_positions_go_to_the_trail_only(srv, crew):
    now = clock_now(srv)
    got = ok(srv.call("POST", "/api/v1/positions", token=crew.lm.token,
                      body={"latitude": 53.0, "longitude": -1.0}), 201)
    assert got == {"received_at": fmt_time(now), "visit_id": None}, got
    visit = start_visit(srv, crew.buddy)
    got = ok(srv.call("POST", "/api/v1/positions", token=crew.buddy.token,
                      body={"latitude": 53.1, "longitude": -1.1, "accuracy": 8,
                            "at": fmt_time(now - 10 * S)}), 201)
    assert got["visit_id"] == visit["id"], got
    ok(srv.call("POST", "/api/v1/positions", token=crew.buddy.token,
                body={"latitude": 50.0, "longitude": -2.0, "at": fmt_time(now - HOUR)}), 201)
    rows = srv.db.query("SELECT source, visit_id, latitude FROM positions WHERE worker_id = ? "
                        "AND source = 'device' ORDER BY id", crew.buddy.id)
    assert [r[:2] for r in rows] == [["device", str(visit["id"])]] * 2, rows
    assert float(rows[0][2]) == 53.1, rows
    # the visit, seen by the worker, the line manager and in escalation notices, never
    # carries a device's fix: without consent the place is the worker's own
    for who in (crew.buddy, crew.lm):
        assert get_visit(srv, who.token, visit["id"])["last_location"] is None
    assert srv.db.value("SELECT last_latitude FROM visits WHERE id = ?", visit["id"]) is None
    ok(visit_action(srv, crew.buddy.token, visit["id"], "end", {"outcome": "safe"}))


# -- the alert profile ---------------------------------------------------------------------


def test_alert_profile_codes_and_consent(srv, crew):
    me = new_account(srv, crew.admin, unique("pia"), ["worker"])
    path = "/api/v1/me/alert-profile"
    fresh = ok(srv.call("GET", path, token=me.token))
    assert fresh == {"has_code": False, "has_duress_code": False, "location_consent": False,
                     "consent_changed_at": None,
                     "device": {"battery_pct": None, "battery_at": None, "tested_at": None,
                                "test_due_at": None}}, fresh
    # a duress code needs a normal one, and must differ from it
    assert_error(srv.call("PUT", path, token=me.token, body={"duress_code": "5555"}), 422,
                 field="duress_code")
    assert_error(srv.call("PUT", path, token=me.token,
                          body={"code": "73915846", "duress_code": "73915846"}), 422,
                 field="duress_code")
    set1 = ok(srv.call("PUT", path, token=me.token, body={"code": "73915846"}))
    assert set1["has_code"] is True and set1["has_duress_code"] is False, set1
    stored = srv.db.value("SELECT code_hash FROM alert_profiles WHERE user_id = ?", me.id)
    assert stored.startswith("$argon2id$") and "73915846" not in stored, stored
    # once set, changing a code needs the current one
    assert_error(srv.call("PUT", path, token=me.token, body={"duress_code": "2468"}), 422,
                 field="current_code")
    assert_error(srv.call("PUT", path, token=me.token,
                          body={"duress_code": "2468", "current_code": "0000"}), 422,
                 field="current_code")
    assert_error(srv.call("PUT", path, token=me.token,
                          body={"duress_code": "73915846", "current_code": "73915846"}), 422,
                 field="duress_code")
    set2 = ok(srv.call("PUT", path, token=me.token,
                       body={"duress_code": "2468", "current_code": "73915846"}))
    assert set2["has_duress_code"] is True, set2
    # consent is recorded with its time; a code is never answered
    now = advance(srv, 3)
    got = ok(srv.call("PUT", path, token=me.token, body={"location_consent": True}))
    assert got["location_consent"] is True and got["consent_changed_at"] == fmt_time(now), got
    text = str(ok(srv.call("GET", path, token=me.token)))
    assert "argon2" not in text and "73915846" not in text and "2468" not in text, text
    # the codes are never logged
    assert "73915846" not in srv.run.stderr()
    # clearing: the duress code goes first (or with the normal one)
    assert_error(srv.call("PUT", path, token=me.token,
                          body={"code": None, "current_code": "73915846"}), 422, field="code")
    cleared = ok(srv.call("PUT", path, token=me.token,
                          body={"code": None, "duress_code": None, "current_code": "73915846"}))
    assert cleared["has_code"] is False and cleared["has_duress_code"] is False, cleared
    assert cleared["location_consent"] is True, cleared
    audit = srv.db.query("SELECT detail FROM audit_events WHERE action = 'alert_profile.update' "
                         "AND target_id = ? ORDER BY id", me.id)
    assert [r[0] for r in audit] == ["code", "duress_code", "location_consent",
                                     "code,duress_code"], audit


# -- devices -------------------------------------------------------------------------------


def test_low_battery_tells_worker_and_line_manager_once_per_spell(srv, crew):
    since = last_outbox_id(srv)
    device = ok(srv.call("POST", "/api/v1/me/device", token=crew.twin.token,
                         body={"battery_pct": 80}))
    assert device["battery_pct"] == 80 and device["battery_at"] is not None, device
    assert outbox_users(srv, "device.low_battery", since) == []
    ok(srv.call("POST", "/api/v1/me/device", token=crew.twin.token, body={"battery_pct": 15}))
    told = outbox_users(srv, "device.low_battery", since)
    assert told == sorted([crew.twin.id, crew.lm.id]), told
    ok(srv.call("POST", "/api/v1/me/device", token=crew.twin.token, body={"battery_pct": 9}))
    assert outbox_users(srv, "device.low_battery", since) == told
    # charged, then low again: a new spell
    advance(srv, 60)
    ok(srv.call("POST", "/api/v1/me/device", token=crew.twin.token, body={"battery_pct": 95}))
    ok(srv.call("POST", "/api/v1/me/device", token=crew.twin.token, body={"battery_pct": 20}))
    assert len(outbox_users(srv, "device.low_battery", since)) == 4
    profile = ok(srv.call("GET", "/api/v1/me/alert-profile", token=crew.twin.token))
    assert profile["device"]["battery_pct"] == 20, profile


def device_team(server_factory):
    """A server testing devices daily, a line manager and their team's worker."""
    s = server_factory(extra_args=clock_args())
    admin = s.admin()
    lm = new_account(s, admin, "dev-lm", ["manager"])
    team = ok(s.call("POST", "/api/v1/teams", token=admin,
                     body={"name": "Devices", "line_manager_id": lm.id}), 201)
    worker = new_account(s, admin, "dev-worker", ["worker"], team_ids=[team["id"]])
    ok(s.call("PUT", "/api/v1/alarm-settings", token=admin, body={"device_test_days": 1}))
    return s, admin, lm, team, worker


def device_of(s, worker):
    return ok(s.call("GET", "/api/v1/me/alert-profile", token=worker.token))["device"]


def test_device_never_tested_is_told(server_factory):
    s, admin, lm, team, worker = device_team(server_factory)
    now = clock_now(s)
    ok(s.call("PUT", "/api/v1/me/alert-profile", token=worker.token,
              body={"location_consent": True}))
    assert parse_time(device_of(s, worker)["test_due_at"]) == now + 24 * HOUR
    # the first report of a device, and a first red alert, start the clock too
    reporter = new_account(s, admin, "dev-reporter", ["worker"], team_ids=[team["id"]])
    ok(s.call("POST", "/api/v1/me/device", token=reporter.token, body={"battery_pct": 90}))
    assert parse_time(device_of(s, reporter)["test_due_at"]) == now + 24 * HOUR
    alerter = new_account(s, admin, "dev-alerter", ["worker"], team_ids=[team["id"]])
    ok(red(s, alerter.token), 201)
    assert parse_time(device_of(s, alerter)["test_due_at"]) == now + 24 * HOUR
    advance(s, 24 * 3600 - 1)
    assert outbox_users(s, "device.not_tested") == []
    s.admin_token = None  # the session expired meanwhile
    advance(s, 2)
    told = sorted([worker.id, reporter.id, alerter.id] + [lm.id] * 3)
    assert outbox_users(s, "device.not_tested") == told
    subjects = s.db.query("SELECT DISTINCT subject FROM outbox WHERE event = 'device.not_tested'")
    assert subjects == [["Device never tested"]], subjects
    # told again a day later while still untested
    advance(s, 24 * 3600)
    assert len(outbox_users(s, "device.not_tested")) == 2 * len(told)


def test_device_test_closes_as_test_and_is_told_when_overdue(server_factory):
    s, admin, lm, team, worker = device_team(server_factory)
    now = clock_now(s)
    tested = ok(s.call("POST", "/api/v1/alerts/test", token=worker.token,
                       body={"alert_id": "t-1"}), 201)
    assert tested["outcome"] == "test" and tested["tested_at"] == fmt_time(now), tested
    rows = s.db.query("SELECT kind, state, outcome FROM alarms WHERE id = ?", tested["alarm_id"])
    assert rows == [[str(TEST), str(CLOSED), "4"]], rows
    again = ok(s.call("POST", "/api/v1/alerts/test", token=worker.token,
                      body={"alert_id": "t-1"}), 200)
    assert again["alarm_id"] == tested["alarm_id"], again
    device = ok(s.call("GET", "/api/v1/me/alert-profile", token=worker.token))["device"]
    assert device["tested_at"] == fmt_time(now), device
    assert parse_time(device["test_due_at"]) == now + 24 * HOUR, device
    advance(s, 24 * 3600 - 1)
    assert outbox_users(s, "device.not_tested") == []
    s.admin_token = None  # the session expired meanwhile
    advance(s, 2)
    assert outbox_users(s, "device.not_tested") == sorted([worker.id, lm.id])


# -- hostile input -------------------------------------------------------------------------


def hostile_cases(now):
    future = fmt_time(now + 6 * MIN)
    huge = "x" * 20000
    return [
        ("/api/v1/alerts/red", {"alert_id": ""}, "alert_id"),
        ("/api/v1/alerts/red", {"alert_id": "a" * 65}, "alert_id"),
        ("/api/v1/alerts/red", {"alert_id": "bad id"}, "alert_id"),
        ("/api/v1/alerts/red", {"alert_id": "é"}, "alert_id"),
        ("/api/v1/alerts/red", {"alert_id": 7}, "alert_id"),
        ("/api/v1/alerts/red", {"message": huge}, "message"),
        ("/api/v1/alerts/red", {"message": "a\u0000b"}, None),
        ("/api/v1/alerts/red", {"message": ["x"]}, "message"),
        ("/api/v1/alerts/red", {"latitude": 91, "longitude": 0}, "latitude"),
        ("/api/v1/alerts/red", {"latitude": 10, "longitude": -180.5}, "longitude"),
        ("/api/v1/alerts/red", {"latitude": 10}, "longitude"),
        ("/api/v1/alerts/red", {"longitude": 10}, "latitude"),
        ("/api/v1/alerts/red", {"latitude": "53", "longitude": "1"}, "latitude"),
        ("/api/v1/alerts/red", {"latitude": True, "longitude": 1}, "latitude"),
        ("/api/v1/alerts/red", {"accuracy": 5}, "accuracy"),
        ("/api/v1/alerts/red", {"latitude": 1, "longitude": 1, "accuracy": -1}, "accuracy"),
        ("/api/v1/alerts/red", {"latitude": 1, "longitude": 1, "accuracy": 1e9}, "accuracy"),
        ("/api/v1/alerts/red", {"latitude": 1, "longitude": 1, "location_at": future},
         "location_at"),
        ("/api/v1/alerts/red", {"latitude": 1, "longitude": 1, "location_at": "yesterday"},
         "location_at"),
        ("/api/v1/alerts/red", {"kind": "red"}, "kind"),
        ("/api/v1/alerts/test", {"alert_id": "a/b"}, "alert_id"),
        ("/api/v1/alerts/test", {"message": "x"}, "message"),
        ("/api/v1/alerts/amber", {}, "status"),
        ("/api/v1/alerts/amber", {"status": ""}, "status"),
        ("/api/v1/alerts/amber", {"status": "x" * 501}, "status"),
        ("/api/v1/alerts/amber", {"status": "ok", "deadline": fmt_time(now - MIN)}, "deadline"),
        ("/api/v1/alerts/amber", {"status": "ok", "deadline": fmt_time(now + 25 * HOUR)},
         "deadline"),
        ("/api/v1/alerts/amber", {"status": "ok", "deadline": 600}, "deadline"),
        ("/api/v1/alerts/amber", {"status": "ok", "latitude": -90.01, "longitude": 0},
         "latitude"),
        ("/api/v1/alerts/amber", {"status": "ok", "alert_id": "x" * 1000}, "alert_id"),
        ("/api/v1/alerts/amber", {"status": "ok", "colour": "amber"}, "colour"),
        ("/api/v1/positions", {}, "latitude"),
        ("/api/v1/positions", {"latitude": 1}, "longitude"),
        ("/api/v1/positions", {"latitude": 1, "longitude": 1, "at": future}, "at"),
        ("/api/v1/positions", {"latitude": 1, "longitude": 1, "at": None, "x": 1}, "x"),
        ("/api/v1/positions", {"latitude": 1e308, "longitude": 1}, "latitude"),
        ("/api/v1/me/device", {}, "battery_pct"),
        ("/api/v1/me/device", {"battery_pct": 101}, "battery_pct"),
        ("/api/v1/me/device", {"battery_pct": -1}, "battery_pct"),
        ("/api/v1/me/device", {"battery_pct": 50.5}, "battery_pct"),
        ("/api/v1/me/device", {"battery_pct": "50"}, "battery_pct"),
        ("/api/v1/me/device", {"battery_pct": 50, "charging": True}, "charging"),
        ("/api/v1/alarms/%d/cancel", {"code": CODE, "extra": 1}, "extra"),
        ("/api/v1/alarms/%d/cancel", {"code": 1234}, "code"),
        ("/api/v1/alarms/%d/cancel", {"code": huge}, "code"),
    ]


def test_hostile_input_on_every_route(srv, crew):
    hostile = new_account(srv, crew.admin, unique("hal"), ["worker"])
    since = last_alarm_id(srv)
    target = ok(red(srv, hostile.token), 201)["alarm_id"]
    for path, body, field in hostile_cases(clock_now(srv)):
        if "%d" in path:
            path = path % target
        resp = srv.call("POST", path, token=hostile.token, body=body)
        if field is None:  # refused by the JSON parser itself
            assert resp[0] in (400, 422), (path, body, resp)
        else:
            assert_error(resp, 422, field=field)
    # nothing was stored but the one alarm
    assert [int(r[0]) for r in new_alarms(srv, hostile.id, since)] == [target]
    assert amber_list(srv, hostile.token) == []
    assert srv.db.value("SELECT COUNT(*) FROM positions WHERE worker_id = ?", hostile.id) == "0"
    # the profile
    path = "/api/v1/me/alert-profile"
    for body, field in (({"code": "123"}, "code"), ({"code": "1234567890123"}, "code"),
                        ({"code": "12a4"}, "code"), ({"code": 1234}, "code"),
                        ({"duress_code": ["1234"]}, "duress_code"),
                        ({"location_consent": "yes"}, "location_consent"),
                        ({"current_code": "x" * 20000}, "current_code"),
                        ({"code_hash": "x"}, "code_hash")):
        assert_error(srv.call("PUT", path, token=hostile.token, body=body), 422, field=field)
    assert ok(srv.call("GET", path, token=hostile.token))["has_code"] is False
    # queries and paths
    for query in ("?worker_id=abc", "?worker_id=-1", "?limit=0", "?limit=201", "?before=x"):
        assert_error(srv.call("GET", "/api/v1/alerts/amber" + query, token=hostile.token), 400)
    assert_error(srv.call("POST", "/api/v1/alerts/amber/abc/clear", token=hostile.token,
                          body={}), 404)
    assert_error(srv.call("POST", "/api/v1/alerts/amber/%d/clear" % MISSING,
                          token=hostile.token, body={}), 404)
    assert_error(srv.call("POST", "/api/v1/alarms/abc/cancel", token=hostile.token,
                          body={"code": CODE}), 404)
    # no credentials
    for path in ("/api/v1/alerts/red", "/api/v1/alerts/test", "/api/v1/positions"):
        assert_error(srv.call("POST", path, body={}), 401)
    # a body that is not JSON
    assert_error(srv.call("POST", "/api/v1/alerts/red", token=hostile.token, raw="{"), 400)
    assert_error(srv.call("POST", "/api/v1/alerts/red", token=hostile.token, raw="[]"), 400)

"""Alarms on the live event stream and in the notices of the red-alert path: who sees an
alarm's events (never its own worker, nobody of another organisation), re-notification
of an unclaimed alarm until it is claimed, a passed amber deadline opening an alarm, a
device test, replays with Last-Event-ID under the same rule, and the alarm settings'
hostile input. Runs on both backends, on a simulated clock."""

import datetime

from conftest import (activate, advance, assert_error, clock_args, clock_now, create_org,
                      fmt_time, make_crew, new_account, ok, parse_time, unique)
from sse import EventStream

MIN = datetime.timedelta(minutes=1)

ALARM_FIELDS = {"id", "kind", "at", "alarm_id", "worker_id", "visit_id", "by", "alarm_kind", "state",
                "duress", "priority", "opened_at", "claimed_by", "cancelled", "outcome",
                "renotify_count", "change", "contact", "detail"}


def stream(srv, token, **kw):
    s = EventStream(srv.port, token, **kw)
    assert s.status == 200, (s.status, s.body)
    return s


def red_alert(srv, token, **body):
    body.setdefault("alert_id", unique("alert-"))
    answer = ok(srv.call("POST", "/api/v1/alerts/red", token=token, body=body), 201)
    assert answer["duplicate"] is False and answer["alert_id"] == body["alert_id"], answer
    return answer


def alarm_events(events):
    return [e for e in events if e.kind.startswith("alarm.")]


def check_shape(e, crew):
    """An alarm event: the documented fields only, and nothing personal."""
    assert e.data["id"] == e.id and e.data["kind"] == e.kind, e
    assert set(e.data) <= ALARM_FIELDS, (e.kind, set(e.data) - ALARM_FIELDS)
    parse_time(e.data["at"])
    text = repr(e.data)
    for secret in (crew.WORKER_NAME, crew.WORKER_PHONE, "53.80", "-1.55"):
        assert secret not in text, (secret, e)


def other_org_operator(srv):
    """An operator of a second organisation."""
    _, admin, otp = create_org(srv, srv.admin(), unique("Other Trust "), unique("oadmin"))
    admin_token = activate(srv, admin["username"], otp)
    return new_account(srv, admin_token, unique("otherop"), ["operator"])


def outbox(srv, alarm_event, user_id):
    return int(srv.db.value("SELECT count(*) FROM outbox WHERE event = ? AND user_id = ?",
                            alarm_event, user_id))


def test_red_alert_reaches_those_who_see_the_alarm_and_no_one_else(server_factory, smtp_sink):
    srv = server_factory(extra_args=clock_args(smtp_sink))
    crew = make_crew(srv)
    outsider_op = other_org_operator(srv)
    watchers = {"operator": crew.operator, "lm": crew.lm, "sm": crew.sm, "worker": crew.worker,
                "other_lm": crew.other_lm, "buddy": crew.buddy, "other_org": outsider_op}
    streams = {k: stream(srv, a.token) for k, a in watchers.items()}
    try:
        t0 = clock_now(srv)
        answer = red_alert(srv, crew.worker.token, latitude=53.80, longitude=-1.55)
        alarm_id = answer["alarm_id"]
        for who in ("operator", "lm", "sm"):
            (e,) = streams[who].take(1)
            assert e.kind == "alarm.opened", (who, e)
            check_shape(e, crew)
            d = e.data
            assert (d["alarm_id"], d["worker_id"], d["alarm_kind"], d["state"], d["duress"]) == \
                (alarm_id, crew.worker.id, "red", "open", False), d
            assert (d["by"], d["claimed_by"], d["cancelled"], d["visit_id"]) == \
                (crew.worker.id, None, False, None), d
            assert parse_time(d["opened_at"]) == t0 and d["priority"] == 1, d
        # the worker never sees alarm events, nor the other team's manager, nor a buddy
        # of no visit of theirs, nor another organisation
        for who in ("worker", "other_lm", "buddy", "other_org"):
            assert alarm_events(streams[who].drain(0.5)) == [], who
    finally:
        for s in streams.values():
            s.close()
    # the path (operators and buddy by default) was told; never the worker
    assert outbox(srv, "alarm.notify", crew.operator.id) >= 1
    assert outbox(srv, "alarm.notify", crew.worker.id) == 0
    assert outbox(srv, "alarm.notify", outsider_op.id) == 0
    told = srv.db.query("SELECT detail FROM alarm_events WHERE alarm_id = ? AND kind = ?",
                        alarm_id, "notified")
    assert ["user %d" % crew.operator.id] in told, told
    # the notice carries the pack: the operator needs the worker's name and phone, and
    # the position, which the worker has not consented to share
    advance(srv, 0)
    (mail,) = smtp_sink.to(crew.mail_of("operator"))
    assert mail.subject == "RED ALERT: %s needs help now" % crew.WORKER_NAME, mail
    assert crew.WORKER_PHONE in mail.text() and "53.80" not in mail.text(), mail.text()
    assert "not shared" in mail.text(), mail.text()
    assert smtp_sink.to(crew.mail_of("worker")) == []
    # a retry of the same alert id opens no second alarm and tells nobody again
    again = ok(srv.call("POST", "/api/v1/alerts/red", token=crew.worker.token,
                        body={"alert_id": answer["alert_id"]}), 200)
    assert (again["alarm_id"], again["duplicate"]) == (alarm_id, True), again
    assert srv.db.value("SELECT count(*) FROM alarms") == "1"
    assert outbox(srv, "alarm.notify", crew.operator.id) == 1


def test_buddy_of_the_active_visit_sees_and_is_told(server_factory, smtp_sink):
    srv = server_factory(extra_args=clock_args(smtp_sink))
    crew = make_crew(srv)
    t0 = clock_now(srv)
    visit = ok(srv.call("POST", "/api/v1/visits", token=crew.worker.token,
                        body={"address": "12 Oak Street, Leeds", "start": True,
                              "buddy_id": crew.buddy.id,
                              "expected_departure": fmt_time(t0 + 60 * MIN)}), 201)
    ok(srv.call("POST", "/api/v1/visits/%d/buddy/accept" % visit["id"], token=crew.buddy.token))
    with stream(srv, crew.buddy.token) as s:
        alarm_id = red_alert(srv, crew.worker.token)["alarm_id"]
        (e,) = alarm_events(s.until(lambda e: e.kind == "alarm.opened"))
        assert (e.data["alarm_id"], e.data["visit_id"]) == (alarm_id, visit["id"]), e
    assert outbox(srv, "alarm.notify", crew.buddy.id) >= 1
    # the visit's address is in the pack the buddy got
    advance(srv, 0)
    (mail,) = [m for m in smtp_sink.to(crew.mail_of("buddy")) if "RED ALERT" in m.subject]
    assert "12 Oak Street" in mail.text() and crew.KIN["name"] in mail.text(), mail.text()


def test_unclaimed_alarm_renotifies_until_claimed(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    with stream(srv, crew.operator.token) as s:
        alarm_id = red_alert(srv, crew.worker.token)["alarm_id"]
        assert [e.kind for e in s.take(1)] == ["alarm.opened"]
        advance(srv, 59)
        assert alarm_events(s.drain(0.3)) == [], "re-notified before the interval"
        advance(srv, 1)
        (e,) = s.take(1)
        assert (e.kind, e.data["alarm_id"], e.data["renotify_count"]) == \
            ("alarm.renotified", alarm_id, 1), e
        check_shape(e, crew)
        advance(srv, 60)
        (e,) = s.take(1)
        assert (e.kind, e.data["renotify_count"]) == ("alarm.renotified", 2), e
        assert outbox(srv, "alarm.notify", crew.operator.id) == 3
        ok(srv.call("POST", "/api/v1/alarms/%d/claim" % alarm_id, token=crew.operator.token))
        (e,) = s.take(1)
        assert (e.kind, e.data["claimed_by"], e.data["state"]) == \
            ("alarm.claimed", crew.operator.id, "claimed"), e
        advance(srv, 300)
        assert alarm_events(s.drain(0.5)) == [], "re-notified after the claim"
    assert srv.db.value("SELECT renotify_count FROM alarms WHERE id = ?", alarm_id) == "2"
    assert outbox(srv, "alarm.notify", crew.operator.id) == 3
    kinds = [k for (k,) in srv.db.query(
        "SELECT kind FROM alarm_events WHERE alarm_id = ? ORDER BY id", alarm_id)]
    assert kinds.count("renotified") == 2 and kinds[0] == "opened", kinds


def test_duress_after_a_normal_cancel_is_told_and_renotified(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    ok(srv.call("PUT", "/api/v1/alarm-settings", token=crew.admin,
                body={"path": ["operators", "line_manager"]}))
    ok(srv.call("PUT", "/api/v1/me/alert-profile", token=crew.worker.token,
                body={"code": "4821", "duress_code": "9173"}))
    path = "/api/v1/alarms/%d/cancel"
    with stream(srv, crew.operator.token) as s:
        alarm_id = red_alert(srv, crew.worker.token)["alarm_id"]
        s.take(1)
        advance(srv, 10)
        ok(srv.call("POST", path % alarm_id, token=crew.worker.token, body={"code": "4821"}))
        (e,) = s.take(1)
        assert (e.data["change"], e.data["priority"]) == ("cancelled", 4), e
        advance(srv, 5)
        # forced to cancel again: the answer a second normal cancel gets ...
        again = srv.call("POST", path % alarm_id, token=crew.worker.token,
                         body={"code": "9173"})
        assert again[0] == 409 and "already cancelled" in again[1]["error"]["message"], again
        # ... but the alarm is duress now, at the top again, and the path is told
        (e,) = s.take(1)
        assert (e.data["change"], e.data["duress"], e.data["priority"]) == \
            ("duress", True, 1), e
        now = clock_now(srv)
        row = srv.db.query("SELECT duress, priority, renotify_at FROM alarms WHERE id = ?",
                           alarm_id)[0]
        assert row == ["1", "1", str(int(now.timestamp() * 1000) + 60000)], row
        told = srv.db.query("SELECT user_id, subject, idempotency_key FROM outbox WHERE "
                            "event = 'alarm.notify' AND subject LIKE 'NOW %' ORDER BY user_id")
        assert sorted(int(u) for u, _, _ in told) == sorted([crew.operator.id, crew.lm.id]), told
        for _, subject, key in told:
            assert subject == ("NOW SILENT ALARM (duress code): %s; do not call the worker "
                               "openly" % crew.WORKER_NAME), subject
            assert ":open:" not in key, key
        assert outbox(srv, "alarm.notify", crew.worker.id) == 0
        # and re-notified while unclaimed, though cancelled
        advance(srv, 59)
        assert alarm_events(s.drain(0.3)) == []
        advance(srv, 1)
        (e,) = s.take(1)
        assert (e.kind, e.data["renotify_count"]) == ("alarm.renotified", 1), e
    assert outbox(srv, "alarm.notify", crew.operator.id) == 3
    subject = srv.db.value("SELECT subject FROM outbox WHERE user_id = ? AND event = "
                           "'alarm.notify' ORDER BY id DESC LIMIT 1", crew.operator.id)
    assert subject.startswith("STILL UNCLAIMED (1): SILENT ALARM"), subject


def test_renotify_interval_follows_the_settings(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    ok(srv.call("PUT", "/api/v1/alarm-settings", token=crew.admin,
                body={"renotify_interval": 300, "path": ["operators", "line_manager"]}))
    with stream(srv, crew.operator.token) as s:
        red_alert(srv, crew.worker.token)
        s.take(1)
        advance(srv, 120)
        assert alarm_events(s.drain(0.3)) == []
        advance(srv, 180)
        assert [e.kind for e in s.take(1)] == ["alarm.renotified"]
    # the line manager is on the path when it opens, but only operators are told again
    assert outbox(srv, "alarm.notify", crew.lm.id) == 1
    assert outbox(srv, "alarm.notify", crew.operator.id) == 2


def test_passed_amber_deadline_opens_an_amber_alarm(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    t0 = clock_now(srv)
    amber = ok(srv.call("POST", "/api/v1/alerts/amber", token=crew.worker.token,
                        body={"status": "Going into a difficult meeting at the depot",
                              "deadline": fmt_time(t0 + 10 * MIN),
                              "latitude": 53.80, "longitude": -1.55}), 201)
    with stream(srv, crew.operator.token) as s, stream(srv, crew.worker.token) as mine:
        advance(srv, 9 * 60)
        assert alarm_events(s.drain(0.3)) == []
        advance(srv, 61)
        (e,) = s.take(1)
        assert (e.kind, e.data["alarm_kind"], e.data["by"], e.data["priority"]) == \
            ("alarm.opened", "amber", None, 2), e
        check_shape(e, crew)
        assert alarm_events(mine.drain(0.3)) == []
    row = srv.db.query("SELECT state, alarm_id FROM amber_alerts WHERE id = ?", amber["id"])[0]
    assert row == ["3", str(e.data["alarm_id"])], row
    assert srv.db.query("SELECT source, amber_alert_id FROM alarms WHERE id = ?",
                        e.data["alarm_id"]) == [["amber", str(amber["id"])]]
    subject = srv.db.value("SELECT subject FROM outbox WHERE event = ? AND user_id = ?",
                           "alarm.notify", crew.operator.id)
    assert subject == "Amber alert deadline passed: %s" % crew.WORKER_NAME, subject


def test_amber_cleared_in_time_opens_nothing(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    t0 = clock_now(srv)
    amber = ok(srv.call("POST", "/api/v1/alerts/amber", token=crew.worker.token,
                        body={"status": "On the ward", "deadline": fmt_time(t0 + 10 * MIN)}),
               201)
    ok(srv.call("POST", "/api/v1/alerts/amber/%d/clear" % amber["id"], token=crew.worker.token))
    advance(srv, 11 * 60)
    assert srv.db.value("SELECT count(*) FROM alarms") == "0"


def test_device_test_tells_only_the_worker_and_closes(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    t0 = clock_now(srv)
    with stream(srv, crew.operator.token) as s:
        ok(srv.call("POST", "/api/v1/alerts/test", token=crew.worker.token,
                    body={"alert_id": unique("test-")}), 201)
        events = s.take(2)
        assert [(e.kind, e.data["alarm_kind"], e.data["state"]) for e in events] == \
            [("alarm.opened", "test", "closed"), ("alarm.closed", "test", "closed")], events
        assert events[1].data["outcome"] == "test"
    assert outbox(srv, "alarm.test", crew.worker.id) == 1
    assert int(srv.db.value("SELECT count(*) FROM outbox WHERE user_id <> ?",
                            crew.worker.id)) == 0
    tested, due = srv.db.query("SELECT device_tested_at, test_due_at FROM alert_profiles "
                               "WHERE user_id = ?", crew.worker.id)[0]
    start_ms = int(t0.timestamp() * 1000)
    assert int(tested) == start_ms and int(due) == start_ms + 30 * 86400 * 1000


def test_replay_applies_the_alarm_rule(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    outsider_op = other_org_operator(srv)
    with stream(srv, crew.operator.token) as s:
        alarm_id = red_alert(srv, crew.worker.token)["alarm_id"]
        (opened,) = s.take(1)
    before = opened.id - 1
    seen = {}
    for who, acct in (("operator", crew.operator), ("lm", crew.lm), ("worker", crew.worker),
                      ("other_lm", crew.other_lm), ("other_org", outsider_op)):
        with stream(srv, acct.token, last_event_id=before) as s:
            seen[who] = [(e.kind, e.data.get("alarm_id")) for e in alarm_events(s.drain(0.5))]
    assert seen["operator"] == [("alarm.opened", alarm_id)], seen
    assert seen["lm"] == [("alarm.opened", alarm_id)], seen
    assert seen["worker"] == [] and seen["other_lm"] == [] and seen["other_org"] == [], seen


def test_alarm_settings_hostile_input(server):
    srv = server
    admin = srv.admin()
    worker = new_account(srv, admin, unique("w"), ["worker"])
    cases = [
        ({"path": ["operators", "nobody"]}, "path[1]"),
        ({"path": []}, "path"),
        ({"path": ["operators"] * 9}, "path"),
        ({"path": [{"user": 0}]}, "path[0]"),
        ({"path": [{"user": 1, "channel": 2}]}, "path[0]"),
        ({"path": ["user"]}, "path[0]"),
        ({"renotify_interval": 9}, "renotify_interval"),
        ({"renotify_interval": 3601}, "renotify_interval"),
        ({"renotify_interval": "60"}, "renotify_interval"),
        ({"cancel_window": 601}, "cancel_window"),
        ({"false_alarm_limit": 0}, "false_alarm_limit"),
        ({"false_alarm_period_days": 366}, "false_alarm_period_days"),
        ({"police_false_limit": 11}, "police_false_limit"),
        ({"device_test_days": -1}, "device_test_days"),
        ({"low_battery_pct": 101}, "low_battery_pct"),
        ({"trail_minutes": 1441}, "trail_minutes"),
        ({"trail_minutes": 1.5}, "trail_minutes"),
        ({"bogus": 1}, "bogus"),
    ]
    for body, field in cases:
        assert_error(srv.call("PUT", "/api/v1/alarm-settings", token=admin, body=body), 422,
                     "invalid_field", field=field)
    got = ok(srv.call("GET", "/api/v1/alarm-settings", token=admin))
    assert got["path"] == ["operators", "buddy"] and got["renotify_interval"] == 60, got
    assert (got["cancel_window"], got["false_alarm_limit"], got["false_alarm_period_days"],
            got["police_false_limit"], got["device_test_days"], got["low_battery_pct"],
            got["trail_minutes"]) == (60, 3, 90, 3, 30, 20, 120), got
    put = ok(srv.call("PUT", "/api/v1/alarm-settings", token=admin,
                      body={"path": ["operators", {"user": worker.id}, "senior_manager"]}))
    assert put["path"] == ["operators", {"user": worker.id}, "senior_manager"], put

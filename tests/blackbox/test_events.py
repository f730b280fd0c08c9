"""The live event stream, GET /api/v1/events (Server-Sent Events), on one node: what each
change of a visit or case sends, in order and with ids; who sees what; resuming with
Last-Event-ID; the limit on streams; hostile input; and streams ending at shutdown.
Runs on both backends."""

import datetime
import socket
import time

from conftest import (PASSWORD, activate, advance, assert_error, call_url, clock_args,
                      clock_now, create_org, create_visit, fmt_time, login, make_crew,
                      new_account, ok, parse_time, unique, visit_action, wait_until)
from sse import EventStream

MIN = datetime.timedelta(minutes=1)

VISIT_FIELDS = {"id", "kind", "at", "visit_id", "worker_id", "by", "state", "deadline_at",
                "expected_departure", "outcome"}
CASE_FIELDS = {"id", "kind", "at", "escalation_id", "visit_id", "worker_id", "by", "state",
               "level", "level_contact", "level_due_at", "outcome", "told_user_ids",
               "told_channel_id"}


def stream(srv, token, **kw):
    s = EventStream(srv.port, token, **kw)
    assert s.status == 200, (s.status, s.body)
    return s


def start_visit(srv, token, t0, **fields):
    fields.setdefault("address", "12 Oak Street, Leeds")
    fields.setdefault("expected_departure", fmt_time(t0 + 30 * MIN))
    return create_visit(srv, token, start=True, **fields)


def check_shape(e, raw_secrets=()):
    """An event's data: its id and kind as in the id: and event: lines, only the documented
    fields, a time in the API's format; nothing personal."""
    assert e.data["id"] == e.id and e.data["kind"] == e.kind, e
    allowed = VISIT_FIELDS if e.kind.startswith("visit.") else CASE_FIELDS
    assert set(e.data) <= allowed, (e.kind, set(e.data) - allowed)
    parse_time(e.data["at"])
    text = repr(e.data)
    for secret in raw_secrets:
        assert secret not in text, (secret, e)


# -- what a visit's life sends -------------------------------------------------------------


def test_a_visit_and_its_case_send_their_events_in_order(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    t0 = clock_now(srv)
    streams = {who: stream(srv, getattr(crew, who).token) for who in ("worker", "buddy", "lm")}
    try:
        visit = start_visit(srv, crew.worker.token, t0, buddy_id=crew.buddy.id)
        ok(visit_action(srv, crew.buddy.token, visit["id"], "buddy/accept"))
        ok(visit_action(srv, crew.worker.token, visit["id"], "checkin",
                        {"note": "all fine", "latitude": 53.8, "longitude": -1.55}))
        # the deadline passes: the case opens at the buddy's level, then climbs
        advance(srv, 31 * 60)
        advance(srv, 10 * 60)
        case_id = ok(srv.call("GET", "/api/v1/escalations?visit_id=%d" % visit["id"],
                              token=crew.lm.token))["items"][0]["id"]
        ok(srv.call("POST", "/api/v1/escalations/%d/acknowledge" % case_id,
                    token=crew.lm.token))
        ok(srv.call("POST", "/api/v1/escalations/%d/resolve" % case_id, token=crew.lm.token,
                    body={"outcome": "safe", "how": "phoned her, she is fine"}))
        ok(visit_action(srv, crew.worker.token, visit["id"], "end", {"outcome": "safe"}))

        expected = ["visit.started", "visit.checkin", "visit.overdue", "escalation.opened",
                    "escalation.level", "escalation.level", "escalation.acknowledged",
                    "escalation.resolved", "visit.checkin", "visit.closed"]
        got = {who: s.take(len(expected)) for who, s in streams.items()}
        events = got["lm"]
        assert [e.kind for e in events] == expected, events
        ids = [e.id for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
        # everyone who sees the visit has the same events with the same ids
        for who in ("worker", "buddy"):
            assert [(e.id, e.kind) for e in got[who]] == [(e.id, e.kind) for e in events], who
        secrets = ("Oak Street", crew.WORKER_NAME, crew.WORKER_PHONE, "all fine", "53.8",
                   "phoned her")
        for e in events:
            check_shape(e, secrets)
            assert e.data["visit_id"] == visit["id"] and e.data["worker_id"] == crew.worker.id
            assert parse_time(e.data["at"]) >= t0, e

        by_kind = {}
        for e in events:
            by_kind.setdefault(e.kind, []).append(e.data)
        started, checkin = by_kind["visit.started"][0], by_kind["visit.checkin"][0]
        assert started["by"] == crew.worker.id and started["state"] == "active", started
        assert started["deadline_at"] == visit["deadline_at"], started
        assert checkin["by"] == crew.worker.id, checkin
        overdue = by_kind["visit.overdue"][0]
        assert overdue["by"] is None and overdue["deadline_at"] == visit["deadline_at"], overdue
        assert parse_time(overdue["at"]) >= parse_time(visit["deadline_at"]), overdue
        opened = by_kind["escalation.opened"][0]
        assert opened["escalation_id"] == case_id and opened["level"] == 0, opened
        assert opened["level_contact"] == "buddy", opened
        first, second = by_kind["escalation.level"]
        assert (first["level"], first["told_user_ids"]) == (0, [crew.buddy.id]), first
        assert (second["level"], second["level_contact"]) == (1, "line_manager"), second
        assert second["told_user_ids"] == [crew.lm.id], second
        assert by_kind["escalation.acknowledged"][0]["by"] == crew.lm.id
        resolved = by_kind["escalation.resolved"][0]
        assert (resolved["outcome"], resolved["by"], resolved["state"]) == \
            ("safe", crew.lm.id, "resolved"), resolved
        # confirmed safe by the line manager: a check-in on the worker's behalf
        assert by_kind["visit.checkin"][1]["by"] == crew.lm.id
        closed = by_kind["visit.closed"][0]
        assert (closed["outcome"], closed["state"], closed["deadline_at"]) == \
            ("safe", "closed", None), closed
        for s in streams.values():
            assert s.drain(0.3) == []
    finally:
        for s in streams.values():
            s.close()


def test_extend_withdraw_and_cancel(server):
    srv = server
    crew = make_crew(srv)
    t0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    with stream(srv, crew.worker.token) as s:
        visit = start_visit(srv, crew.worker.token, t0)
        ok(visit_action(srv, crew.worker.token, visit["id"], "extend",
                        {"by": 600, "reason": "the patient needed more time"}))
        ok(visit_action(srv, crew.worker.token, visit["id"], "end", {"outcome": "withdrawn"}))
        planned = create_visit(srv, crew.worker.token, address="1 Elm Road",
                               expected_departure=fmt_time(t0 + 60 * MIN))
        ok(visit_action(srv, crew.worker.token, planned["id"], "end", {"outcome": "cancelled"}))
        events = s.take(4)
        assert [e.kind for e in events] == ["visit.started", "visit.extended", "visit.closed",
                                            "visit.closed"], events
        for e in events:
            check_shape(e, ("the patient needed", "Elm Road"))
        extended = events[1].data
        assert parse_time(extended["expected_departure"]) == t0 + 40 * MIN, extended
        assert events[2].data["outcome"] == "withdrawn"
        assert (events[3].data["visit_id"], events[3].data["outcome"]) == \
            (planned["id"], "cancelled")
        assert s.drain(0.3) == []


def test_an_api_key_opens_a_stream_and_the_answer_is_an_event_stream(server):
    crew = make_crew(server)
    key = ok(server.call("POST", "/api/v1/api-keys", token=crew.worker.token,
                         body={"name": "pendant 42"}), 201)["key"]
    with stream(server, key) as s:
        assert s.headers["content-type"].startswith("text/event-stream"), s.headers
        assert s.headers.get("cache-control") == "no-store", s.headers
        t0 = datetime.datetime.now(datetime.timezone.utc)
        visit = start_visit(server, crew.worker.token, t0)
        e = s.next()
        assert (e.kind, e.data["visit_id"]) == ("visit.started", visit["id"])


# -- who sees what ---------------------------------------------------------------------------


def test_each_sees_the_events_of_the_visits_they_see_and_nothing_else(server):
    srv = server
    crew = make_crew(srv)
    lsms = new_account(srv, crew.admin, unique("lisa"), ["lsms"])
    host = srv.admin()
    org, oadmin, otp = create_org(srv, host, unique("Other Org "), unique("otheradm"))
    other_admin = activate(srv, oadmin["username"], otp, PASSWORD)
    people = {"worker": crew.worker.token, "buddy": crew.buddy.token, "lm": crew.lm.token,
              "sm": crew.sm.token, "operator": crew.operator.token, "admin": crew.admin,
              "other_lm": crew.other_lm.token, "outsider": crew.outsider.token,
              "lsms": lsms.token, "other_org_admin": other_admin}
    streams = {who: stream(srv, token) for who, token in people.items()}
    t0 = datetime.datetime.now(datetime.timezone.utc)
    try:
        visit = start_visit(srv, crew.worker.token, t0, buddy_id=crew.buddy.id)
        ok(visit_action(srv, crew.worker.token, visit["id"], "checkin"))
        # a last event each of them sees: whoever sees nothing before it saw nothing
        sentinels = {
            "outsider": start_visit(srv, crew.outsider.token, t0),
            "lsms": start_visit(srv, lsms.token, t0),
            "other_org_admin": start_visit(srv, other_admin, t0),
        }
        sentinels["other_lm"] = sentinels["outsider"]  # the line manager of the outsider
        for who, s in streams.items():
            # the stream follows the rule of the visit routes, whatever it is
            sees = srv.call("GET", "/api/v1/visits/%d" % visit["id"], token=people[who])[0]
            assert sees in (200, 404), (who, sees)
            if who in sentinels:
                assert sees == 404, "%s can GET the visit but was expected not to" % who
                e = s.next()
                assert (e.kind, e.data["visit_id"]) == \
                    ("visit.started", sentinels[who]["id"]), (who, e)
            else:
                assert sees == 200, "%s cannot GET the visit" % who
                events = s.take(2)
                assert [(e.kind, e.data["visit_id"]) for e in events] == \
                    [("visit.started", visit["id"]), ("visit.checkin", visit["id"])], (who, events)
    finally:
        for s in streams.values():
            s.close()


# -- resuming ----------------------------------------------------------------------------------


def test_last_event_id_replays_what_came_after_then_goes_live(server):
    srv = server
    crew = make_crew(srv)
    token = crew.worker.token
    t0 = datetime.datetime.now(datetime.timezone.utc)
    with stream(srv, token) as live:
        visit = start_visit(srv, token, t0)
        for _ in range(3):
            ok(visit_action(srv, token, visit["id"], "checkin"))
        first = live.take(4)
    ids = [e.id for e in first]
    assert [e.kind for e in first] == ["visit.started"] + ["visit.checkin"] * 3

    with stream(srv, token, last_event_id=ids[0]) as s:
        replayed = s.take(3)
        assert [(e.id, e.kind) for e in replayed] == [(e.id, e.kind) for e in first[1:]]
        assert s.drain(0.3) == []
        ok(visit_action(srv, token, visit["id"], "checkin"))
        later = s.next()
        assert later.kind == "visit.checkin" and later.id > ids[-1], later

    with stream(srv, token, after=0) as s:
        assert [e.id for e in s.take(5)] == ids + [later.id]
        assert s.drain(0.3) == []
    # the header wins over ?after (a reconnecting browser keeps the URL it started with)
    with stream(srv, token, after=0, last_event_id=ids[-1]) as s:
        assert [e.id for e in s.take(1)] == [later.id]
        assert s.drain(0.3) == []
    # an id from the future resumes from now: later events still come
    with stream(srv, token, last_event_id=10 ** 15) as s:
        assert s.drain(0.3) == []
        ok(visit_action(srv, token, visit["id"], "checkin"))
        assert s.next().id > later.id
    # a replay shows only what the caller sees
    with stream(srv, crew.outsider.token, last_event_id=0) as s:
        assert s.drain(0.5) == []
        own = start_visit(srv, crew.outsider.token, t0)
        e = s.next()
        assert e.data["visit_id"] == own["id"], e


def test_keepalive_and_the_end_of_streams_whose_credential_went(server):
    """Every 15 s a comment; then too each stream's credential is checked again, and the
    streams of a session logged out, an API key revoked, a user disabled or demoted, or a
    line manager no longer managing a team end."""
    crew = make_crew(server)
    kept = stream(server, crew.worker.token)
    session = login(server, crew.buddy.username, crew.buddy.password)
    made = ok(server.call("POST", "/api/v1/api-keys", token=crew.lm.token,
                          body={"name": "console"}), 201)
    gone = {"logged out": stream(server, session), "revoked": stream(server, made["key"]),
            "disabled": stream(server, crew.outsider.token),
            "demoted": stream(server, crew.sm.token),
            "moved off a team": stream(server, crew.other_lm.token)}
    try:
        ok(server.call("POST", "/api/v1/logout", token=session), 204)
        ok(server.call("DELETE", "/api/v1/api-keys/%d" % made["api_key"]["id"],
                       token=crew.lm.token), 204)
        ok(server.call("PATCH", "/api/v1/users/%d" % crew.outsider.id, token=crew.admin,
                       body={"disabled": True}))
        # a senior manager made a worker no longer sees the organisation's events
        ok(server.call("PATCH", "/api/v1/users/%d" % crew.sm.id, token=crew.admin,
                       body={"roles": ["worker"]}))
        # a line manager whose team passes to another no longer sees its workers' visits
        ok(server.call("PATCH", "/api/v1/teams/%d" % crew.other_team["id"], token=crew.admin,
                       body={"line_manager_id": crew.lm.id}))
        assert wait_until(lambda: ": keepalive" in kept.comments, timeout=17, interval=0.2), \
            kept.comments
        for why, s in gone.items():
            assert s.closed.wait(5), "the stream of a credential %s stayed open" % why
        assert not kept.closed.is_set()
        again = EventStream(server.port, session)
        assert_error((again.status, again.body, again.headers), 401, "unauthenticated")
    finally:
        kept.close()
        for s in gone.values():
            s.close()


# -- limits and hostile input ----------------------------------------------------------------


def test_too_many_streams_answer_503_and_a_closed_one_frees_its_place(server_factory):
    srv = server_factory(extra_args=["--max-streams", "2"])
    crew = make_crew(srv)
    a = stream(srv, crew.worker.token)
    b = stream(srv, crew.lm.token)
    try:
        st, metrics, _ = srv.call("GET", "/metrics")
        assert st == 200 and "\nnotalone_event_streams 2\n" in metrics, metrics
        refused = EventStream(srv.port, crew.sm.token)
        assert_error((refused.status, refused.body, refused.headers), 503, "unavailable")
        assert int(refused.headers.get("retry-after", "0")) > 0, refused.headers
        # the other routes are unaffected
        ok(srv.call("GET", "/api/v1/me", token=crew.sm.token))
        a.close()
        # the server notices the closed stream at its next write (an event or a keepalive)
        t0 = datetime.datetime.now(datetime.timezone.utc)
        start_visit(srv, crew.worker.token, t0)
        b.next()
        opened = []

        def try_open():
            s = EventStream(srv.port, crew.sm.token)
            if s.status == 200:
                opened.append(s)
                return True
            return False
        assert wait_until(try_open, timeout=20, interval=0.5), "no place freed"
        opened[0].close()
    finally:
        a.close()
        b.close()


def test_bad_resume_ids_and_huge_headers_are_refused_clearly(server):
    crew = make_crew(server)
    token = crew.worker.token
    for bad in ("abc", "-1", "1.5", "7 8", "0x10", "1" * 21, "99999999999999999999", "1e3"):
        s = EventStream(server.port, token, last_event_id=bad)
        assert_error((s.status, s.body, s.headers), 400, "malformed_request",
                     "Last-Event-ID")
    for bad in ("abc", "-5", "", "1" * 40):
        s = EventStream(server.port, token, after=bad)
        assert_error((s.status, s.body, s.headers), 400, "malformed_request", "after")
    # a long header the server takes in: refused by the check of the id
    s = EventStream(server.port, token, last_event_id="1" * 8000)
    assert_error((s.status, s.body, s.headers), 400, "malformed_request", "Last-Event-ID")
    # one past what the server takes in at all: refused before routing, connection intact
    # for nobody else
    data = ("GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Last-Event-ID: %s\r\n\r\n" % (token, "9" * 200000)).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may close before taking it all
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
    finally:
        sock.close()
    if answer:
        status = int(answer.split()[1])
        assert 400 <= status < 500, answer[:200]
    # unauthenticated, other methods
    s = EventStream(server.port, None)
    assert_error((s.status, s.body, s.headers), 401, "unauthenticated")
    s = EventStream(server.port, "na_s_" + "x" * 10)
    assert_error((s.status, s.body, s.headers), 401, "unauthenticated")
    st, body, hdrs = call_url(server.port, "POST", "/api/v1/events", token=token, body={})
    assert st == 405 and "GET" in hdrs.get("allow", ""), (st, body, hdrs)
    # still serving, streams still work
    ok(server.call("GET", "/healthz"))
    with stream(server, token) as s:
        t0 = datetime.datetime.now(datetime.timezone.utc)
        start_visit(server, token, t0)
        assert s.next().kind == "visit.started"


def test_a_stream_does_not_hold_a_worker_thread(server_factory):
    """With one HTTP thread, open streams leave it free for other requests."""
    srv = server_factory(extra_args=["--http-threads", "1"])
    crew = make_crew(srv)
    streams = [stream(srv, crew.worker.token) for _ in range(5)]
    try:
        for _ in range(10):
            st, _, _ = srv.call("GET", "/api/v1/me", token=crew.worker.token, timeout=5)
            assert st == 200
        t0 = datetime.datetime.now(datetime.timezone.utc)
        visit = start_visit(srv, crew.worker.token, t0)
        for s in streams:
            e = s.next()
            assert e.data["visit_id"] == visit["id"]
    finally:
        for s in streams:
            s.close()


def test_shutdown_ends_open_streams(server):
    crew = make_crew(server)
    streams = [stream(server, crew.worker.token) for _ in range(3)]
    idle = stream(server, crew.lm.token)
    t = time.monotonic()
    server.stop_checked()
    assert time.monotonic() - t < 15
    for s in streams + [idle]:
        assert s.closed.wait(5), "a stream stayed open after the server stopped"
        s.close()

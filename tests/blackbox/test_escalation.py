"""Escalations on a simulated clock: reminders, the climb through the contacts, channels
(SMTP and signed webhooks), acknowledgement, resolution, policies and restarts."""

import datetime
import hashlib
import hmac
import re
import urllib.parse

from conftest import (SIM_START, SMTP_FROM, Crew, activate, advance, advance_to, assert_error,
                      clock_args, create_org, clock_now, create_channel, create_visit, escalations_of,
                      fmt_time, get_escalation, get_visit, login, make_crew, ok, parse_time,
                      set_clock_start, sim_time, visit_action, wait_until)

S = datetime.timedelta(seconds=1)
MIN = datetime.timedelta(minutes=1)

ADDRESS = "12 Oak Street, Leeds"
LM_SECRET = "lm-webhook-secret-0001"
ARC_SECRET = "arc-webhook-secret-0002"
DEFAULT_LEVELS = [{"contact": "buddy", "limit": 600},
                  {"contact": "line_manager", "limit": 900},
                  {"contact": "senior_manager", "limit": 900}]


# -- helpers -------------------------------------------------------------------------------


def start_server(server_factory, smtp_sink):
    return server_factory(extra_args=clock_args(smtp_sink))


def lm_webhook(srv, crew, hooks, secret=LM_SECRET, path="/lm"):
    fields = {"name": "pager", "kind": "webhook", "address": hooks.url(path)}
    if secret is not None:
        fields["secret"] = secret
    ch = create_channel(srv, crew.lm.token, **fields)
    assert ch["kind"] == "webhook" and ch["user_id"] == crew.lm.id, ch
    assert ch["has_secret"] is (secret is not None), ch
    assert "secret" not in ch, ch
    return ch


def start_visit(srv, crew, minutes=30, accept=True, **fields):
    """The worker starts a visit now until `minutes` from now, with the buddy nominated."""
    now = clock_now(srv)
    body = {"address": ADDRESS, "people": "Mr A (patient), his son",
            "phones": ["+44 113 496 0000"],
            "expected_departure": fmt_time(now + minutes * MIN),
            "transport": {"mode": "car", "vehicle_id": crew.vehicle["id"]},
            "buddy_id": crew.buddy.id, "start": True}
    body.update(fields)
    visit = create_visit(srv, crew.worker.token, **body)
    assert visit["state"] == "active", visit
    assert visit["buddy_id"] == crew.buddy.id and visit["buddy_accepted"] is False, visit
    if accept:
        visit = ok(visit_action(srv, crew.buddy.token, visit["id"], "buddy/accept"))
        assert visit["buddy_accepted"] is True, visit
    clock_now(srv)  # lets what is due now (the nomination) be delivered
    return visit


def open_case(srv, crew, visit):
    """Moves the clock one second past the visit's deadline; returns the open escalation."""
    deadline = parse_time(get_visit(srv, crew.admin, visit["id"])["deadline_at"])
    advance_to(srv, deadline - S)
    assert escalations_of(srv, crew.admin, visit["id"]) == [], "escalation before the deadline"
    now = advance(srv, 2)
    cases = escalations_of(srv, crew.admin, visit["id"])
    assert len(cases) == 1, cases
    esc = get_escalation(srv, crew.admin, cases[0]["id"])
    assert esc["state"] == "open" and esc["visit_id"] == visit["id"], esc
    assert parse_time(esc["missed_deadline_at"]) == deadline, esc
    assert deadline <= parse_time(esc["opened_at"]) <= now, esc
    assert get_visit(srv, crew.admin, visit["id"])["escalation_id"] == esc["id"]
    return esc


def packs(smtp, address):
    """Messages to `address` that carry a one-time acknowledgement link."""
    return [m for m in smtp.to(address) if "/api/v1/ack/" in m.text()]


def ack_links(text, port):
    return re.findall(r"http://127\.0\.0\.1:%d/api/v1/ack/[^\s\"'<>)\]]+" % port, text)


def check_signature(hook, secret):
    sig = hook.headers.get("x-notalone-signature")
    want = "sha256=" + hmac.new(secret.encode(), hook.body, hashlib.sha256).hexdigest()
    assert sig == want, "signature %r, expected %r for body %r" % (sig, want, hook.body[:300])


def check_webhook(hook, secret):
    assert hook.method == "POST", hook
    assert "application/json" in hook.headers.get("content-type", ""), hook.headers
    hook.json()  # a JSON body
    assert hook.headers.get("idempotency-key"), hook.headers
    if secret is None:
        assert "x-notalone-signature" not in hook.headers, hook.headers
    else:
        check_signature(hook, secret)


def steps_of(esc, kind, **match):
    return [s for s in esc["steps"]
            if s["kind"] == kind and all(s.get(k) == v for k, v in match.items())]


def one_step(esc, kind, **match):
    found = steps_of(esc, kind, **match)
    assert len(found) == 1, "expected one %s step %r in %r" % (kind, match, esc["steps"])
    return found[0]


def assert_in_order(items, wanted, what):
    """Each (predicate, label) of `wanted` matches an item after the previous match."""
    i = 0
    for pred, label in wanted:
        while i < len(items) and not pred(items[i]):
            i += 1
        assert i < len(items), "%s: no %s after the earlier ones in %r" % (what, label, items)
        i += 1


def times_ascend(records, key="at"):
    times = [parse_time(r[key]) for r in records]
    assert times == sorted(times), "not in time order: %r" % records


def norm_levels(levels):
    return [{k: v for k, v in level.items() if v is not None} for level in levels]


def in_window(t, lo, hi):
    assert lo <= t <= hi, "%s not within [%s, %s]" % (t, lo, hi)


# -- the whole story ----------------------------------------------------------------------


def test_full_scenario(server_factory, smtp_sink, webhook_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    lm_webhook(srv, crew, webhook_sink)
    t0 = clock_now(srv)
    assert t0 == sim_time(SIM_START)

    visit = start_visit(srv, crew)
    vid = visit["id"]
    deadline = t0 + 30 * MIN
    assert parse_time(visit["deadline_at"]) == deadline, visit

    # a check-in with a position at 09:10 keeps the departure as the deadline
    advance(srv, 600)
    visit = ok(visit_action(srv, crew.worker.token, vid, "checkin",
                            {"latitude": 53.8, "longitude": -1.55, "note": "arrived"}))
    assert parse_time(visit["last_checkin_at"]) == t0 + 10 * MIN, visit
    assert parse_time(visit["deadline_at"]) == deadline, visit
    assert visit["last_location"] is not None, visit

    # reminder to the worker five minutes before the deadline, not earlier
    worker_mail = crew.mail_of("worker")
    buddy_mail = crew.mail_of("buddy")
    seen_worker = len(smtp_sink.to(worker_mail))
    seen_buddy = len(smtp_sink.to(buddy_mail))
    advance_to(srv, deadline - 5 * MIN - S)
    assert len(smtp_sink.to(worker_mail)) == seen_worker, smtp_sink.to(worker_mail)
    advance(srv, 2)
    reminders = smtp_sink.to(worker_mail)[seen_worker:]
    assert len(reminders) == 1, reminders
    assert reminders[0].mail_from == SMTP_FROM
    assert "09:30" in reminders[0].text(), reminders[0].text()
    assert len(smtp_sink.to(buddy_mail)) == seen_buddy, "the buddy got the worker's reminder"
    assert webhook_sink.at("/lm") == []
    ev = [e for e in get_visit(srv, crew.worker.token, vid)["events"]
          if e["kind"] == "reminder_sent"]
    assert len(ev) == 1, ev
    in_window(parse_time(ev[0]["at"]), deadline - 5 * MIN, deadline - 5 * MIN + S)

    # the deadline passes: the case opens and the buddy gets the information pack
    esc = open_case(srv, crew, visit)
    opened = parse_time(esc["opened_at"])
    assert esc["level"] == 0 and esc["level_contact"] == "buddy", esc
    assert parse_time(esc["level_due_at"]) == opened + 10 * MIN, esc
    assert esc["acknowledged_by"] is None and esc["outcome"] is None, esc
    assert esc["organisation_id"] == visit["organisation_id"], esc
    new = smtp_sink.to(buddy_mail)[seen_buddy:]
    assert len(new) == 1, new
    pack = new[0]
    assert pack.mail_from == SMTP_FROM and pack.message_id, pack
    text = pack.text()
    for needle in (Crew.WORKER_NAME, Crew.WORKER_PHONE, ADDRESS, "09:30", Crew.REGISTRATION,
                   Crew.KIN["name"], Crew.KIN["phone"], "09:10", "53.8", "-1.55"):
        assert needle in text, "information pack lacks %r:\n%s" % (needle, text)
    assert ack_links(text, srv.port), "no acknowledgement link to this server:\n" + text
    assert webhook_sink.at("/lm") == [], "line manager told before the buddy's 10 minutes"
    assert smtp_sink.to(crew.mail_of("lm")) == []
    notified = one_step(esc, "notified", level=0, user_id=crew.buddy.id)
    in_window(parse_time(notified["at"]), opened, opened + S)
    assert steps_of(esc, "opened"), esc["steps"]
    buddy_notes = [n for n in esc["notifications"] if n["user_id"] == crew.buddy.id]
    assert len(buddy_notes) == 1, esc["notifications"]
    assert buddy_notes[0]["channel"] == "email" and buddy_notes[0]["state"] == "sent", buddy_notes
    assert buddy_notes[0]["attempts"] == 1 and buddy_notes[0]["last_error"] is None, buddy_notes
    assert notified["outbox_id"] == buddy_notes[0]["id"], (notified, buddy_notes)

    # ten minutes without an acknowledgement: the line manager's signed webhook
    advance_to(srv, opened + 10 * MIN - S)
    assert webhook_sink.at("/lm") == []
    now = advance(srv, 2)
    hooks = webhook_sink.at("/lm")
    assert len(hooks) == 1, hooks
    check_webhook(hooks[0], LM_SECRET)
    strings = hooks[0].strings()
    for needle in (Crew.WORKER_NAME, Crew.WORKER_PHONE, ADDRESS, Crew.REGISTRATION,
                   Crew.KIN["name"], "/api/v1/ack/"):
        assert needle in strings, "webhook lacks %r: %r" % (needle, hooks[0].body)
    assert smtp_sink.to(crew.mail_of("lm")) == [], "a user with a channel was emailed"
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["level"] == 1 and esc["level_contact"] == "line_manager", esc
    timeout = one_step(esc, "timeout", level=0)
    in_window(parse_time(timeout["at"]), opened + 10 * MIN, now)
    lm_step = one_step(esc, "notified", level=1, user_id=crew.lm.id)
    lm_at = parse_time(lm_step["at"])
    in_window(lm_at, opened + 10 * MIN, now)
    assert parse_time(esc["level_due_at"]) == lm_at + 15 * MIN, esc

    # the line manager takes the case
    t_ack = advance(srv, 60)
    esc = ok(srv.call("POST", "/api/v1/escalations/%d/acknowledge" % esc["id"],
                      token=crew.lm.token))
    assert esc["acknowledged_by"] == crew.lm.id and esc["state"] == "open", esc
    assert parse_time(esc["acknowledged_at"]) == t_ack, esc
    assert parse_time(esc["level_due_at"]) == t_ack + 15 * MIN, esc
    # the buddy's link, unused, now finds the case held by someone else
    buddy_link = urllib.parse.urlsplit(ack_links(text, srv.port)[0]).path
    assert_error(srv.call("GET", buddy_link), 409)
    assert get_escalation(srv, crew.admin, esc["id"])["acknowledged_by"] == crew.lm.id

    # ... and records that the worker is safe
    t_res = advance(srv, 120)
    esc = ok(srv.call("POST", "/api/v1/escalations/%d/resolve" % esc["id"], token=crew.lm.token,
                      body={"outcome": "safe", "how": "phoned her, she is fine"}))
    assert esc["state"] == "resolved" and esc["outcome"] == "safe", esc
    assert esc["outcome_note"] == "phoned her, she is fine", esc
    assert esc["resolved_by"] == crew.lm.id and esc["police_reference"] is None, esc
    assert parse_time(esc["resolved_at"]) == t_res, esc

    # everyone told is told the outcome (sent once the answer is out: a short wait)
    wait_until(lambda: len(smtp_sink.to(buddy_mail)) >= seen_buddy + 2
               and len(webhook_sink.at("/lm")) >= 2)
    new = smtp_sink.to(buddy_mail)[seen_buddy:]
    assert len(new) == 2, new
    assert "safe" in new[1].text().lower(), new[1].text()
    hooks = webhook_sink.at("/lm")
    assert len(hooks) == 2, hooks
    check_webhook(hooks[1], LM_SECRET)
    assert "safe" in hooks[1].strings().lower(), hooks[1].body
    assert hooks[1].headers["idempotency-key"] != hooks[0].headers["idempotency-key"]

    # every step, with its time
    esc = get_escalation(srv, crew.lm.token, esc["id"])
    steps = esc["steps"]
    times_ascend(steps)
    assert_in_order(steps, [
        (lambda s: s["kind"] == "opened", "opened"),
        (lambda s: s["kind"] == "notified" and s["user_id"] == crew.buddy.id, "buddy notified"),
        (lambda s: s["kind"] == "timeout" and s["level"] == 0, "buddy timeout"),
        (lambda s: s["kind"] == "notified" and s["user_id"] == crew.lm.id, "manager notified"),
        (lambda s: s["kind"] == "acknowledged" and s["user_id"] == crew.lm.id, "acknowledged"),
        (lambda s: s["kind"] == "resolved", "resolved"),
    ], "escalation steps")
    delivered = {s["outbox_id"] for s in steps_of(esc, "delivered")}
    assert buddy_notes[0]["id"] in delivered and lm_step["outbox_id"] in delivered, steps
    assert parse_time(one_step(esc, "acknowledged")["at"]) == t_ack
    assert parse_time(one_step(esc, "resolved")["at"]) == t_res
    lm_notes = [n for n in esc["notifications"] if n["id"] == lm_step["outbox_id"]]
    assert len(lm_notes) == 1 and lm_notes[0]["channel"] == "webhook", esc["notifications"]
    assert lm_notes[0]["state"] == "sent" and lm_notes[0]["attempts"] == 1, lm_notes
    in_window(parse_time(lm_notes[0]["sent_at"]), lm_at, now)

    # the visit's timeline tells the same story
    visit = get_visit(srv, crew.buddy.token, vid)
    assert visit["escalation_id"] is None, visit
    events = visit["events"]
    times_ascend(events)
    assert_in_order(events, [(lambda e, k=k: e["kind"] == k, k) for k in (
        "started", "buddy_accepted", "checkin", "reminder_sent", "deadline_missed",
        "escalation_resolved")], "visit events")
    missed = [e for e in events if e["kind"] == "deadline_missed"]
    assert len(missed) == 1, events
    in_window(parse_time(missed[0]["at"]), deadline, deadline + S)
    resolved = [e for e in events if e["kind"] == "escalation_resolved"]
    assert len(resolved) == 1 and parse_time(resolved[0]["at"]) == t_res, events
    # confirmed safe, the visit counts as checked in by the resolver and stays watched
    assert visit["state"] == "active", visit
    by_lm = [e for e in events if e["kind"] == "checkin" and e["actor_id"] == crew.lm.id]
    assert len(by_lm) == 1 and parse_time(by_lm[0]["at"]) == t_res, events
    assert parse_time(visit["last_checkin_at"]) == t_res, visit
    # the departure had passed: a check-in then gives 15 minutes
    assert parse_time(visit["expected_departure"]) == t_res + 15 * MIN, visit
    assert parse_time(visit["deadline_at"]) == t_res + 15 * MIN, visit


def test_checkin_during_escalation_resolves_it(server_factory, smtp_sink, webhook_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    lm_webhook(srv, crew, webhook_sink, secret=None)
    t0 = clock_now(srv)
    visit = start_visit(srv, crew, minutes=120, checkin_interval=1800)
    # the check-in interval is sooner than the departure
    assert parse_time(visit["deadline_at"]) == t0 + 30 * MIN, visit
    buddy_mail = crew.mail_of("buddy")
    seen = len(smtp_sink.to(buddy_mail))

    esc = open_case(srv, crew, visit)
    opened = parse_time(esc["opened_at"])
    assert len(smtp_sink.to(buddy_mail)) == seen + 1
    advance_to(srv, opened + 10 * MIN + S)
    assert len(webhook_sink.at("/lm")) == 1
    check_webhook(webhook_sink.at("/lm")[0], None)

    t_in = advance(srv, 30)
    visit = ok(visit_action(srv, crew.worker.token, visit["id"], "checkin"))
    assert visit["escalation_id"] is None and visit["state"] == "active", visit
    assert parse_time(visit["last_checkin_at"]) == t_in, visit
    assert parse_time(visit["deadline_at"]) == t_in + 30 * MIN, visit

    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["state"] == "resolved" and esc["outcome"] == "safe", esc
    assert parse_time(esc["resolved_at"]) == t_in, esc
    assert parse_time(one_step(esc, "worker_safe")["at"]) == t_in, esc["steps"]
    # Nothing climbs after the worker is safe; the only later steps are the deliveries of the
    # "safe" notices, which the senders record as they go (so their timing varies).
    after = esc["steps"][esc["steps"].index(one_step(esc, "worker_safe")) + 1:]
    assert all(s["kind"] in ("delivered", "delivery_failed") for s in after), esc["steps"]
    times_ascend(esc["steps"])

    # the buddy and the line manager (told so far) hear that the worker is safe
    wait_until(lambda: len(smtp_sink.to(buddy_mail)) >= seen + 2
               and len(webhook_sink.at("/lm")) >= 2)
    mails = smtp_sink.to(buddy_mail)
    assert len(mails) == seen + 2, mails
    assert "safe" in mails[-1].text().lower(), mails[-1].text()
    hooks = webhook_sink.at("/lm")
    assert len(hooks) == 2, hooks
    assert "safe" in hooks[1].strings().lower(), hooks[1].body
    # the senior manager was never told, so hears nothing
    assert smtp_sink.to(crew.mail_of("sm")) == []

    # the climb has stopped
    advance(srv, 15 * 60)
    assert len(smtp_sink.to(buddy_mail)) == seen + 2
    assert len(webhook_sink.at("/lm")) == 2
    assert smtp_sink.to(crew.mail_of("sm")) == []
    cases = escalations_of(srv, crew.admin, visit["id"])
    assert [c["id"] for c in cases] == [esc["id"]], cases


def test_ack_link_acknowledges_once(server_factory, smtp_sink, webhook_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    lm_webhook(srv, crew, webhook_sink)
    pager = "%s.pager@example.org" % crew.buddy.username
    ch = create_channel(srv, crew.buddy.token, name="pager mail", kind="email", address=pager)
    assert ch["user_id"] == crew.buddy.id and ch["kind"] == "email", ch
    visit = start_visit(srv, crew)

    esc = open_case(srv, crew, visit)
    opened = parse_time(esc["opened_at"])
    got = packs(smtp_sink, pager)
    assert len(got) == 1, smtp_sink.all()
    assert packs(smtp_sink, crew.mail_of("buddy")) == [], "the buddy's own channel was ignored"
    links = ack_links(got[0].text(), srv.port)
    assert links, got[0].text()
    path = urllib.parse.urlsplit(links[0]).path

    t_ack = advance(srv, 60)
    body = ok(srv.call("GET", path))
    assert body == {"escalation_id": esc["id"], "acknowledged": True}, body
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["acknowledged_by"] == crew.buddy.id, esc
    assert parse_time(esc["acknowledged_at"]) == t_ack, esc
    assert parse_time(esc["level_due_at"]) == t_ack + 10 * MIN, esc
    step = one_step(esc, "acknowledged")
    assert step["user_id"] == crew.buddy.id and parse_time(step["at"]) == t_ack, step

    # the link works once; made-up links never
    assert_error(srv.call("GET", path), 404)
    assert_error(srv.call("GET", "/api/v1/ack/" + "A" * 43), 404)
    assert_error(srv.call("GET", path[:-1] + ("x" if path[-1] != "x" else "y")), 404)
    # the case is held: the line manager cannot take it over
    assert_error(srv.call("POST", "/api/v1/escalations/%d/acknowledge" % esc["id"],
                          token=crew.lm.token), 409)
    assert get_escalation(srv, crew.admin, esc["id"])["acknowledged_by"] == crew.buddy.id

    # held for the buddy's limit from the acknowledgement, then the climb goes on
    advance_to(srv, opened + 10 * MIN + S)
    assert webhook_sink.at("/lm") == [], "climbed while the buddy held the case"
    advance_to(srv, t_ack + 10 * MIN - S)
    assert webhook_sink.at("/lm") == []
    advance(srv, 2)
    assert len(webhook_sink.at("/lm")) == 1
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["level"] == 1 and esc["state"] == "open", esc


def test_unreachable_buddy_passes_to_line_manager(server_factory, smtp_sink, webhook_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv, buddy_email=False)
    webhook_sink.fail("/buddy")
    create_channel(srv, crew.buddy.token, name="phone", kind="webhook",
                   address=webhook_sink.url("/buddy"))
    lm_webhook(srv, crew, webhook_sink)
    visit = start_visit(srv, crew)
    # what the buddy's webhook got before the case (the nomination) is left out by its key
    earlier = {r.headers.get("idempotency-key") for r in webhook_sink.at("/buddy")}

    def tries():
        return [r for r in webhook_sink.at("/buddy")
                if r.headers.get("idempotency-key") not in earlier]

    esc = open_case(srv, crew, visit)
    last = parse_time(one_step(esc, "notified", level=0, user_id=crew.buddy.id)["at"])
    assert len(tries()) == 1, tries()
    # retried 5 s, 15 s, 45 s and 135 s after each failure; the line manager waits meanwhile
    for n, delay in enumerate((5, 15, 45, 135), start=2):
        due = last + delay * S
        advance_to(srv, due - S)
        assert len(tries()) == n - 1, "attempt %d came before %s" % (n, due)
        assert webhook_sink.at("/lm") == [], "line manager told before attempt %d" % n
        if n < 5:
            esc = get_escalation(srv, crew.admin, esc["id"])
            note = [x for x in esc["notifications"] if x["user_id"] == crew.buddy.id]
            assert len(note) == 1 and note[0]["state"] not in ("sent", "failed"), note
            assert note[0]["attempts"] == n - 1 and note[0]["channel"] == "webhook", note
        last = advance(srv, 1)
        if len(tries()) == n - 1:
            last = advance(srv, 1)
        assert len(tries()) == n, "attempt %d not made by %s" % (n, last)
    now = last
    got = tries()
    assert len({t.headers.get("idempotency-key") for t in got}) == 1, got
    assert got[0].headers.get("idempotency-key")
    assert len({t.body for t in got}) == 1
    # unreachable: the line manager is told at once, long before the buddy's 10 minutes
    lm = webhook_sink.at("/lm")
    assert len(lm) == 1, lm
    check_webhook(lm[0], LM_SECRET)
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["level"] == 1 and esc["level_contact"] == "line_manager", esc
    note = [x for x in esc["notifications"] if x["user_id"] == crew.buddy.id]
    assert note[0]["state"] == "failed" and note[0]["attempts"] == 5, note
    assert note[0]["last_error"], note
    assert steps_of(esc, "delivery_failed", level=0), esc["steps"]
    unreachable = one_step(esc, "unreachable", level=0)
    lm_step = one_step(esc, "notified", level=1, user_id=crew.lm.id)
    assert parse_time(unreachable["at"]) == now, unreachable
    assert parse_time(lm_step["at"]) == now, lm_step
    assert_in_order(esc["steps"], [(lambda s: s["kind"] == "unreachable", "unreachable"),
                                   (lambda s: s["kind"] == "notified" and s["level"] == 1,
                                    "manager notified")], "steps")
    # no more tries after the fifth
    advance(srv, 600)
    assert len(tries()) == 5


def test_unaccepted_buddy_is_passed_over(server_factory, smtp_sink, webhook_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    lm_webhook(srv, crew, webhook_sink)
    visit = start_visit(srv, crew, accept=False)
    # the buddy is told of the nomination
    advance(srv, 0)
    nominations = smtp_sink.to(crew.mail_of("buddy"))
    assert len(nominations) == 1, nominations
    assert Crew.WORKER_NAME in nominations[0].text(), nominations[0].text()

    esc = open_case(srv, crew, visit)
    opened = parse_time(esc["opened_at"])
    assert esc["level"] == 1 and esc["level_contact"] == "line_manager", esc
    hooks = webhook_sink.at("/lm")
    assert len(hooks) == 1, hooks
    check_webhook(hooks[0], LM_SECRET)
    assert Crew.WORKER_NAME in hooks[0].strings()
    assert len(smtp_sink.to(crew.mail_of("buddy"))) == 1, "the buddy who never accepted was told"
    assert steps_of(esc, "notified", user_id=crew.buddy.id) == [], esc["steps"]
    passed = one_step(esc, "passed_over", level=0)
    in_window(parse_time(passed["at"]), opened, opened + S)
    assert_in_order(esc["steps"], [(lambda s: s["kind"] == "passed_over", "passed_over"),
                                   (lambda s: s["kind"] == "notified", "notified")], "steps")
    step = one_step(esc, "notified", level=1, user_id=crew.lm.id)
    in_window(parse_time(step["at"]), opened, opened + S)
    assert parse_time(esc["level_due_at"]) == parse_time(step["at"]) + 15 * MIN, esc


def test_webhook_template(server_factory, smtp_sink, webhook_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv, buddy_email=False)
    template = ('{"to": "{{phone}}", "message": "{{text}}", "subject": "{{subject}}", '
                '"event": "{{event}}", "link": "{{link}}"}')
    too_long = '{"message": "{{text}}", "pad": "%s"}' % ("p" * 4000)
    assert_error(srv.call("POST", "/api/v1/channels", token=crew.buddy.token,
                          body={"name": "sms", "kind": "webhook",
                                "address": webhook_sink.url("/sms"), "template": too_long}),
                 422, field="template")
    ch = create_channel(srv, crew.buddy.token, name="sms", kind="webhook",
                        address=webhook_sink.url("/sms"), secret=LM_SECRET, template=template)
    assert ch["template"] == template, ch
    visit = start_visit(srv, crew)
    earlier = len(webhook_sink.at("/sms"))
    open_case(srv, crew, visit)
    got = webhook_sink.at("/sms")[earlier:]
    assert len(got) == 1, got
    check_webhook(got[0], LM_SECRET)
    body = got[0].json()
    assert set(body) == {"to", "message", "subject", "event", "link"}, body
    # whose number {{phone}} is the contract leaves open: the worker's or the recipient's
    assert body["to"] in (Crew.WORKER_PHONE, crew.buddy.user["phone"]), body
    assert Crew.WORKER_NAME in body["message"] and ADDRESS in body["message"], body
    assert body["subject"] and body["event"], body
    assert ack_links(body["link"], srv.port) == [body["link"]], body
    path = urllib.parse.urlsplit(body["link"]).path
    assert ok(srv.call("GET", path))["acknowledged"] is True


def test_channels(server_factory, webhook_sink):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    url = webhook_sink.url("/x")
    bad = [
        ({"name": "", "kind": "webhook", "address": url}, "name"),
        ({"name": "n" * 101, "kind": "webhook", "address": url}, "name"),
        ({"name": "pager", "kind": "pigeon", "address": url}, "kind"),
        ({"name": "pager", "kind": "webhook", "address": "ftp://example.org/x"}, "address"),
        ({"name": "pager", "kind": "webhook", "address": "not a url"}, "address"),
        ({"name": "pager", "kind": "email", "address": "no-at-sign"}, "address"),
        ({"name": "pager", "kind": "webhook", "address": url, "secret": "s" * 15}, "secret"),
        ({"name": "pager", "kind": "webhook", "address": url, "secret": "s" * 257}, "secret"),
        ({"name": "pager", "kind": "email", "address": "a@example.org", "secret": "s" * 20},
         "secret"),
        ({"name": "pager", "kind": "email", "address": "a@example.org", "template": "{}"},
         "template"),
        ({"name": "pager", "kind": "webhook", "address": url, "colour": "red"}, "colour"),
    ]
    for body, field in bad:
        assert_error(srv.call("POST", "/api/v1/channels", token=crew.worker.token, body=body),
                     422, field=field)
    assert ok(srv.call("GET", "/api/v1/channels", token=crew.worker.token))["items"] == []

    mine = create_channel(srv, crew.worker.token, name="pager", kind="webhook", address=url,
                          secret="s" * 16)
    assert mine["user_id"] == crew.worker.id and mine["has_secret"] is True, mine
    # others' channels and the organisation's are for admins
    assert_error(srv.call("POST", "/api/v1/channels", token=crew.worker.token,
                          body={"name": "x", "kind": "webhook", "address": url,
                                "user_id": crew.buddy.id}), 403)
    assert_error(srv.call("POST", "/api/v1/channels", token=crew.lm.token,
                          body={"name": "ARC", "kind": "webhook", "address": url,
                                "user_id": None, "organisation": True}), 403)
    theirs = create_channel(srv, crew.admin, name="sms", kind="webhook", address=url,
                            user_id=crew.buddy.id)
    assert theirs["user_id"] == crew.buddy.id, theirs
    org = create_channel(srv, crew.admin, name="ARC", kind="webhook", address=url,
                         user_id=None, organisation=True)
    assert org["user_id"] is None, org

    own = ok(srv.call("GET", "/api/v1/channels", token=crew.worker.token))["items"]
    assert [c["id"] for c in own] == [mine["id"]], own
    assert all("secret" not in c for c in own), own
    every = ok(srv.call("GET", "/api/v1/channels", token=crew.admin))["items"]
    assert {mine["id"], theirs["id"], org["id"]} <= {c["id"] for c in every}, every
    of_buddy = ok(srv.call("GET", "/api/v1/channels?user_id=%d" % crew.buddy.id,
                           token=crew.admin))["items"]
    assert [c["id"] for c in of_buddy] == [theirs["id"]], of_buddy

    for token, cid in ((crew.buddy.token, mine["id"]), (crew.worker.token, org["id"]),
                       (crew.lm.token, theirs["id"])):
        st, body, _ = srv.call("DELETE", "/api/v1/channels/%d" % cid, token=token)
        assert st in (403, 404), (st, body)
    ok(srv.call("DELETE", "/api/v1/channels/%d" % mine["id"], token=crew.worker.token), 204)
    ok(srv.call("DELETE", "/api/v1/channels/%d" % org["id"], token=crew.admin), 204)
    assert ok(srv.call("GET", "/api/v1/channels", token=crew.worker.token))["items"] == []
    left = {c["id"] for c in ok(srv.call("GET", "/api/v1/channels", token=crew.admin))["items"]}
    assert left == {theirs["id"]}, left


# -- policies ------------------------------------------------------------------------------


def test_team_policy_with_channel_level(server_factory, smtp_sink, webhook_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    lm_webhook(srv, crew, webhook_sink)
    arc = create_channel(srv, crew.admin, name="ARC", kind="webhook",
                         address=webhook_sink.url("/arc"), secret=ARC_SECRET, user_id=None,
                         organisation=True)
    assert arc["user_id"] is None and arc["has_secret"] is True, arc

    org = ok(srv.call("GET", "/api/v1/escalation-policy", token=crew.worker.token))
    assert org["default"] is True and norm_levels(org["levels"]) == DEFAULT_LEVELS, org
    levels = [{"contact": "line_manager", "limit": 300},
              {"contact": "channel", "channel_id": arc["id"], "limit": 1800}]
    path = "/api/v1/teams/%d/escalation-policy" % crew.team["id"]
    assert_error(srv.call("GET", path, token=crew.admin), 404)
    put = ok(srv.call("PUT", path, token=crew.admin, body={"levels": levels}))
    assert norm_levels(put["levels"]) == levels and put["default"] is False, put
    got = ok(srv.call("GET", path, token=crew.worker.token))
    assert norm_levels(got["levels"]) == levels, got

    visit = start_visit(srv, crew)
    buddy_seen = len(smtp_sink.to(crew.mail_of("buddy")))
    esc = open_case(srv, crew, visit)
    opened = parse_time(esc["opened_at"])
    assert esc["level"] == 0 and esc["level_contact"] == "line_manager", esc
    assert len(webhook_sink.at("/lm")) == 1
    assert len(smtp_sink.to(crew.mail_of("buddy"))) == buddy_seen, "buddy is not in this policy"
    assert webhook_sink.at("/arc") == []

    advance_to(srv, opened + 5 * MIN - S)
    assert webhook_sink.at("/arc") == []
    now = advance(srv, 2)
    calls = webhook_sink.at("/arc")
    assert len(calls) == 1, calls
    check_webhook(calls[0], ARC_SECRET)
    for needle in (Crew.WORKER_NAME, ADDRESS, Crew.WORKER_PHONE):
        assert needle in calls[0].strings(), calls[0].body
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["level"] == 1 and esc["level_contact"] == "channel", esc
    step = one_step(esc, "notified", level=1)
    assert step["channel_id"] == arc["id"] and step["user_id"] is None, step
    arc_at = parse_time(step["at"])
    in_window(arc_at, opened + 5 * MIN, now)

    # the top level is told again each limit until someone records the outcome
    advance_to(srv, arc_at + 30 * MIN - S)
    assert len(webhook_sink.at("/arc")) == 1
    advance(srv, 2)
    assert len(webhook_sink.at("/arc")) == 2
    assert len(webhook_sink.at("/lm")) == 1, "a lower level was told again"

    ref = "WY-2026-11-23-0042"
    esc = ok(srv.call("POST", "/api/v1/escalations/%d/resolve" % esc["id"],
                      token=crew.operator.token,
                      body={"outcome": "police", "police_reference": ref,
                            "how": "police found her at the address"}))
    assert esc["state"] == "resolved" and esc["outcome"] == "police", esc
    assert esc["police_reference"] == ref and esc["resolved_by"] == crew.operator.id, esc
    assert esc["outcome_note"] == "police found her at the address", esc

    # both told are told the outcome, with the reference
    def outcome(path):
        return [h for h in webhook_sink.at(path) if ref in h.strings()]
    wait_until(lambda: outcome("/arc") and outcome("/lm"))
    assert len(outcome("/arc")) == 1 and len(outcome("/lm")) == 1, webhook_sink.all()
    check_webhook(outcome("/arc")[0], ARC_SECRET)
    check_webhook(outcome("/lm")[0], LM_SECRET)
    assert "police" in outcome("/lm")[0].strings().lower()
    assert outcome("/arc")[0].headers["idempotency-key"] not in \
        {h.headers["idempotency-key"] for h in webhook_sink.at("/arc")[:2]}


def test_organisation_policy_and_team_fallback(server_factory, smtp_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    levels = [{"contact": "user", "user_id": crew.sm.id, "limit": 600},
              {"contact": "line_manager", "limit": 900}]
    put = ok(srv.call("PUT", "/api/v1/escalation-policy", token=crew.admin,
                      body={"levels": levels}))
    assert norm_levels(put["levels"]) == levels and put["default"] is False, put
    got = ok(srv.call("GET", "/api/v1/escalation-policy", token=crew.buddy.token))
    assert norm_levels(got["levels"]) == levels and got["default"] is False, got

    team_path = "/api/v1/teams/%d/escalation-policy" % crew.team["id"]
    ok(srv.call("PUT", team_path, token=crew.admin,
                body={"levels": [{"contact": "buddy", "limit": 60}]}))
    ok(srv.call("DELETE", team_path, token=crew.admin), 204)
    assert_error(srv.call("GET", team_path, token=crew.admin), 404)
    ok(srv.call("DELETE", team_path, token=crew.admin), 204)

    visit = start_visit(srv, crew)
    buddy_seen = len(smtp_sink.to(crew.mail_of("buddy")))
    esc = open_case(srv, crew, visit)
    assert esc["level"] == 0 and esc["level_contact"] == "user", esc
    got = packs(smtp_sink, crew.mail_of("sm"))
    assert len(got) == 1, smtp_sink.all()
    assert Crew.WORKER_NAME in got[0].text()
    assert len(smtp_sink.to(crew.mail_of("buddy"))) == buddy_seen
    one_step(esc, "notified", level=0, user_id=crew.sm.id)


def test_invalid_policies(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    other_user = crew.outsider.id
    path = "/api/v1/escalation-policy"
    team_path = "/api/v1/teams/%d/escalation-policy" % crew.team["id"]
    bad = [
        {},
        {"levels": []},
        {"levels": [{"contact": "buddy", "limit": 600}] * 9},
        {"levels": [{"contact": "buddy", "limit": 59}]},
        {"levels": [{"contact": "buddy", "limit": 86401}]},
        {"levels": [{"contact": "buddy", "limit": "600"}]},
        {"levels": [{"contact": "buddy"}]},
        {"levels": [{"limit": 600}]},
        {"levels": [{"contact": "boss", "limit": 600}]},
        {"levels": [{"contact": "user", "limit": 600}]},
        {"levels": [{"contact": "user", "user_id": 987654321, "limit": 600}]},
        {"levels": [{"contact": "channel", "limit": 600}]},
        {"levels": [{"contact": "channel", "channel_id": 987654321, "limit": 600}]},
        {"levels": [{"contact": "buddy", "limit": 600, "colour": "red"}]},
        {"levels": {"contact": "buddy", "limit": 600}},
    ]
    for body in bad:
        for p in (path, team_path):
            assert_error(srv.call("PUT", p, token=crew.admin, body=body), 422)
    # a user of another organisation is unknown here
    _, oadmin, otp = create_org(srv, crew.admin, "Elsewhere Trust", "elsewhere-admin")
    activate(srv, "elsewhere-admin", otp)
    assert_error(srv.call("PUT", path, token=crew.admin, body={"levels": [
        {"contact": "user", "user_id": oadmin["id"], "limit": 600}]}), 422)
    # only admins set policies
    good = {"levels": [{"contact": "user", "user_id": other_user, "limit": 600}]}
    for who in (crew.lm, crew.sm, crew.worker):
        assert_error(srv.call("PUT", path, token=who.token, body=good), 403)
        assert_error(srv.call("PUT", team_path, token=who.token, body=good), 403)
        assert_error(srv.call("DELETE", team_path, token=who.token), 403)
    assert_error(srv.call("PUT", "/api/v1/teams/987654321/escalation-policy", token=crew.admin,
                          body=good), 404)
    # nothing changed
    org = ok(srv.call("GET", path, token=crew.admin))
    assert org["default"] is True and norm_levels(org["levels"]) == DEFAULT_LEVELS, org
    assert_error(srv.call("GET", team_path, token=crew.admin), 404)


# -- restart -------------------------------------------------------------------------------


def test_deadline_passed_while_down_fires_once(server_factory, smtp_sink, webhook_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    lm_webhook(srv, crew, webhook_sink)
    t0 = clock_now(srv)
    visit = start_visit(srv, crew)
    advance(srv, 600)
    buddy_mail = crew.mail_of("buddy")
    assert packs(smtp_sink, buddy_mail) == []
    srv.kill()

    set_clock_start(srv, fmt_time(t0 + 31 * MIN).replace(".000Z", "Z"))
    srv.start()
    cases = wait_until(lambda: escalations_of(srv, crew.admin, visit["id"]), timeout=5)
    assert len(cases) == 1, "no escalation right after a start past the deadline: %r" % cases
    assert clock_now(srv) == t0 + 31 * MIN
    esc = get_escalation(srv, crew.admin, cases[0]["id"])
    assert parse_time(esc["missed_deadline_at"]) == t0 + 30 * MIN, esc
    assert esc["level_contact"] == "buddy", esc
    got = packs(smtp_sink, buddy_mail)
    assert len(got) == 1, got

    # killed again and started a minute later: nothing is sent twice
    srv.kill()
    set_clock_start(srv, fmt_time(t0 + 32 * MIN).replace(".000Z", "Z"))
    srv.start()
    assert clock_now(srv) == t0 + 32 * MIN
    srv.restart()
    assert clock_now(srv) == t0 + 32 * MIN
    got = packs(smtp_sink, buddy_mail)
    assert len(got) == 1, got
    ids = [m.message_id for m in smtp_sink.to(buddy_mail)]
    assert all(ids) and len(ids) == len(set(ids)), ids
    assert len(escalations_of(srv, crew.admin, visit["id"])) == 1
    assert webhook_sink.at("/lm") == [], "line manager told before the buddy's 10 minutes"
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert len(steps_of(esc, "notified", user_id=crew.buddy.id)) == 1, esc["steps"]
    assert len(esc["notifications"]) == 1 and esc["notifications"][0]["state"] == "sent", esc


# -- bad input and access ------------------------------------------------------------------


def test_acknowledge_and_resolve_errors(server_factory, smtp_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    visit = start_visit(srv, crew)
    esc = open_case(srv, crew, visit)
    eid = esc["id"]
    ack = "/api/v1/escalations/%d/acknowledge" % eid
    resolve = "/api/v1/escalations/%d/resolve" % eid

    assert_error(srv.call("POST", ack, token=crew.worker.token), 403)
    assert_error(srv.call("POST", ack, token=crew.outsider.token), 404)
    assert_error(srv.call("POST", "/api/v1/escalations/987654321/acknowledge",
                          token=crew.admin), 404)
    t_ack = advance(srv, 30)
    held = ok(srv.call("POST", ack, token=crew.buddy.token))
    assert held["acknowledged_by"] == crew.buddy.id
    assert parse_time(held["acknowledged_at"]) == t_ack
    advance(srv, 30)
    assert_error(srv.call("POST", ack, token=crew.buddy.token), 409)
    assert_error(srv.call("POST", ack, token=crew.lm.token), 409)
    after = get_escalation(srv, crew.admin, eid)
    assert after["acknowledged_by"] == crew.buddy.id, after
    assert after["acknowledged_at"] == held["acknowledged_at"], after
    assert len(steps_of(after, "acknowledged")) == 1, after["steps"]

    def refused(body, field):
        assert_error(srv.call("POST", resolve, token=crew.lm.token, body=body), 422,
                     field=field)

    refused({"outcome": "police", "how": "officers attended"}, "police_reference")
    refused({"outcome": "police", "police_reference": "", "how": "officers attended"},
            "police_reference")
    refused({"outcome": "police", "police_reference": "R" * 101, "how": "officers attended"},
            "police_reference")
    refused({"outcome": "safe"}, "how")
    refused({"outcome": "safe", "how": ""}, "how")
    refused({"outcome": "safe", "how": "x" * 501}, "how")
    refused({"outcome": "fine", "how": "phoned"}, "outcome")
    refused({"how": "phoned"}, "outcome")
    assert_error(srv.call("POST", resolve, token=crew.worker.token,
                          body={"outcome": "safe", "how": "I am fine"}), 403)
    assert_error(srv.call("POST", resolve, token=crew.outsider.token,
                          body={"outcome": "safe", "how": "she is fine"}), 404)
    still = get_escalation(srv, crew.admin, eid)
    assert still["state"] == "open" and still["outcome"] is None, still
    assert steps_of(still, "resolved") == []
    assert get_visit(srv, crew.admin, visit["id"])["escalation_id"] == eid

    done = ok(srv.call("POST", resolve, token=crew.lm.token,
                       body={"outcome": "police", "police_reference": "WY-1", "how": "attended"}))
    assert done["state"] == "resolved" and done["police_reference"] == "WY-1", done
    assert done["outcome_note"] == "attended", done
    assert_error(srv.call("POST", resolve, token=crew.lm.token,
                          body={"outcome": "safe", "how": "again"}), 409)
    assert_error(srv.call("POST", ack, token=crew.sm.token), 409)
    final = get_escalation(srv, crew.admin, eid)
    assert final["outcome"] == "police" and final["outcome_note"] == "attended", final
    assert len(steps_of(final, "resolved")) == 1

    listed = ok(srv.call("GET", "/api/v1/escalations?state=resolved", token=crew.admin))["items"]
    assert eid in [e["id"] for e in listed]
    listed = ok(srv.call("GET", "/api/v1/escalations?state=open", token=crew.admin))["items"]
    assert eid not in [e["id"] for e in listed]


def test_escalation_visibility(server_factory, smtp_sink):
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    visit = start_visit(srv, crew)
    esc = open_case(srv, crew, visit)
    path = "/api/v1/escalations/%d" % esc["id"]
    for who in (crew.worker, crew.buddy, crew.lm, crew.sm, crew.operator):
        got = ok(srv.call("GET", path, token=who.token))
        assert got["id"] == esc["id"] and got["visit_id"] == visit["id"], got
        listed = ok(srv.call("GET", "/api/v1/escalations", token=who.token))["items"]
        assert esc["id"] in [e["id"] for e in listed], (who, listed)
    for who in (crew.outsider, crew.other_lm):
        assert_error(srv.call("GET", path, token=who.token), 404)
        listed = ok(srv.call("GET", "/api/v1/escalations", token=who.token))["items"]
        assert esc["id"] not in [e["id"] for e in listed], (who, listed)
        listed = ok(srv.call("GET", "/api/v1/escalations?visit_id=%d" % visit["id"],
                             token=who.token))["items"]
        assert listed == [], (who, listed)


# -- the clock endpoint --------------------------------------------------------------------


def test_clock_endpoint(server_factory):
    plain = server_factory()
    assert_error(plain.call("POST", "/api/v1/test/clock", token=plain.admin(),
                            body={"advance": 60}), 404)

    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    start = sim_time(SIM_START)
    assert clock_now(srv) == start
    for who in (crew.lm, crew.operator, crew.worker):
        assert_error(srv.call("POST", "/api/v1/test/clock", token=who.token,
                              body={"advance": 60}), 403)
    for body in ({}, {"advance": -1}, {"advance": 604801}, {"advance": "60"},
                 {"advance": 60, "to": "tomorrow"}):
        assert_error(srv.call("POST", "/api/v1/test/clock", token=crew.admin, body=body), 422)
    assert_error(srv.call("POST", "/api/v1/test/clock", body={"advance": 60}), 401)
    assert clock_now(srv) == start
    assert advance(srv, 604800) == start + datetime.timedelta(days=7)
    # the simulated time is the server's time everywhere (sessions may have expired)
    srv.admin_token = None
    worker = login(srv, crew.worker.username, crew.worker.password)
    visit = create_visit(srv, worker, address=ADDRESS,
                         expected_departure=fmt_time(start + datetime.timedelta(days=7, hours=1)))
    assert parse_time(visit["created_at"]) == start + datetime.timedelta(days=7), visit

"""Outcomes and field rules of visits and escalations: the note a check-in leaves, a case
handed to the police, and the fields each mode of transport needs."""

from conftest import (advance, assert_error, clock_args, clock_now, create_channel,
                      escalations_of, fmt_time, get_escalation, get_visit, make_crew, ok,
                      visit_action, wait_until)
from test_escalation import (ADDRESS, MIN, lm_webhook, open_case, start_server, start_visit)


def test_checkin_resolution_note(server_factory, smtp_sink, webhook_sink):
    """POST /visits/{id}/checkin: an open escalation "is resolved as safe (`how`:
    `"the worker checked in"`)"."""
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    lm_webhook(srv, crew, webhook_sink)
    visit = start_visit(srv, crew, minutes=120, checkin_interval=1800)
    esc = open_case(srv, crew, visit)
    advance(srv, 60)
    ok(visit_action(srv, crew.worker.token, visit["id"], "checkin"))
    esc = get_escalation(srv, crew.admin, esc["id"])
    assert esc["state"] == "resolved" and esc["outcome"] == "safe", esc
    assert esc["outcome_note"] == "the worker checked in", esc


def test_police_outcome_keeps_visit_without_new_case(server_factory, smtp_sink, webhook_sink):
    """POST /escalations/{id}/resolve: "handed to the police, it stays on the board, past its
    deadline, until the worker or their manager ends it" -- not a new case for the same
    missed deadline, and nobody told again."""
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    lm_webhook(srv, crew, webhook_sink)
    arc = create_channel(srv, crew.admin, name="ARC", kind="webhook",
                         address=webhook_sink.url("/arc"), user_id=None, organisation=True)
    ok(srv.call("PUT", "/api/v1/teams/%d/escalation-policy" % crew.team["id"],
                token=crew.admin,
                body={"levels": [{"contact": "line_manager", "limit": 300},
                                 {"contact": "channel", "channel_id": arc["id"],
                                  "limit": 1800}]}))
    visit = start_visit(srv, crew)
    esc = open_case(srv, crew, visit)
    advance(srv, 302)
    assert len(webhook_sink.at("/arc")) == 1 and len(webhook_sink.at("/lm")) == 1
    esc = ok(srv.call("POST", "/api/v1/escalations/%d/resolve" % esc["id"],
                      token=crew.operator.token,
                      body={"outcome": "police", "police_reference": "WY-2026-11-23-0042",
                            "how": "police found her at the address"}))
    assert esc["state"] == "resolved" and esc["outcome"] == "police", esc
    wait_until(lambda: len(webhook_sink.at("/arc")) >= 2 and len(webhook_sink.at("/lm")) >= 2)
    assert len(webhook_sink.at("/arc")) == 2 and len(webhook_sink.at("/lm")) == 2

    advance(srv, 3600)
    cases = escalations_of(srv, crew.admin, visit["id"])
    assert [c["id"] for c in cases] == [esc["id"]], cases
    assert len(webhook_sink.at("/lm")) == 2, "line manager told again after the outcome"
    assert len(webhook_sink.at("/arc")) == 2, "ARC told again after the outcome"
    still = get_visit(srv, crew.lm.token, visit["id"])
    assert still["state"] == "active" and still["escalation_id"] is None, still
    closed = ok(visit_action(srv, crew.worker.token, visit["id"], "end", {"outcome": "safe"}))
    assert closed["state"] == "closed", closed


def test_visit_field_rules(server_factory):
    """POST /visits: `accompanied_by` (0-200); `transport.mode` `car` (with `vehicle_id`),
    `public_transport` (with `route`), `taxi` (with `company` and `call_sign`), `other`
    (with `detail`): a missing companion field is a 422 naming it."""
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    dep = fmt_time(clock_now(srv) + 60 * MIN)
    cases = [
        ({"accompanied_by": "a" * 201}, "accompanied_by"),
        ({"transport": {"mode": "car"}}, "transport.vehicle_id"),
        ({"transport": {"mode": "taxi", "company": "City Cabs"}}, "transport.call_sign"),
        ({"transport": {"mode": "taxi", "call_sign": "42"}}, "transport.company"),
        ({"transport": {"mode": "public_transport"}}, "transport.route"),
        ({"transport": {"mode": "other"}}, "transport.detail"),
    ]
    wrong = []
    for change, field in cases:
        body = {"address": ADDRESS, "expected_departure": dep}
        body.update(change)
        try:
            assert_error(srv.call("POST", "/api/v1/visits", token=crew.worker.token, body=body),
                         422, "invalid_field", field)
        except AssertionError as e:
            wrong.append((change, str(e)[:200]))
    assert not wrong, "\n".join(repr(w) for w in wrong)
    assert ok(srv.call("GET", "/api/v1/visits", token=crew.admin))["items"] == []


def test_nomination_is_told_again_and_carries_no_personal_data(server_factory, smtp_sink,
                                                                webhook_sink):
    """A nominated buddy learns of the nomination without the worker's next of kin (that is
    for a buddy who accepted), and is told again when nominated a second time."""
    srv = start_server(server_factory, smtp_sink)
    crew = make_crew(srv)
    visit = start_visit(srv, crew, minutes=60, accept=False)

    def nominations():
        return [m for m in smtp_sink.to(crew.mail_of("buddy")) if "buddy" in m.subject]

    assert wait_until(lambda: len(nominations()) == 1), nominations()
    text = nominations()[0].text()
    assert crew.WORKER_NAME in text, text
    assert crew.KIN["name"] not in text and crew.KIN["phone"] not in text, text
    ok(visit_action(srv, crew.buddy.token, visit["id"], "buddy", {"buddy_id": crew.lm.id}))
    advance(srv, 60)
    ok(visit_action(srv, crew.worker.token, visit["id"], "buddy", {"buddy_id": crew.buddy.id}))
    assert wait_until(lambda: len(nominations()) == 2), nominations()

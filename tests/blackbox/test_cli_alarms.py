"""The notalone client's alert and alarm commands, end to end against a real server on a
simulated clock: a worker's red, amber and test alerts, cancelling with the code, the alert
profile, codes on check-in and end; an operator's queue, pack, claim, calls, notes and
closing (on both backends)."""

import datetime
import http.server
import json
import re
import threading

import pytest

from conftest import (assert_error, clock_args, clock_now, create_visit, fmt_time, free_port,
                      make_crew, new_account, ok, parse_time, unique)
from test_cli import Cli

MIN = datetime.timedelta(minutes=1)
CODE = "4821"
DURESS = "9173"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class As(Cli):
    """The CLI of one account (its token in the environment), on the server's clock."""

    def __init__(self, server, account):
        super().__init__(server)
        self.account = account

    def env(self):
        env = super().env()
        env["NOTALONE_TOKEN"] = self.account.token
        env["NOTALONE_NOW"] = fmt_time(clock_now(self.server))
        env["TZ"] = "UTC"
        return env


@pytest.fixture(scope="module")
def srv(module_factory):
    return module_factory(extra_args=clock_args())


@pytest.fixture(scope="module")
def crew(srv):
    c = make_crew(srv)
    ok(srv.call("PUT", "/api/v1/me/alert-profile", token=c.worker.token,
                body={"code": CODE, "duress_code": DURESS}))
    c.w = As(srv, c.worker)
    c.op = As(srv, c.operator)
    return c


def fresh_worker(srv, crew):
    """A worker of the crew's team with no codes yet, and their CLI."""
    acct = new_account(srv, crew.admin, unique("wes"), ["worker"], team_ids=[crew.team["id"]])
    return acct, As(srv, acct)


def alarm_row(srv, alarm_id):
    """(kind, state, duress, cancelled_at) of an alarm in the database, as integers."""
    row = srv.db.query("SELECT kind, state, duress, cancelled_at FROM alarms WHERE id = ?",
                       alarm_id)[0]
    return [None if v is None else int(v) for v in row]


def usage(cli, *args, stdin=""):
    rc, out, err = cli(*args, stdin=stdin)
    assert rc == 2, (args, rc, out, err)
    assert "usage: notalone" in err, err
    return err


# -- the whole path: a red alert handled by an operator ------------------------------------


def test_red_alert_claimed_called_noted_closed(srv, crew):
    raised = crew.w.json("alert", "red", "--message", "help, front room", "--lat", "53.8",
                         "--lon", "-1.55")
    alarm = raised["alarm_id"]
    assert raised["duplicate"] is False and UUID.match(raised["alert_id"]), raised
    assert parse_time(raised["cancel_until"]) > parse_time(raised["opened_at"])
    assert alarm_row(srv, alarm)[:2] == [1, 1]  # red, open

    # the operator's queue holds it, in JSON and as a table
    queue = crew.op.json("alarm", "list")
    mine = [a for a in queue if a["id"] == alarm]
    assert len(mine) == 1 and mine[0]["state"] == "open" and mine[0]["kind"] == "red", queue
    line = [l for l in crew.op.ok("alarm", "list").splitlines() if l.startswith("%d " % alarm)]
    assert line and "red" in line[0] and crew.WORKER_NAME in line[0], line

    # the pack as text: the worker, their phone, the message
    shown = crew.op.ok("alarm", "show", str(alarm))
    for text in ("timeline:", "pack:", crew.WORKER_NAME, crew.WORKER_PHONE, "help, front room",
                 "opened"):
        assert text in shown, (text, shown)

    out = crew.op.ok("alarm", "claim", str(alarm))
    assert "you hold it" in out, out
    assert crew.op.json("alarm", "list", "--state", "claimed") and alarm in [
        a["id"] for a in crew.op.json("alarm", "list", "--state", "claimed")]
    crew.op.ok("alarm", "call", str(alarm), "--to", "emergency_services", "--number", "999",
               "--outcome", "police on their way", "--police-reference", "WY-2026-0042")
    crew.op.ok("alarm", "note", str(alarm), "worker answered: safe, police with her")
    out = crew.op.ok("alarm", "close", str(alarm), "--outcome", "genuine", "--found-safe",
                     "police found her safe", "--note", "no injuries")
    assert "closed as genuine" in out, out

    got = crew.op.json("alarm", "show", str(alarm))
    assert got["state"] == "closed" and got["outcome"] == "genuine", got
    assert got["found_safe"] == "police found her safe", got
    kinds = [line["kind"] for line in got["timeline"]]
    steps = ["opened", "claimed", "call", "note", "closed"]
    assert [k for k in kinds if k in steps] == steps, kinds
    call = [line for line in got["timeline"] if line["kind"] == "call"][0]
    assert call["actor_id"] == crew.operator.id and call["data"]["number"] == "999", call

    # the timeline as text: each step with the operator, the call's details
    text = crew.op.ok("alarm", "show", str(alarm))
    timeline = text.split("timeline:")[1].split("pack:")[0]
    for step in steps[1:]:
        rows = [l for l in timeline.splitlines() if re.search(r"\b%s\b" % step, l)]
        assert rows and "Olu Operator" in rows[0], (step, timeline)
    assert "WY-2026-0042" in timeline and "worker answered" in timeline, timeline

    # closed: no longer in the queue, in the closed list
    assert alarm not in [a["id"] for a in crew.op.json("alarm", "list")]
    assert alarm in [a["id"] for a in crew.op.json("alarm", "list", "--state", "closed")]


def test_plain_red_alert_and_retried_alert_id(srv, crew):
    alert_id = unique("pendant-")
    out = crew.w.ok("alert", "red", "--alert-id", alert_id)
    m = re.search(r"alarm (\d+) is open", out)
    assert m and "cancel until" in out and alert_id in out, out
    again = crew.w.json("alert", "red", "--alert-id", alert_id)
    assert again["alarm_id"] == int(m.group(1)) and again["duplicate"] is True, again
    assert "already received" in crew.w.ok("alert", "red", "--alert-id", alert_id)
    assert int(srv.db.value("SELECT COUNT(*) FROM alarms WHERE alert_id = ?", alert_id)) == 1
    # a bad alert id is the server's to refuse
    rc, out, err = crew.w("alert", "red", "--alert-id", "no spaces allowed")
    assert rc == 1 and "alert_id" in err, (rc, out, err)


class FlakyServer:
    """Answers POST /api/v1/alerts/red with the statuses given in turn, recording bodies."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.bodies = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                outer.bodies.append(json.loads(self.rfile.read(n)))
                status = outer.statuses.pop(0)
                body = {"error": {"code": "unavailable", "message": "busy"}}
                if status == 201:
                    body = {"alarm_id": 77, "alert_id": outer.bodies[-1]["alert_id"],
                            "opened_at": "2026-11-23T09:00:00.000Z",
                            "cancel_until": "2026-11-23T09:01:00.000Z", "duplicate": False}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_red_alert_sent_again_with_the_same_id(srv, crew):
    flaky = FlakyServer([503, 503, 201])
    try:
        rc, out, err = crew.w("alert", "red", "--message", "help", server=flaky.url)
    finally:
        flaky.close()
    assert rc == 0, (rc, out, err)
    assert "alarm 77 is open" in out and err.count("sending the red alert again") == 2, err
    ids = {b["alert_id"] for b in flaky.bodies}
    assert len(flaky.bodies) == 3 and len(ids) == 1 and UUID.match(ids.pop()), flaky.bodies
    assert all(b["message"] == "help" for b in flaky.bodies)
    # another command, another id
    flaky = FlakyServer([201])
    try:
        crew.w.ok("alert", "red", server=flaky.url)
    finally:
        flaky.close()
    # a refusal is not retried
    flaky = FlakyServer([422, 201])
    try:
        rc, out, err = crew.w("alert", "red", server=flaky.url)
    finally:
        flaky.close()
    assert rc == 1 and len(flaky.bodies) == 1, (rc, err)


def test_red_alert_unreachable_exits_3(crew):
    url = "http://127.0.0.1:%d" % free_port()
    rc, out, err = crew.w("alert", "red", server=url)
    assert rc == 3, (rc, out, err)
    assert err.count("sending the red alert again") == 3, err


# -- amber and test alerts -----------------------------------------------------------------


def test_amber_alert_with_a_deadline(srv, crew):
    worker, cli = fresh_worker(srv, crew)
    now = clock_now(srv)
    amber = cli.json("alert", "amber", "entering flat 3, tenant known to be volatile",
                     "--deadline", "30m", "--lat", "53.79", "--lon", "-1.54")
    assert amber["status"] == "entering flat 3, tenant known to be volatile", amber
    assert amber["state"] == "watching" and parse_time(amber["deadline_at"]) == now + 30 * MIN
    assert UUID.match(amber["alert_id"]), amber
    out = cli.ok("alert", "amber", "in the car park", "--deadline",
                 fmt_time(now + 45 * MIN).replace(".000Z", "Z"))
    assert "Amber alert" in out and "in the car park" in out and "deadline" in out, out
    out = cli.ok("alert", "amber", "back in the office")
    assert "no deadline" in out, out
    rows = srv.db.query("SELECT status, deadline_at FROM amber_alerts WHERE worker_id = ? "
                        "ORDER BY id", worker.id)
    assert [r[0] for r in rows] == ["entering flat 3, tenant known to be volatile",
                                    "in the car park", "back in the office"], rows
    assert rows[2][1] is None


def test_test_alert(srv, crew):
    worker, cli = fresh_worker(srv, crew)
    got = cli.json("alert", "test")
    assert got["outcome"] == "test" and got["alarm_id"] > 0, got
    assert alarm_row(srv, got["alarm_id"])[:2] == [4, 3]  # test, closed
    assert "closed as a test" in cli.ok("alert", "test")


# -- codes: asked for, never on the command line ---------------------------------------------


def test_cancel_with_the_code_on_stdin(srv, crew):
    alarm = crew.w.json("alert", "red")["alarm_id"]
    rc, out, err = crew.w("alert", "cancel", str(alarm), stdin="0000\n")
    assert rc == 1 and "code" in err, (rc, out, err)
    assert alarm_row(srv, alarm)[3] is None
    usage(crew.w, "alert", "cancel", str(alarm))  # no code given
    got = crew.w.json("alert", "cancel", str(alarm), stdin=CODE + "\n")
    assert got["cancelled"] is True and got["alarm_id"] == alarm, got
    assert alarm_row(srv, alarm)[3] is not None
    # plain, with the duress code: the same answer, and the alarm marked duress
    alarm = crew.w.json("alert", "red")["alarm_id"]
    out = crew.w.ok("alert", "cancel", str(alarm), stdin=DURESS + "\n")
    assert "Alarm %d cancelled" % alarm in out, out
    assert alarm_row(srv, alarm)[2] == 1


@pytest.mark.parametrize("args", [
    ["alert", "cancel", "5", CODE],
    ["alert", "cancel", "5", "--code", CODE],
    ["alert", "cancel", "5", "--code=" + CODE],
    ["alert", "profile", "--set-code", CODE],
    ["alert", "profile", "--set-code=" + CODE],
    ["alert", "profile", "--code", CODE],
    ["alert", "profile", "--duress-code", DURESS],
    ["checkin", "--code=" + CODE],
    ["end", "--code=" + CODE],
    ["checkin", "1", CODE, "--code"],
])
def test_codes_never_from_argv(srv, crew, args):
    usage(crew.w, *args, stdin=CODE + "\n")


def test_checkin_and_end_with_code(srv, crew):
    worker, cli = fresh_worker(srv, crew)
    cli.ok("alert", "profile", "--set-code", "--set-duress-code", stdin="%s\n%s\n" % (CODE,
                                                                                     DURESS))
    visit = create_visit(srv, worker.token, address="12 Oak Street, Leeds", start=True,
                         expected_departure=fmt_time(clock_now(srv) + 60 * MIN))
    rc, out, err = cli("checkin", "--code", stdin="1111\n")
    assert rc == 1 and "code" in err, (rc, out, err)
    before = int(srv.db.value("SELECT COUNT(*) FROM alarms WHERE worker_id = ?", worker.id))
    assert "check-in recorded" in cli.ok("checkin", "--code", stdin=CODE + "\n")
    assert "check-in recorded" in cli.ok("checkin", "--code", stdin=DURESS + "\n")
    rows = srv.db.query("SELECT kind, duress FROM alarms WHERE worker_id = ? ORDER BY id",
                        worker.id)
    assert len(rows) == before + 1 and [int(v) for v in rows[-1]] == [2, 1], rows  # duress
    usage(cli, "end", "--code")  # no code on stdin
    assert "ended safe" in cli.ok("end", str(visit["id"]), "--code", stdin=CODE + "\n")


def test_alert_profile(srv, crew):
    worker, cli = fresh_worker(srv, crew)
    got = cli.json("alert", "profile")
    assert got["has_code"] is False and got["has_duress_code"] is False, got
    out = cli.ok("alert", "profile")
    assert re.search(r"^code\s+not set$", out, re.M), out
    # no current code yet: the new code, then the duress code
    got = cli.json("alert", "profile", "--set-code", "--set-duress-code", "--consent", "yes",
                   stdin="%s\n%s\n" % (CODE, DURESS))
    assert got["has_code"] and got["has_duress_code"] and got["location_consent"] is True, got
    # now the current code comes first, and must be right
    rc, out, err = cli("alert", "profile", "--set-code", stdin="0000\n5555\n")
    assert rc == 1 and "current_code" in err, (rc, out, err)
    out = cli.ok("alert", "profile", "--set-code", "--consent", "no",
                 stdin="%s\n5555\n" % CODE)
    assert "Alert profile changed" in out and re.search(r"^location consent\s+no$", out, re.M)
    alarm = cli.json("alert", "red")["alarm_id"]
    assert cli.json("alert", "cancel", str(alarm), stdin="5555\n")["cancelled"] is True
    # the same codes are refused by the server, not the client
    rc, out, err = cli("alert", "profile", "--set-duress-code", stdin="5555\n5555\n")
    assert rc == 1 and "duress_code" in err, (rc, out, err)
    usage(cli, "alert", "profile", "--set-code")  # no code on stdin


# -- usage errors --------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["alert"],
    ["alert", "frobnicate"],
    ["alert", "amber"],
    ["alert", "amber", "status", "--deadline", "soon"],
    ["alert", "amber", "status", "--lat", "53.8"],
    ["alert", "red", "--lat", "95", "--lon", "0"],
    ["alert", "red", "--alert-id", ""],
    ["alert", "red", "extra"],
    ["alert", "test", "--message", "x"],
    ["alert", "cancel"],
    ["alert", "cancel", "seven"],
    ["alert", "profile", "--consent", "maybe"],
    ["alarm"],
    ["alarm", "show"],
    ["alarm", "show", "0"],
    ["alarm", "list", "--state", "lost"],
    ["alarm", "claim", "1", "--force"],
    ["alarm", "call", "1", "--to", "worker"],
    ["alarm", "call", "1", "--outcome", "no answer"],
    ["alarm", "note", "1"],
    ["alarm", "close", "1", "--outcome", "genuine"],
    ["alarm", "close", "1", "--found-safe", "yes"],
])
def test_usage_errors_exit_2(srv, crew, args):
    rc, out, err = crew.op(*args)
    assert rc == 2, (args, rc, out, err)
    assert err.strip() and not out.strip(), (out, err)


def test_server_refusals_exit_1(srv, crew):
    """What the server refuses: a worker's own alarm, an unknown alarm, a bad outcome."""
    alarm = crew.w.json("alert", "red")["alarm_id"]
    for cli, args in ((crew.w, ["alarm", "claim", str(alarm)]),
                      (crew.op, ["alarm", "show", "987654321"]),
                      (crew.op, ["alarm", "close", str(alarm), "--outcome", "fine",
                                 "--found-safe", "x"]),
                      (crew.op, ["alarm", "call", str(alarm), "--to", "aunt", "--outcome", "x"])):
        rc, out, err = cli(*args)
        assert rc == 1 and err.startswith("notalone: "), (args, rc, out, err)
    crew.op.ok("alarm", "claim", str(alarm))
    rc, out, err = crew.op("alarm", "close", str(alarm), "--outcome", "fine", "--found-safe", "x")
    assert rc == 1 and "outcome" in err, err
    assert_error(srv.call("GET", "/api/v1/alarms/%d" % alarm, token=crew.worker.token), 404)

"""PostgreSQL only: the database going away and coming back, connection strings that cannot
work, and nodes started together on a new database.

Every test here has a database of its own in the shared test cluster (other test files use
the cluster at the same time), so an outage is made for that one database only.
"""

import datetime
import os
import threading
import time

import pytest

from conftest import (ADMIN_PASSWORD, BACKEND, Database, activate, assert_error, clock_args,
                      clock_now, create_visit, fmt_time, free_port, get_visit, list_all, login,
                      make_crew, ok, visit_action, wait_until)

MIN = datetime.timedelta(minutes=1)
PASSWORD_IN_URL = "Sekr1t-pg-Pa55word"
OUTAGE_ANSWER_WITHIN = 5.0  # seconds: a request during an outage is answered, never hangs


@pytest.fixture(autouse=True)
def _needs_postgresql():
    assert BACKEND == "postgresql", "test_cluster*.py runs with NOTALONE_TEST_PG_DIR set"


def timed_call(srv, method, path, token=None, body=None):
    """One request; returns (answer, seconds it took)."""
    t = time.monotonic()
    answer = srv.call(method, path, token=token, body=body, timeout=30)
    return answer, time.monotonic() - t


def readyz(srv):
    return srv.call("GET", "/readyz", timeout=10)[0]


# -- the database goes away and comes back -----------------------------------------------------


def test_outage_is_503_and_the_node_recovers_without_a_restart(server_factory):
    srv = server_factory(extra_args=clock_args())
    crew = make_crew(srv)
    worker = crew.worker.token
    t0 = clock_now(srv)
    visit = create_visit(srv, worker, address="12 Oak Street, Leeds",
                         expected_departure=fmt_time(t0 + 60 * MIN), checkin_interval=1800,
                         start=True)
    checked = ok(visit_action(srv, worker, visit["id"], "checkin"))
    acked_checkin_at = checked["last_checkin_at"]
    assert acked_checkin_at is not None, checked
    pid = srv.run.proc.pid

    srv.db.block_connections()
    try:
        assert wait_until(lambda: readyz(srv) == 503, timeout=10), \
            "GET /readyz still 200 with the database unreachable"
        (st, body, _), took = timed_call(srv, "GET", "/readyz")
        assert st == 503 and body == {"status": "not_ready"}, (st, body)
        assert took < OUTAGE_ANSWER_WITHIN, took
        # liveness does not depend on the database
        ok(srv.call("GET", "/healthz", timeout=10))

        # every kind of request gets a clear 503, quickly, several at once too
        calls = [("GET", "/api/v1/me", worker, None),
                 ("GET", "/api/v1/visits/%d" % visit["id"], worker, None),
                 ("POST", "/api/v1/visits/%d/checkin" % visit["id"], worker, None),
                 ("POST", "/api/v1/teams", crew.admin, {"name": "during the outage"}),
                 ("POST", "/api/v1/login", None, {"username": crew.worker.username,
                                                  "password": crew.worker.password})]
        for method, path, token, body in calls:
            answer, took = timed_call(srv, method, path, token, body)
            assert_error(answer, 503, "unavailable")
            assert took < OUTAGE_ANSWER_WITHIN, (method, path, took)
        answers = []

        def one():
            answers.append(timed_call(srv, "GET", "/api/v1/visits/%d" % visit["id"], worker))
        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(answers) == 8, answers
        for answer, took in answers:
            assert_error(answer, 503, "unavailable")
            assert took < OUTAGE_ANSWER_WITHIN, took
        assert srv.running, srv.run.stderr()[-4000:]
    finally:
        srv.db.allow_connections()

    # back without a restart: same process, ready again, everything acknowledged kept
    assert wait_until(lambda: readyz(srv) == 200, timeout=15), \
        "GET /readyz not 200 again after the database came back:\n" + srv.run.stderr()[-4000:]
    assert srv.running and srv.run.proc.pid == pid
    got = get_visit(srv, worker, visit["id"])
    assert got["last_checkin_at"] == acked_checkin_at, got
    assert got["state"] == "active", got
    # the check-in refused with 503 during the outage was not made
    assert [e["kind"] for e in got["events"]].count("checkin") == 1, got["events"]
    ok(srv.call("GET", "/api/v1/me", token=worker))
    ok(visit_action(srv, worker, visit["id"], "checkin"))
    teams = [t["name"] for t in list_all(srv, "/api/v1/teams", crew.admin)]
    assert "during the outage" not in teams, teams
    srv.stop_checked()


# -- connection strings that cannot work -----------------------------------------------------


def bad_connection_strings():
    closed_port = free_port()
    return {
        "unreachable server": "postgresql://notalone:%s@127.0.0.1:%d/notalone"
                              % (PASSWORD_IN_URL, closed_port),
        "URI with a broken host": "postgresql://notalone:%s@[127.0.0.1/notalone"
                                  % PASSWORD_IN_URL,
        "URI with a port that is no number": "postgresql://notalone:%s@127.0.0.1:port/notalone"
                                             % PASSWORD_IN_URL,
        "URI with an unknown parameter": "postgresql://notalone:%s@127.0.0.1/notalone?colour=red"
                                         % PASSWORD_IN_URL,
        "not a connection string": "%s@127.0.0.1" % PASSWORD_IN_URL,
        "key=value with an unknown key": "host=127.0.0.1 password=%s colour=red"
                                         % PASSWORD_IN_URL,
        "key=value with an open quote": "host=127.0.0.1 password='%s" % PASSWORD_IN_URL,
    }


@pytest.mark.parametrize("case", sorted(bad_connection_strings()))
def test_bad_connection_string_exits_with_a_message_without_the_password(server_factory, case):
    url = bad_connection_strings()[case]
    srv = server_factory(start=False, database=Database("postgresql", url))
    t = time.monotonic()
    rc, stderr = srv.start_expect_exit(timeout=30)
    took = time.monotonic() - t
    assert rc > 0, "exit code %s (a signal when negative):\n%s" % (rc, stderr)
    assert took < 20, took
    assert "AddressSanitizer" not in stderr and "runtime error:" not in stderr, stderr
    assert PASSWORD_IN_URL not in stderr, "the password is on stderr:\n" + stderr
    assert PASSWORD_IN_URL.lower() not in stderr.lower(), stderr
    errors = [line for line in stderr.splitlines() if "level=error" in line]
    assert errors, "no error line on stderr:\n" + stderr
    assert any("database" in line.lower() or "postgres" in line.lower() for line in errors), \
        "the error does not say it is about the database:\n" + stderr
    assert not os.path.exists(os.path.join(srv.data_dir, "initial-admin-password"))


def test_database_that_does_not_exist_exits_with_a_message(server_factory):
    from conftest import pg_cluster
    url = "%s dbname=no_such_database_here password=%s" % (pg_cluster(), PASSWORD_IN_URL)
    srv = server_factory(start=False, database=Database("postgresql", url))
    rc, stderr = srv.start_expect_exit(timeout=30)
    assert rc > 0, stderr
    assert PASSWORD_IN_URL not in stderr, stderr
    assert any("level=error" in line and ("database" in line.lower() or "postgres" in
                                          line.lower()) for line in stderr.splitlines()), stderr


# -- nodes started together on a new database --------------------------------------------------


def test_nodes_started_together_on_a_new_database_set_it_up_once(server_factory):
    for round_ in range(3):
        first = server_factory(start=False)
        second = server_factory(start=False, database=first.db)
        nodes = (first, second)
        for node in nodes:
            node.spawn()
        for node in nodes:
            node.wait_ready()

        files = [n for n in nodes
                 if os.path.exists(os.path.join(n.data_dir, "initial-admin-password"))]
        assert len(files) == 1, "round %d: %d nodes wrote a first administrator's password" \
            % (round_, len(files))
        otp = files[0].initial_admin_password()
        token = activate(first, "admin", otp, ADMIN_PASSWORD)
        for node in nodes:
            node.admin_password = ADMIN_PASSWORD
            login(node, "admin", ADMIN_PASSWORD)
            orgs = ok(node.call("GET", "/api/v1/organisations", token=token))["items"]
            assert len(orgs) == 1 and orgs[0]["is_host"] is True, orgs
            users = list_all(node, "/api/v1/users", token)
            assert [u["username"] for u in users] == ["admin"], users

        db = first.db
        assert db.value("SELECT count(*) FROM organisations") == "1"
        assert db.value("SELECT count(*) FROM users") == "1"
        versions = [int(r[0]) for r in db.query("SELECT version FROM schema_migrations "
                                                  "ORDER BY version")]
        assert versions == list(range(1, len(versions) + 1)), versions
        for node in nodes:
            log = node.run.stderr()
            assert "event=schema version=%d" % versions[-1] in log, log[-4000:]
        for node in nodes:
            node.stop_checked()

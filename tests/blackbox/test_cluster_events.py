"""PostgreSQL only: the live event stream across nodes. A change made through one node
reaches a stream open on another within a second (LISTEN/NOTIFY), and still does after
the database restarted or crashed under both (each node's listener reconnects).

The restart tests run their own PostgreSQL server (scripts/test-pg in a folder of their
own), since other test files share the main one.
"""

import datetime
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import (BACKEND, TEST_PG, Database, fmt_time, make_crew, ok, visit_action,
                      wait_until)
from sse import EventStream

MIN = datetime.timedelta(minutes=1)
WITHIN = 1.0  # seconds from a change through one node to its event on another's stream


@pytest.fixture(autouse=True)
def _needs_postgresql():
    assert BACKEND == "postgresql", "test_cluster*.py runs with NOTALONE_TEST_PG_DIR set"


def test_pg(*args):
    out = subprocess.run([TEST_PG] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert out.returncode == 0, (args, out.stderr.decode(errors="replace"))
    return out.stdout.decode().strip()


test_pg.__test__ = False  # a helper, not a test


@pytest.fixture
def private_pg():
    """A PostgreSQL server of this test's own: (folder, database) with one empty database."""
    base = tempfile.mkdtemp(prefix="notalone-pg-")
    os.chmod(base, 0o755)  # the server runs as postgres when the tests run as root
    folder = os.path.join(base, "pg")
    test_pg("start", folder)
    try:
        name = "events_%d" % os.getpid()
        yield folder, Database("postgresql", test_pg("createdb", folder, name), name)
    finally:
        subprocess.run([TEST_PG, "stop", folder], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def two_nodes(server_factory, database=None):
    """Nodes a and b on one database (a new one unless given); a does the first start."""
    a = server_factory(start=False, database=database, extra_args=["--node-name", "node-a"])
    a.start()
    b = server_factory(start=False, database=a.db, extra_args=["--node-name", "node-b"])
    b.start()
    return a, b


def start_visit(srv, token):
    t0 = datetime.datetime.now(datetime.timezone.utc)
    return ok(srv.call("POST", "/api/v1/visits", token=token,
                       body={"address": "12 Oak Street, Leeds", "start": True,
                             "expected_departure": fmt_time(t0 + 60 * MIN)}), 201)


def checkin_arrives(through, token, visit_id, stream, within=WITHIN):
    """A check-in through one node; its event on the stream of another, in time."""
    t = time.monotonic()
    ok(visit_action(through, token, visit_id, "checkin"))
    e = stream.next(timeout=5)
    assert (e.kind, e.data["visit_id"]) == ("visit.checkin", visit_id), e
    took = e.received_at - t
    assert took < within, "the event took %.3f s to reach the other node" % took
    return e


def test_an_event_made_on_one_node_reaches_a_stream_on_another(server_factory):
    a, b = two_nodes(server_factory)
    crew = make_crew(a)
    token = crew.worker.token
    with EventStream(b.port, crew.lm.token) as on_b:
        assert on_b.status == 200
        t = time.monotonic()
        visit = start_visit(a, token)
        started = on_b.next(timeout=5)
        assert (started.kind, started.data["visit_id"]) == ("visit.started", visit["id"])
        assert started.received_at - t < WITHIN, started.received_at - t
        ids = [started.id]
        for _ in range(5):
            ids.append(checkin_arrives(a, token, visit["id"], on_b).id)
        # and the other way round, with both streams getting it once
        with EventStream(a.port, token) as on_a:
            assert on_a.status == 200
            ids.append(checkin_arrives(b, token, visit["id"], on_a).id)
            assert on_a.drain(0.3) == []
        assert [e.id for e in on_b.take(1)] == [ids[-1]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
        assert on_b.drain(0.3) == []


def test_a_stream_resumes_on_another_node_with_last_event_id(server_factory):
    a, b = two_nodes(server_factory)
    crew = make_crew(a)
    token = crew.worker.token
    with EventStream(a.port, token) as on_a:
        visit = start_visit(a, token)
        ok(visit_action(a, token, visit["id"], "checkin"))
        first = on_a.take(2)
    # the client reconnects to the other node, as behind a load balancer
    with EventStream(b.port, token, last_event_id=first[0].id) as on_b:
        assert on_b.status == 200
        assert [e.id for e in on_b.take(1)] == [first[1].id]
        checkin_arrives(a, token, visit["id"], on_b)


@pytest.mark.parametrize("outage", ["restart", "kill"])
def test_after_the_database_comes_back_streams_still_get_events(private_pg, server_factory,
                                                                 outage):
    folder, database = private_pg
    a, b = two_nodes(server_factory, database)
    crew = make_crew(a)
    token = crew.worker.token
    with EventStream(b.port, crew.lm.token) as on_b:
        assert on_b.status == 200
        visit = start_visit(a, token)
        assert on_b.next(timeout=5).kind == "visit.started"

        test_pg(outage, folder)  # every connection of both nodes is cut

        def ready(node):
            try:
                return node.call("GET", "/readyz", timeout=5)[0] == 200
            except OSError:
                return False
        assert wait_until(lambda: ready(a) and ready(b), timeout=30), \
            "the nodes did not become ready again:\n" + b.run.stderr()[-3000:]
        # the first change after the outage may meet a connection not yet replaced
        assert wait_until(lambda: visit_action(a, token, visit["id"], "checkin")[0] == 200,
                          timeout=30, interval=0.2)
        e = on_b.next(timeout=10)
        assert (e.kind, e.data["visit_id"]) == ("visit.checkin", visit["id"]), e
        # b's listener is back: later events come at once again, not at the next poll
        assert wait_until(lambda: "event=events_listen_reconnected" in b.run.stderr(),
                          timeout=15), b.run.stderr()[-3000:]
        for _ in range(3):
            checkin_arrives(a, token, visit["id"], on_b)
        assert not on_b.closed.is_set()
        assert b.running and a.running

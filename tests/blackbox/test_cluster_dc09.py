"""PostgreSQL only: two nodes on one database, each with its own DC-09 receiver, as an alarm
receiving centre runs them behind one address or as a transmitter's main and backup
receivers. A message repeated to the other node is acknowledged without a second event; a
silent device's loss of signal is told once with both nodes running; and when the node
that last heard a device is killed, the other takes its supervision over."""

import datetime
import os
import sys

import pytest

from conftest import (ADMIN_PASSWORD, BACKEND, SOURCE_DIR, advance, free_port, make_crew, ok,
                      wait_until)
from test_cluster import (HEARTBEAT_WITHIN, LEASE, advance_together, metric, ms, node_args,
                          wait_heartbeats)
from test_dc09 import Tcp, account_of, add_device, assert_ack

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import dc09_frames as dc  # noqa: E402

S = datetime.timedelta(seconds=1)
INTERVAL = 600  # the devices' supervision interval, seconds


@pytest.fixture(autouse=True)
def _needs_postgresql():
    assert BACKEND == "postgresql", "test_cluster*.py runs with NOTALONE_TEST_PG_DIR set"


class Node:
    """A node and its receiver's port (the shape test_dc09's helpers take)."""

    def __init__(self, srv, port):
        self.srv = srv
        self.port = port

    def tcp(self):
        return Tcp(self.port)


def start_receivers(server_factory, names):
    """Nodes on one new database, each with a DC-09 receiver, the first started alone so
    that it creates the schema and the administrator; returns them with the admin's token."""
    nodes = []
    for i, name in enumerate(names):
        port = free_port()
        srv = server_factory(start=False, database=nodes[0].srv.db if nodes else None,
                             extra_args=node_args(name) + ["--dc09-listen",
                                                           "127.0.0.1:%d" % port])
        srv.node_name = name
        srv.start()
        if i:
            srv.admin_password = ADMIN_PASSWORD
            srv.admin_token = nodes[0].srv.admin()
        nodes.append(Node(srv, port))
    return nodes, nodes[0].srv.admin()


def signal_of(node, token, device_id):
    return ok(node.srv.call("GET", "/api/v1/devices/%d" % device_id, token=token))["signal"]


def told(db, event):
    return int(db.value("SELECT count(*) FROM outbox WHERE event = ?", event))


def dc09_alarms(db, worker_id):
    return db.query("SELECT id, state FROM alarms WHERE worker_id = ? AND source = 'dc09' "
                    "ORDER BY id", worker_id)


def test_repeat_across_nodes_and_loss_told_once(server_factory):
    (a, b), _ = start_receivers(server_factory, ["node-a", "node-b"])
    crew = make_crew(a.srv)
    d = add_device(a, crew, supervision={"interval_s": INTERVAL, "alarm": True})
    acct = account_of(d)
    t0 = advance(a.srv, 0)
    assert advance(b.srv, 0) == t0
    frame = dc.build("ADM-CID", 1, acct, "1602 00 000", timestamp=t0)
    with a.tcp() as ta, b.tcp() as tb:
        assert_ack(ta.ask(frame), 1, acct)
        # The transmitter heard nothing and tried its backup receiver: the same message.
        assert_ack(tb.ask(frame), 1, acct)
    db = a.srv.db
    assert db.value("SELECT count(*) FROM dc09_events WHERE account = ?", acct) == "1"
    # Both nodes run past the interval: the loss is told once, with one alarm.
    advance_together([a.srv, b.srv], INTERVAL + 1)
    assert signal_of(a, crew.admin, d["id"]) == "lost"
    assert told(db, "device.signal_lost") == 1
    alarms = dc09_alarms(db, crew.worker.id)
    assert len(alarms) == 1, alarms
    # The device comes back through the other node: told once, the alarm closed.
    with b.tcp() as tb:
        assert_ack(tb.ask(dc.build("NULL", 2, acct, timestamp=advance(b.srv, 0))), 2, acct)
    advance_together([a.srv, b.srv], 0)
    assert signal_of(b, crew.admin, d["id"]) == "ok"
    assert told(db, "device.signal_restored") == 1
    state = ok(a.srv.call("GET", "/api/v1/alarms/%s" % alarms[0][0], token=crew.operator.token))
    assert state["state"] == "closed", state


def test_supervision_of_a_killed_node_is_taken_over(server_factory):
    (a, b), _ = start_receivers(server_factory, ["node-a", "node-b"])
    crew = make_crew(a.srv)
    d = add_device(a, crew, supervision={"interval_s": INTERVAL})
    acct = account_of(d)
    t0 = advance(a.srv, 0)
    assert advance(b.srv, 0) == t0
    with a.tcp() as ta:
        assert_ack(ta.ask(dc.build("NULL", 1, acct, timestamp=t0)), 1, acct)
    db = a.srv.db
    assert db.value("SELECT owner FROM devices WHERE id = ?", d["id"]) == "node-a"
    assert int(db.value("SELECT silent_due_at FROM devices WHERE id = ?", d["id"])) == \
        ms(t0 + INTERVAL * S)
    with db.session() as session:
        wait_heartbeats(session, [a.srv, b.srv], t0)
        a.srv.kill()
        now = advance(b.srv, LEASE + 3)
        wait_heartbeats(session, [b.srv], now)
        assert wait_until(lambda: metric(b.srv, "notalone_rows_taken_over_total") > 0,
                          timeout=HEARTBEAT_WITHIN), b.srv.run.stderr()[-4000:]
    assert db.value("SELECT owner FROM devices WHERE id = ?", d["id"]) == "node-b"
    advance(b.srv, INTERVAL - (LEASE + 3) - 1)
    assert signal_of(b, crew.admin, d["id"]) == "ok"
    lost_at = advance(b.srv, 2)
    got = ok(b.srv.call("GET", "/api/v1/devices/%d" % d["id"], token=crew.admin))
    assert got["signal"] == "lost" and got["lost_at"] is not None, got
    assert told(db, "device.signal_lost") == 1
    assert lost_at >= t0 + INTERVAL * S

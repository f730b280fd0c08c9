"""PostgreSQL only: an alarm's re-notification on two nodes. A node killed with SIGKILL
while an alarm it opened waits unclaimed: the other node takes the alarm over once the
lease has passed and tells the operators again at the interval, exactly once a round."""

import datetime
import os

import pytest

from conftest import (BACKEND, activate, advance, clock_now, create_user, ok, wait_until)
from test_cluster import HEARTBEAT_WITHIN, LEASE, metric, ms, start_nodes, wait_heartbeats

S = datetime.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _needs_postgresql():
    assert BACKEND == "postgresql", "test_cluster*.py runs with NOTALONE_TEST_PG_DIR set"


def account(node, token, roles):
    user, otp = create_user(node, token, "u%s" % os.urandom(4).hex(), roles)
    return user["id"], activate(node, user["username"], otp)


def test_renotify_of_a_killed_node_is_taken_over(server_factory):
    (a, b), token = start_nodes(server_factory, ["node-a", "node-b"])
    operator_id, _ = account(a, token, ["operator"])
    worker_id, worker_token = account(a, token, ["worker"])
    t0 = clock_now(a)
    assert clock_now(b) == t0
    answer = ok(a.call("POST", "/api/v1/alerts/red", token=worker_token,
                       body={"alert_id": "cluster-red-1"}), 201)
    alarm_id = answer["alarm_id"]
    db = a.db
    assert db.value("SELECT owner FROM alarms WHERE id = ?", alarm_id) == "node-a"
    renotify_at = int(db.value("SELECT renotify_at FROM alarms WHERE id = ?", alarm_id))
    assert renotify_at == ms(t0 + 60 * S)
    with db.session() as session:
        wait_heartbeats(session, [a, b], t0)
        a.kill()
        # node B's clock passes the lease: its next pass takes node A's alarm over
        now = advance(b, LEASE + 3)
        wait_heartbeats(session, [b], now)
        assert wait_until(lambda: metric(b, "notalone_rows_taken_over_total") > 0,
                          timeout=HEARTBEAT_WITHIN), b.run.stderr()[-4000:]
    assert db.value("SELECT owner FROM alarms WHERE id = ?", alarm_id) == "node-b"
    assert db.value("SELECT renotify_count FROM alarms WHERE id = ?", alarm_id) == "0"
    # the interval passes on node B: the operators are told again, once
    advance(b, 60 - (LEASE + 3) - 1)
    assert db.value("SELECT renotify_count FROM alarms WHERE id = ?", alarm_id) == "0"
    advance(b, 1)
    assert db.value("SELECT renotify_count FROM alarms WHERE id = ?", alarm_id) == "1"
    lines = db.query("SELECT kind FROM alarm_events WHERE alarm_id = ? AND kind = ?",
                     alarm_id, "renotified")
    assert len(lines) == 1, lines
    told = int(db.value("SELECT count(*) FROM outbox WHERE event = ? AND user_id = ?",
                        "alarm.notify", operator_id))
    assert told == 2, told
    assert int(db.value("SELECT count(*) FROM outbox WHERE user_id = ?", worker_id)) == 0
    assert int(db.value("SELECT renotify_at FROM alarms WHERE id = ?", alarm_id)) == \
        ms(t0 + 120 * S)
    # and again at the next interval, still through node B alone
    advance(b, 60)
    assert db.value("SELECT renotify_count FROM alarms WHERE id = ?", alarm_id) == "2"

"""PostgreSQL only: several nodes on one database losing a node, the database, or their own
process, without losing or doubling an alarm.

- A thousand deadlines in one simulated minute on two nodes; one node is killed halfway and
  the other takes its work over: every visit escalates exactly once, every first
  notification reaches the receiver exactly once, and none is later than the lease and one
  step of the clock.
- The database restarted and crashed under a load of check-ins: answers during the outage
  are 503 or a refused connection, never 500 or a hang; the nodes recover by themselves;
  every acknowledged check-in is kept; a deadline that falls due during the outage
  escalates once the database is back.
- A node killed and started again under its own name takes its work back at once.

The simulated clocks move only when the test says, but each node's heartbeat is written
once a second of real time with the simulated time in it. The test therefore moves the
clocks one step at a time and waits for every live node's heartbeat to reach the new time
before the next step: otherwise a node that is alive would look silent to the other one
merely because the clocks ran faster than the heartbeats. Tests that restart or kill
PostgreSQL do it on a cluster of their own, never on the shared one of the test run.
"""

import collections
import datetime
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (ADMIN_PASSWORD, BACKEND, SIM_START, TEST_PG, Database, activate, advance,
                      check_error_shape, clock_args, clock_now, create_channel, create_user,
                      fmt_time, list_all, ok, parse_time, pg_program, set_clock_start, sim_time,
                      wait_until)

S = datetime.timedelta(seconds=1)
MS = datetime.timedelta(milliseconds=1)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

LEASE = 10                  # seconds: --lease of the nodes on a simulated clock
STEP = 3                    # seconds: one move of the simulated clocks
HEARTBEAT_WITHIN = 15.0     # real seconds for a live node's heartbeat to catch up
ANSWER_WITHIN = 5.0         # real seconds: an answer during an outage, never a hang
READY_AGAIN_WITHIN = 30.0   # real seconds for a node to be ready after the database is back
SENDER_THREADS = 4          # a node's delivery threads: notices it can have in flight


@pytest.fixture(autouse=True)
def _needs_postgresql():
    assert BACKEND == "postgresql", "test_cluster*.py runs with NOTALONE_TEST_PG_DIR set"


# -- helpers -----------------------------------------------------------------------------------


def ms(when):
    """An aware datetime as milliseconds since the epoch (as the database stores times)."""
    return (when - EPOCH) // MS


def rfc3339(when):
    """An aware datetime as a --simulated-clock value (whole seconds)."""
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Conn:
    """One keep-alive HTTP connection to a node; reopened after an error (never a request
    sent twice: a failed request is the caller's to count)."""

    def __init__(self, port, timeout=30):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, token=None, body=None):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if token:
            headers["Authorization"] = "Bearer " + token
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            payload = resp.read()
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        text = payload.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return resp.status, parsed

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def metric(node, name):
    """One unlabelled value of the node's /metrics."""
    st, text, _ = node.call("GET", "/metrics", timeout=10)
    assert st == 200, (st, text)
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    assert m, "no %s in /metrics:\n%s" % (name, text)
    return float(m.group(1))


def node_args(name, lease=LEASE, simulated=True):
    args = ["--node-name", name, "--lease", "%ds" % lease]
    if simulated:
        args += clock_args(reminder_before=0)
    else:
        args += ["--reminder-before", "0"]
    return args


def start_nodes(server_factory, names, database=None, **args):
    """Nodes on one database (a new one unless given), the first started alone so that it
    creates the schema and the administrator; returns them with the admin's token."""
    first = server_factory(start=False, database=database, extra_args=node_args(names[0], **args))
    first.node_name = names[0]
    first.start()
    token = first.admin()
    nodes = [first]
    for name in names[1:]:
        node = server_factory(start=False, database=first.db, extra_args=node_args(name, **args))
        node.node_name = name
        node.spawn()
        nodes.append(node)
    for node in nodes[1:]:
        node.wait_ready()
        node.admin_password = ADMIN_PASSWORD
        node.admin_token = token
    return nodes, token


def arc_policy(node, token, sink, path="/arc"):
    """The organisation's policy: one level, its webhook channel (the alarm receiving
    centre), with a limit no test reaches, so that each case sends exactly one notice."""
    channel = create_channel(node, token, name="ARC", kind="webhook", address=sink.url(path),
                             user_id=None, organisation=True)
    assert channel["user_id"] is None, channel
    policy = {"levels": [{"contact": "channel", "channel_id": channel["id"], "limit": 3600}]}
    ok(node.call("PUT", "/api/v1/escalation-policy", token=token, body=policy))
    return channel


def new_worker(node, token):
    user, _ = create_user(node, token, "w%s" % os.urandom(4).hex(), ["worker"])
    return user["id"]


def owners(db, ids):
    """{visit id: owner} from the database."""
    rows = db.query("SELECT id, owner FROM visits WHERE id IN (%s)"
                    % ",".join(str(i) for i in ids))
    return {int(i): owner for i, owner in rows}


def wait_heartbeats(session, nodes, at):
    """Waits until every node of `nodes` wrote a heartbeat of its clock at `at` or later."""
    names = [n.node_name for n in nodes]
    want = ms(at)
    deadline = time.monotonic() + HEARTBEAT_WITHIN
    while True:
        rows = session.query("SELECT name, heartbeat_at FROM nodes")
        beats = {name: int(hb) for name, hb in rows}
        if all(beats.get(name, -1) >= want for name in names):
            return beats
        assert time.monotonic() < deadline, \
            "heartbeats %r never reached %s (%d)" % (beats, at, want)
        time.sleep(0.05)


def advance_together(nodes, seconds):
    """Moves the clocks of `nodes` by `seconds` at once; each call returns when that node
    has handled everything due. Returns the new time (the same on every node)."""
    results, errors = {}, []

    def one(node):
        try:
            results[node.node_name] = advance(node, seconds)
        except BaseException as e:  # reported below
            errors.append((node.node_name, e))

    threads = [threading.Thread(target=one, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    times = set(results.values())
    assert len(times) == 1, "the clocks drifted apart: %r" % results
    return times.pop()


def hook_cases(hooks):
    """{escalation id: [hook, ...]} of the escalation notices a sink received."""
    out = {}
    for h in hooks:
        body = h.json()
        assert body.get("event") == "escalation.notify", body
        out.setdefault(body["escalation"]["id"], []).append(h)
    return out


def run_threads(n, work):
    """Runs work(k) for k in range(n) on n threads; re-raises the first failure."""
    errors = []

    def wrap(k):
        try:
            work(k)
        except BaseException as e:  # reported below
            errors.append((k, e))

    threads = [threading.Thread(target=wrap, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0][1]


# -- a node dies halfway through a thousand deadlines -------------------------------------------


N_VISITS = 1000
CLIENTS = 8


def test_a_thousand_deadlines_survive_a_node_killed_halfway(server_factory, webhook_sink):
    (a, b), token = start_nodes(server_factory, ["node-a", "node-b"])
    arc_policy(a, token, webhook_sink)
    t0 = clock_now(a)
    assert t0 == sim_time(SIM_START) and clock_now(b) == t0
    workers = [new_worker(node, token) for node in (a, b, a, b)]

    # 1,000 visits, one in two through each node, deadlines 60 ms apart from t0 + 1 s:
    # all within one simulated minute.
    first_deadline = t0 + S
    deadlines = [first_deadline + 60 * i * MS for i in range(N_VISITS)]
    assert deadlines[-1] - deadlines[0] < datetime.timedelta(minutes=1)
    visits = [None] * N_VISITS

    def create(k):
        node = (a, b)[k % 2]
        conn = Conn(node.port)
        try:
            for i in range(k, N_VISITS, CLIENTS):
                st, body = conn.call("POST", "/api/v1/visits", token, {
                    "worker_id": workers[i % len(workers)], "address": "Flat %d, Cluster Road" % i,
                    "expected_departure": fmt_time(deadlines[i]), "start": True})
                assert st == 201, (st, body)
                assert body["state"] == "active", body
                assert parse_time(body["deadline_at"]) == deadlines[i], (body, deadlines[i])
                visits[i] = (body["id"], node.node_name)
        finally:
            conn.close()

    started = time.monotonic()
    run_threads(CLIENTS, create)
    created_in = time.monotonic() - started
    by_id = {vid: (i, made_on) for i, (vid, made_on) in enumerate(visits)}
    assert len(by_id) == N_VISITS
    # the owner of a visit is the node through which it was written
    own = owners(a.db, by_id)
    assert own == {vid: made_on for vid, (_, made_on) in by_id.items()}, \
        [(vid, own.get(vid), made_on) for vid, (_, made_on) in by_id.items()
         if own.get(vid) != made_on][:10]

    end = deadlines[-1] + (LEASE + 2 * STEP) * S
    killed_at = None   # the simulated time node A was killed at
    a_beat = None      # node A's last heartbeat (ms)
    a_rows = None      # rows with due work node A owned when it died
    taken_at = None    # the simulated time node B had taken node A's work over
    live = [a, b]
    with a.db.session() as session:
        now = t0
        wait_heartbeats(session, live, now)
        while now < end:
            now = advance_together(live, STEP)
            wait_heartbeats(session, live, now)
            if killed_at is None:
                # both alive: neither may have taken the other's work
                assert metric(a, "notalone_rows_taken_over_total") == 0
                assert metric(b, "notalone_rows_taken_over_total") == 0
                if now - t0 >= datetime.timedelta(seconds=30):
                    a_rows = sum(int(session.value(sql, "node-a")) for sql in (
                        "SELECT count(*) FROM visits WHERE state = 2 AND owner = ?",
                        "SELECT count(*) FROM escalations WHERE state = 1 AND owner = ?",
                        "SELECT count(*) FROM outbox WHERE state = 'pending' AND owner = ?"))
                    a.kill()
                    killed_at = now
                    live = [b]
                    a_beat = int(session.value("SELECT heartbeat_at FROM nodes WHERE name = ?",
                                               "node-a"))
                    assert a_beat == ms(now), (a_beat, ms(now))
            elif taken_at is None and ms(now) - LEASE * 1000 > a_beat:
                # Node A is silent past the lease by node B's clock: B's next pass (within a
                # second of real time) takes its work over. The clock waits for it, as it
                # would in real time; then whatever was overdue fires at this time.
                assert wait_until(lambda: metric(b, "notalone_rows_taken_over_total") > 0,
                                  timeout=HEARTBEAT_WITHIN), \
                    "node B never took node A's work over:\n" + b.run.stderr()[-4000:]
                assert advance(b, 0) == now
                taken_at = now
    assert killed_at is not None and taken_at is not None
    assert taken_at - killed_at <= (LEASE + STEP) * S, (killed_at, taken_at)
    # B took over exactly the rows A owned, and said so (rows another transaction held at
    # the first look are taken at the next)
    assert metric(b, "notalone_rows_taken_over_total") == a_rows, a_rows
    logged = [int(n) for n in re.findall(r"event=work_taken_over from=node-a rows=(\d+)",
                                         b.run.stderr())]
    assert sum(logged) == a_rows, (logged, a_rows)

    # every visit has exactly one case, read through node B
    cases = list_all(b, "/api/v1/escalations", token)
    per_visit = {}
    for case in cases:
        per_visit.setdefault(case["visit_id"], []).append(case)
    assert set(per_visit) == set(by_id), \
        "visits without a case: %r" % sorted(set(by_id) - set(per_visit))[:20]
    doubled = {vid: [c["id"] for c in cs] for vid, cs in per_visit.items() if len(cs) != 1}
    assert not doubled, "visits with more than one case: %r" % doubled
    assert len(cases) == N_VISITS

    # each case late by at most a step, or, for node A's work after it died, by the lease
    # and a step
    late_after_kill = 0
    for case in cases:
        i, made_on = by_id[case["visit_id"]]
        missed = parse_time(case["missed_deadline_at"])
        lateness = parse_time(case["opened_at"]) - missed
        assert missed == deadlines[i], (case, deadlines[i])
        assert case["state"] == "open" and case["level"] == 0, case
        if made_on == "node-a" and missed > killed_at:
            late_after_kill += 1
            bound = (LEASE + STEP) * S
        else:
            bound = STEP * S
        assert S * 0 <= lateness <= bound, \
            "case %d (visit %d of %s, deadline %s) opened %s late, more than %s" % (
                case["id"], case["visit_id"], made_on, missed, lateness, bound)
    assert late_after_kill > 200, late_after_kill  # node A's deadlines after the kill

    # The first notice of every case reached the receiver once, with one idempotency key.
    # The exception is at least once, exactly once in effect: a notice node A had sent
    # when it was killed, before it could record so, is sent again by node B under the
    # same key, which the receiver drops; only node A's, at most one per sender thread.
    hooks = webhook_sink.at("/arc")
    keys = [h.headers.get("idempotency-key") for h in hooks]
    assert all(keys), [h.headers for h in hooks if not h.headers.get("idempotency-key")][:3]
    got = hook_cases(hooks)
    case_ids = {c["id"] for c in cases}
    assert set(got) == case_ids, ("cases never notified: %r" % sorted(case_ids - set(got))[:20],
                                  "notices of unknown cases: %r" % sorted(set(got) - case_ids))
    one_key = {cid: {h.headers.get("idempotency-key") for h in hs} for cid, hs in got.items()}
    assert all(len(k) == 1 for k in one_key.values()), \
        {cid: k for cid, k in one_key.items() if len(k) != 1}
    visit_of = {c["id"]: c["visit_id"] for c in cases}
    repeated = {cid: len(hs) for cid, hs in got.items() if len(hs) != 1}
    assert len(repeated) <= SENDER_THREADS and all(n == 2 for n in repeated.values()), repeated
    assert all(by_id[visit_of[cid]][1] == "node-a" for cid in repeated), repeated
    assert len(hooks) == N_VISITS + len(repeated)

    # and the cases say so themselves
    def check_cases(k):
        conn = Conn(b.port)
        try:
            for case in cases[k::CLIENTS]:
                st, full = conn.call("GET", "/api/v1/escalations/%d" % case["id"], token)
                assert st == 200, (st, full)
                notes = full["notifications"]
                assert len(notes) == 1 and notes[0]["state"] == "sent" \
                    and notes[0]["channel"] == "webhook", full
                kinds = [s["kind"] for s in full["steps"]]
                assert kinds.count("opened") == 1 and kinds.count("notified") == 1 \
                    and kinds.count("delivered") == 1, full["steps"]
        finally:
            conn.close()
    run_threads(CLIENTS, check_cases)
    print("visits created in %.1f s; node A killed at %s, its work taken at %s; "
          "%d of its deadlines after the kill" % (created_in, killed_at, taken_at,
                                                   late_after_kill))


# -- a node killed and started again under its own name --------------------------------------


def test_a_node_restarted_under_its_name_takes_its_work_back_at_once(server_factory,
                                                                        webhook_sink):
    (a, b), token = start_nodes(server_factory, ["node-a", "node-b"])
    arc_policy(a, token, webhook_sink)
    worker = new_worker(a, token)
    t0 = clock_now(a)
    due_before = t0 + 5 * S   # falls due while node A is down
    due_after = t0 + 9 * S    # falls due after it is back
    ids = []
    for due in (due_before, due_after):
        v = ok(a.call("POST", "/api/v1/visits", token=token,
                      body={"worker_id": worker, "address": "1 Restart Row",
                            "expected_departure": fmt_time(due), "start": True}), 201)
        ids.append(v["id"])
    assert owners(a.db, ids) == {i: "node-a" for i in ids}

    with a.db.session() as session:
        now = advance_together([a, b], STEP)
        wait_heartbeats(session, [a, b], now)
        a.kill()
        beat = int(session.value("SELECT heartbeat_at FROM nodes WHERE name = 'node-a'"))
        assert beat == ms(now)

        # back under the same name, its clock 6 s after t0: one second past the first
        # deadline, far from the lease (node B, its clock at t0 + 3 s, sees nothing silent)
        back_at = t0 + 6 * S
        assert ms(back_at) < beat + LEASE * 1000
        set_clock_start(a, rfc3339(back_at))
        a.start()
        assert advance(a, 0) == back_at
        cases = ok(a.call("GET", "/api/v1/escalations?visit_id=%d" % ids[0], token=token))["items"]
        assert len(cases) == 1, cases
        assert parse_time(cases[0]["missed_deadline_at"]) == due_before, cases
        assert parse_time(cases[0]["opened_at"]) == back_at, \
            "the node did not fire its own overdue deadline at once: %r" % cases
        assert ok(a.call("GET", "/api/v1/escalations?visit_id=%d" % ids[1],
                         token=token))["items"] == []
        # its own work, not taken over (by itself or by node B)
        assert metric(a, "notalone_rows_taken_over_total") == 0
        assert metric(b, "notalone_rows_taken_over_total") == 0
        assert session.value("SELECT owner FROM escalations WHERE id = ?",
                             cases[0]["id"]) == "node-a"

        # the deadline still ahead fires on time on the node that is back
        assert advance(b, 6) == due_after
        assert advance(a, 3) == due_after
        wait_heartbeats(session, [a, b], due_after)
        later = ok(b.call("GET", "/api/v1/escalations?visit_id=%d" % ids[1], token=token))["items"]
        assert len(later) == 1 and parse_time(later[0]["opened_at"]) == due_after, later
        assert len(ok(b.call("GET", "/api/v1/escalations?visit_id=%d" % ids[0],
                             token=token))["items"]) == 1
    got = hook_cases(webhook_sink.at("/arc"))
    assert sorted(got) == sorted([cases[0]["id"], later[0]["id"]]), got
    assert all(len(h) == 1 for h in got.values()), got
    assert metric(b, "notalone_rows_taken_over_total") == 0


# -- the database restarted and crashed under load --------------------------------------------


class PrivateCluster:
    """A PostgreSQL cluster of this module's own (scripts/test-pg), free to be restarted and
    crashed without disturbing the tests that share the run's cluster."""

    def __init__(self):
        # PostgreSQL runs as its own user when the tests run as root: the folder must be
        # reachable by it, which folders of tempfile.mkdtemp are not.
        self.root = tempfile.mkdtemp(prefix="notalone-pg-")
        os.chmod(self.root, 0o755)
        self.dir = os.path.join(self.root, "pg")
        self.test_pg("start")
        with open(os.path.join(self.dir, "conninfo")) as f:
            self.conninfo = f.read().strip()
        self.n = 0

    def test_pg(self, command, *args):
        out = subprocess.run([TEST_PG, command, self.dir] + list(args), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        assert out.returncode == 0, (command, out.stderr.decode(errors="replace"))
        return out.stdout.decode().strip()

    def createdb(self):
        self.n += 1
        name = "cluster_%d" % self.n
        return Database("postgresql", self.test_pg("createdb", name), name)

    def admin_sql(self, sql):
        out = subprocess.run([pg_program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql,
                              self.conninfo + " dbname=postgres"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert out.returncode == 0, (sql, out.stderr.decode(errors="replace"))

    def block(self, db):
        """Nobody may connect to db any more, and whoever is connected is cut off."""
        self.admin_sql('ALTER DATABASE "%s" ALLOW_CONNECTIONS false' % db.name)
        self.admin_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = '%s'" % db.name)

    def allow(self, db):
        self.admin_sql('ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % db.name)

    def close(self):
        self.test_pg("stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def private_pg():
    cluster = PrivateCluster()
    yield cluster
    cluster.close()


class CheckinLoad:
    """A client thread checking in on one visit through one node as fast as it is answered,
    recording every answer, and every check-in acknowledged with what the API returned."""

    def __init__(self, node, token, visit_id, tag):
        self.node = node
        self.token = token
        self.visit_id = visit_id
        self.tag = tag
        self.answers = []   # (started, seconds, status or the connection error's name)
        self.acked = []     # (started, note, last_checkin_at)
        self.wrong = []     # answers that are neither 200 nor a well-formed 503
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        conn = Conn(self.node.port, timeout=30)
        n = 0
        while not self.stop.is_set():
            n += 1
            note = "%s-%d" % (self.tag, n)
            started = time.monotonic()
            try:
                st, body = conn.call("POST", "/api/v1/visits/%d/checkin" % self.visit_id,
                                     self.token, {"note": note})
                outcome = st
            except (OSError, http.client.HTTPException) as e:
                st, body, outcome = None, None, type(e).__name__
            took = time.monotonic() - started
            self.answers.append((started, took, outcome))
            if st == 200:
                self.acked.append((started, note, body["last_checkin_at"]))
            elif st == 503:
                try:
                    check_error_shape(body)
                    assert body["error"]["code"] == "unavailable", body
                except AssertionError as e:
                    self.wrong.append((note, st, body, str(e)))
            elif st is not None:
                self.wrong.append((note, st, body))
            if st != 200:
                time.sleep(0.02)  # no busy loop against a node that cannot serve
        conn.close()

    def acked_since(self, t):
        return sum(1 for started, _, _ in self.acked if started >= t)


def readyz(node):
    try:
        return node.call("GET", "/readyz", timeout=10)[0]
    except OSError:
        return None


def readyz_burst(node, clients=8, each=4):
    """Statuses of GET /readyz sent by several clients at once, so that every storage
    connection of the node's pool answers some of them (a lone client would meet one)."""
    statuses = []
    lock = threading.Lock()

    def work(_):
        conn = Conn(node.port, timeout=10)
        try:
            for _ in range(each):
                try:
                    st = conn.call("GET", "/readyz")[0]
                except (OSError, http.client.HTTPException) as e:
                    st = type(e).__name__
                with lock:
                    statuses.append(st)
        finally:
            conn.close()
    run_threads(clients, work)
    return statuses


def test_database_restarted_and_crashed_under_load(server_factory, private_pg, webhook_sink):
    # The nodes run on the real clock: a simulated one cannot be moved while the database
    # is away (the clock's route authenticates through it). A restart lasts about a second,
    # too short to aim a deadline at, so for the deadline the database is also cut off
    # from the nodes (ALLOW_CONNECTIONS false) from before it falls due until after.
    db = private_pg.createdb()
    (a, b), token = start_nodes(server_factory, ["node-a", "node-b"], database=db, lease=30,
                                simulated=False)
    nodes = (a, b)
    pids = [n.run.proc.pid for n in nodes]
    arc_policy(a, token, webhook_sink)

    # four workers check in continuously, two through each node, on visits that have
    # hours to go
    loads = []
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)
    for k in range(4):
        node = nodes[k % 2]
        user, otp = create_user(node, token, "load%d%s" % (k, os.urandom(3).hex()), ["worker"])
        worker_token = activate(node, user["username"], otp)
        visit = ok(node.call("POST", "/api/v1/visits", token=worker_token,
                             body={"address": "%d Load Lane" % k, "start": True,
                                   "expected_departure": fmt_time(until)}), 201)
        loads.append(CheckinLoad(node, worker_token, visit["id"], "c%d" % k))
    deadline_worker = new_worker(a, token)
    for load in loads:
        load.thread.start()

    def all_serving(since, count=3, timeout=READY_AGAIN_WITHIN):
        return wait_until(lambda: all(l.acked_since(since) >= count for l in loads),
                          timeout=timeout, interval=0.1)

    try:
        assert all_serving(time.monotonic() - 60), [len(l.acked) for l in loads]
        outages = []
        overdue = []
        for kind, with_deadline in (("restart", False), ("kill", False), ("kill", True)):
            visits = []
            if with_deadline:
                # deadlines 6 s ahead on the real clock, one owned by each node; the
                # database is cut off before they fall due and comes back after
                due = datetime.datetime.now(datetime.timezone.utc) + 6 * S
                for node in nodes:
                    v = ok(node.call("POST", "/api/v1/visits", token=token,
                                     body={"worker_id": deadline_worker, "start": True,
                                           "address": "9 Outage Street",
                                           "expected_departure": fmt_time(due)}), 201)
                    visits.append(v)
                down = time.monotonic()
                private_pg.block(db)
                assert datetime.datetime.now(datetime.timezone.utc) < due - S, \
                    "the database was cut off too late for the test"
            else:
                down = time.monotonic()
            private_pg.test_pg(kind)
            if with_deadline:
                while datetime.datetime.now(datetime.timezone.utc) < due + S:
                    time.sleep(0.05)  # the nodes run on the real clock: its deadline
                assert [readyz(n) for n in nodes] == [503, 503], \
                    "ready with the database cut off"
                for v in visits:
                    # nothing can be read, and nothing was opened behind the outage
                    assert a.call("GET", "/api/v1/visits/%d" % v["id"], token=token)[0] == 503
                back_at = datetime.datetime.now(datetime.timezone.utc)
                private_pg.allow(db)
            up = time.monotonic()
            outages.append((kind, with_deadline, down, up))

            # back by themselves: the same processes, ready on every storage connection
            last = {}

            def all_ready():
                for n in nodes:
                    last[n.node_name] = collections.Counter(readyz_burst(n))
                return all(set(c) == {200} for c in last.values())
            assert wait_until(all_ready, timeout=READY_AGAIN_WITHIN, interval=0.2), \
                "%s: %.0f s after the database came back, GET /readyz still answers %r" % (
                    kind, READY_AGAIN_WITHIN, last)
            assert [n.run.proc.pid for n in nodes] == pids and all(n.running for n in nodes)
            assert all_serving(up), \
                "%s: check-ins not served again: %r" % (kind, [l.acked_since(up) for l in loads])

            for v in visits:
                # the deadline that fell due during the outage escalates, once, after it
                assert wait_until(lambda: ok(b.call(
                    "GET", "/api/v1/escalations?visit_id=%d" % v["id"], token=token))["items"],
                    timeout=READY_AGAIN_WITHIN), "no case for visit %d" % v["id"]
                overdue.append((v, back_at))
    finally:
        for load in loads:
            load.stop.set()
        for load in loads:
            load.thread.join(timeout=60)
    assert not any(load.thread.is_alive() for load in loads), "a client hung"

    # every answer was a 200 or a 503 of the documented shape, or a refused connection,
    # and none took longer than a few seconds
    for load in loads:
        assert not load.wrong, load.wrong[:10]
        slow = [(round(took, 2), outcome) for _, took, outcome in load.answers
                if took > ANSWER_WITHIN]
        assert not slow, "answers that took too long: %r" % slow
    for kind, with_deadline, down, up in outages:
        during = [o for load in loads for started, _, o in load.answers if down <= started <= up]
        print("%s%s: %.1f s, %d requests during it: %d acknowledged, %d 503, %d refused" % (
            kind, " (database cut off)" if with_deadline else "", up - down, len(during),
            during.count(200), during.count(503),
            sum(1 for o in during if not isinstance(o, int))))
        if with_deadline:
            assert during.count(503) > 0, "no request met the outage"

    # every acknowledged check-in is in its visit's timeline, at the time acknowledged
    # (read from the database itself: a busy run acknowledges more check-ins than the
    # timeline route returns, and the route is not what is tested here)
    for load in loads:
        assert load.acked, load.tag
        stored = {}
        for detail, at_ms in a.db.query("SELECT detail, at FROM visit_events "
                                        "WHERE visit_id = ? AND kind = 'checkin'",
                                        load.visit_id):
            assert detail not in stored, "check-in %r stored twice" % detail
            stored[detail] = int(at_ms)
        lost = [(note, at) for _, note, at in load.acked
                if stored.get(note) != round(parse_time(at).timestamp() * 1000)]
        assert not lost, "%d of %d acknowledged check-ins lost or changed: %r" % (
            len(lost), len(load.acked), lost[:10])

    # the deadlines that fell due while the database was away escalated once it was back
    case_ids = []
    for v, back_at in overdue:
        cases = ok(b.call("GET", "/api/v1/escalations?visit_id=%d" % v["id"], token=token))["items"]
        assert len(cases) == 1, cases
        case = cases[0]
        assert case["missed_deadline_at"] == v["deadline_at"], (case, v)
        opened = parse_time(case["opened_at"])
        assert back_at - S < opened < back_at + READY_AGAIN_WITHIN * S, (case, back_at)
        events = ok(a.call("GET", "/api/v1/visits/%d" % v["id"], token=token))["events"]
        assert [e["kind"] for e in events].count("deadline_missed") == 1, events
        case_ids.append(case["id"])
    # and their notices reached the receiver once each
    got = hook_cases(webhook_sink.at("/arc"))
    assert sorted(got) == sorted(case_ids), got
    assert all(len(h) == 1 for h in got.values()), got

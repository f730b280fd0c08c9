"""Fixtures and helpers for the black-box tests of notaloned and notalone.

Every test drives the real binaries: NOTALONED (the server), NOTALONE_CLI (the client)
and NOTALONE_SOURCE_DIR (the repository root) come from the environment, with defaults
under build-test/ so the files also run by hand.

The same tests run on both storage backends. With NOTALONE_TEST_PG_DIR naming a running
cluster of scripts/test-pg, every Server gets a new PostgreSQL database of its own and
starts with --database; otherwise it keeps SQLite in its data directory.
"""

import csv
import datetime
import email
import email.policy
import glob
import hashlib
import http.client
import http.server
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

SOURCE_DIR = os.environ.get("NOTALONE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
NOTALONED = os.environ.get("NOTALONED") or os.path.join(SOURCE_DIR, "build-test", "notaloned")
NOTALONE_CLI = os.environ.get("NOTALONE_CLI") or os.path.join(SOURCE_DIR, "build-test", "notalone")
API_DOC = os.path.join(SOURCE_DIR, "docs", "api.md")

ADMIN_PASSWORD = "admin-password-0001"
PASSWORD = "correct horse battery staple"

ROLES = ("worker", "manager", "senior_manager", "lsms", "operator", "admin")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

READY_TIMEOUT = 20.0

PG_DIR = os.environ.get("NOTALONE_TEST_PG_DIR") or None
BACKEND = "postgresql" if PG_DIR else "sqlite"
TEST_PG = os.path.join(SOURCE_DIR, "scripts", "test-pg")

_base_tmp = None
_unique = itertools.count(1)
_unique_lock = threading.Lock()


def unique(prefix="x"):
    """A name that is unique within this test process."""
    with _unique_lock:
        n = next(_unique)
    return "%s%d-%d" % (prefix, os.getpid() % 10000, n)


def tmp_dir(prefix):
    """A directory under this run's scratch directory (removed when every test passed)."""
    global _base_tmp
    if _base_tmp is None:
        _base_tmp = tempfile.mkdtemp(prefix="notalone-bb-")
    return tempfile.mkdtemp(prefix=prefix, dir=_base_tmp)


def pytest_sessionfinish(session, exitstatus):
    if _base_tmp is not None and exitstatus == 0:
        shutil.rmtree(_base_tmp, ignore_errors=True)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sanitizer_errors(text):
    return [m for m in SANITIZER_MARKERS if m in text]


# -- the database behind a server ------------------------------------------------------------


def _newest(paths):
    def version(path):  # /usr/lib/postgresql/VERSION/bin/NAME
        v = path.split("/")[4]
        return int(v) if v.isdigit() else 0
    return sorted(paths, key=version)[-1] if paths else None


def pg_program(name):
    """A PostgreSQL client program (psql, pg_dump): the newest installed version's."""
    path = _newest(glob.glob("/usr/lib/postgresql/*/bin/" + name)) or shutil.which(name)
    assert path, "%s not found (make bootstrap)" % name
    return path


def pg_cluster():
    """The connection string of the test cluster, without a database name."""
    assert PG_DIR, "NOTALONE_TEST_PG_DIR is not set: this needs a scripts/test-pg cluster"
    with open(os.path.join(PG_DIR, "conninfo")) as f:
        return f.read().strip()


def pg_create_database(encoding=None):
    """A new empty database in the test cluster: returns (name, connection string).
    encoding: the cluster's (UTF8) unless given, such as SQL_ASCII (bytes unchecked)."""
    with _unique_lock:
        n = next(_unique)
    name = "bb_%d_%d_%s" % (os.getpid(), n, secrets.token_hex(3))
    if encoding is None:
        out = subprocess.run([TEST_PG, "createdb", PG_DIR, name], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert out.returncode == 0, out.stderr.decode(errors="replace")
        return name, out.stdout.decode().strip()
    pg_admin("CREATE DATABASE \"%s\" ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C' "
             "TEMPLATE template0" % (name, encoding))
    return name, "%s dbname=%s" % (pg_cluster(), name)


def pg_admin(sql):
    """Runs SQL on the cluster's maintenance database (for CREATE/ALTER/DROP DATABASE)."""
    out = subprocess.run([pg_program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql,
                          pg_cluster() + " dbname=postgres"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=60)
    assert out.returncode == 0, (sql, out.stderr.decode(errors="replace"))
    return out.stdout.decode(errors="replace")


def sql_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def sql_bind(sql, params):
    """Puts literals for the `?` of sql (never inside quotes in these tests)."""
    parts = sql.split("?")
    assert len(parts) == len(params) + 1, "%d parameters for %r" % (len(params), sql)
    out = [parts[0]]
    for value, part in zip(params, parts[1:]):
        out.append(sql_literal(value))
        out.append(part)
    return "".join(out)


_END = "__end_of_statement__"


class DatabaseSession:
    """One connection through the backend's own command-line client (sqlite3 or psql),
    kept open between statements, so that a test can hold a transaction open while the
    server works. Values come back as text (None for NULL), whichever the backend."""

    def __init__(self, backend, target):
        self.backend = backend
        if backend == "sqlite":
            args = ["sqlite3", "-bail", "-csv", "-nullvalue", "\\N", target]
            self.echo = ".print %s\n" % _END
            prelude = ".timeout 10000\n"
        else:
            args = [pg_program("psql"), "-X", "-q", "-t", "--csv", "-v", "ON_ERROR_STOP=1",
                    "-P", "null=\\N", target]
            self.echo = "\\echo %s\n" % _END
            prelude = "SET lock_timeout = '10s';\n"
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._send(prelude)

    def _send(self, script):
        try:
            self.proc.stdin.write((script + self.echo).encode("utf-8"))
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                raise AssertionError("%s failed on %r:\n%s" % (
                    self.backend, script, self.proc.stderr.read().decode(errors="replace")))
            if line.rstrip(b"\n") == _END.encode():
                break
            lines.append(line.decode("utf-8", errors="replace"))
        return lines

    def query(self, sql, *params):
        """Runs one statement; returns its rows as lists of text (None for NULL)."""
        statement = sql_bind(sql, params).strip().rstrip(";") + ";\n"
        rows = csv.reader(self._send(statement))
        return [[None if v == "\\N" else v for v in row] for row in rows]

    def execute(self, sql, *params):
        self.query(sql, *params)

    def value(self, sql, *params):
        """The one value of a one-row, one-column query (text, or None for NULL)."""
        rows = self.query(sql, *params)
        assert len(rows) == 1 and len(rows[0]) == 1, (sql, rows)
        return rows[0][0]

    def begin_write(self):
        """Opens a transaction that takes the write lock at once where the backend has one."""
        self.execute("BEGIN IMMEDIATE" if self.backend == "sqlite" else "BEGIN")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Database:
    """A server's database seen behind the server's back, through the backend's own client:
    for putting it in a state the API cannot make and for reading what was stored."""

    def __init__(self, backend, target, name=None):
        self.backend = backend
        self.target = target  # the SQLite file, or a libpq connection string
        self.name = name      # PostgreSQL: the database's name

    def session(self):
        return DatabaseSession(self.backend, self.target)

    def query(self, sql, *params):
        with self.session() as s:
            return s.query(sql, *params)

    def execute(self, sql, *params):
        with self.session() as s:
            s.execute(sql, *params)

    def value(self, sql, *params):
        with self.session() as s:
            return s.value(sql, *params)

    def snapshot(self):
        """A fingerprint of everything in the database (schema and rows), to compare
        before and after: the file's SHA-256 on SQLite, a dump on PostgreSQL."""
        if self.backend == "sqlite":
            with open(self.target, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        out = subprocess.run([pg_program("pg_dump"), "--no-owner", "-d", self.target],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=120)
        assert out.returncode == 0, out.stderr.decode(errors="replace")
        # \restrict and \unrestrict carry a random key, new with every dump
        return "".join(line for line in out.stdout.decode("utf-8", errors="replace")
                       .splitlines(keepends=True) if not line.startswith(("\\restrict ",
                                                                        "\\unrestrict ")))

    def block_connections(self):
        """PostgreSQL: nobody can connect to this database any more, and whoever was
        connected is cut off (the cluster itself, shared by other tests, keeps running)."""
        assert self.backend == "postgresql"
        pg_admin('ALTER DATABASE "%s" ALLOW_CONNECTIONS false' % self.name)
        pg_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"
                 % self.name)

    def allow_connections(self):
        assert self.backend == "postgresql"
        pg_admin('ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % self.name)

    def drop(self):
        if self.backend == "postgresql":
            pg_admin('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)


class Run:
    """One process of the server."""

    def __init__(self, proc, log_path, args):
        self.proc = proc
        self.log_path = log_path
        self.args = args
        self.killed = False
        self.expect_failure = False

    def stderr(self):
        with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()


class Server:
    """A notaloned on a free port with its own data directory and, on PostgreSQL, its own
    database (or the one given, shared with another Server); restarts keep both."""

    def __init__(self, tmp_root, data_dir=None, extra_args=(), database=None, pg_encoding=None):
        self.tmp_root = tmp_root
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="data-", dir=tmp_root)
        self.extra_args = list(extra_args)
        self.port = None
        self.runs = []
        self.admin_token = None
        self.admin_password = None
        self.owns_database = False
        if database is not None:
            self.db = database
        elif BACKEND == "postgresql":
            name, conninfo = pg_create_database(pg_encoding)
            self.db = Database(BACKEND, conninfo, name)
            self.owns_database = True
        else:
            self.db = Database(BACKEND, os.path.join(self.data_dir, "notalone.db"))

    @property
    def backend(self):
        """"sqlite" or "postgresql": for the few assertions that differ between them."""
        return self.db.backend

    # -- process control ---------------------------------------------------------------

    @property
    def run(self):
        return self.runs[-1] if self.runs else None

    @property
    def running(self):
        return self.run is not None and self.run.proc.poll() is None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def database_args(self):
        """The storage arguments of this server: none on SQLite (the data directory)."""
        return ["--database", self.db.target] if self.backend == "postgresql" else []

    def command(self):
        """notaloned's command line for the current port."""
        # "{port}" in an extra argument stands for the port of this run (for --public-url).
        return ([NOTALONED, "--listen", "127.0.0.1:%d" % self.port, "--data-dir", self.data_dir]
                + self.database_args() + ["--log-level", "debug"]
                + [a.replace("{port}", str(self.port)) for a in self.extra_args])

    def _spawn(self):
        log_path = os.path.join(self.tmp_root, "server-%d-%d.log" % (self.port, len(self.runs)))
        log = open(log_path, "wb")
        args = self.command()
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        run = Run(proc, log_path, args)
        self.runs.append(run)
        return run

    def start(self):
        self.spawn()
        return self.wait_ready()

    def spawn(self):
        """Starts the process without waiting for it (see wait_ready)."""
        assert not self.running, "server already running"
        self.port = free_port()
        self._spawn()
        return self

    def wait_ready(self):
        """Waits until GET /readyz answers 200; fails if the process exits first."""
        run = self.run
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if run.proc.poll() is not None:
                run.expect_failure = True
                raise AssertionError("notaloned exited with %s before it was ready:\n%s"
                                     % (run.proc.returncode, run.stderr()[-4000:]))
            try:
                status, _, _ = self.call("GET", "/readyz", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("notaloned not ready after %.0f s:\n%s"
                                     % (READY_TIMEOUT, run.stderr()[-4000:]))
            time.sleep(0.05)

    def start_expect_exit(self, timeout=20):
        """Starts the server expecting it to refuse to run: returns (exit code, stderr)."""
        assert not self.running
        self.port = free_port()
        run = self._spawn()
        run.expect_failure = True
        try:
            rc = run.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("notaloned kept running; expected it to exit:\n%s"
                                 % run.stderr()[-4000:])
        return rc, run.stderr()

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code. The sanitizer check is done by the fixture."""
        run = self.run
        if run is None or run.proc.poll() is not None:
            return run.proc.returncode if run else None
        run.proc.send_signal(signal.SIGTERM)
        try:
            return run.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            run.proc.kill()
            run.proc.wait()
            raise AssertionError("notaloned did not exit within %d s of SIGTERM" % timeout)

    def stop_checked(self):
        """Stops the server and asserts a clean exit now (not only at teardown)."""
        rc = self.stop()
        text = self.run.stderr()
        assert rc == 0, "notaloned exited with %s after SIGTERM:\n%s" % (rc, text[-4000:])
        assert not sanitizer_errors(text), text[-8000:]

    def kill(self):
        run = self.run
        if run is not None and run.proc.poll() is None:
            run.killed = True
            run.proc.send_signal(signal.SIGKILL)
            run.proc.wait()

    def restart(self):
        self.stop_checked()
        self.admin_token = None
        return self.start()

    def problems(self):
        """Stops a running server and lists every unclean exit or sanitizer report."""
        found = []
        try:
            if self.running:
                self.stop()
        except AssertionError as e:
            found.append(str(e))
        for i, run in enumerate(self.runs):
            text = run.stderr()
            bad = sanitizer_errors(text)
            if bad:
                found.append("run %d of %s: sanitizer reported %s:\n%s"
                             % (i, run.args, bad, text[-8000:]))
            if not run.killed and not run.expect_failure and run.proc.returncode != 0:
                found.append("run %d of %s: exit code %s after SIGTERM:\n%s"
                             % (i, run.args, run.proc.returncode, text[-4000:]))
        return found

    # -- HTTP --------------------------------------------------------------------------

    def call(self, method, path, token=None, body=None, raw=None, headers=None, timeout=30):
        """One request. Returns (status, parsed JSON or text, headers with lower-case names)."""
        return call_url(self.port, method, path, token=token, body=body, raw=raw,
                        headers=headers, timeout=timeout)

    # -- accounts ----------------------------------------------------------------------

    def initial_admin_password(self):
        with open(os.path.join(self.data_dir, "initial-admin-password"), "r") as f:
            return f.read().strip()

    def admin(self):
        """A session token of the host administrator `admin` (password changed once)."""
        if self.admin_token:
            return self.admin_token
        if self.admin_password is None:
            otp = self.initial_admin_password()
            self.admin_token = activate(self, "admin", otp, ADMIN_PASSWORD)
            self.admin_password = ADMIN_PASSWORD
        else:
            self.admin_token = login(self, "admin", self.admin_password)
        return self.admin_token


def call_url(port, method, path, token=None, body=None, raw=None, headers=None, timeout=30):
    hdrs = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif raw is not None:
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    if headers:
        for k, v in headers.items():
            for existing in list(hdrs):
                if existing.lower() == k.lower():
                    del hdrs[existing]
            if v is not None:
                hdrs[k] = v
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        rh = {k.lower(): v for k, v in resp.getheaders()}
        status = resp.status
    finally:
        conn.close()
    text = payload.decode("utf-8", errors="replace")
    parsed = text
    if "json" in rh.get("content-type", "") or text[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
    return status, parsed, rh


def raw_request(port, data, timeout=10):
    """Sends bytes over a socket, returns the raw answer (bytes) up to close or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":", 1)[1].strip())
                        if len(rest) >= n:
                            return b"".join(chunks)
        return b"".join(chunks)
    finally:
        s.close()


def raw_status(answer):
    line = answer.split(b"\r\n", 1)[0]
    parts = line.split()
    assert len(parts) >= 2 and parts[0].startswith(b"HTTP/"), answer[:200]
    return int(parts[1])


# -- assertions ----------------------------------------------------------------------------


def assert_error(resp, status, code=None, field=None):
    """Checks an error answer: the status and the documented body shape."""
    st, body, _ = resp
    assert st == status, "expected %s, got %s %r" % (status, st, body)
    check_error_shape(body)
    if code is not None:
        assert body["error"]["code"] == code, body
    if field is not None:
        assert body["error"].get("field") == field, body
    return body


def check_error_shape(body):
    assert isinstance(body, dict), "error body is not JSON: %r" % (body,)
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err, dict), body
    assert set(err) <= {"code", "message", "field"}, body
    assert isinstance(err.get("code"), str) and err["code"], body
    assert isinstance(err.get("message"), str) and err["message"], body
    if "field" in err:
        assert isinstance(err["field"], str) and err["field"], body


def ok(resp, status=200):
    st, body, _ = resp
    assert st == status, "expected %s, got %s %r" % (status, st, body)
    return body


# -- account helpers -----------------------------------------------------------------------


def login_raw(server, username, password):
    return server.call("POST", "/api/v1/login", body={"username": username, "password": password})


def login(server, username, password):
    body = ok(login_raw(server, username, password))
    return body["token"]


def change_password(server, token, current, new):
    return server.call("POST", "/api/v1/me/password", token=token,
                       body={"current_password": current, "new_password": new})


def activate(server, username, one_time_password, new_password=PASSWORD):
    """Logs in with a one-time password, sets a real one; returns the session token."""
    body = ok(login_raw(server, username, one_time_password))
    assert body["password_change_required"] is True, body
    token = body["token"]
    ok(change_password(server, token, one_time_password, new_password), 204)
    return token


def create_user(server, token, username, roles, **fields):
    """POST /api/v1/users; returns (user, one_time_password)."""
    body = {"username": username, "display_name": fields.pop("display_name", username.title()),
            "roles": list(roles)}
    body.update(fields)
    answer = ok(server.call("POST", "/api/v1/users", token=token, body=body), 201)
    return answer["user"], answer["one_time_password"]


class Account:
    def __init__(self, user, token, password):
        self.user = user
        self.id = user["id"]
        self.username = user["username"]
        self.token = token
        self.password = password

    def __repr__(self):
        return "Account(%s)" % self.username


def new_account(server, token, username, roles, password=PASSWORD, **fields):
    """Creates a user and logs them in with their own password; returns an Account."""
    user, otp = create_user(server, token, username, roles, **fields)
    tok = activate(server, user["username"], otp, password)
    return Account(user, tok, password)


def new_accounts(server, token, specs):
    """Creates several accounts concurrently: specs is {key: (username, roles, fields)}."""
    results = {}
    errors = []

    def work(key, spec):
        username, roles, fields = spec
        try:
            results[key] = new_account(server, token, username, roles, **fields)
        except BaseException as e:  # reported below
            errors.append((key, e))

    threads = [threading.Thread(target=work, args=(k, s)) for k, s in specs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AssertionError("creating accounts failed: %r" % errors)
    return results


def create_team(server, token, name, line_manager_id=None):
    body = {"name": name}
    if line_manager_id is not None:
        body["line_manager_id"] = line_manager_id
    return ok(server.call("POST", "/api/v1/teams", token=token, body=body), 201)


def add_member(server, token, team_id, user_id):
    ok(server.call("PUT", "/api/v1/teams/%d/members/%d" % (team_id, user_id), token=token), 204)


def create_org(server, host_token, name, admin_username, admin_name="Org Admin", email=None):
    """POST /api/v1/organisations; returns (organisation, admin user, one-time password)."""
    admin = {"username": admin_username, "display_name": admin_name}
    if email:
        admin["email"] = email
    answer = ok(server.call("POST", "/api/v1/organisations", token=host_token,
                            body={"name": name, "admin": admin}), 201)
    return answer["organisation"], answer["admin"], answer["one_time_password"]


def list_all(server, path, token, key="items"):
    """Follows next_after through every page of a list."""
    items = []
    after = None
    sep = "&" if "?" in path else "?"
    for _ in range(1000):
        p = path + ("%safter=%d&limit=200" % (sep, after) if after else "%slimit=200" % sep)
        body = ok(server.call("GET", p, token=token))
        items.extend(body[key])
        after = body.get("next_after")
        if after is None:
            return items
    raise AssertionError("pagination never ended for %s" % path)


# -- fixtures ------------------------------------------------------------------------------


class ServerFactory:
    def __init__(self, tmp_root):
        self.tmp_root = tmp_root
        self.servers = []

    def __call__(self, start=True, data_dir=None, extra_args=(), database=None,
                 pg_encoding=None):
        """A new Server (started unless start=False). database: another Server's .db to
        share; pg_encoding: on PostgreSQL, the encoding of the server's new database."""
        srv = Server(self.tmp_root, data_dir=data_dir, extra_args=extra_args, database=database,
                     pg_encoding=pg_encoding)
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def close(self):
        problems = []
        for srv in self.servers:
            problems.extend(srv.problems())
        # A test's databases go with it: hundreds would fill the cluster's disk.
        for srv in self.servers:
            if srv.owns_database:
                srv.db.drop()
        return problems


_live_module_factories = []


@pytest.fixture
def server_factory():
    """Starts servers for one test; each is stopped and checked after the test."""
    factory = ServerFactory(tmp_dir("test-"))
    yield factory
    problems = factory.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def server(server_factory):
    """A fresh server for one test."""
    return server_factory()


@pytest.fixture(scope="module")
def module_factory():
    factory = ServerFactory(tmp_dir("module-"))
    _live_module_factories.append(factory)
    yield factory
    _live_module_factories.remove(factory)
    problems = factory.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def shared_server(module_factory):
    """One server shared by the tests of a module (they must not interfere)."""
    return module_factory()


@pytest.fixture(autouse=True)
def _shared_servers_healthy():
    """After each test, a shared server must still run and have no sanitizer report."""
    yield
    for factory in _live_module_factories:
        for srv in factory.servers:
            if not srv.runs:
                continue
            text = srv.run.stderr()
            assert not sanitizer_errors(text), text[-8000:]
            assert srv.running or srv.run.expect_failure or srv.run.killed \
                or srv.run.proc.returncode == 0, \
                "shared server exited with %s:\n%s" % (srv.run.proc.returncode, text[-4000:])


# -- simulated clock, receivers and visits ---------------------------------------------------

SIM_START = "2026-11-23T09:00:00Z"
SMTP_FROM = "notalone@example.org"
REMINDER_BEFORE = 300

_TIME_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def parse_time(text):
    """An API time (RFC 3339, UTC, milliseconds) as an aware datetime; checks the format."""
    assert isinstance(text, str) and _TIME_FORMAT.match(text), "not an API time: %r" % (text,)
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def fmt_time(dt):
    """An aware datetime as an API time."""
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def sim_time(text):
    """A --simulated-clock value (such as SIM_START) as an aware datetime."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def advance(server, seconds):
    """POST /api/v1/test/clock as the host admin; returns the new time (a datetime)."""
    body = ok(server.call("POST", "/api/v1/test/clock", token=server.admin(),
                          body={"advance": int(seconds)}, timeout=120))
    return parse_time(body["now"])


def clock_now(server):
    return advance(server, 0)


def advance_to(server, when):
    """Moves the simulated clock to `when` (whole seconds from now, never backwards)."""
    now = clock_now(server)
    delta = (when - now).total_seconds()
    assert delta >= 0, "cannot move the clock back from %s to %s" % (now, when)
    assert delta == int(delta), "not a whole number of seconds: %s -> %s" % (now, when)
    got = advance(server, int(delta))
    assert got == when, "clock is at %s, expected %s" % (got, when)
    return got


def wait_until(predicate, timeout=5.0, interval=0.05):
    """Polls predicate() for at most `timeout` seconds; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Mail:
    """One message the SMTP sink received."""

    def __init__(self, mail_from, rcpt_tos, content):
        self.mail_from = mail_from
        self.rcpt_tos = [r.lower() for r in rcpt_tos]
        self.content = content
        self.message = email.message_from_bytes(content, policy=email.policy.default)

    @property
    def message_id(self):
        return self.message.get("Message-ID")

    @property
    def subject(self):
        return str(self.message.get("Subject") or "")

    def text(self):
        """Subject and every text part, decoded (quoted-printable, base64, charsets)."""
        parts = [self.subject]
        for part in self.message.walk():
            if part.get_content_maintype() == "text":
                parts.append(part.get_content())
        return "\n".join(parts)

    def __repr__(self):
        return "Mail(to=%s, subject=%r)" % (self.rcpt_tos, self.subject)


class SmtpSink:
    """An SMTP server on a free loopback port that keeps every message in memory."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink.lock:
                    sink.messages.append(Mail(envelope.mail_from, envelope.rcpt_tos,
                                              envelope.content))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def all(self):
        with self.lock:
            return list(self.messages)

    def to(self, address):
        return [m for m in self.all() if address.lower() in m.rcpt_tos]

    def stop(self):
        self.controller.stop()


class Hook:
    """One request the webhook sink received."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def strings(self):
        """Every string (and number) in the JSON body, joined: for looking for content."""
        out = []

        def walk(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    out.append(str(k))
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif v is not None:
                out.append(str(v))
        walk(self.json())
        return "\n".join(out)

    def __repr__(self):
        return "Hook(%s %s, %d bytes)" % (self.method, self.path, len(self.body))


class WebhookSink:
    """An HTTP server on a free loopback port that records every request and answers 200,
    or 500 for a path in `failing`."""

    def __init__(self):
        self.requests = []
        self.failing = set()
        self.lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    body = b"".join(chunks)
                else:
                    n = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(n) if n else b""
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                with sink.lock:
                    sink.requests.append(Hook(self.command, self.path, hdrs, body))
                    fail = self.path in sink.failing
                answer = b'{"ok":false}' if fail else b'{"ok":true}'
                self.send_response(500 if fail else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_POST = _handle
            do_PUT = _handle
            do_GET = _handle

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def fail(self, path):
        with self.lock:
            self.failing.add(path)

    def all(self):
        with self.lock:
            return list(self.requests)

    def at(self, path):
        return [r for r in self.all() if r.path == path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def webhook_sink():
    sink = WebhookSink()
    yield sink
    sink.stop()


def clock_args(smtp=None, start=SIM_START, reminder_before=REMINDER_BEFORE):
    """notaloned flags for a simulated clock, the SMTP sink and one-time links to itself."""
    args = ["--simulated-clock", start, "--reminder-before", str(reminder_before),
            "--public-url", "http://127.0.0.1:{port}"]
    if smtp is not None:
        args += ["--smtp-url", smtp.url, "--smtp-from", SMTP_FROM]
    return args


def set_clock_start(server, start):
    """Changes the --simulated-clock value used by the server's next start."""
    i = server.extra_args.index("--simulated-clock")
    server.extra_args[i + 1] = start


def create_visit(server, token, **fields):
    """POST /api/v1/visits; returns the visit."""
    return ok(server.call("POST", "/api/v1/visits", token=token, body=fields), 201)


def get_visit(server, token, visit_id):
    return ok(server.call("GET", "/api/v1/visits/%d" % visit_id, token=token))


def visit_action(server, token, visit_id, action, body=None):
    return server.call("POST", "/api/v1/visits/%d/%s" % (visit_id, action), token=token,
                       body=body)


def get_escalation(server, token, escalation_id):
    return ok(server.call("GET", "/api/v1/escalations/%d" % escalation_id, token=token))


def escalations_of(server, token, visit_id):
    return ok(server.call("GET", "/api/v1/escalations?visit_id=%d" % visit_id,
                          token=token))["items"]


def create_channel(server, token, **fields):
    return ok(server.call("POST", "/api/v1/channels", token=token, body=fields), 201)


class Crew:
    """A team of lone workers: worker and buddy under line manager `lm`, a senior manager,
    an operator, and `outsider` in another team under `other_lm`."""

    WORKER_NAME = "Asha Patel"
    WORKER_PHONE = "+44 7700 900123"
    KIN = {"name": "Ravi Patel", "relation": "husband", "phone": "+44 7700 900456"}
    REGISTRATION = "YX21 ABC"

    def mail_of(self, who):
        return getattr(self, who).user["email"]


def make_crew(server, buddy_email=True):
    admin = server.admin()
    crew = Crew()
    crew.admin = admin
    bosses = new_accounts(server, admin, {
        "lm": (unique("lena"), ["manager"], {"display_name": "Lena Lead"}),
        "other_lm": (unique("max"), ["manager"], {"display_name": "Max Other"}),
        "sm": (unique("sam"), ["senior_manager"], {"display_name": "Sam Senior"}),
        "operator": (unique("olu"), ["operator"], {"display_name": "Olu Operator"}),
    })
    for key, acct in bosses.items():
        setattr(crew, key, acct)
    crew.team = create_team(server, admin, unique("Community nurses "), crew.lm.id)
    crew.other_team = create_team(server, admin, unique("Other team "), crew.other_lm.id)
    workers = new_accounts(server, admin, {
        "worker": (unique("asha"), ["worker"], {
            "display_name": Crew.WORKER_NAME, "phone": Crew.WORKER_PHONE,
            "next_of_kin": dict(Crew.KIN), "home_address": "1 High Street, Leeds",
            "team_ids": [crew.team["id"]]}),
        "buddy": (unique("ben"), ["worker"], {
            "display_name": "Ben Buddy", "phone": "+44 7700 900222",
            "team_ids": [crew.team["id"]]}),
        "outsider": (unique("oscar"), ["worker"], {
            "display_name": "Oscar Outsider", "team_ids": [crew.other_team["id"]]}),
    })
    for key, acct in workers.items():
        setattr(crew, key, acct)
    # every user has a profile email except, when asked, the buddy
    for key in ("lm", "other_lm", "sm", "operator", "worker", "buddy", "outsider"):
        if key == "buddy" and not buddy_email:
            continue
        acct = getattr(crew, key)
        acct.user = ok(server.call("PATCH", "/api/v1/users/%d" % acct.id, token=acct.token,
                                   body={"email": "%s@example.org" % acct.username}))
    crew.vehicle = ok(server.call("POST", "/api/v1/users/%d/vehicles" % crew.worker.id,
                                  token=crew.worker.token,
                                  body={"registration": Crew.REGISTRATION, "make": "Ford",
                                        "model": "Fiesta", "colour": "blue"}), 201)
    return crew

"""Durable before acknowledged: graceful restarts, SIGKILL, and a database from the future."""

import os
import threading
import time

from conftest import (ADMIN_PASSWORD, PASSWORD, activate, assert_error, call_url, create_org,
                      create_team, create_user, list_all, login, login_raw, ok, unique)


def test_graceful_restart_keeps_everything(server):
    admin = server.admin()
    mgr, otp = create_user(server, admin, "keepmgr", ["manager"], email="m@example.org")
    mgr_token = activate(server, "keepmgr", otp, PASSWORD)
    team = create_team(server, admin, "Kept team", mgr["id"])
    worker, wotp = create_user(server, admin, "keepworker", ["worker"], team_ids=[team["id"]],
                               home_address="4 Kept Road",
                               next_of_kin={"name": "Kin", "relation": "", "phone": "0113 496 0003"})
    vehicle = ok(server.call("POST", "/api/v1/users/%d/vehicles" % worker["id"], token=admin,
                             body={"registration": "KE1 1PT", "make": "VW"}), 201)
    key = ok(server.call("POST", "/api/v1/api-keys", token=mgr_token, body={"name": "kept"}), 201)
    revoked = ok(server.call("POST", "/api/v1/api-keys", token=mgr_token, body={"name": "gone"}),
                 201)
    ok(server.call("DELETE", "/api/v1/api-keys/%d" % revoked["api_key"]["id"], token=mgr_token),
       204)
    org, oadmin, ootp = create_org(server, admin, "Kept Org", "keptorgadmin")
    disabled, _ = create_user(server, admin, "keepdisabled", ["worker"])
    ok(server.call("PATCH", "/api/v1/users/%d" % disabled["id"], token=admin,
                   body={"disabled": True}))
    before_users = list_all(server, "/api/v1/users", admin)
    before_team = ok(server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin))
    before_events = ok(server.call("GET", "/api/v1/audit-events?limit=200", token=admin))["items"]
    assert before_events

    server.restart()

    # sessions and keys outlive the process
    ok(server.call("GET", "/api/v1/me", token=admin))
    ok(server.call("GET", "/api/v1/me", token=mgr_token))
    assert ok(server.call("GET", "/api/v1/me", token=key["key"]))["credential"] == "api_key"
    assert_error(server.call("GET", "/api/v1/me", token=revoked["key"]), 401)

    assert list_all(server, "/api/v1/users", admin) == before_users
    assert ok(server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin)) == before_team
    w = ok(server.call("GET", "/api/v1/users/%d" % worker["id"], token=admin))
    assert w["home_address"] == "4 Kept Road"
    assert w["vehicles"][0]["id"] == vehicle["id"]
    assert w["password_change_required"] is True
    events = ok(server.call("GET", "/api/v1/audit-events?limit=200&before=%d"
                            % (before_events[0]["id"] + 1), token=admin))["items"]
    assert events == before_events
    orgs = ok(server.call("GET", "/api/v1/organisations", token=admin))["items"]
    assert org["id"] in [o["id"] for o in orgs]

    # passwords: set, one-time, disabled
    login(server, "admin", ADMIN_PASSWORD)
    login(server, "keepmgr", PASSWORD)
    activate(server, "keepworker", wotp, PASSWORD)
    activate(server, "keptorgadmin", ootp, PASSWORD)
    assert_error(login_raw(server, "keepdisabled", "whatever password"), 401,
                 "invalid_credentials")
    # no second administrator is made on a later start
    admins = list_all(server, "/api/v1/users?role=admin", admin)
    assert [a["username"] for a in admins] == ["admin"]


def test_sigkill_loses_nothing_acknowledged(server_factory):
    srv = server_factory()
    admin = srv.admin()
    port = srv.port
    acked_teams = {}
    acked_users = {}
    stop = threading.Event()
    errors = []

    def writer(kind, index):
        n = 0
        while not stop.is_set():
            n += 1
            name = "%s-%d-%d" % (kind, index, n)
            try:
                if kind == "team":
                    st, body, _ = call_url(port, "POST", "/api/v1/teams", token=admin,
                                           body={"name": name}, timeout=10)
                    if st == 201:
                        acked_teams[body["id"]] = name
                else:
                    st, body, _ = call_url(port, "POST", "/api/v1/users", token=admin,
                                           body={"username": name, "display_name": name,
                                                 "roles": ["worker"],
                                                 "home_address": "%s street" % name},
                                           timeout=10)
                    if st == 201:
                        acked_users[body["user"]["id"]] = name
                if st not in (201, 503):
                    errors.append((name, st, body))
            except (OSError, ValueError):
                # the connection died with the server: the request was not acknowledged
                if stop.is_set():
                    return
                time.sleep(0.001)

    threads = [threading.Thread(target=writer, args=(k, i))
               for i, k in enumerate(("team", "team", "user"))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked_teams) < 150 or len(acked_users) < 5:
        assert time.monotonic() < deadline, (len(acked_teams), len(acked_users), errors[:5])
        assert not errors, errors[:5]
        time.sleep(0.01)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors[:5]
    teams = dict(acked_teams)
    users = dict(acked_users)

    srv.start()
    admin = login(srv, "admin", ADMIN_PASSWORD)
    all_teams = {t["id"]: t["name"] for t in list_all(srv, "/api/v1/teams", admin)}
    lost = {i: n for i, n in teams.items() if all_teams.get(i) != n}
    assert not lost, "acknowledged teams lost after SIGKILL: %r" % sorted(lost.items())[:20]
    all_users = {u["id"]: u for u in list_all(srv, "/api/v1/users", admin)}
    lost = {i: n for i, n in users.items()
            if i not in all_users or all_users[i]["username"] != n
            or all_users[i]["home_address"] != "%s street" % n}
    assert not lost, "acknowledged users lost after SIGKILL: %r" % sorted(lost.items())[:20]
    # the database is usable: names taken before the kill are still unique
    first = next(iter(teams.values()))
    assert_error(srv.call("POST", "/api/v1/teams", token=admin, body={"name": first}), 409)
    create_team(srv, admin, unique("after kill "))
    ok(srv.call("GET", "/readyz"))


def test_sigkill_during_idle_and_restart_twice(server_factory):
    srv = server_factory()
    admin = srv.admin()
    team = create_team(srv, admin, "idle team")
    srv.kill()
    srv.start()
    srv.kill()
    srv.start()
    admin = login(srv, "admin", ADMIN_PASSWORD)
    assert ok(srv.call("GET", "/api/v1/teams/%d" % team["id"], token=admin))["name"] == "idle team"


def test_newer_database_refused(server_factory):
    srv = server_factory()
    srv.admin()
    srv.stop_checked()
    db = srv.db
    if srv.backend == "sqlite":
        assert os.path.exists(db.target), os.listdir(srv.data_dir)
        cols = [r[1] for r in db.query("PRAGMA table_info(schema_migrations)")]
    else:
        cols = [r[0] for r in db.query("SELECT column_name FROM information_schema.columns "
                                       "WHERE table_name = 'schema_migrations'")]
    assert "version" in cols and "applied_at" in cols, cols
    current = int(db.value("SELECT max(version) FROM schema_migrations") or 0)
    future = current + 1000
    db.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                future, 4102444800000)
    before = db.snapshot()
    before_files = sorted(os.listdir(srv.data_dir))

    rc, stderr = srv.start_expect_exit()
    assert rc != 0, stderr
    assert rc > 0, "killed by a signal: %d\n%s" % (rc, stderr)
    low = stderr.lower()
    assert "schema" in low, stderr
    assert str(future) in stderr, stderr
    assert "AddressSanitizer" not in stderr and "runtime error:" not in stderr, stderr
    assert db.snapshot() == before, "the newer database was modified"
    after_files = [f for f in sorted(os.listdir(srv.data_dir)) if not f.endswith(("-wal", "-shm"))]
    assert after_files == [f for f in before_files if not f.endswith(("-wal", "-shm"))]

    # with the row gone again the same data directory and database start normally
    db.execute("DELETE FROM schema_migrations WHERE version = ?", future)
    srv.start()
    login(srv, "admin", ADMIN_PASSWORD)


def test_unusable_data_dir_refused(server_factory, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    srv = server_factory(start=False, data_dir=str(not_a_dir))
    rc, stderr = srv.start_expect_exit()
    assert rc > 0, stderr
    assert stderr.strip(), "no message on stderr"
    assert "AddressSanitizer" not in stderr and "runtime error:" not in stderr, stderr
    # The refused first start made no administrator whose password nobody was given: with
    # a usable data directory (on PostgreSQL the same database) the first start happens.
    good = server_factory(start=False, data_dir=str(tmp_path / "data"),
                          database=srv.db if srv.backend == "postgresql" else None)
    good.start()
    login(good, "admin", good.initial_admin_password())


def test_sigterm_during_requests_exits_cleanly(server_factory):
    srv = server_factory()
    admin = srv.admin()
    port = srv.port
    stop = threading.Event()
    acked = {}

    def writer(index):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                st, body, _ = call_url(port, "POST", "/api/v1/teams", token=admin,
                                       body={"name": "term-%d-%d" % (index, n)}, timeout=10)
                if st == 201:
                    acked[body["id"]] = body["name"]
            except (OSError, ValueError):
                return

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 30:
        assert time.monotonic() < deadline, len(acked)
        time.sleep(0.01)
    srv.stop_checked()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    srv.start()
    admin = login(srv, "admin", ADMIN_PASSWORD)
    names = {t["id"]: t["name"] for t in list_all(srv, "/api/v1/teams", admin)}
    assert all(names.get(i) == n for i, n in dict(acked).items())

"""Accounts: first start, sessions, organisations, teams, users, vehicles, API keys, audit."""

import os
import re
import stat

import pytest

from conftest import (ADMIN_PASSWORD, PASSWORD, SIM_START, activate, advance, assert_error,
                      change_password, create_org, create_team, create_user, list_all, login, login_raw,
                      new_account, ok, unique)

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def admin(shared_server):
    return shared_server.admin()


@pytest.fixture(scope="module")
def manager(shared_server, admin):
    return new_account(shared_server, admin, unique("mgr"), ["manager"])


# -- first start -------------------------------------------------------------------------------


def test_first_start_one_time_password_flow(server):
    path = os.path.join(server.data_dir, "initial-admin-password")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    with open(path) as f:
        content = f.read()
    lines = content.splitlines()
    assert len(lines) == 1, content
    otp = lines[0].strip()
    assert otp
    # stderr is a file here, not a terminal: it names the file, never the password
    assert otp not in server.run.stderr(), "one-time password written to a log"
    assert path in server.run.stderr(), "the password file is not named on stderr"

    body = ok(login_raw(server, "admin", otp))
    assert body["password_change_required"] is True
    assert body["token"].startswith("na_s_")
    assert TIME_RE.match(body["expires_at"]), body
    assert body["user"]["username"] == "admin"
    assert "admin" in body["user"]["roles"]
    token = body["token"]

    # Only /me, /me/password and /logout until the password is changed.
    me = ok(server.call("GET", "/api/v1/me", token=token))
    assert me["user"]["password_change_required"] is True
    assert me["organisation"]["is_host"] is True
    assert_error(server.call("GET", "/api/v1/users", token=token), 403, "password_change_required")
    assert_error(server.call("POST", "/api/v1/teams", token=token, body={"name": "t"}), 403,
                 "password_change_required")
    assert_error(server.call("GET", "/api/v1/organisations", token=token), 403,
                 "password_change_required")

    # new password equal to the current one, or too short
    assert_error(change_password(server, token, otp, otp), 422)
    assert_error(change_password(server, token, otp, "short"), 422, "invalid_field",
                 "new_password")
    ok(change_password(server, token, otp, ADMIN_PASSWORD), 204)

    me = ok(server.call("GET", "/api/v1/me", token=token))
    assert me["user"]["password_change_required"] is False
    ok(server.call("GET", "/api/v1/users", token=token))

    assert_error(login_raw(server, "admin", otp), 401, "invalid_credentials")
    body = ok(login_raw(server, "admin", ADMIN_PASSWORD))
    assert body["password_change_required"] is False


def test_first_start_shows_password_on_a_terminal(server_factory):
    """With stderr a terminal the operator sees the password itself."""
    import pty
    import select
    import signal
    import subprocess
    import time
    from conftest import NOTALONED, call_url, free_port
    srv = server_factory(start=False)  # its data directory and database, not its process
    data_dir = srv.data_dir
    port = free_port()
    master, slave = pty.openpty()
    proc = subprocess.Popen([NOTALONED, "--listen", "127.0.0.1:%d" % port, "--data-dir",
                             data_dir] + srv.database_args(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)

    def serving():
        try:
            return call_url(port, "GET", "/readyz", timeout=2)[0] == 200
        except OSError:
            return False
    os.close(slave)
    path = os.path.join(data_dir, "initial-admin-password")
    out = b""
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (os.path.exists(path) and b"login" in out):
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        with open(path) as f:
            otp = f.read().strip()
        assert otp and otp.encode() in out, out
        while not serving() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        os.close(master)
    assert proc.returncode == 0, out


def test_first_start_refuses_an_existing_password_file(server_factory, tmp_path):
    """The password file is created, never written through a link or over a file."""
    target = tmp_path / "elsewhere"
    srv = server_factory(start=False)
    os.symlink(str(target), os.path.join(srv.data_dir, "initial-admin-password"))
    rc, stderr = srv.start_expect_exit()
    assert rc > 0, stderr
    assert not target.exists()
    # nothing of the refused first start was kept: with the link gone it happens in full
    os.unlink(os.path.join(srv.data_dir, "initial-admin-password"))
    srv.start()
    body = ok(login_raw(srv, "admin", srv.initial_admin_password()))
    assert body["password_change_required"] is True

    srv = server_factory(start=False)
    with open(os.path.join(srv.data_dir, "initial-admin-password"), "w") as f:
        f.write("old\n")
    rc, stderr = srv.start_expect_exit()
    assert rc > 0, stderr


@pytest.mark.parametrize("args", [["--admin-username", "Bad Name"],
                                  ["--admin-username", ""],
                                  ["--organisation-name", "   "],
                                  ["--organisation-name", "a\x01b"]])
def test_first_start_refuses_bad_names(server_factory, args):
    srv = server_factory(start=False, extra_args=args)
    rc, stderr = srv.start_expect_exit()
    assert rc > 0, stderr
    assert not os.path.exists(os.path.join(srv.data_dir, "initial-admin-password"))


def test_first_start_admin_username_is_lowercased(server_factory):
    srv = server_factory(extra_args=["--admin-username", "Chief"])
    body = ok(login_raw(srv, "chief", srv.initial_admin_password()))
    assert body["user"]["username"] == "chief"


def test_first_start_data_dir_restart_keeps_admin(server):
    otp = server.initial_admin_password()
    activate(server, "admin", otp, ADMIN_PASSWORD)
    server.restart()
    body = ok(login_raw(server, "admin", ADMIN_PASSWORD))
    assert body["password_change_required"] is False
    users = list_all(server, "/api/v1/users?username=admin", body["token"])
    assert len(users) == 1


# -- sessions ----------------------------------------------------------------------------------


def test_login_logout_revokes_token(shared_server, admin):
    acct = new_account(shared_server, admin, unique("lo"), ["worker"])
    token = login(shared_server, acct.username, PASSWORD)
    ok(shared_server.call("GET", "/api/v1/me", token=token))
    ok(shared_server.call("POST", "/api/v1/logout", token=token), 204)
    assert_error(shared_server.call("GET", "/api/v1/me", token=token), 401, "unauthenticated")
    assert_error(shared_server.call("POST", "/api/v1/logout", token=token), 401, "unauthenticated")
    # the account's other session is untouched
    ok(shared_server.call("GET", "/api/v1/me", token=acct.token))


@pytest.mark.parametrize("auth", [
    None,
    "Bearer na_s_0000000000000000000000000000000000000000",
    "Bearer na_k_0000000000000000000000000000000000000000",
    "Bearer ",
    "Bearer garbage",
    "Basic YWRtaW46YWRtaW4=",
    "na_s_x",
])
def test_bad_token_is_401(shared_server, auth):
    headers = {"Authorization": auth} if auth is not None else None
    assert_error(shared_server.call("GET", "/api/v1/me", headers=headers), 401, "unauthenticated")
    assert_error(shared_server.call("GET", "/api/v1/users", headers=headers), 401,
                 "unauthenticated")


def test_wrong_password_and_unknown_user_same_answer(shared_server, admin):
    acct = new_account(shared_server, admin, unique("wp"), ["worker"])
    a = assert_error(login_raw(shared_server, acct.username, "wrong password 1"), 401,
                     "invalid_credentials")
    b = assert_error(login_raw(shared_server, unique("nobody"), "wrong password 1"), 401,
                     "invalid_credentials")
    assert a == b


def test_me(shared_server, admin):
    acct = new_account(shared_server, admin, unique("me"), ["worker"],
                       email="me@example.org", home_address="1 High Street, Leeds",
                       next_of_kin={"name": "Ravi", "relation": "husband",
                                    "phone": "+44 7700 900456"})
    body = ok(shared_server.call("GET", "/api/v1/me", token=acct.token))
    assert body["credential"] == "session"
    u = body["user"]
    assert u["id"] == acct.id
    assert u["username"] == acct.username
    assert u["email"] == "me@example.org"
    assert u["home_address"] == "1 High Street, Leeds"
    assert u["next_of_kin"]["name"] == "Ravi"
    assert u["phone"] is None
    assert u["vehicles"] == []
    assert u["password_change_required"] is False
    assert TIME_RE.match(u["created_at"]) and TIME_RE.match(u["updated_at"]), u
    org = body["organisation"]
    assert org["is_host"] is True
    assert org["id"] == u["organisation_id"]
    assert isinstance(org["name"], str) and org["name"]


def test_login_response_user_is_own_full_record(shared_server, admin):
    acct = new_account(shared_server, admin, unique("lr"), ["worker"], home_address="2 Low Road")
    body = ok(login_raw(shared_server, acct.username, PASSWORD))
    assert body["user"]["id"] == acct.id
    assert body["user"]["home_address"] == "2 Low Road"
    assert TIME_RE.match(body["expires_at"])


def test_change_password_wrong_current_is_401(shared_server, admin):
    acct = new_account(shared_server, admin, unique("cp"), ["worker"])
    other = login(shared_server, acct.username, PASSWORD)
    assert_error(change_password(shared_server, acct.token, "not the password", "new password 123"),
                 401, "invalid_credentials")
    ok(change_password(shared_server, acct.token, PASSWORD, "new password 123"), 204)
    # the calling session is kept, other sessions are revoked
    ok(shared_server.call("GET", "/api/v1/me", token=acct.token))
    assert_error(shared_server.call("GET", "/api/v1/me", token=other), 401, "unauthenticated")
    assert_error(login_raw(shared_server, acct.username, PASSWORD), 401, "invalid_credentials")
    login(shared_server, acct.username, "new password 123")


# -- organisations -----------------------------------------------------------------------------


def test_organisation_create_and_first_admin(shared_server, admin):
    name = unique("Org ")
    username = unique("orgadm")
    org, org_admin, otp = create_org(shared_server, admin, name, username, "Jo Smith",
                                     email="jo@example.org")
    assert org["name"] == name
    assert org["is_host"] is False
    assert isinstance(org["id"], int) and org["id"] > 0
    assert TIME_RE.match(org["created_at"])
    assert org_admin["username"] == username
    assert org_admin["organisation_id"] == org["id"]
    assert "admin" in org_admin["roles"]
    assert org_admin["email"] == "jo@example.org"

    body = ok(login_raw(shared_server, username, otp))
    assert body["password_change_required"] is True
    tok = body["token"]
    ok(change_password(shared_server, tok, otp, PASSWORD), 204)
    me = ok(shared_server.call("GET", "/api/v1/me", token=tok))
    assert me["organisation"]["id"] == org["id"]
    assert me["organisation"]["is_host"] is False

    # host admin lists every organisation; the new admin only their own
    host_list = ok(shared_server.call("GET", "/api/v1/organisations", token=admin))["items"]
    ids = {o["id"] for o in host_list}
    assert org["id"] in ids and me["organisation"]["id"] in ids
    assert any(o["is_host"] for o in host_list)
    own = ok(shared_server.call("GET", "/api/v1/organisations", token=tok))["items"]
    assert [o["id"] for o in own] == [org["id"]]

    # show
    ok(shared_server.call("GET", "/api/v1/organisations/%d" % org["id"], token=admin))
    ok(shared_server.call("GET", "/api/v1/organisations/%d" % org["id"], token=tok))
    host_id = ok(shared_server.call("GET", "/api/v1/me", token=admin))["organisation"]["id"]
    assert_error(shared_server.call("GET", "/api/v1/organisations/%d" % host_id, token=tok), 404,
                 "not_found")

    # only host administrators create organisations
    assert_error(shared_server.call("POST", "/api/v1/organisations", token=tok,
                                    body={"name": unique("O"),
                                          "admin": {"username": unique("u"),
                                                    "display_name": "X"}}),
                 403, "forbidden")

    # rename by its admin
    new_name = unique("Renamed ")
    body = ok(shared_server.call("PATCH", "/api/v1/organisations/%d" % org["id"], token=tok,
                                 body={"name": new_name}))
    assert body["name"] == new_name and body["id"] == org["id"]
    # the host admin is not an admin of that organisation
    st, _, _ = shared_server.call("PATCH", "/api/v1/organisations/%d" % org["id"], token=admin,
                                  body={"name": "Taken over"})
    assert st in (403, 404), st
    body = ok(shared_server.call("GET", "/api/v1/organisations/%d" % org["id"], token=tok))
    assert body["name"] == new_name


def test_organisation_admin_username_taken_409(shared_server, admin):
    assert_error(shared_server.call("POST", "/api/v1/organisations", token=admin,
                                    body={"name": unique("Org "),
                                          "admin": {"username": "admin",
                                                    "display_name": "Dup"}}),
                 409, "conflict")


def test_org_admin_is_host_independent(shared_server, admin):
    """The first admin of a new organisation administers only that organisation."""
    org, org_admin, otp = create_org(shared_server, admin, unique("Org "), unique("oa"))
    tok = activate(shared_server, org_admin["username"], otp, PASSWORD)
    user, _otp = create_user(shared_server, tok, unique("ow"), ["worker"])
    assert user["organisation_id"] == org["id"]
    team = create_team(shared_server, tok, "Same name everywhere")
    assert team["organisation_id"] == org["id"]
    # team names are unique per organisation, not per server
    create_team(shared_server, admin, unique("Same name everywhere "))


# -- teams -------------------------------------------------------------------------------------


def test_team_crud(shared_server, admin, manager):
    name = unique("Team ")
    team = create_team(shared_server, admin, name, manager.id)
    assert team["name"] == name
    assert team["line_manager_id"] == manager.id
    assert team["member_ids"] == []
    assert isinstance(team["id"], int)
    assert TIME_RE.match(team["created_at"])
    tid = team["id"]

    assert ok(shared_server.call("GET", "/api/v1/teams/%d" % tid, token=admin)) == team
    assert_error(shared_server.call("POST", "/api/v1/teams", token=admin, body={"name": name}), 409,
                 "conflict")

    new_name = unique("Team renamed ")
    body = ok(shared_server.call("PATCH", "/api/v1/teams/%d" % tid, token=admin,
                                 body={"name": new_name}))
    assert body["name"] == new_name and body["line_manager_id"] == manager.id
    body = ok(shared_server.call("PATCH", "/api/v1/teams/%d" % tid, token=admin,
                                 body={"line_manager_id": None}))
    assert body["line_manager_id"] is None and body["name"] == new_name

    teams = list_all(shared_server, "/api/v1/teams", admin)
    assert tid in [t["id"] for t in teams]

    ok(shared_server.call("DELETE", "/api/v1/teams/%d" % tid, token=admin), 204)
    assert_error(shared_server.call("GET", "/api/v1/teams/%d" % tid, token=admin), 404,
                 "not_found")
    assert tid not in [t["id"] for t in list_all(shared_server, "/api/v1/teams", admin)]
    assert_error(shared_server.call("DELETE", "/api/v1/teams/%d" % tid, token=admin), 404)


def test_team_line_manager_must_be_manager(shared_server, admin, manager):
    worker, _ = create_user(shared_server, admin, unique("lmw"), ["worker"])
    assert_error(shared_server.call("POST", "/api/v1/teams", token=admin,
                                    body={"name": unique("T"), "line_manager_id": worker["id"]}),
                 422, "invalid_field", "line_manager_id")
    assert_error(shared_server.call("POST", "/api/v1/teams", token=admin,
                                    body={"name": unique("T"), "line_manager_id": 987654321}),
                 422, "invalid_field", "line_manager_id")
    team = create_team(shared_server, admin, unique("T"))
    assert_error(shared_server.call("PATCH", "/api/v1/teams/%d" % team["id"], token=admin,
                                    body={"line_manager_id": worker["id"]}),
                 422, "invalid_field", "line_manager_id")
    senior, _ = create_user(shared_server, admin, unique("lms"), ["senior_manager"])
    body = ok(shared_server.call("PATCH", "/api/v1/teams/%d" % team["id"], token=admin,
                                 body={"line_manager_id": senior["id"]}))
    assert body["line_manager_id"] == senior["id"]
    # a manager of another organisation cannot manage this team
    org, other_admin, _otp = create_org(shared_server, admin, unique("Org "), unique("lmo"))
    assert_error(shared_server.call("PATCH", "/api/v1/teams/%d" % team["id"], token=admin,
                                    body={"line_manager_id": other_admin["id"]}),
                 422, "invalid_field", "line_manager_id")


def test_team_members(shared_server, admin, manager):
    team = create_team(shared_server, admin, unique("Members "), manager.id)
    tid = team["id"]
    u1, _ = create_user(shared_server, admin, unique("m1"), ["worker"])
    u2, _ = create_user(shared_server, admin, unique("m2"), ["worker"], team_ids=[tid])
    assert u2["team_ids"] == [tid]

    path = "/api/v1/teams/%d/members/%d" % (tid, u1["id"])
    ok(shared_server.call("PUT", path, token=admin), 204)
    ok(shared_server.call("PUT", path, token=admin), 204)
    body = ok(shared_server.call("GET", "/api/v1/teams/%d" % tid, token=admin))
    assert sorted(body["member_ids"]) == sorted([u1["id"], u2["id"]])
    assert tid in ok(shared_server.call("GET", "/api/v1/users/%d" % u1["id"],
                                        token=admin))["team_ids"]
    members = list_all(shared_server, "/api/v1/users?team_id=%d" % tid, admin)
    assert sorted(u["id"] for u in members) == sorted([u1["id"], u2["id"]])

    # the line manager may neither remove nor add members
    assert_error(shared_server.call("DELETE", path, token=manager.token), 403, "forbidden")
    ok(shared_server.call("DELETE", path, token=admin), 204)
    ok(shared_server.call("DELETE", path, token=admin), 204)
    body = ok(shared_server.call("GET", "/api/v1/teams/%d" % tid, token=admin))
    assert body["member_ids"] == [u2["id"]]
    assert tid not in ok(shared_server.call("GET", "/api/v1/users/%d" % u1["id"],
                                            token=admin))["team_ids"]
    assert_error(shared_server.call("PUT", path, token=manager.token), 403, "forbidden")

    assert_error(shared_server.call("PUT", "/api/v1/teams/%d/members/987654321" % tid,
                                    token=admin), 404, "not_found")
    assert_error(shared_server.call("PUT", "/api/v1/teams/987654321/members/%d" % u1["id"],
                                    token=admin), 404, "not_found")


# -- users -------------------------------------------------------------------------------------


def test_user_crud(shared_server, admin):
    team = create_team(shared_server, admin, unique("Users "))
    username = unique("asha")
    answer = ok(shared_server.call("POST", "/api/v1/users", token=admin, body={
        "username": username, "display_name": "Asha Patel", "roles": ["worker", "operator"],
        "email": "asha@example.org", "phone": "+44 7700 900123",
        "home_address": "1 High Street\nLeeds",
        "next_of_kin": {"name": "Ravi Patel", "relation": "husband", "phone": "+44 7700 900456"},
        "team_ids": [team["id"]]}), 201)
    otp = answer["one_time_password"]
    assert isinstance(otp, str) and len(otp) >= 10
    u = answer["user"]
    assert u["username"] == username
    assert u["display_name"] == "Asha Patel"
    assert sorted(u["roles"]) == ["operator", "worker"]
    assert u["team_ids"] == [team["id"]]
    assert u["disabled"] is False
    assert u["password_change_required"] is True
    assert u["email"] == "asha@example.org"
    assert u["phone"] == "+44 7700 900123"
    assert u["home_address"] == "1 High Street\nLeeds"
    assert u["next_of_kin"] == {"name": "Ravi Patel", "relation": "husband",
                                "phone": "+44 7700 900456"}
    assert u["vehicles"] == []
    uid = u["id"]

    got = ok(shared_server.call("GET", "/api/v1/users/%d" % uid, token=admin))
    assert got == u

    body = ok(shared_server.call("PATCH", "/api/v1/users/%d" % uid, token=admin,
                                 body={"display_name": "Asha P", "email": None,
                                       "next_of_kin": None, "roles": ["worker"]}))
    assert body["display_name"] == "Asha P"
    assert body["email"] is None
    assert body["next_of_kin"] is None
    assert body["roles"] == ["worker"]
    assert body["phone"] == "+44 7700 900123"
    got = ok(shared_server.call("GET", "/api/v1/users/%d" % uid, token=admin))
    assert got["display_name"] == "Asha P" and got["email"] is None

    found = list_all(shared_server, "/api/v1/users?username=%s" % username, admin)
    assert [x["id"] for x in found] == [uid]
    ops = list_all(shared_server, "/api/v1/users?role=worker", admin)
    assert uid in [x["id"] for x in ops]
    assert all("worker" in x["roles"] for x in ops)
    admins = list_all(shared_server, "/api/v1/users?role=admin", admin)
    assert uid not in [x["id"] for x in admins]

    # the one-time password must be changed at first login
    body = ok(login_raw(shared_server, username, otp))
    assert body["password_change_required"] is True
    assert_error(shared_server.call("GET", "/api/v1/teams", token=body["token"]), 403,
                 "password_change_required")

    assert_error(shared_server.call("GET", "/api/v1/users/987654321", token=admin), 404,
                 "not_found")
    assert_error(shared_server.call("PATCH", "/api/v1/users/987654321", token=admin,
                                    body={"display_name": "x"}), 404, "not_found")


def test_user_create_unknown_team_422(shared_server, admin):
    assert_error(shared_server.call("POST", "/api/v1/users", token=admin, body={
        "username": unique("ut"), "display_name": "X", "roles": ["worker"],
        "team_ids": [987654321]}), 422, "invalid_field")


def test_user_pagination(shared_server, admin):
    for _ in range(3):
        create_user(shared_server, admin, unique("pg"), ["worker"])
    seen = []
    after = None
    for _ in range(500):
        path = "/api/v1/users?limit=2" + ("&after=%d" % after if after else "")
        body = ok(shared_server.call("GET", path, token=admin))
        assert len(body["items"]) <= 2
        seen.extend(u["id"] for u in body["items"])
        after = body["next_after"]
        if after is None:
            break
        assert after == body["items"][-1]["id"]
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert len(seen) >= 4
    assert seen == [u["id"] for u in list_all(shared_server, "/api/v1/users", admin)]


def test_usernames_are_lowercased(shared_server, admin):
    base = unique("MiXeD.Case_")
    user, otp = create_user(shared_server, admin, base, ["worker"])
    assert user["username"] == base.lower()
    assert_error(shared_server.call("POST", "/api/v1/users", token=admin, body={
        "username": base.upper(), "display_name": "Dup", "roles": ["worker"]}), 409, "conflict")
    activate(shared_server, base.lower(), otp, PASSWORD)
    login(shared_server, base.lower(), PASSWORD)


def test_duplicate_username_409(shared_server, admin):
    username = unique("dup")
    create_user(shared_server, admin, username, ["worker"])
    assert_error(shared_server.call("POST", "/api/v1/users", token=admin, body={
        "username": username, "display_name": "Dup", "roles": ["worker"]}), 409, "conflict")
    # unique on the server: another organisation cannot take it either
    org, org_admin, otp = create_org(shared_server, admin, unique("Org "), unique("dupadm"))
    tok = activate(shared_server, org_admin["username"], otp, PASSWORD)
    assert_error(shared_server.call("POST", "/api/v1/users", token=tok, body={
        "username": username, "display_name": "Dup", "roles": ["worker"]}), 409, "conflict")


def test_password_reset_revokes_sessions(shared_server, admin):
    acct = new_account(shared_server, admin, unique("pr"), ["worker"])
    body = ok(shared_server.call("POST", "/api/v1/users/%d/password-reset" % acct.id, token=admin))
    otp = body["one_time_password"]
    assert isinstance(otp, str) and len(otp) >= 10 and otp != PASSWORD
    assert_error(shared_server.call("GET", "/api/v1/me", token=acct.token), 401, "unauthenticated")
    assert_error(login_raw(shared_server, acct.username, PASSWORD), 401, "invalid_credentials")
    activate(shared_server, acct.username, otp, "another password 42")
    # the empty body is accepted as well as {}
    st, body, _ = shared_server.call("POST", "/api/v1/users/%d/password-reset" % acct.id,
                                     token=admin, body={})
    assert st == 200 and body["one_time_password"], body


def test_vehicles(shared_server, admin):
    acct = new_account(shared_server, admin, unique("veh"), ["worker"])
    base = "/api/v1/users/%d/vehicles" % acct.id
    v = ok(shared_server.call("POST", base, token=admin, body={
        "registration": "AB12 CDE", "make": "Ford", "model": "Fiesta", "colour": "blue"}), 201)
    assert v["registration"] == "AB12 CDE" and v["make"] == "Ford"
    assert v["model"] == "Fiesta" and v["colour"] == "blue"
    assert isinstance(v["id"], int)
    v2 = ok(shared_server.call("POST", base, token=acct.token, body={"registration": "XY99 ZZZ"}),
            201)
    assert v2["registration"] == "XY99 ZZZ"
    listed = ok(shared_server.call("GET", base, token=acct.token))
    assert listed["next_after"] is None
    assert sorted(x["id"] for x in listed["items"]) == sorted([v["id"], v2["id"]])
    user = ok(shared_server.call("GET", "/api/v1/users/%d" % acct.id, token=admin))
    assert sorted(x["registration"] for x in user["vehicles"]) == ["AB12 CDE", "XY99 ZZZ"]

    for i in range(8):
        ok(shared_server.call("POST", base, token=admin, body={"registration": "R%d" % i}), 201)
    assert_error(shared_server.call("POST", base, token=admin, body={"registration": "ELEVEN"}),
                 422, "invalid_field")

    ok(shared_server.call("DELETE", "%s/%d" % (base, v["id"]), token=acct.token), 204)
    ids = [x["id"] for x in ok(shared_server.call("GET", base, token=admin))["items"]]
    assert v["id"] not in ids and len(ids) == 9
    ok(shared_server.call("DELETE", "%s/%d" % (base, v2["id"]), token=admin), 204)
    ok(shared_server.call("POST", base, token=acct.token, body={"registration": "AGAIN"}), 201)

    assert_error(shared_server.call("POST", base, token=admin, body={"registration": ""}), 422,
                 "invalid_field", "registration")
    assert_error(shared_server.call("POST", base, token=admin,
                                    body={"registration": "X" * 17}), 422, "invalid_field",
                 "registration")


# -- API keys ----------------------------------------------------------------------------------


def test_api_keys(shared_server, admin):
    acct = new_account(shared_server, admin, unique("key"), ["worker"])
    answer = ok(shared_server.call("POST", "/api/v1/api-keys", token=acct.token,
                                   body={"name": "pendant 42"}), 201)
    key = answer["key"]
    obj = answer["api_key"]
    assert key.startswith("na_k_")
    assert obj["name"] == "pendant 42"
    assert obj["user_id"] == acct.id
    assert obj["revoked_at"] is None
    assert key.startswith(obj["prefix"]) and obj["prefix"].startswith("na_k_")
    assert len(obj["prefix"]) < len(key)

    me = ok(shared_server.call("GET", "/api/v1/me", token=key))
    assert me["credential"] == "api_key"
    assert me["user"]["id"] == acct.id

    listed = ok(shared_server.call("GET", "/api/v1/api-keys", token=acct.token))
    assert [k["id"] for k in listed["items"]] == [obj["id"]]
    assert key not in str(listed)
    # admins see the keys of the organisation
    admin_list = list_all(shared_server, "/api/v1/api-keys?user_id=%d" % acct.id, admin)
    assert [k["id"] for k in admin_list] == [obj["id"]]
    assert key not in str(admin_list)

    # a key cannot make keys or change passwords, and cannot log out
    assert_error(shared_server.call("POST", "/api/v1/api-keys", token=key, body={"name": "k2"}),
                 403)
    assert_error(change_password(shared_server, key, PASSWORD, "whatever password 9"), 403)
    assert_error(shared_server.call("POST", "/api/v1/logout", token=key), 422)
    ok(shared_server.call("GET", "/api/v1/me", token=key))

    ok(shared_server.call("DELETE", "/api/v1/api-keys/%d" % obj["id"], token=acct.token), 204)
    assert_error(shared_server.call("GET", "/api/v1/me", token=key), 401, "unauthenticated")
    ok(shared_server.call("DELETE", "/api/v1/api-keys/%d" % obj["id"], token=acct.token), 204)
    listed = ok(shared_server.call("GET", "/api/v1/api-keys", token=acct.token))
    assert listed["items"][0]["revoked_at"] is not None
    assert TIME_RE.match(listed["items"][0]["revoked_at"])


def test_admin_creates_key_for_user_and_revokes(shared_server, admin):
    acct = new_account(shared_server, admin, unique("akey"), ["worker"])
    answer = ok(shared_server.call("POST", "/api/v1/api-keys", token=admin,
                                   body={"name": "device", "user_id": acct.id}), 201)
    assert answer["api_key"]["user_id"] == acct.id
    me = ok(shared_server.call("GET", "/api/v1/me", token=answer["key"]))
    assert me["user"]["id"] == acct.id
    # a worker cannot create a key for someone else
    assert_error(shared_server.call("POST", "/api/v1/api-keys", token=acct.token,
                                    body={"name": "x", "user_id": 1}), 403, "forbidden")
    ok(shared_server.call("DELETE", "/api/v1/api-keys/%d" % answer["api_key"]["id"],
                          token=admin), 204)
    assert_error(shared_server.call("GET", "/api/v1/me", token=answer["key"]), 401)


# -- disabling, last admin, throttling ---------------------------------------------------------


def test_disable_user_revokes_sessions(shared_server, admin):
    acct = new_account(shared_server, admin, unique("dis"), ["worker"])
    body = ok(shared_server.call("PATCH", "/api/v1/users/%d" % acct.id, token=admin,
                                 body={"disabled": True}))
    assert body["disabled"] is True
    assert_error(shared_server.call("GET", "/api/v1/me", token=acct.token), 401, "unauthenticated")
    assert_error(login_raw(shared_server, acct.username, PASSWORD), 401, "invalid_credentials")
    body = ok(shared_server.call("PATCH", "/api/v1/users/%d" % acct.id, token=admin,
                                 body={"disabled": False}))
    assert body["disabled"] is False
    login(shared_server, acct.username, PASSWORD)


def test_cannot_remove_last_admin(shared_server, admin):
    org, org_admin, otp = create_org(shared_server, admin, unique("Org "), unique("last"))
    tok = activate(shared_server, org_admin["username"], otp, PASSWORD)
    path = "/api/v1/users/%d" % org_admin["id"]
    assert_error(shared_server.call("PATCH", path, token=tok, body={"disabled": True}), 409,
                 "conflict")
    assert_error(shared_server.call("PATCH", path, token=tok, body={"roles": ["worker"]}), 409,
                 "conflict")
    me = ok(shared_server.call("GET", "/api/v1/me", token=tok))
    assert "admin" in me["user"]["roles"] and me["user"]["disabled"] is False

    # with a second admin the first may step down
    create_user(shared_server, tok, unique("second"), ["admin"])
    body = ok(shared_server.call("PATCH", path, token=tok, body={"roles": ["worker"]}))
    assert body["roles"] == ["worker"]


def test_last_enabled_admin_disable_409(shared_server, admin):
    org, org_admin, otp = create_org(shared_server, admin, unique("Org "), unique("lea"))
    tok = activate(shared_server, org_admin["username"], otp, PASSWORD)
    second, otp2 = create_user(shared_server, tok, unique("sec"), ["admin"])
    tok2 = activate(shared_server, second["username"], otp2, PASSWORD)
    ok(shared_server.call("PATCH", "/api/v1/users/%d" % org_admin["id"], token=tok2,
                          body={"disabled": True}))
    assert_error(shared_server.call("PATCH", "/api/v1/users/%d" % second["id"], token=tok2,
                                    body={"disabled": True}), 409, "conflict")
    assert_error(shared_server.call("PATCH", "/api/v1/users/%d" % second["id"], token=tok2,
                                    body={"roles": ["manager"]}), 409, "conflict")


def test_login_throttling(shared_server, admin):
    acct = new_account(shared_server, admin, unique("thr"), ["worker"])
    for i in range(3):
        assert_error(login_raw(shared_server, acct.username, "wrong password %d" % i), 401,
                     "invalid_credentials")
    st, body, headers = login_raw(shared_server, acct.username, PASSWORD)
    assert_error((st, body, headers), 429, "too_many_attempts")
    assert "retry-after" in headers, headers
    assert re.match(r"^\d+$", headers["retry-after"]), headers
    assert 1 <= int(headers["retry-after"]) <= 2
    # another user is not affected
    login(shared_server, "admin", shared_server.admin_password)


# -- audit -------------------------------------------------------------------------------------


def test_audit_events(shared_server, admin, manager):
    team = create_team(shared_server, admin, unique("Audit "), manager.id)
    worker, _ = create_user(shared_server, admin, unique("aw"), ["worker"], team_ids=[team["id"]],
                            next_of_kin={"name": "Kin", "relation": "", "phone": "0113 496 0000"})
    body = ok(shared_server.call("GET", "/api/v1/users/%d" % worker["id"], token=manager.token))
    assert body["next_of_kin"]["name"] == "Kin"
    assert "home_address" not in body

    events = ok(shared_server.call("GET", "/api/v1/audit-events?limit=200", token=admin))
    items = events["items"]
    assert "next_before" in events
    ids = [e["id"] for e in items]
    assert ids == sorted(ids, reverse=True), "audit events are not newest first"
    for e in items:
        assert set(e) >= {"id", "actor_user_id", "action", "target_type", "target_id", "detail",
                          "at"}, e
        assert TIME_RE.match(e["at"]), e
    create = [e for e in items if e["action"] == "user.create" and e["target_id"] == worker["id"]]
    assert create, items[:10]
    assert create[0]["target_type"] == "user"
    reads = [e for e in items if e["action"] == "user.read_personal"
             and e["target_id"] == worker["id"] and e["actor_user_id"] == manager.id]
    assert reads, items[:10]
    assert reads[0]["target_type"] == "user"
    assert reads[0]["id"] > create[0]["id"]

    # paging backwards
    page = ok(shared_server.call("GET", "/api/v1/audit-events?limit=1", token=admin))
    assert len(page["items"]) == 1
    nb = page["next_before"]
    assert nb == page["items"][0]["id"]
    older = ok(shared_server.call("GET", "/api/v1/audit-events?limit=1&before=%d" % nb,
                                  token=admin))
    assert older["items"][0]["id"] < nb

    # only admins and LSMS read the audit log
    assert_error(shared_server.call("GET", "/api/v1/audit-events", token=manager.token), 403,
                 "forbidden")


# -- more rules of the contract ----------------------------------------------------------------


def test_session_ttl_sets_expiry(server_factory):
    import datetime
    srv = server_factory(extra_args=["--session-ttl", "2h"])
    otp = srv.initial_admin_password()
    body = ok(login_raw(srv, "admin", otp))
    expires = datetime.datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    now = datetime.datetime.utcnow()
    delta = (expires - now).total_seconds()
    assert 2 * 3600 - 120 <= delta <= 2 * 3600 + 120, body["expires_at"]


def test_login_username_is_lowercased(shared_server, admin):
    acct = new_account(shared_server, admin, unique("lower"), ["worker"])
    body = ok(login_raw(shared_server, acct.username.upper(), PASSWORD))
    assert body["user"]["id"] == acct.id


def test_wrong_current_password_counts_as_failed_login(shared_server, admin):
    acct = new_account(shared_server, admin, unique("cpt"), ["worker"])
    for i in range(3):
        assert_error(change_password(shared_server, acct.token, "wrong current %d" % i,
                                     "brand new password"), 401, "invalid_credentials")
    st, body, headers = login_raw(shared_server, acct.username, PASSWORD)
    assert_error((st, body, headers), 429, "too_many_attempts")
    assert "retry-after" in headers


def test_password_length_counts_bytes(shared_server, admin):
    acct = new_account(shared_server, admin, unique("pwb"), ["worker"])
    assert_error(change_password(shared_server, acct.token, PASSWORD, "é" * 4 + "a"), 422,
                 "invalid_field", "new_password")
    ok(change_password(shared_server, acct.token, PASSWORD, "é" * 5), 204)
    login(shared_server, acct.username, "é" * 5)


def test_next_of_kin_is_replaced_whole(shared_server, admin):
    acct = new_account(shared_server, admin, unique("nok"), ["worker"],
                       next_of_kin={"name": "A", "relation": "mother", "phone": "0113 496 0005"})
    body = ok(shared_server.call("PATCH", "/api/v1/users/%d" % acct.id, token=acct.token,
                                 body={"next_of_kin": {"name": "B"}}))
    nok = body["next_of_kin"]
    assert nok["name"] == "B"
    assert nok.get("relation") in (None, "") and nok.get("phone") is None, nok
    body = ok(shared_server.call("PATCH", "/api/v1/users/%d" % acct.id, token=acct.token,
                                 body={"next_of_kin": None, "home_address": "5 New Street"}))
    assert body["next_of_kin"] is None and body["home_address"] == "5 New Street"
    again = ok(shared_server.call("GET", "/api/v1/users/%d" % acct.id, token=acct.token))
    assert again["next_of_kin"] is None and again["home_address"] == "5 New Street"


def test_team_delete_updates_members(shared_server, admin):
    team = create_team(shared_server, admin, unique("Gone "))
    user, _ = create_user(shared_server, admin, unique("gm"), ["worker"], team_ids=[team["id"]])
    assert user["team_ids"] == [team["id"]]
    ok(shared_server.call("DELETE", "/api/v1/teams/%d" % team["id"], token=admin), 204)
    assert ok(shared_server.call("GET", "/api/v1/users/%d" % user["id"],
                                 token=admin))["team_ids"] == []


def test_vehicle_of_another_user_404(shared_server, admin):
    a, _ = create_user(shared_server, admin, unique("va"), ["worker"])
    b, _ = create_user(shared_server, admin, unique("vb"), ["worker"])
    v = ok(shared_server.call("POST", "/api/v1/users/%d/vehicles" % b["id"], token=admin,
                              body={"registration": "VB1"}), 201)
    assert_error(shared_server.call("DELETE", "/api/v1/users/%d/vehicles/%d" % (a["id"], v["id"]),
                                    token=admin), 404, "not_found")
    listed = ok(shared_server.call("GET", "/api/v1/users/%d/vehicles" % b["id"], token=admin))
    assert [x["id"] for x in listed["items"]] == [v["id"]]


def test_concurrent_creates_same_username(shared_server, admin):
    import threading
    username = unique("race")
    results = []

    def create():
        st, body, _ = shared_server.call("POST", "/api/v1/users", token=admin, body={
            "username": username, "display_name": "Race", "roles": ["worker"]})
        results.append(st)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 5, results
    assert len(list_all(shared_server, "/api/v1/users?username=%s" % username, admin)) == 1


def test_audit_actions_recorded(shared_server, admin):
    mgr = new_account(shared_server, admin, unique("aud"), ["manager"])
    assert_error(login_raw(shared_server, mgr.username, "a wrong password"), 401)
    team = create_team(shared_server, admin, unique("Aud "))
    ok(shared_server.call("PATCH", "/api/v1/teams/%d" % team["id"], token=admin,
                          body={"line_manager_id": mgr.id}))
    ok(shared_server.call("PUT", "/api/v1/teams/%d/members/%d" % (team["id"], mgr.id),
                          token=admin), 204)
    ok(shared_server.call("DELETE", "/api/v1/teams/%d/members/%d" % (team["id"], mgr.id),
                          token=admin), 204)
    ok(shared_server.call("DELETE", "/api/v1/teams/%d" % team["id"], token=admin), 204)
    ok(shared_server.call("PATCH", "/api/v1/users/%d" % mgr.id, token=admin,
                          body={"display_name": "Audited"}))
    v = ok(shared_server.call("POST", "/api/v1/users/%d/vehicles" % mgr.id, token=mgr.token,
                              body={"registration": "AU1"}), 201)
    ok(shared_server.call("DELETE", "/api/v1/users/%d/vehicles/%d" % (mgr.id, v["id"]),
                          token=mgr.token), 204)
    k = ok(shared_server.call("POST", "/api/v1/api-keys", token=mgr.token, body={"name": "a"}),
           201)
    ok(shared_server.call("DELETE", "/api/v1/api-keys/%d" % k["api_key"]["id"], token=mgr.token),
       204)
    ok(shared_server.call("POST", "/api/v1/users/%d/password-reset" % mgr.id, token=admin))
    org, _, _ = create_org(shared_server, admin, unique("Aud Org "), unique("audorg"))
    host_id = ok(shared_server.call("GET", "/api/v1/me", token=admin))["organisation"]["id"]
    me = ok(shared_server.call("GET", "/api/v1/organisations/%d" % host_id, token=admin))
    ok(shared_server.call("PATCH", "/api/v1/organisations/%d" % host_id, token=admin,
                          body={"name": me["name"]}))

    events = ok(shared_server.call("GET", "/api/v1/audit-events?limit=200", token=admin))["items"]
    seen = {(e["action"], e["target_id"]) for e in events}
    actions = {e["action"] for e in events}
    for action in ("login.success", "login.failure", "password.change", "password.reset",
                   "organisation.create", "organisation.update", "team.create", "team.update",
                   "team.delete", "team.member_add", "team.member_remove", "user.create",
                   "user.update", "vehicle.add", "vehicle.delete", "api_key.create",
                   "api_key.revoke"):
        assert action in actions, (action, sorted(actions))
    assert ("team.delete", team["id"]) in seen
    assert ("password.reset", mgr.id) in seen
    assert ("vehicle.delete", v["id"]) in seen or any(
        e["action"] == "vehicle.delete" and e["actor_user_id"] == mgr.id for e in events)
    assert ("organisation.create", org["id"]) in seen


def test_login_throttling_unknown_username(shared_server):
    name = unique("ghost")
    for i in range(3):
        assert_error(login_raw(shared_server, name, "wrong password %d" % i), 401,
                     "invalid_credentials")
    st, body, headers = login_raw(shared_server, name, "wrong password 3")
    assert_error((st, body, headers), 429, "too_many_attempts")
    assert "retry-after" in headers


def test_login_time_does_not_reveal_users(shared_server, admin):
    import time
    existing = [create_user(shared_server, admin, unique("tm"), ["worker"])[0]["username"]
                for _ in range(3)]

    def timed(username):
        t0 = time.monotonic()
        assert_error(login_raw(shared_server, username, "not the password"), 401,
                     "invalid_credentials")
        return time.monotonic() - t0

    # Medians of several tries each, taken in turns, so that a moment of load on a busy
    # machine falls on both sides rather than deciding the comparison.
    known, unknown = [], []
    for i in range(7):
        known.append(timed(existing[i % 3]))
        unknown.append(timed(unique("nouser")))
    known.sort()
    unknown.sort()
    # the same work is done for an unknown user: not an order of magnitude faster
    assert unknown[3] >= 0.4 * known[3], (known, unknown)


def test_password_reset_body(shared_server, admin):
    user, _ = create_user(shared_server, admin, unique("prb"), ["worker"])
    assert_error(shared_server.call("POST", "/api/v1/users/%d/password-reset" % user["id"],
                                    token=admin, body={"password": "chosen by admin"}),
                 422, "invalid_field", "password")


def concurrently(n, fn):
    """Runs fn() in n threads released together; returns the results in no order."""
    import threading
    barrier = threading.Barrier(n)
    results = []
    lock = threading.Lock()

    def work():
        barrier.wait()
        r = fn()
        with lock:
            results.append(r)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_logins_are_throttled(server_factory):
    """Attempts made at once are counted before the password is checked, one at a time."""
    # On a simulated clock the back-off cannot run out while a loaded machine is still
    # answering the sixteen: what is tested is the counting, not the speed.
    srv = server_factory(extra_args=["--http-threads", "16", "--simulated-clock", SIM_START])
    acct = new_account(srv, srv.admin(), unique("conc"), ["worker"])
    statuses = [r[0] for r in concurrently(
        16, lambda: login_raw(srv, acct.username, "wrong password"))]
    assert statuses.count(401) <= 3, sorted(statuses)
    assert set(statuses) <= {401, 429}, statuses
    ghost = unique("ghost")
    statuses = [r[0] for r in concurrently(16, lambda: login_raw(srv, ghost, "wrong password"))]
    assert statuses.count(401) <= 3, sorted(statuses)


def test_password_change_is_throttled(server_factory):
    # A simulated clock: the back-off passes when the test says, not when a busy machine does.
    srv = server_factory(extra_args=["--simulated-clock", SIM_START])
    acct = new_account(srv, srv.admin(), unique("cpthr"), ["worker"])
    for i in range(3):
        assert_error(login_raw(srv, acct.username, "wrong password %d" % i), 401,
                     "invalid_credentials")
    st, body, headers = change_password(srv, acct.token, PASSWORD, "brand new password")
    assert_error((st, body, headers), 429, "too_many_attempts")
    assert 1 <= int(headers["retry-after"]) <= 2, headers
    advance(srv, int(headers["retry-after"]))
    ok(change_password(srv, acct.token, PASSWORD, "brand new password"), 204)
    # a successful change resets the count, as a login does
    for i in range(2):
        assert_error(login_raw(srv, acct.username, "wrong password %d" % i), 401,
                     "invalid_credentials")
    login(srv, acct.username, "brand new password")


def test_last_admin_check_reads_the_target_in_its_transaction(server):
    """A user made admin after the request read them is still counted as the last admin."""
    import threading
    import time
    admin = server.admin()
    me = ok(server.call("GET", "/api/v1/me", token=admin))["user"]
    user, _ = create_user(server, admin, unique("late"), ["worker"])
    # Another writer makes the user the only enabled admin; the request reads the user
    # before that commits and writes after it.
    with server.db.session() as conn:
        conn.begin_write()
        conn.execute("UPDATE users SET roles = 32 WHERE id = ?", user["id"])
        conn.execute("UPDATE users SET disabled = 1 WHERE id = ?", me["id"])
        result = []
        t = threading.Thread(target=lambda: result.append(server.call(
            "PATCH", "/api/v1/users/%d" % user["id"], token=admin, body={"disabled": True})))
        t.start()
        time.sleep(0.5)
        conn.execute("COMMIT")
    t.join()
    assert_error(result[0], 409, "conflict")


def test_two_admins_disabling_each_other_leave_one(server):
    """Two admins, each disabling the other at the same moment: one of them stays."""
    import threading
    import time
    admin = server.admin()
    me = ok(server.call("GET", "/api/v1/me", token=admin))["user"]
    other = new_account(server, admin, unique("adm"), ["admin"])
    # Both requests wait behind another writer holding both users' rows, then go together.
    with server.db.session() as conn:
        conn.begin_write()
        conn.execute("UPDATE users SET updated_at = updated_at WHERE id IN (?, ?)", me["id"],
                     other.id)
        results = []
        threads = [threading.Thread(target=lambda tok, uid: results.append(server.call(
            "PATCH", "/api/v1/users/%d" % uid, token=tok, body={"disabled": True})),
            args=args) for args in ((admin, other.id), (other.token, me["id"]))]
        for t in threads:
            t.start()
        time.sleep(1.0)
        conn.execute("ROLLBACK")
    for t in threads:
        t.join()
    statuses = sorted(r[0] for r in results)
    assert statuses.count(200) == 1, results
    enabled_admins = server.db.value("SELECT COUNT(*) FROM users WHERE organisation_id = ? "
                                     "AND disabled = 0 AND (roles & 32) <> 0",
                                     me["organisation_id"])
    assert enabled_admins == "1", results


def test_concurrent_vehicle_adds_keep_the_limit(server_factory):
    srv = server_factory(extra_args=["--http-threads", "16"])
    admin = srv.admin()
    user, _ = create_user(srv, admin, unique("cars"), ["worker"])
    path = "/api/v1/users/%d/vehicles" % user["id"]
    for i in range(8):
        ok(srv.call("POST", path, token=admin, body={"registration": "PRE %d" % i}), 201)
    answers = concurrently(16, lambda: srv.call("POST", path, token=admin,
                                                body={"registration": "RACE"}))
    statuses = sorted(a[0] for a in answers)
    assert statuses.count(201) == 2 and statuses.count(422) == 14, statuses
    for a in answers:
        if a[0] == 422:
            assert_error(a, 422, "invalid_field", "registration")
    vehicles = ok(srv.call("GET", path, token=admin))["items"]
    assert len(vehicles) == 10


def test_organisation_admin_username_is_lowercased(shared_server, admin):
    name = unique("OrgAdm")
    org, oadmin, otp = create_org(shared_server, admin, unique("Case Org "), name)
    assert oadmin["username"] == name.lower()
    login(shared_server, name, otp)
    assert_error(shared_server.call("POST", "/api/v1/organisations", token=admin,
                                    body={"name": unique("Bad Org "),
                                          "admin": {"username": "Bad Name",
                                                    "display_name": "X"}}),
                 422, "invalid_field", "admin.username")


def test_password_reset_needs_a_session_and_revokes_keys(shared_server, admin):
    target = new_account(shared_server, admin, unique("lost"), ["worker"])
    phone = ok(shared_server.call("POST", "/api/v1/api-keys", token=target.token,
                                  body={"name": "phone"}), 201)["key"]
    admin_key = ok(shared_server.call("POST", "/api/v1/api-keys", token=admin,
                                      body={"name": "admin device"}), 201)["key"]
    path = "/api/v1/users/%d/password-reset" % target.id
    assert_error(shared_server.call("POST", path, token=admin_key), 403, "forbidden")
    ok(shared_server.call("GET", "/api/v1/me", token=phone))
    ok(shared_server.call("POST", path, token=admin))
    # a lost phone: its key stops working with the sessions
    assert_error(shared_server.call("GET", "/api/v1/me", token=phone), 401, "unauthenticated")
    assert_error(shared_server.call("GET", "/api/v1/me", token=target.token), 401,
                 "unauthenticated")
    keys = list_all(shared_server, "/api/v1/api-keys?user_id=%d" % target.id, admin)
    assert keys and all(k["revoked_at"] for k in keys), keys
    ok(shared_server.call("GET", "/api/v1/me", token=admin_key))


def test_start_purges_stale_login_attempts(server):
    ghost = unique("ghost")
    assert_error(login_raw(server, ghost, "wrong password"), 401, "invalid_credentials")
    server.stop_checked()
    server.db.execute("UPDATE login_attempts SET last_failure_at = last_failure_at - 7200000")
    assert server.db.value("SELECT COUNT(*) FROM login_attempts WHERE username = ?",
                           ghost) == "1"
    server.start()
    assert server.db.value("SELECT COUNT(*) FROM login_attempts") == "0"

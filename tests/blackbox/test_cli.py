"""The notalone command-line client, end to end against a real server."""

import json
import os
import re
import stat
import subprocess

import pytest

from conftest import (ADMIN_PASSWORD, NOTALONE_CLI, PASSWORD, activate, assert_error, free_port,
                      list_all, login, login_raw, ok, tmp_dir, unique)


class Cli:
    """Runs the CLI with its own HOME and XDG_CONFIG_HOME."""

    def __init__(self, server):
        self.server = server
        self.home = tmp_dir("cli-home-")
        self.config = os.path.join(self.home, "config")
        os.makedirs(self.config)

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("NOTALONE_") or k in ("NOTALONE_CLI",)}
        env.pop("NOTALONE_CLI", None)
        env["HOME"] = self.home
        env["XDG_CONFIG_HOME"] = self.config
        return env

    def __call__(self, *args, stdin="", server=None, json_out=False, env=None):
        argv = [NOTALONE_CLI, "--server", server or self.server.url]
        if json_out:
            argv.append("--json")
        argv.extend(args)
        full_env = self.env()
        full_env.update(env or {})
        proc = subprocess.run(argv, input=stdin.encode(), capture_output=True, env=full_env,
                              timeout=60)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in err, err
        return proc.returncode, out, err

    def ok(self, *args, **kw):
        rc, out, err = self(*args, **kw)
        assert rc == 0, "notalone %s: exit %d\nstdout: %s\nstderr: %s" % (" ".join(args), rc, out,
                                                                        err)
        return out

    def json(self, *args, **kw):
        out = self.ok(*args, json_out=True, **kw)
        try:
            return json.loads(out)
        except ValueError:
            raise AssertionError("notalone --json %s printed no JSON: %r" % (" ".join(args), out))

    def files(self):
        found = []
        for root, _, names in os.walk(self.home):
            for n in names:
                found.append(os.path.join(root, n))
        return found

    def token_files(self, prefix="na_s_"):
        hits = []
        for path in self.files():
            with open(path, "rb") as f:
                if prefix.encode() in f.read():
                    hits.append(path)
        return hits

    def saved_token(self):
        files = self.token_files()
        assert len(files) == 1, files
        with open(files[0]) as f:
            text = f.read()
        start = text.index("na_s_")
        end = start
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        return text[start:end]


def items_of(parsed):
    if isinstance(parsed, dict) and "items" in parsed:
        return parsed["items"]
    assert isinstance(parsed, list), parsed
    return parsed


@pytest.fixture(scope="module")
def admin_cli(shared_server):
    """A CLI logged in as the host administrator (one-time password changed through the CLI)."""
    cli = Cli(shared_server)
    otp = shared_server.initial_admin_password()
    cli.ok("login", "--username", "admin", "--password-stdin", stdin=otp + "\n")
    cli.ok("passwd", "--stdin", stdin="%s\n%s\n" % (otp, ADMIN_PASSWORD))
    shared_server.admin_password = ADMIN_PASSWORD
    return cli


def test_login_passwd_whoami(shared_server, admin_cli):
    out = admin_cli.ok("whoami")
    assert "admin" in out
    data = admin_cli.json("whoami")
    user = data.get("user", data)
    assert user["username"] == "admin"
    # the one-time password is gone, the new one works
    assert_error(login_raw(shared_server, "admin", shared_server.initial_admin_password()), 401,
                 "invalid_credentials")
    body = ok(login_raw(shared_server, "admin", ADMIN_PASSWORD))
    assert body["password_change_required"] is False
    # the saved session is a real one
    ok(shared_server.call("GET", "/api/v1/me", token=admin_cli.saved_token()))


def test_credentials_file_mode_0600(admin_cli):
    files = admin_cli.token_files()
    assert files, "no file holding the session token under %s" % admin_cli.home
    for path in files:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600, "%s has mode %o" % (path, mode)
        assert path.startswith(admin_cli.config), path


def test_org_create(shared_server, admin_cli):
    username = unique("cliorg")
    data = admin_cli.json("org", "create", "--name", unique("CLI Org "), "--admin-username",
                          username, "--admin-name", "Cli Admin", "--admin-email", "c@example.org")
    assert data["admin"]["username"] == username
    assert data["admin"]["email"] == "c@example.org"
    assert data["organisation"]["is_host"] is False
    activate(shared_server, username, data["one_time_password"], PASSWORD)
    listed = items_of(admin_cli.json("org", "list"))
    assert data["organisation"]["id"] in [o["id"] for o in listed]
    shown = admin_cli.json("org", "show", str(data["organisation"]["id"]))
    assert shown["id"] == data["organisation"]["id"]
    # plain output shows the one-time password too
    username2 = unique("cliorg")
    out = admin_cli.ok("org", "create", "--name", unique("CLI Org "), "--admin-username",
                       username2, "--admin-name", "Cli Admin")
    find_password(shared_server, username2, out)


def find_password(server, username, out):
    """The one-time password printed in plain output: the word of it that logs in."""
    words = [w.strip(" \t'\",.:;()[]") for w in out.split()]
    words = [w for w in words if len(w) >= 10 and w != username and "password" not in w.lower()
             and not re.match(r"^\d{4}-\d\d-\d\dT", w) and not w.startswith("http")]
    for w in words[:3]:
        st, body, _ = login_raw(server, username, w)
        if st == 200:
            assert body["password_change_required"] is True
            return w
    raise AssertionError("no word of the output logs in as %s: %r" % (username, out))


def test_team_user_flow(shared_server, admin_cli):
    admin = login(shared_server, "admin", ADMIN_PASSWORD)
    mgr_name = unique("climgr")
    mgr = admin_cli.json("user", "create", "--username", mgr_name, "--name", "Cli Manager",
                         "--role", "manager", "--role", "worker")
    assert sorted(mgr["user"]["roles"]) == ["manager", "worker"]
    assert mgr["one_time_password"]

    team_name = unique("CLI team ")
    team = admin_cli.json("team", "create", "--name", team_name, "--manager", mgr_name)
    assert team["name"] == team_name
    assert team["line_manager_id"] == mgr["user"]["id"]

    # plain user create prints the one-time password
    wname = unique("cliw")
    out = admin_cli.ok("user", "create", "--username", wname, "--name", "Cli Worker", "--role",
                       "worker", "--email", "w@example.org", "--phone", "+44 113 496 0000",
                       "--team", str(team["id"]))
    otp = find_password(shared_server, wname, out)
    worker = list_all(shared_server, "/api/v1/users?username=%s" % wname, admin)[0]
    assert worker["email"] == "w@example.org"
    assert worker["phone"] == "+44 113 496 0000"
    assert worker["team_ids"] == [team["id"]]

    other = admin_cli.json("user", "create", "--username", unique("cliw2"), "--name", "W2",
                           "--role", "worker")
    admin_cli.ok("team", "add-member", str(team["id"]), other["user"]["username"])
    got = ok(shared_server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin))
    assert sorted(got["member_ids"]) == sorted([worker["id"], other["user"]["id"]])

    users = items_of(admin_cli.json("user", "list"))
    names = {u["username"] for u in users}
    assert {wname, mgr_name, "admin", other["user"]["username"]} <= names
    in_team = items_of(admin_cli.json("user", "list", "--team", str(team["id"])))
    assert sorted(u["id"] for u in in_team) == sorted([worker["id"], other["user"]["id"]])
    managers = items_of(admin_cli.json("user", "list", "--role", "manager"))
    assert mgr["user"]["id"] in [u["id"] for u in managers]
    assert all("manager" in u["roles"] for u in managers)

    shown = admin_cli.json("user", "show", wname)
    assert shown["id"] == worker["id"]
    assert "Cli Worker" in admin_cli.ok("user", "show", str(worker["id"]))

    # the worker logs in through a CLI of their own
    wcli = Cli(shared_server)
    wcli.ok("login", "--username", wname, "--password-stdin", stdin=otp + "\n")
    wcli.ok("passwd", "--stdin", stdin="%s\n%s\n" % (otp, PASSWORD))
    assert wname in wcli.ok("whoami")
    wtoken = wcli.saved_token()

    # disable: sessions revoked, login refused
    admin_cli.ok("user", "update", wname, "--disable")
    assert ok(shared_server.call("GET", "/api/v1/users/%d" % worker["id"],
                                 token=admin))["disabled"] is True
    assert_error(shared_server.call("GET", "/api/v1/me", token=wtoken), 401)
    assert_error(login_raw(shared_server, wname, PASSWORD), 401, "invalid_credentials")
    rc, out, err = wcli("whoami")
    assert rc == 1, (rc, out, err)
    admin_cli.ok("user", "update", wname, "--enable", "--name", "Renamed Worker")
    u = ok(shared_server.call("GET", "/api/v1/users/%d" % worker["id"], token=admin))
    assert u["disabled"] is False and u["display_name"] == "Renamed Worker"

    # reset-password prints a new one-time password
    reset = admin_cli.json("user", "reset-password", wname)
    activate(shared_server, wname, reset["one_time_password"], PASSWORD)

    # vehicles
    v = admin_cli.json("user", "vehicle-add", wname, "--registration", "CL1 1CL", "--make", "Kia",
                       "--colour", "red")
    assert v["registration"] == "CL1 1CL" and v["make"] == "Kia" and v["colour"] == "red"
    admin_cli.ok("user", "vehicle-remove", wname, str(v["id"]))
    u = ok(shared_server.call("GET", "/api/v1/users/%d" % worker["id"], token=admin))
    assert u["vehicles"] == []

    admin_cli.ok("team", "remove-member", team_name, other["user"]["username"])
    got = ok(shared_server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin))
    assert got["member_ids"] == [worker["id"]]
    admin_cli.ok("team", "update", str(team["id"]), "--no-manager")
    got = ok(shared_server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin))
    assert got["line_manager_id"] is None
    admin_cli.ok("team", "delete", str(team["id"]))
    assert_error(shared_server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin), 404)


def test_apikeys(shared_server, admin_cli):
    created = admin_cli.json("apikey", "create", "--name", "cli key")
    key = created["key"]
    assert key.startswith("na_k_")
    me = ok(shared_server.call("GET", "/api/v1/me", token=key))
    assert me["credential"] == "api_key" and me["user"]["username"] == "admin"
    listed = items_of(admin_cli.json("apikey", "list"))
    assert created["api_key"]["id"] in [k["id"] for k in listed]
    plain = admin_cli.ok("apikey", "list")
    assert "cli key" in plain and key not in plain
    admin_cli.ok("apikey", "revoke", str(created["api_key"]["id"]))
    assert_error(shared_server.call("GET", "/api/v1/me", token=key), 401, "unauthenticated")
    # plain create shows the key once
    out = admin_cli.ok("apikey", "create", "--name", "plain key")
    words = [w.strip(" '\",.:;") for w in out.split() if "na_k_" in w]
    assert words, out
    ok(shared_server.call("GET", "/api/v1/me", token=words[0]))


def test_wrong_password_exits_1(shared_server):
    cli = Cli(shared_server)
    rc, out, err = cli("login", "--username", "admin", "--password-stdin",
                       stdin="definitely wrong\n")
    assert rc == 1, (rc, out, err)
    text = (out + err).lower()
    assert "invalid" in text or "password" in text or "credentials" in text, (out, err)
    assert not cli.token_files()


def test_logout(shared_server, admin_cli):
    cli = Cli(shared_server)
    cli.ok("login", "--username", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    token = cli.saved_token()
    ok(shared_server.call("GET", "/api/v1/me", token=token))
    cli.ok("logout")
    assert_error(shared_server.call("GET", "/api/v1/me", token=token), 401, "unauthenticated")
    rc, out, err = cli("whoami")
    assert rc != 0, (rc, out, err)
    # the administrator's other CLI session is untouched
    admin_cli.ok("whoami")


def test_server_error_exits_1(shared_server, admin_cli):
    rc, out, err = admin_cli("user", "show", "no-such-user-%s" % unique("x"))
    assert rc == 1, (rc, out, err)
    assert err.strip(), "no message on stderr"
    rc, out, err = admin_cli("team", "create", "--name", "")
    assert rc in (1, 2), (rc, out, err)


@pytest.mark.parametrize("args", [
    ["frobnicate"],
    ["user", "frobnicate"],
    ["team", "create"],
    ["login"],
    ["user", "create", "--username", "x"],
    ["--no-such-option", "whoami"],
    [],
])
def test_usage_errors_exit_2(shared_server, args):
    cli = Cli(shared_server)
    rc, out, err = cli(*args)
    assert rc == 2, (args, rc, out, err)
    assert err.strip(), "no usage message on stderr"


def test_unreachable_server_exits_3(shared_server, admin_cli):
    cli = Cli(shared_server)
    url = "http://127.0.0.1:%d" % free_port()
    rc, out, err = cli("login", "--username", "admin", "--password-stdin",
                       stdin="whatever password\n", server=url)
    assert rc == 3, (rc, out, err)
    assert err.strip()
    # with a token (saved credentials are kept per server, so give it in the environment)
    token = {"NOTALONE_TOKEN": admin_cli.saved_token()}
    for args in (["whoami"], ["user", "list"], ["team", "create", "--name", "nowhere"]):
        rc, out, err = admin_cli(*args, server=url, env=token)
        assert rc == 3, (args, rc, out, err)


def test_help_exits_0(shared_server):
    cli = Cli(shared_server)
    rc, out, err = cli("--help")
    assert rc == 0, (rc, out, err)
    assert "login" in out and "user" in out and "apikey" in out, out


def test_duty(admin_cli):
    """notalone duty off|on shows in whoami's JSON; a bad word is a usage error."""
    assert "off duty" in admin_cli.ok("duty", "off")
    assert admin_cli.json("whoami")["user"]["on_duty"] is False
    assert "on duty" in admin_cli.ok("duty", "on")
    assert admin_cli.json("whoami")["user"]["on_duty"] is True
    rc, _, err = admin_cli("duty", "maybe")
    assert rc == 2 and "on or off" in err, err

"""Bad input gets a clear error, never a crash."""

import json
import random

import pytest

from conftest import (assert_error, check_error_shape, create_team, create_user, ok, raw_request,
                      raw_status, unique)


@pytest.fixture(scope="module")
def srv(shared_server):
    return shared_server


@pytest.fixture(scope="module")
def admin(shared_server):
    return shared_server.admin()


@pytest.fixture(scope="module")
def target(srv, admin):
    user, _ = create_user(srv, admin, unique("bi"), ["worker"])
    team = create_team(srv, admin, unique("BI team "))
    return {"user": user, "team": team}


def post_raw(srv, token, path, data, method="POST", content_type="application/json"):
    return srv.call(method, path, token=token, raw=data,
                    headers={"Content-Type": content_type} if content_type else
                    {"Content-Type": None})


# -- JSON syntax -------------------------------------------------------------------------------

MALFORMED = [
    b"{",
    b'{"name":',
    b'{"name": "x",}',
    b"{'name': 'x'}",
    b'{"name": "x"} trailing',
    b'{"name": "x"}{"name": "y"}',
    b"",
    b"   ",
    b"nul",
    b'{"name": "\\x41"}',
    b'{"name": "unterminated}',
    b'{"name": 01}',
    b'{"name": NaN}',
    b"[" * 5000 + b"]" * 5000,
]


@pytest.mark.parametrize("data", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_json_400(srv, admin, data):
    assert_error(post_raw(srv, admin, "/api/v1/teams", data), 400, "malformed_request")


@pytest.mark.parametrize("data", [b"[]", b'["name"]', b"1", b'"name"', b"null", b"true"])
def test_json_not_object_400(srv, admin, data):
    assert_error(post_raw(srv, admin, "/api/v1/teams", data), 400, "malformed_request")


def test_json_not_object_on_login_400(srv):
    assert_error(post_raw(srv, None, "/api/v1/login", b'["admin", "pw"]'), 400,
                 "malformed_request")


def test_duplicate_keys_400(srv, admin):
    assert_error(post_raw(srv, admin, "/api/v1/teams", b'{"name": "a", "name": "b"}'), 400,
                 "malformed_request")
    assert_error(post_raw(srv, admin, "/api/v1/users", json.dumps({
        "username": unique("dk"), "display_name": "D", "roles": ["worker"],
        "next_of_kin": {"name": "x", "relation": "y", "phone": "0113 496 0000"}
    }).replace('"relation": "y"', '"name": "y"').encode()), 400, "malformed_request")
    assert_error(post_raw(srv, None, "/api/v1/login",
                          b'{"username": "admin", "password": "x", "username": "admin"}'),
                 400, "malformed_request")


@pytest.mark.parametrize("data", [
    b'{"name": "\xff\xfe"}',
    b'{"name": "caf\xc3"}',
    b'{"name": "\xc0\xaf"}',
    b'{"name": "\xed\xa0\x80"}',
    b'{"na\x80me": "x"}',
    b'{"name": "\xf8\x88\x80\x80\x80"}',
], ids=range(6))
def test_invalid_utf8_400(srv, admin, data):
    assert_error(post_raw(srv, admin, "/api/v1/teams", data), 400, "malformed_request")


@pytest.mark.parametrize("data", [
    b'{"name": "a\\u0000b"}',
    b'{"na\\u0000me": "x"}',
    b'{"name": "a\x00b"}',
], ids=["escaped", "escaped-in-key", "raw"])
def test_nul_400(srv, admin, data):
    assert_error(post_raw(srv, admin, "/api/v1/teams", data), 400, "malformed_request")


def test_lone_surrogate_escape_refused(srv, admin):
    st, body, _ = post_raw(srv, admin, "/api/v1/teams", b'{"name": "a\\ud800b"}')
    assert st in (400, 422), (st, body)
    check_error_shape(body)


def test_body_too_large_413(srv, admin):
    data = json.dumps({"name": "x" * (70 * 1024)}).encode()
    assert_error(post_raw(srv, admin, "/api/v1/teams", data), 413, "payload_too_large")
    data = json.dumps({"username": "admin", "password": "p" * (65 * 1024)}).encode()
    assert_error(post_raw(srv, None, "/api/v1/login", data), 413, "payload_too_large")
    # just under the limit is parsed (and refused for its content, not its size)
    data = json.dumps({"name": "x" * (60 * 1024)}).encode()
    assert_error(post_raw(srv, admin, "/api/v1/teams", data), 422, "invalid_field", "name")


def test_body_too_large_announced_413(srv, admin):
    """A Content-Length over the limit is refused without reading the body."""
    head = ("POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: 10000000\r\n"
            "Connection: close\r\n\r\n" % admin).encode()
    answer = raw_request(srv.port, head + b'{"name": "', timeout=10)
    assert raw_status(answer) == 413, answer[:300]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx",
                                          "text/json"])
def test_non_json_content_type_415(srv, admin, content_type):
    assert_error(post_raw(srv, admin, "/api/v1/teams", b'{"name": "ct"}',
                          content_type=content_type), 415, "unsupported_media_type")


def test_json_content_type_with_charset_accepted(srv, admin):
    name = unique("charset ")
    body = ok(post_raw(srv, admin, "/api/v1/teams", json.dumps({"name": name}).encode(),
                       content_type="application/json; charset=utf-8"), 201)
    assert body["name"] == name


# -- fields ------------------------------------------------------------------------------------


def user_body(**over):
    body = {"username": unique("f"), "display_name": "Field Test", "roles": ["worker"]}
    body.update(over)
    return body


WRONG_TYPES = [
    ("/api/v1/teams", {"name": 5}, "name"),
    ("/api/v1/teams", {"name": None}, "name"),
    ("/api/v1/teams", {"name": ["x"]}, "name"),
    ("/api/v1/teams", {"name": "ok", "line_manager_id": "4"}, "line_manager_id"),
    ("/api/v1/teams", {"name": "ok", "line_manager_id": 1.5}, "line_manager_id"),
    ("/api/v1/teams", {"name": "ok", "line_manager_id": True}, "line_manager_id"),
    ("/api/v1/users", user_body(username=7), "username"),
    ("/api/v1/users", user_body(display_name={"a": 1}), "display_name"),
    ("/api/v1/users", user_body(roles="worker"), "roles"),
    ("/api/v1/users", user_body(roles=[1]), "roles"),
    ("/api/v1/users", user_body(roles=[]), "roles"),
    ("/api/v1/users", user_body(roles=["worker", "worker"]), "roles"),
    ("/api/v1/users", user_body(roles=["superuser"]), "roles"),
    ("/api/v1/users", user_body(team_ids=["1"]), "team_ids"),
    ("/api/v1/users", user_body(team_ids=5), "team_ids"),
    ("/api/v1/users", user_body(email=False), "email"),
    ("/api/v1/users", user_body(next_of_kin="Ravi"), "next_of_kin"),
    ("/api/v1/users", user_body(next_of_kin={"name": "R", "phone": 441134960000}),
     "next_of_kin.phone"),
    ("/api/v1/login", {"username": "admin", "password": 12345678901}, "password"),
    ("/api/v1/login", {"username": ["admin"], "password": "x" * 12}, "username"),
]


def assert_field_error(resp, field):
    """422 invalid_field naming the field (or, for a list, one of its elements)."""
    body = assert_error(resp, 422, "invalid_field")
    got = body["error"].get("field")
    assert got == field or (field in ("roles", "team_ids") and got is not None
                            and (got.startswith(field + ".") or got.startswith(field + "["))), \
        (field, body)


@pytest.mark.parametrize("path,body,field", WRONG_TYPES, ids=range(len(WRONG_TYPES)))
def test_wrong_types_422(srv, admin, path, body, field):
    assert_field_error(srv.call("POST", path, token=admin, body=body), field)


MISSING_FIELDS = [
    ("/api/v1/teams", {}, "name"),
    ("/api/v1/teams", {"line_manager_id": 1}, "name"),
    ("/api/v1/users", {"display_name": "X", "roles": ["worker"]}, "username"),
    ("/api/v1/users", {"username": "missingdn", "roles": ["worker"]}, "display_name"),
    ("/api/v1/users", {"username": "missingroles", "display_name": "X"}, "roles"),
    ("/api/v1/login", {"username": "admin"}, "password"),
    ("/api/v1/login", {"password": "x" * 12}, "username"),
    ("/api/v1/api-keys", {}, "name"),
    ("/api/v1/organisations", {"name": "No admin"}, "admin"),
    ("/api/v1/organisations", {"name": "No admin name", "admin": {"username": "nadm"}},
     "admin.display_name"),
]


@pytest.mark.parametrize("path,body,field", MISSING_FIELDS, ids=range(len(MISSING_FIELDS)))
def test_missing_required_422(srv, admin, path, body, field):
    assert_error(srv.call("POST", path, token=admin, body=body), 422, "invalid_field", field)


def test_missing_current_password_422(srv, admin):
    assert_error(srv.call("POST", "/api/v1/me/password", token=admin,
                          body={"new_password": "x" * 12}), 422, "invalid_field",
                 "current_password")


UNKNOWN_FIELDS = [
    ("POST", "/api/v1/teams", {"name": "u", "colour": "red"}, "colour"),
    ("POST", "/api/v1/users", user_body(Username="x"), "Username"),
    ("POST", "/api/v1/users", user_body(next_of_kin={"name": "a", "age": 3}), "next_of_kin.age"),
    ("POST", "/api/v1/login", {"username": "admin", "password": "x" * 12, "remember": True},
     "remember"),
    ("POST", "/api/v1/api-keys", {"name": "k", "scope": "all"}, "scope"),
    ("POST", "/api/v1/organisations", {"name": "O", "admin": {"username": "a1",
                                                              "display_name": "A", "x": 1}},
     "admin.x"),
]


@pytest.mark.parametrize("method,path,body,field", UNKNOWN_FIELDS, ids=range(len(UNKNOWN_FIELDS)))
def test_unknown_fields_422(srv, admin, method, path, body, field):
    assert_error(srv.call(method, path, token=admin, body=body), 422, "invalid_field", field)


def test_unknown_fields_on_patch_422(srv, admin, target):
    uid, tid = target["user"]["id"], target["team"]["id"]
    assert_error(srv.call("PATCH", "/api/v1/users/%d" % uid, token=admin,
                          body={"display_name": "ok", "nickname": "x"}), 422, "invalid_field",
                 "nickname")
    # nobody may change a username
    st, body, _ = srv.call("PATCH", "/api/v1/users/%d" % uid, token=admin,
                           body={"username": "renamed"})
    assert st in (403, 422), (st, body)
    check_error_shape(body)
    assert body["error"].get("field") == "username", body
    assert_error(srv.call("PATCH", "/api/v1/teams/%d" % tid, token=admin,
                          body={"member_ids": [1]}), 422, "invalid_field", "member_ids")
    assert_error(srv.call("POST", "/api/v1/users/%d/vehicles" % uid, token=admin,
                          body={"registration": "AB1", "wheels": 4}), 422, "invalid_field",
                 "wheels")
    # nothing was changed by the refused requests
    user = ok(srv.call("GET", "/api/v1/users/%d" % uid, token=admin))
    assert user["display_name"] == target["user"]["display_name"]
    assert user["vehicles"] == []


OVERLONG = [
    ("/api/v1/teams", {"name": "n" * 201}, "name"),
    ("/api/v1/teams", {"name": ""}, "name"),
    ("/api/v1/teams", {"name": "tab\there"}, "name"),
    ("/api/v1/users", user_body(username="u" * 65), "username"),
    ("/api/v1/users", user_body(username=""), "username"),
    ("/api/v1/users", user_body(username="-starts-with-dash"), "username"),
    ("/api/v1/users", user_body(username="has space"), "username"),
    ("/api/v1/users", user_body(username="ünïcode"), "username"),
    ("/api/v1/users", user_body(display_name="d" * 201), "display_name"),
    ("/api/v1/users", user_body(display_name="line\nbreak"), "display_name"),
    ("/api/v1/users", user_body(email="e" * 250 + "@x.org"), "email"),
    ("/api/v1/users", user_body(email="no-at-sign"), "email"),
    ("/api/v1/users", user_body(email="two@@ats"), "email"),
    ("/api/v1/users", user_body(email="sp ace@x.org"), "email"),
    ("/api/v1/users", user_body(phone="1" * 33), "phone"),
    ("/api/v1/users", user_body(phone="12"), "phone"),
    ("/api/v1/users", user_body(phone="call me"), "phone"),
    ("/api/v1/users", user_body(home_address="h" * 501), "home_address"),
    ("/api/v1/users", user_body(home_address=""), "home_address"),
    ("/api/v1/users", user_body(next_of_kin={"name": "k" * 201}), "next_of_kin.name"),
    ("/api/v1/users", user_body(next_of_kin={"name": "K", "relation": "r" * 101}),
     "next_of_kin.relation"),
    ("/api/v1/users", user_body(next_of_kin={"name": "K", "phone": "9" * 33}),
     "next_of_kin.phone"),
    ("/api/v1/users", user_body(roles=["worker", "manager", "senior_manager", "lsms", "operator",
                                       "admin", "worker"]), "roles"),
    ("/api/v1/users", user_body(team_ids=list(range(1, 102))), "team_ids"),
    ("/api/v1/api-keys", {"name": "k" * 101}, "name"),
    ("/api/v1/api-keys", {"name": ""}, "name"),
    ("/api/v1/organisations", {"name": "o" * 201, "admin": {"username": "ol1",
                                                            "display_name": "A"}}, "name"),
    ("/api/v1/organisations", {"name": "O", "admin": {"username": "x" * 65,
                                                      "display_name": "A"}}, "admin.username"),
]


@pytest.mark.parametrize("path,body,field", OVERLONG, ids=range(len(OVERLONG)))
def test_field_limits_422(srv, admin, path, body, field):
    assert_field_error(srv.call("POST", path, token=admin, body=body), field)


def test_field_limits_on_patch_and_vehicles(srv, admin):
    uid = create_user(srv, admin, unique("fl"), ["worker"])[0]["id"]
    for body, field in [({"display_name": "d" * 201}, "display_name"),
                        ({"email": "x"}, "email"),
                        ({"phone": "+" * 40}, "phone"),
                        ({"home_address": "h" * 501}, "home_address"),
                        ({"next_of_kin": {"name": "N", "phone": "ab"}}, "next_of_kin.phone"),
                        ({"roles": []}, "roles"),
                        ({"disabled": "yes"}, "disabled")]:
        assert_field_error(srv.call("PATCH", "/api/v1/users/%d" % uid, token=admin, body=body),
                           field)
    base = "/api/v1/users/%d/vehicles" % uid
    for body, field in [({"registration": "r" * 17}, "registration"),
                        ({"registration": "AB1", "make": "m" * 65}, "make"),
                        ({"registration": "AB1", "model": "m" * 65}, "model"),
                        ({"registration": "AB1", "colour": "c" * 65}, "colour"),
                        ({}, "registration")]:
        assert_error(srv.call("POST", base, token=admin, body=body), 422, "invalid_field", field)
    # limits are in characters: 16 two-byte characters is a valid registration
    ok(srv.call("POST", base, token=admin, body={"registration": "é" * 16}), 201)
    ok(srv.call("POST", "/api/v1/teams", token=admin, body={"name": "ü" * 200}), 201)


def test_password_limits(srv, admin):
    assert_error(srv.call("POST", "/api/v1/me/password", token=admin,
                          body={"current_password": srv.admin_password, "new_password": "p" * 257}),
                 422,
                 "invalid_field", "new_password")
    assert_error(srv.call("POST", "/api/v1/login",
                          body={"username": "admin", "password": "p" * 1025}), 422,
                 "invalid_field", "password")


def test_limits_at_the_boundary_accepted(srv, admin):
    user, _ = create_user(srv, admin, "a" + "b" * 63, ["worker"], display_name="d" * 200,
                          email="e" * 240 + "@example.org", phone="+" + "1" * 31,
                          home_address="h" * 500,
                          next_of_kin={"name": "n" * 200, "relation": "r" * 100,
                                       "phone": "(0) 113.496-00"})
    assert user["username"] == "a" + "b" * 63
    assert len(user["display_name"]) == 200
    assert len(user["email"]) == 252
    assert len(user["home_address"]) == 500
    create_team(srv, admin, "t" * 200)


# -- queries, routes, methods, ids --------------------------------------------------------------

BAD_QUERIES = [
    "limit=0", "limit=201", "limit=-1", "limit=abc", "limit=", "limit=1.5", "limit=99999999999999999999",
    "after=abc", "after=-1", "after=1.0", "after=", "after=99999999999999999999999",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/teams", "/api/v1/api-keys"])
def test_bad_pagination_400(srv, admin, path, query):
    assert_error(srv.call("GET", path + "?" + query, token=admin), 400, "malformed_request")


@pytest.mark.parametrize("query", ["before=abc", "before=-5", "limit=0", "limit=500"])
def test_bad_audit_pagination_400(srv, admin, query):
    assert_error(srv.call("GET", "/api/v1/audit-events?" + query, token=admin), 400,
                 "malformed_request")


@pytest.mark.parametrize("query", ["team_id=abc", "team_id=-1", "role=", "role=king"])
def test_bad_filters(srv, admin, query):
    st, body, _ = srv.call("GET", "/api/v1/users?" + query, token=admin)
    if st == 200:
        assert body["items"] == [], body
    else:
        assert st in (400, 422), (st, body)
        check_error_shape(body)


def test_good_pagination_limits(srv, admin):
    for q in ("limit=1", "limit=200", "after=1", "limit=50&after=1"):
        body = ok(srv.call("GET", "/api/v1/users?" + q, token=admin))
        assert "items" in body and "next_after" in body
    assert len(ok(srv.call("GET", "/api/v1/users?limit=1", token=admin))["items"]) == 1


@pytest.mark.parametrize("path", ["/", "/api", "/api/v1", "/api/v1/", "/api/v1/nope",
                                  "/api/v2/users", "/api/v1/users/1/nope", "/API/V1/USERS",
                                  "/api/v1/users/1/vehicles/1/extra", "/healthz/x",
                                  "/api/v1/teams/1/members"])
def test_unknown_routes_404(srv, admin, path):
    assert_error(srv.call("GET", path, token=admin), 404, "not_found")


def test_unknown_route_without_token_404(srv):
    assert_error(srv.call("GET", "/api/v1/nope"), 404, "not_found")


METHODS = [
    ("DELETE", "/api/v1/users", {"GET", "POST"}),
    ("PUT", "/api/v1/users", {"GET", "POST"}),
    ("POST", "/api/v1/users/1", {"GET", "PATCH"}),
    ("PUT", "/api/v1/me", {"GET"}),
    ("GET", "/api/v1/login", {"POST"}),
    ("GET", "/api/v1/logout", {"POST"}),
    ("POST", "/healthz", {"GET"}),
    ("DELETE", "/api/v1/audit-events", {"GET"}),
    ("GET", "/api/v1/teams/1/members/1", {"PUT", "DELETE"}),
    ("PATCH", "/api/v1/api-keys/1", {"DELETE"}),
    ("GET", "/api/v1/users/1/password-reset", {"POST"}),
    ("PATCH", "/api/v1/organisations", {"GET", "POST"}),
]


@pytest.mark.parametrize("method,path,allowed", METHODS)
def test_wrong_method_405_with_allow(srv, admin, method, path, allowed):
    st, body, headers = srv.call(method, path, token=admin)
    assert_error((st, body, headers), 405, "method_not_allowed")
    assert "allow" in headers, headers
    got = {m.strip().upper() for m in headers["allow"].split(",") if m.strip()}
    assert allowed <= got, (headers["allow"], allowed)
    assert got <= allowed | {"HEAD", "OPTIONS"}, (headers["allow"], allowed)


BAD_IDS = ["abc", "-1", "0", "99999999999999999999", "1.0", "1e3", "0x10", "%20", "+1", "01a",
           "9223372036854775808", "-9223372036854775809"]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("template", ["/api/v1/users/%s", "/api/v1/teams/%s",
                                      "/api/v1/organisations/%s", "/api/v1/users/%s/vehicles"])
def test_bad_ids(srv, admin, template, bad):
    st, body, _ = srv.call("GET", template % bad, token=admin)
    assert st in (400, 404), (template % bad, st, body)
    check_error_shape(body)


def test_bad_ids_write(srv, admin):
    for method, path, body in [("PATCH", "/api/v1/users/abc", {"display_name": "x"}),
                               ("DELETE", "/api/v1/teams/-1", None),
                               ("PUT", "/api/v1/teams/1/members/99999999999999999999", None),
                               ("DELETE", "/api/v1/api-keys/abc", None),
                               ("DELETE", "/api/v1/users/1/vehicles/0", None),
                               ("POST", "/api/v1/users/1e3/password-reset", None)]:
        st, answer, _ = srv.call(method, path, token=admin, body=body)
        assert st in (400, 404), (method, path, st, answer)
        check_error_shape(answer)


def test_two_content_lengths_400(srv, admin):
    body = b'{"name": "two lengths"}'
    req = ("POST /api/v1/teams HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\nContent-Length: %d\r\n"
           "Connection: close\r\n\r\n" % (admin, len(body), len(body) + 5)).encode() + body
    answer = raw_request(srv.port, req)
    assert raw_status(answer) == 400, answer[:300]
    teams = ok(srv.call("GET", "/api/v1/teams?limit=200", token=admin))["items"]
    assert "two lengths" not in [t["name"] for t in teams]


def test_garbage_request_line(srv):
    for data in [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 100000 +
                 b"\r\n\r\n"]:
        answer = raw_request(srv.port, data, timeout=5)
        if answer:
            assert 400 <= raw_status(answer) < 600, answer[:200]
    ok(srv.call("GET", "/healthz"))


# -- hostile input ------------------------------------------------------------------------------

SEEDS = [
    b'{"name": "team"}',
    b'{"username": "u", "display_name": "D", "roles": ["worker"], "team_ids": [1],'
    b' "next_of_kin": {"name": "n", "relation": "r", "phone": "0113 496 0000"}}',
    b'{"username": "admin", "password": "some password"}',
    b'{"registration": "AB12 CDE", "make": "Ford", "model": "Fiesta", "colour": "blue"}',
    b'{"name": "k", "user_id": 1}',
    b'{"current_password": "aaaaaaaaaaaa", "new_password": "bbbbbbbbbbbb"}',
]
TOKENS = [b"{", b"}", b"[", b"]", b'"', b":", b",", b"\\", b"\\u0000", b"\\ud800", b"null",
          b"true", b"-0", b"1e999", b"99999999999999999999999", b"\xff", b"\xc3", b"\x00",
          b'"name"', b'"roles"', b"[]", b"{}", b"\n", b" " * 50, b"\xe2\x80\xae", b"-1"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(6)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            del data[pos:pos + rng.randint(1, 8)]
        elif op == 1:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 2 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 3:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
        elif op == 4 and data:
            a = rng.randrange(len(data))
            data[pos:pos] = data[a:a + rng.randint(1, 30)]
        else:
            data[pos:pos] = rng.choice(TOKENS) * rng.randint(1, 200)
    return bytes(data)


def test_hostile_input_loop(server_factory):
    srv = server_factory()
    admin = srv.admin()
    user, _ = create_user(srv, admin, "fuzzuser", ["worker"])
    team = create_team(srv, admin, "fuzz team")
    targets = [("POST", "/api/v1/teams"), ("POST", "/api/v1/users"), ("POST", "/api/v1/login"),
               ("POST", "/api/v1/users/%d/vehicles" % user["id"]),
               ("PATCH", "/api/v1/users/%d" % user["id"]), ("PATCH", "/api/v1/teams/%d" % team["id"]),
               ("POST", "/api/v1/api-keys"), ("POST", "/api/v1/organisations")]
    rng = random.Random(20261123)
    statuses = {}
    for i in range(400):
        method, path = rng.choice(targets)
        if rng.random() < 0.15:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        else:
            data = mutate(rng, rng.choice(SEEDS))
        # logins with the admin name would lock the account; use a fresh name
        if path == "/api/v1/login":
            data = data.replace(b'"admin"', b'"fuzz%d"' % i)
        st, body, _ = srv.call(method, path, token=admin, raw=data)
        statuses[st] = statuses.get(st, 0) + 1
        assert st < 500, (method, path, data, st, body)
        if st >= 400:
            check_error_shape(body)
    assert sum(v for k, v in statuses.items() if k >= 400) > 200, statuses
    ok(srv.call("GET", "/healthz"))
    ok(srv.call("GET", "/api/v1/me", token=admin))
    srv.stop_checked()


def server_taking_any_bytes(server_factory):
    """A server whose database keeps text that is not UTF-8, as a damaged or hand-edited one
    may: SQLite keeps any bytes in TEXT; PostgreSQL only in a database of encoding
    SQL_ASCII (a UTF8 database refuses them), so on PostgreSQL its database is one such."""
    return server_factory(pg_encoding="SQL_ASCII")


def test_unrenderable_record_is_500_not_204(server_factory):
    """A stored name that is not UTF-8 cannot be put in JSON: an error, never an empty 204."""
    server = server_taking_any_bytes(server_factory)
    admin = server.admin()
    team = create_team(server, admin, unique("Broken "))
    break_text(server, "teams", "name", team["id"])
    assert_error(server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin), 500,
                 "internal")
    assert_error(server.call("GET", "/api/v1/teams", token=admin), 500, "internal")


def break_text(server, table, column, row_id):
    """Stores bytes that are not UTF-8 (0xff then "A") in one text field, behind the
    server's back."""
    not_utf8 = "CAST(X'ff41' AS TEXT)" if server.backend == "sqlite" else "E'\\xffA'"
    server.db.execute("UPDATE %s SET %s = %s WHERE id = ?" % (table, column, not_utf8), row_id)
    stored_bytes = server.db.value("SELECT %s FROM %s WHERE id = ?" % (column, table), row_id)
    assert stored_bytes == "\ufffdA", "the database did not keep the bytes: %r" % stored_bytes


def stored(server, sql, *args):
    return server.db.value(sql, *args)


def test_change_whose_answer_fails_is_not_kept(server_factory):
    """A 500 means nothing was changed: the answer is read back before the commit."""
    server = server_taking_any_bytes(server_factory)
    admin = server.admin()
    mgr, _ = create_user(server, admin, unique("lm"), ["manager"])
    team = create_team(server, admin, unique("Broken "))
    break_text(server, "teams", "name", team["id"])
    assert_error(server.call("PATCH", "/api/v1/teams/%d" % team["id"], token=admin,
                             body={"line_manager_id": mgr["id"]}), 500, "internal")
    assert stored(server, "SELECT line_manager_id FROM teams WHERE id = ?", team["id"]) is None

    user, _ = create_user(server, admin, unique("bu"), ["worker"])
    break_text(server, "users", "display_name", user["id"])
    assert_error(server.call("PATCH", "/api/v1/users/%d" % user["id"], token=admin,
                             body={"phone": "+44 113 496 0000"}), 500, "internal")
    assert stored(server, "SELECT phone FROM users WHERE id = ?", user["id"]) is None


def test_routes_without_a_body_refuse_fields(server):
    """Routes that take no body accept none or {}; any field is unknown (422, named)."""
    from conftest import login
    admin = server.admin()
    team = create_team(server, admin, unique("NB "))
    user, _ = create_user(server, admin, unique("nb"), ["worker"])
    member = "/api/v1/teams/%d/members/%d" % (team["id"], user["id"])
    assert_error(server.call("GET", "/api/v1/teams", token=admin, body={"limit": 1}), 422,
                 "invalid_field", "limit")
    assert_error(server.call("PUT", member, token=admin, body={"role": "x", "a": 1}), 422,
                 "invalid_field", "role")
    assert ok(server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin))["member_ids"] == []
    assert_error(server.call("DELETE", "/api/v1/teams/%d" % team["id"], token=admin,
                             body={"force": True}), 422, "invalid_field", "force")
    ok(server.call("GET", "/api/v1/teams/%d" % team["id"], token=admin))
    session = login(server, "admin", server.admin_password)
    assert_error(server.call("POST", "/api/v1/logout", token=session, body={"all": True}), 422,
                 "invalid_field", "all")
    ok(server.call("GET", "/api/v1/me", token=session))
    # none or {} is fine
    ok(server.call("PUT", member, token=admin, body={}), 204)
    ok(server.call("DELETE", member, token=admin), 204)
    ok(server.call("POST", "/api/v1/logout", token=session, body={}), 204)
    # authentication still comes first
    assert_error(server.call("DELETE", "/api/v1/teams/%d" % team["id"], body={"x": 1}), 401)


def test_method_is_quoted_in_the_log(server):
    """The method comes from the client: the log carries it quoted and escaped."""
    import time
    for method in (b'X"Y', b"GE\x1bT"):
        answer = raw_request(server.port, method + b" /healthz HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: close\r\n\r\n", timeout=5)
        assert raw_status(answer) == 405, answer[:200]
    time.sleep(0.2)
    log = server.run.stderr()
    assert 'method="X\\"Y"' in log, log[-2000:]
    assert 'method="GE\\x1bT"' in log, log[-2000:]
    assert "\x1b" not in log

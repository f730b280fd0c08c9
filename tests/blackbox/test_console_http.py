"""The web console over HTTP: notaloned serving a built console (--console-dir) with its
types, caching and security headers, the console's pages falling back to index.html,
hostile paths; the settings route; and the console's session: an HttpOnly cookie with a
CSRF token for every request that changes something. Runs on both backends."""

import datetime
import gzip
import http.client
import json
import os
import re
import subprocess

import pytest

from conftest import (NOTALONED, PASSWORD, assert_error, check_error_shape, clock_args,
                      create_visit, fmt_time, new_account, ok, raw_request, raw_status,
                      tmp_dir, unique)
from sse import EventStream

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; media-src 'self'; font-src 'self'; manifest-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

INDEX = b"<!doctype html><html><head><title>notalone</title></head><body></body></html>\n"
APP_JS = b"console.log('the console');\n" * 40
FILES = {
    "index.html": INDEX,
    "assets/app-abc123.js": APP_JS,
    "assets/app-abc123.css": b"body { color: black }\n",
    "assets/chunk-def456.js": b"export const x = 1;\n",
    "assets/logo-0a1b2c.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    "assets/app-abc123.LEGAL.txt": b"licences\n",
    "favicon.svg": b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
    "manifest.webmanifest": b"{}\n",
    "favicon.ico": b"\x00\x00\x01\x00",
    ".env": b"SECRET=dotfile-content\n",
}
GZIPPED = ("index.html", "assets/app-abc123.js")

TYPES = [
    ("/index.html", "text/html; charset=utf-8"),
    ("/assets/app-abc123.js", "text/javascript; charset=utf-8"),
    ("/assets/chunk-def456.js", "text/javascript; charset=utf-8"),
    ("/assets/app-abc123.css", "text/css; charset=utf-8"),
    ("/assets/logo-0a1b2c.png", "image/png"),
    ("/assets/app-abc123.LEGAL.txt", "text/plain; charset=utf-8"),
    ("/favicon.svg", "image/svg+xml; charset=utf-8"),
    ("/favicon.ico", "image/x-icon"),
    ("/manifest.webmanifest", "application/manifest+json; charset=utf-8"),
]

SESSION_TTL = 12 * 3600


def make_build(root=None, files=FILES, gzipped=GZIPPED):
    """A small fake console build in a new folder; returns its path."""
    root = root or tmp_dir("console-")
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    for rel in gzipped:
        with open(os.path.join(root, rel + ".gz"), "wb") as f:
            f.write(gzip.compress(files[rel], mtime=0))
    return root


def fetch(srv, method, path, headers=None):
    """One request; returns (status, headers with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


@pytest.fixture(scope="module")
def console_dir():
    return make_build()


@pytest.fixture(scope="module")
def srv(module_factory, console_dir):
    return module_factory(extra_args=["--console-dir", console_dir])


# -- the files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path,ctype", TYPES)
def test_types_and_charset(srv, path, ctype):
    st, h, body = fetch(srv, "GET", path)
    assert st == 200, (path, st, body[:200])
    assert h["content-type"] == ctype, h
    assert body == FILES[path[1:]]
    assert "content-encoding" not in h


@pytest.mark.parametrize("path", ["/", "/index.html", "/assets/app-abc123.js", "/favicon.svg",
                                  "/board"])
def test_security_headers(srv, path):
    st, h, _ = fetch(srv, "GET", path)
    assert st == 200
    assert h["content-security-policy"] == CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"
    assert h["cross-origin-opener-policy"] == "same-origin"
    assert re.fullmatch(r'"[0-9a-f]{64}"', h["etag"]), h["etag"]


def test_cache_headers(srv):
    for path in ("/assets/app-abc123.js", "/assets/app-abc123.css", "/assets/logo-0a1b2c.png"):
        _, h, _ = fetch(srv, "GET", path)
        assert h["cache-control"] == "public, max-age=31536000, immutable", (path, h)
    # index.html under any name, and files outside assets/, are checked every time
    for path in ("/", "/index.html", "/board", "/assets/", "/favicon.svg"):
        _, h, _ = fetch(srv, "GET", path)
        assert h["cache-control"] == "no-cache", (path, h)


def test_etag_and_304(srv):
    st, h, body = fetch(srv, "GET", "/assets/app-abc123.css")
    etag = h["etag"]
    assert st == 200 and body
    for inm in (etag, "W/" + etag, '"nope", ' + etag, "*"):
        st, h2, body = fetch(srv, "GET", "/assets/app-abc123.css", {"If-None-Match": inm})
        assert st == 304, (inm, st)
        assert body == b""
        assert h2["etag"] == etag
        assert h2["cache-control"] == "public, max-age=31536000, immutable"
    for inm in ('"nope"', etag[:-2] + '"', etag.strip('"')):
        st, _, body = fetch(srv, "GET", "/assets/app-abc123.css", {"If-None-Match": inm})
        assert st == 200 and body == FILES["assets/app-abc123.css"], inm
    # the page: the same ETag on every path that answers it
    _, h_root, _ = fetch(srv, "GET", "/")
    _, h_board, _ = fetch(srv, "GET", "/alarms/12")
    assert h_root["etag"] == h_board["etag"]
    st, _, _ = fetch(srv, "GET", "/out", {"If-None-Match": h_root["etag"]})
    assert st == 304


def test_gzip_only_when_accepted(srv):
    path = "/assets/app-abc123.js"
    st, plain_h, plain = fetch(srv, "GET", path)
    assert st == 200 and plain == APP_JS and "content-encoding" not in plain_h
    assert plain_h["vary"] == "Accept-Encoding"
    for ae in ("gzip", "gzip, deflate, br", "br;q=1, gzip;q=0.5", "*"):
        st, h, body = fetch(srv, "GET", path, {"Accept-Encoding": ae})
        assert st == 200, ae
        assert h["content-encoding"] == "gzip", (ae, h)
        assert h["vary"] == "Accept-Encoding"
        assert h["content-type"] == "text/javascript; charset=utf-8"
        assert gzip.decompress(body) == APP_JS
        assert int(h["content-length"]) == len(body) < len(APP_JS)
        assert h["etag"] != plain_h["etag"]
        # a cached gzip form is current; the plain form's tag does not name it
        st, _, _ = fetch(srv, "GET", path, {"Accept-Encoding": ae, "If-None-Match": h["etag"]})
        assert st == 304
    for ae in ("identity", "gzip;q=0", "br, deflate", "*;q=0", ""):
        st, h, body = fetch(srv, "GET", path, {"Accept-Encoding": ae})
        assert st == 200 and body == APP_JS and "content-encoding" not in h, ae
    # no gzip form: the file as it is, whatever is accepted
    st, h, body = fetch(srv, "GET", "/assets/app-abc123.css", {"Accept-Encoding": "gzip"})
    assert st == 200 and "content-encoding" not in h and "vary" not in h
    assert body == FILES["assets/app-abc123.css"]
    # the pages have theirs
    st, h, body = fetch(srv, "GET", "/board", {"Accept-Encoding": "gzip"})
    assert h["content-encoding"] == "gzip" and gzip.decompress(body) == INDEX


def test_head(srv):
    for path, data in (("/assets/app-abc123.js", APP_JS), ("/board", INDEX)):
        st_get, h_get, _ = fetch(srv, "GET", path)
        st, h, body = fetch(srv, "HEAD", path)
        assert st == st_get == 200
        assert body == b""
        assert int(h["content-length"]) == len(data)
        for name in ("content-type", "etag", "cache-control", "content-security-policy"):
            assert h[name] == h_get[name], name
    st, h, body = fetch(srv, "HEAD", "/missing.js")
    assert st == 404 and body == b""


@pytest.mark.parametrize("path", ["/", "/board", "/out", "/alarms/12", "/workers/3/day",
                                  "/board/", "/login", "/plan?worker=3"])
def test_pages_answer_index(srv, path):
    st, h, body = fetch(srv, "GET", path)
    assert st == 200 and body == INDEX, (path, st)
    assert h["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("path", ["/missing.js", "/assets/app-000000.js", "/index.htm",
                                  "/assets/app-abc123.js.gz", "/favicon.png", "/.env",
                                  "/robots.txt"])
def test_missing_files_404(srv, path):
    st, h, body = fetch(srv, "GET", path)
    assert st == 404, (path, st)
    assert h["content-type"] == "application/json"
    assert b"dotfile-content" not in body
    check_error_shape(json.loads(body))


@pytest.mark.parametrize("method,path", [("POST", "/board"), ("PUT", "/"),
                                         ("DELETE", "/assets/app-abc123.js"),
                                         ("PATCH", "/index.html"), ("OPTIONS", "/board"),
                                         ("POST", "/missing.js")])
def test_other_methods_405(srv, method, path):
    st, h, body = fetch(srv, method, path)
    assert st == 405, (method, path, st)
    assert {m.strip() for m in h["allow"].split(",")} == {"GET", "HEAD"}
    assert json.loads(body)["error"]["code"] == "method_not_allowed"


def test_api_paths_stay_the_api(srv):
    for path in ("/api", "/api/", "/api/v1/nope", "/api/v1", "/healthz/x"):
        st, h, body = fetch(srv, "GET", path)
        assert st == 404 and h["content-type"] == "application/json", path
        assert body != INDEX
    st, _, body = fetch(srv, "GET", "/healthz")
    assert st == 200 and b"ok" in body
    # an API route's wrong method is still the API's 405
    st, h, _ = fetch(srv, "POST", "/healthz")
    assert st == 405 and h["allow"] == "GET"


HOSTILE = [
    "/../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e%5c%2e%2e%5cetc%5cpasswd", "//etc/passwd", "///", "/assets//app-abc123.js",
    "/.env", "/%2eenv", "/assets/", "/assets", "/assets/.", "/assets/..", "/.", "/..",
    "/index.html%00.js", "/%00", "/%00/../etc/passwd", "/assets/app-abc123.js%00",
    "/%c0%ae%c0%ae/etc/passwd", "/%25%32%65%25%32%65/etc/passwd", "/a%0d%0aX-Injected:%201",
    "/" + "a" * 5000, "/" + "a/" * 600 + "x.js", "/" + "%2e" * 300, "/index.html/",
    "/favicon.svg/..", "/assets/app-abc123.js/../../../.env",
]


def test_hostile_paths(srv):
    served = [data for rel, data in FILES.items() if not rel.startswith(".")]
    for path in HOSTILE:
        answer = raw_request(srv.port, ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                        "Connection: close\r\n\r\n" % (path, srv.port))
                             .encode("latin-1"))
        st = raw_status(answer)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert st in (200, 400, 404, 414, 431), (path, st)
        assert b"root:" not in body and b"dotfile-content" not in body, path
        assert b"x-injected" not in head.lower(), path
        if st == 200:
            # never a file from elsewhere on the disk: one of the build's (a "%00" ends the
            # path where it stands, as the server decodes it)
            assert body in served, (path, body[:100])
    assert fetch(srv, "GET", "/healthz")[0] == 200
    assert fetch(srv, "GET", "/assets/app-abc123.js")[2] == APP_JS


def test_files_are_read_once(server_factory):
    """The console is read at start: files changed or removed later change nothing."""
    root = make_build()
    s = server_factory(extra_args=["--console-dir", root])
    os.remove(os.path.join(root, "assets", "app-abc123.js"))
    with open(os.path.join(root, "index.html"), "wb") as f:
        f.write(b"changed")
    with open(os.path.join(root, "late.js"), "wb") as f:
        f.write(b"late")
    assert fetch(s, "GET", "/assets/app-abc123.js")[2] == APP_JS
    assert fetch(s, "GET", "/")[2] == INDEX
    assert fetch(s, "GET", "/late.js")[0] == 404


def test_symlinks_are_not_served(server_factory):
    root = make_build()
    os.symlink("/etc/passwd", os.path.join(root, "passwd.txt"))
    os.symlink("/etc", os.path.join(root, "etc"))
    s = server_factory(extra_args=["--console-dir", root])
    assert fetch(s, "GET", "/passwd.txt")[0] == 404
    assert fetch(s, "GET", "/etc/hostname.txt")[0] == 404
    st, _, body = fetch(s, "GET", "/etc/passwd")  # a page: no dot in its last segment
    assert st == 200 and body == INDEX


def test_metrics_count_the_console_as_one_route(srv):
    for path in ("/board", "/alarms/%s" % unique(""), "/missing-%s.js" % unique("")):
        fetch(srv, "GET", path)
    _, _, body = fetch(srv, "GET", "/metrics")
    text = body.decode()
    assert re.search(r'notalone_http_requests_total\{route="console",method="any",'
                     r'status="200"\} [1-9]', text), text
    assert re.search(r'notalone_http_requests_total\{route="console",method="any",'
                     r'status="404"\} [1-9]', text), text
    assert "board" not in text and "alarms/" not in text and "missing-" not in text


# -- starting with bad settings ------------------------------------------------------------------


def refused(server_factory, args):
    s = server_factory(start=False, extra_args=args)
    rc, err = s.start_expect_exit()
    assert rc != 0, err
    return err


def test_start_refused_without_the_folder(server_factory):
    err = refused(server_factory, ["--console-dir", os.path.join(tmp_dir("none-"), "nowhere")])
    assert "console_dir" in err and "not a folder" in err, err[-2000:]


def test_start_refused_without_index_html(server_factory):
    root = make_build(files={"assets/app-abc123.js": APP_JS}, gzipped=())
    err = refused(server_factory, ["--console-dir", root])
    assert "console_dir" in err and "no index.html" in err, err[-2000:]


def test_start_refused_with_a_file_too_large(server_factory):
    root = make_build()
    with open(os.path.join(root, "assets", "huge.bin"), "wb") as f:
        f.truncate(8 * 1024 * 1024 + 1)
    err = refused(server_factory, ["--console-dir", root])
    assert "huge.bin" in err and "8 MiB" in err, err[-2000:]


@pytest.mark.parametrize("tiles", [
    "ftp://tile.example.org/{z}/{x}/{y}.png",
    "https://tile.example.org/{z}/{x}.png",
    "tile.example.org/{z}/{x}/{y}.png",
    "https://tile.example.org/{z}/{x}/{y}.png; script-src *",
    "https://tile.example.org/{z}/{x}/{y}.png 'unsafe-eval'",
    "https://tile.example.org/{z}/{x}/{y}.png,https://evil.example",
])
def test_start_refused_with_bad_map_tiles(server_factory, console_dir, tiles):
    err = refused(server_factory, ["--console-dir", console_dir, "--map-tiles", tiles])
    assert "map_tiles" in err and "{z}" in err, err[-2000:]


def test_start_refused_with_long_attribution(server_factory, console_dir):
    err = refused(server_factory, ["--console-dir", console_dir, "--map-attribution", "a" * 301])
    assert "map_attribution" in err, err[-2000:]


def test_console_off_when_unset(server_factory):
    s = server_factory()
    st, h, body = fetch(s, "GET", "/")
    assert st == 404 and h["content-type"] == "application/json"
    err = json.loads(body)["error"]
    assert err["code"] == "not_found" and "console is not configured" in err["message"], err
    assert fetch(s, "GET", "/board")[0] == 404
    assert fetch(s, "GET", "/assets/app.js")[0] == 404
    body = ok(s.call("GET", "/api/v1/console/settings"))
    assert body["map_tiles"] is None and body["map_attribution"] is None


# -- the settings route --------------------------------------------------------------------------


def notaloned_version():
    out = subprocess.run([NOTALONED, "--version"], capture_output=True, timeout=60)
    return out.stdout.decode().split()[-1]


def test_settings_without_a_map(srv):
    body = ok(srv.call("GET", "/api/v1/console/settings"))
    assert body == {"map_tiles": None, "map_attribution": None, "organisation": None,
                    "version": notaloned_version()}


def test_settings_with_a_map_and_secure_cookie(server_factory, console_dir):
    tiles = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
    attribution = "© OpenStreetMap contributors"
    s = server_factory(extra_args=["--console-dir", console_dir, "--map-tiles", tiles,
                                   "--map-attribution", attribution, "--cookie-secure"])
    body = ok(s.call("GET", "/api/v1/console/settings"))
    assert body["map_tiles"] == tiles and body["map_attribution"] == attribution
    _, h, _ = fetch(s, "GET", "/")
    assert h["content-security-policy"] == CSP.replace(
        "img-src 'self' data:;", "img-src 'self' data: https://*.tile.openstreetmap.org;")
    # behind HTTPS the cookie is Secure, and so is its clearing
    _, _, h = cookie_login(s, "admin", s.initial_admin_password())
    assert cookie_attributes(h["set-cookie"])[1] == {"path=/", "httponly", "samesite=strict",
                                                     "max-age=%d" % SESSION_TTL, "secure"}


# -- the cookie session ---------------------------------------------------------------------------


def cookie_login(srv, username, password):
    """Logs in with "cookie": true; returns (cookie value, body, headers)."""
    st, body, h = srv.call("POST", "/api/v1/login",
                           body={"username": username, "password": password, "cookie": True})
    assert st == 200, (st, body)
    m = re.match(r"notalone_session=([^;]*);", h["set-cookie"])
    assert m, h["set-cookie"]
    return m.group(1), body, h


def cookie_attributes(set_cookie):
    """A Set-Cookie value as (name=value, set of lower-case attributes)."""
    parts = [p.strip() for p in set_cookie.split(";")]
    return parts[0], {p.lower() for p in parts[1:]}


def jar(value):
    return {"Cookie": "notalone_session=%s" % value}


@pytest.fixture(scope="module")
def worker(srv):
    return new_account(srv, srv.admin(), unique("cw"), ["worker"])


@pytest.fixture
def console_session(srv, worker):
    """A cookie session of the worker: (cookie value, CSRF token)."""
    cookie, body, _ = cookie_login(srv, worker.username, PASSWORD)
    return cookie, body["csrf_token"]


def test_cookie_login(srv, worker):
    cookie, body, h = cookie_login(srv, worker.username, PASSWORD)
    pair, attrs = cookie_attributes(h["set-cookie"])
    assert pair == "notalone_session=" + cookie
    assert re.fullmatch(r"na_s_[0-9a-f]{64}", cookie), cookie
    assert attrs == {"path=/", "httponly", "samesite=strict", "max-age=%d" % SESSION_TTL}
    # the token is in the cookie only: the page's scripts never see it
    assert "token" not in body
    assert cookie not in repr(body) and cookie[5:] not in repr(body)
    assert re.fullmatch(r"[0-9a-f]{64}", body["csrf_token"]), body
    assert body["csrf_token"] not in cookie
    assert set(body) == {"expires_at", "password_change_required", "user", "csrf_token"}
    assert body["user"]["id"] == worker.id
    # /me gives the same CSRF token back (a reloaded page has lost it)
    me = ok(srv.call("GET", "/api/v1/me", headers=jar(cookie)))
    assert me["user"]["id"] == worker.id and me["credential"] == "session"
    assert me["csrf_token"] == body["csrf_token"]
    # a second session has a token of its own
    _, body2, _ = cookie_login(srv, worker.username, PASSWORD)
    assert body2["csrf_token"] != body["csrf_token"]
    # a bearer login and a bearer caller are as before: no cookie, no CSRF token
    st, plain, h = srv.call("POST", "/api/v1/login",
                            body={"username": worker.username, "password": PASSWORD})
    assert st == 200 and "set-cookie" not in h and "csrf_token" not in plain and plain["token"]
    assert "csrf_token" not in ok(srv.call("GET", "/api/v1/me", token=plain["token"]))
    # cookie: false is a bearer login; anything but a boolean is refused
    st, plain, h = srv.call("POST", "/api/v1/login", body={
        "username": worker.username, "password": PASSWORD, "cookie": False})
    assert st == 200 and "set-cookie" not in h and plain["token"]
    assert_error(srv.call("POST", "/api/v1/login", body={
        "username": worker.username, "password": PASSWORD, "cookie": "yes"}),
        422, "invalid_field", "cookie")


def test_cookie_never_logged(srv, worker):
    cookie, body, _ = cookie_login(srv, worker.username, PASSWORD)
    ok(srv.call("GET", "/api/v1/me", headers=jar(cookie)))
    ok(srv.call("POST", "/api/v1/me/duty", body={"on_duty": True},
                headers=dict(jar(cookie), **{"X-CSRF-Token": body["csrf_token"]})))
    log = srv.run.stderr()
    assert cookie[5:] not in log and body["csrf_token"] not in log


def test_failed_cookie_login_sets_no_cookie(srv, worker):
    st, body, h = srv.call("POST", "/api/v1/login", body={
        "username": worker.username, "password": "wrong password 1", "cookie": True})
    assert st == 401 and "set-cookie" not in h, (st, body)


def test_cookie_works_for_the_event_stream(srv, worker, console_session):
    cookie, _ = console_session
    s = EventStream(srv.port, headers={"Cookie": "notalone_session=%s" % cookie})
    try:
        assert s.status == 200, (s.status, s.body)
        now = datetime.datetime.now(datetime.timezone.utc)
        visit = create_visit(srv, worker.token, address="1 Cookie Lane, Leeds", start=True,
                             expected_departure=fmt_time(now + datetime.timedelta(hours=1)))
        e = s.until(lambda e: e.data.get("visit_id") == visit["id"])[-1]
        assert e.kind.startswith("visit."), e
    finally:
        s.close()
    # a stream without the cookie is refused as before
    s = EventStream(srv.port, headers={"Cookie": "notalone_session=na_s_" + "0" * 64})
    try:
        assert s.status == 401
    finally:
        s.close()


def duty(srv, headers, token=None):
    return srv.call("POST", "/api/v1/me/duty", token=token, body={"on_duty": True},
                    headers=headers)


def test_csrf_needed_for_changes(srv, worker, console_session):
    cookie, csrf = console_session
    origin = "http://127.0.0.1:%d" % srv.port
    body = assert_error(duty(srv, jar(cookie)), 403, "csrf_failed")
    assert "CSRF token" in body["error"]["message"]
    for wrong in ("0" * 64, csrf[:-1], csrf + "0", csrf.upper(), "", "x" * 64):
        assert_error(duty(srv, dict(jar(cookie), **{"X-CSRF-Token": wrong})), 403, "csrf_failed")
    # another session's token is not this one's
    _, other, _ = cookie_login(srv, worker.username, PASSWORD)
    assert_error(duty(srv, dict(jar(cookie), **{"X-CSRF-Token": other["csrf_token"]})),
                 403, "csrf_failed")
    # the right token from another site
    for foreign in ("http://evil.example", "null", "https://127.0.0.1:%d.evil" % srv.port,
                    "http://127.0.0.1:%d" % (srv.port + 1), origin + "/", "127.0.0.1:%d" % srv.port):
        body = assert_error(duty(srv, dict(jar(cookie), **{"X-CSRF-Token": csrf,
                                                            "Origin": foreign})),
                            403, "csrf_failed")
        assert body["error"]["message"] == "cross-origin request", (foreign, body)
    # the right token, from this server or with no Origin: done
    for extra in ({"Origin": origin}, {"Origin": "https://127.0.0.1:%d" % srv.port}, {}):
        headers = dict(jar(cookie), **{"X-CSRF-Token": csrf}, **extra)
        assert ok(duty(srv, headers))["id"] == worker.id
    # reading needs no token
    ok(srv.call("GET", "/api/v1/visits", headers=jar(cookie)))
    # a bearer caller needs neither, whatever else it sends
    ok(duty(srv, {}, token=worker.token))
    ok(duty(srv, {"Origin": "http://evil.example"}, token=worker.token))
    ok(duty(srv, jar("na_s_" + "0" * 64), token=worker.token))


def test_csrf_checked_before_a_raw_upload(srv, console_session):
    cookie, _ = console_session
    st, body, _ = srv.call("POST", "/api/v1/alarms/1/evidence", raw=b"x" * 100,
                           headers=dict(jar(cookie), **{"Content-Type": "audio/ogg"}))
    assert_error((st, body, None), 403, "csrf_failed")


def test_logout_clears_the_cookie(srv, worker):
    cookie, body, _ = cookie_login(srv, worker.username, PASSWORD)
    assert_error(srv.call("POST", "/api/v1/logout", headers=jar(cookie)), 403, "csrf_failed")
    ok(srv.call("GET", "/api/v1/me", headers=jar(cookie)))
    st, _, h = srv.call("POST", "/api/v1/logout",
                        headers=dict(jar(cookie), **{"X-CSRF-Token": body["csrf_token"]}))
    assert st == 204
    assert h["set-cookie"] == ("notalone_session=; Path=/; HttpOnly; SameSite=Strict; "
                               "Max-Age=0")
    assert_error(srv.call("GET", "/api/v1/me", headers=jar(cookie)), 401, "unauthenticated")
    assert_error(srv.call("POST", "/api/v1/logout",
                          headers=dict(jar(cookie), **{"X-CSRF-Token": body["csrf_token"]})),
                 401, "unauthenticated")
    # a bearer logout sets no cookie
    st, _, h = srv.call("POST", "/api/v1/logout", token=ok(srv.call(
        "POST", "/api/v1/login", body={"username": worker.username, "password": PASSWORD}))
        ["token"])
    assert st == 204 and "set-cookie" not in h


def test_malformed_cookies_401(srv, console_session):
    cookie, _ = console_session
    good = "notalone_session=" + cookie
    bad = [
        "notalone_session=" + cookie + "; " + "a=" + "b" * 10000,
        "x=" + "y" * 9000 + "; " + good,
        ";" * 9000 + good,
        ";" * 5000,
        good + "; " + good,
        "notalone_session=\"%s\"" % cookie,
        "notalone_session=%s " % cookie[:-1],
        "notalone_session=" + cookie + "x",
        "notalone_session=",
        "notalone_session",
        "notalone_session=na_s_" + "0" * 64,
        "NOTALONE_SESSION=" + cookie,
        "notalone_session =" + cookie,
        "notalone_session=" + cookie.replace("na_s_", "na_k_"),
        "=;=;=;" + "=" * 100,
        "\x01\x02",
    ]
    for header in bad:
        st, body, _ = srv.call("GET", "/api/v1/me", headers={"Cookie": header})
        # 431: libmicrohttpd's own limit on a request's headers (thousands of cookies)
        assert st in (401, 431), (header[:80], st)
        if st == 401:
            assert body["error"]["code"] == "unauthenticated"
    # many semicolons and other cookies around it are read
    for header in (";;;;; " + good + " ;;;;", ";" * 100 + good, "a=1;" * 200 + good, "a=\"q, w\"; " + good,
                   good + "; other_app=\"{json: 1}\""):
        ok(srv.call("GET", "/api/v1/me", headers={"Cookie": header}))
    # an Authorization header wins over the cookie, even a broken one
    assert_error(srv.call("GET", "/api/v1/me",
                          headers=dict(jar(cookie), Authorization="Basic YTpi")),
                 401, "unauthenticated")
    assert fetch(srv, "GET", "/healthz")[0] == 200


def test_api_key_in_a_cookie_401(srv, worker):
    admin = srv.admin()
    st, body, _ = srv.call("POST", "/api/v1/api-keys", token=admin,
                           body={"name": unique("key")})
    assert st == 201, body
    key = body["key"]
    ok(srv.call("GET", "/api/v1/me", token=key))
    assert_error(srv.call("GET", "/api/v1/me", headers=jar(key)), 401, "unauthenticated")


def test_expired_cookie_401(server_factory, console_dir):
    s = server_factory(extra_args=["--console-dir", console_dir, "--session-ttl", "60s"]
                       + clock_args())
    admin = s.admin()
    cookie, _, h = cookie_login(s, "admin", s.admin_password)
    assert "max-age=60" in cookie_attributes(h["set-cookie"])[1]
    ok(s.call("GET", "/api/v1/me", headers=jar(cookie)))
    ok(s.call("POST", "/api/v1/test/clock", token=admin, body={"advance": 61}))
    assert_error(s.call("GET", "/api/v1/me", headers=jar(cookie)), 401, "unauthenticated")


def test_cookie_for_evidence(srv, worker):
    """A recording is uploaded from the console with the CSRF token and played with the
    cookie alone (an <audio src> sends no header of the page's)."""
    admin = srv.admin()
    operator = new_account(srv, admin, unique("op"), ["operator"])
    lsms = new_account(srv, admin, unique("ls"), ["lsms"])
    alarm_id = ok(srv.call("POST", "/api/v1/alerts/red", token=worker.token,
                           body={"alert_id": unique("a")}), 201)["alarm_id"]
    recording = b"RIFF\x00\x00\x00\x00WAVE" + bytes(range(256))
    cookie, body, _ = cookie_login(srv, operator.username, PASSWORD)
    path = "/api/v1/alarms/%d/evidence" % alarm_id
    headers = dict(jar(cookie), **{"Content-Type": "audio/wav"})
    assert_error(srv.call("POST", path, raw=recording, headers=headers), 403, "csrf_failed")
    ev = ok(srv.call("POST", path, raw=recording,
                     headers=dict(headers, **{"X-CSRF-Token": body["csrf_token"]})), 201)
    listening, _, _ = cookie_login(srv, lsms.username, PASSWORD)
    st, h, got = fetch(srv, "GET", "/api/v1/evidence/%d" % ev["id"], jar(listening))
    assert st == 200 and got == recording and h["content-type"] == "audio/wav"
    st, _, _ = fetch(srv, "GET", "/api/v1/evidence/%d" % ev["id"], jar(cookie))
    assert st == 403  # an operator does not hear recordings, cookie or not

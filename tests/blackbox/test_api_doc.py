"""docs/api.md and the server agree on the routes; health, readiness and metrics."""

import re
import subprocess

import pytest

from conftest import API_DOC, NOTALONED, create_user, ok, sanitizer_errors, unique

HEADING = re.compile(r"^###\s+([A-Z]+)\s+(/\S*)\s*$")


def documented_routes():
    routes = []
    with open(API_DOC, encoding="utf-8") as f:
        for line in f:
            m = HEADING.match(line.rstrip("\n"))
            if m:
                routes.append((m.group(1), m.group(2)))
    return routes


def printed_routes():
    proc = subprocess.run([NOTALONED, "--print-routes"], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=60)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err
    assert not sanitizer_errors(err), err
    routes = []
    for line in proc.stdout.decode("utf-8").splitlines():
        if not line.strip():
            continue
        parts = line.split()
        assert len(parts) == 2, "route line is not 'METHOD /path': %r" % line
        routes.append((parts[0], parts[1]))
    return routes


def test_print_routes_format():
    routes = printed_routes()
    assert len(routes) >= 20, routes
    for method, path in routes:
        assert method in ("GET", "POST", "PUT", "PATCH", "DELETE"), method
        assert path.startswith("/"), path
        assert re.match(r"^(/([a-z0-9-]+|\{[a-z_]+\}))+$", path), path
    assert len(set(routes)) == len(routes), "duplicate routes printed"
    assert ("GET", "/api/v1/users/{id}") in routes


def test_every_route_is_documented():
    doc = set(documented_routes())
    missing = [r for r in printed_routes() if r not in doc]
    assert not missing, "routes without a '### METHOD /path' heading in docs/api.md: %r" % missing


def test_every_documented_route_exists():
    routes = set(printed_routes())
    extra = [r for r in documented_routes() if r not in routes]
    assert not extra, "docs/api.md documents routes the server lacks: %r" % extra


def test_documented_headings_are_unique():
    doc = documented_routes()
    assert len(doc) == len(set(doc)), doc
    assert len(doc) >= 20


def test_documented_routes_are_served(shared_server):
    """Every documented route is there: public ones answer, the others want a token."""
    public = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
              ("GET", "/api/v1/console/settings")}
    for method, path in documented_routes():
        concrete = re.sub(r"\{[a-z_]+\}", "1", path)
        st, body, _ = shared_server.call(method, concrete,
                                         body={} if method in ("POST", "PATCH", "PUT") else None)
        if (method, path) in public:
            assert st == 200, (method, path, st, body)
        elif path == "/api/v1/login":
            assert st == 422, (method, path, st, body)
        elif path == "/api/v1/ack/{token}":
            # The token in the path is the credential: an unknown one is simply not found.
            assert st == 404, (method, path, st, body)
        else:
            assert st == 401, (method, path, st, body)
            assert body["error"]["code"] == "unauthenticated", (method, path, body)


# -- health -----------------------------------------------------------------------------------


def test_healthz(shared_server):
    st, body, headers = shared_server.call("GET", "/healthz")
    assert st == 200 and body == {"status": "ok"}, (st, body)
    assert "application/json" in headers.get("content-type", "")


def test_readyz(shared_server):
    st, body, _ = shared_server.call("GET", "/readyz")
    assert st == 200 and body == {"status": "ready"}, (st, body)


# -- metrics ------------------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        labels = dict(LABEL.findall(m.group(3) or ""))
        value = float(m.group(4).replace("+Inf", "inf"))
        samples.append((m.group(1), labels, value))
    return samples


def metrics(srv):
    st, text, headers = srv.call("GET", "/metrics")
    assert st == 200, (st, text)
    assert headers.get("content-type", "").startswith("text/plain"), headers
    assert isinstance(text, str)
    return text, parse_metrics(text)


def value(samples, name, **labels):
    for n, lab, v in samples:
        if n == name and all(lab.get(k) == w for k, w in labels.items()):
            return v
    return None


def test_metrics(shared_server):
    srv = shared_server
    admin = srv.admin()
    user, _ = create_user(srv, admin, unique("met"), ["worker"])
    for _ in range(3):
        ok(srv.call("GET", "/api/v1/users/%d" % user["id"], token=admin))
    srv.call("GET", "/api/v1/users/987654321", token=admin)
    srv.call("GET", "/no/such/path/%s" % unique("p"))
    text, samples = metrics(srv)

    assert "# TYPE notalone_http_requests_total counter" in text
    assert "# TYPE notalone_http_request_duration_seconds histogram" in text
    for gauge in ("notalone_scheduled_jobs", "notalone_jobs_fired_total",
                  "notalone_job_lateness_max_seconds"):
        assert value(samples, gauge) is not None, (gauge, text)
    v = value(samples, "notalone_http_requests_total", route="/api/v1/users/{id}", method="GET",
              status="200")
    assert v is not None and v >= 3, text
    v404 = value(samples, "notalone_http_requests_total", route="/api/v1/users/{id}",
                 method="GET", status="404")
    assert v404 is not None and v404 >= 1, text
    assert value(samples, "notalone_http_requests_total", route="unmatched") is not None, text
    assert value(samples, "notalone_http_requests_total", route="/api/v1/users", method="POST",
                 status="201") is not None, text

    # ids never create series
    for name, labels, _ in samples:
        route = labels.get("route")
        if route is not None:
            assert route == "unmatched" or route.startswith("/"), route
            assert not re.search(r"/\d+(/|$)", route), route
            assert "no/such" not in route, route

    # histogram: buckets with le, +Inf equal to _count, _sum
    buckets = [(lab, v) for n, lab, v in samples
               if n == "notalone_http_request_duration_seconds_bucket"
               and lab.get("route") == "/api/v1/users/{id}" and lab.get("method") == "GET"]
    assert buckets, text
    assert all("le" in lab for lab, _ in buckets)
    inf = [v for lab, v in buckets if lab["le"] == "+Inf"]
    assert len(inf) == 1, buckets
    finite = sorted((float(lab["le"]), v) for lab, v in buckets if lab["le"] != "+Inf")
    assert finite, buckets
    counts = [v for _, v in finite]
    assert counts == sorted(counts), "bucket counts are not cumulative: %r" % finite
    assert counts[-1] <= inf[0]
    count = value(samples, "notalone_http_request_duration_seconds_count",
                  route="/api/v1/users/{id}", method="GET")
    total = value(samples, "notalone_http_request_duration_seconds_sum",
                  route="/api/v1/users/{id}", method="GET")
    assert count == inf[0] and count >= 4, (count, inf)
    assert total is not None and total >= 0

    assert value(samples, "notalone_up") == 1
    start = value(samples, "notalone_start_time_seconds")
    assert start is not None and start > 1.6e9, text


def test_metrics_count_grows(shared_server):
    srv = shared_server
    _, before = metrics(srv)
    b = value(before, "notalone_http_requests_total", route="/healthz", method="GET",
              status="200") or 0
    for _ in range(5):
        ok(srv.call("GET", "/healthz"))
    _, after = metrics(srv)
    a = value(after, "notalone_http_requests_total", route="/healthz", method="GET", status="200")
    assert a == b + 5, (b, a)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_public_endpoints_need_no_token(shared_server, path):
    st, _, _ = shared_server.call("GET", path, headers={"Authorization": "Bearer bogus"})
    assert st == 200

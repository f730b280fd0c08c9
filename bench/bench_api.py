"""Calls to notaloned's HTTP API for the benchmarks' set-up (standard library only)."""

import json
import urllib.request


def call(url, method, path, token=None, body=None):
    """The JSON answer of one request (None when empty); raises on an error status."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


def activate(url, username, otp, password):
    """Logs in with a one-time password, sets password; returns the session token."""
    token = call(url, "POST", "/api/v1/login",
                 body={"username": username, "password": otp})["token"]
    call(url, "POST", "/api/v1/me/password", token,
         {"current_password": otp, "new_password": password})
    return token


def admin_token(url, data_dir):
    """The first administrator of a fresh data folder, activated."""
    otp = open(data_dir + "/initial-admin-password").read().strip()
    return activate(url, "admin", otp, "benchmark password 1")


def new_user(url, admin, username, role, password):
    """A new user with one role, activated; returns their session token."""
    made = call(url, "POST", "/api/v1/users", admin,
                {"username": username, "display_name": username, "roles": [role]})
    return activate(url, username, made["one_time_password"], password)

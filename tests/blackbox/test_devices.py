"""The devices API and the DC-09 events listing: registering, reading, changing and removing
devices with their DC-09 account, key and supervision; who sees which device and event;
hostile input; the key never shown; and the client's device and dc09 events commands (on
a simulated clock, on both backends)."""

import datetime
import json
import os

import pytest

from conftest import (assert_error, clock_args, clock_now, create_org, fmt_time, list_all,
                      make_crew, new_account, ok, parse_time, tmp_dir, unique, activate, advance)
from test_cli import Cli

SEC = datetime.timedelta(seconds=1)
# Keys of each AES size; every test looks for them in what the server says and logs.
KEY128 = "00112233445566778899aabbccddeeff"
KEY192 = "000102030405060708090A0B0C0D0E0F1011121314151617"
KEY256 = "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4"
KEYS = (KEY128, KEY192, KEY256)
MISSING = 987654321
DEVICE_FIELDS = {"id", "kind", "identifier", "label", "phone", "worker_id", "issued_at", "dc09",
                 "supervision", "last_contact_at", "last_test_at", "battery", "signal",
                 "lost_at", "created_at", "updated_at"}
EVENT_FIELDS = {"id", "device_id", "worker_id", "account", "receiver", "prefix", "token",
                "encrypted", "seq", "code", "zone", "action", "label", "data", "position",
                "event_at", "sent_at", "verification", "extra", "transport", "peer",
                "received_at", "applied_at", "alarm_id"}

_accounts = iter(range(0xA000, 0xFFFF))


def new_dc09_account():
    """A DC-09 account no other test of this module uses (accounts are server-wide)."""
    return "%X%02X" % (next(_accounts), os.getpid() % 256)


@pytest.fixture(scope="module")
def srv(module_factory):
    return module_factory(extra_args=clock_args())


@pytest.fixture(scope="module")
def crew(srv):
    c = make_crew(srv)
    c.lsms = new_account(srv, c.admin, unique("lou"), ["lsms"])
    c.org_admin = new_account(srv, c.admin, unique("ada"), ["admin"])
    # Another organisation, with an admin, an operator and a worker of its own.
    org, admin, otp = create_org(srv, c.admin, unique("Elsewhere "), unique("eve"))
    c.org2 = org
    c.admin2 = activate(srv, admin["username"], otp)
    c.op2 = new_account(srv, c.admin2, unique("opa"), ["operator"])
    c.worker2 = new_account(srv, c.admin2, unique("wim"), ["worker"])
    return c


def create(srv, token, status=201, **body):
    return ok(srv.call("POST", "/api/v1/devices", token=token, body=body), status)


def device(srv, crew, **fields):
    """A new device of the crew's organisation (lone_worker_device unless said)."""
    body = {"kind": "lone_worker_device", "identifier": unique("IMEI-")}
    body.update(fields)
    return create(srv, crew.admin, **body)


def get(srv, token, device_id):
    return srv.call("GET", "/api/v1/devices/%d" % device_id, token=token)


def patch(srv, token, device_id, **body):
    return srv.call("PATCH", "/api/v1/devices/%d" % device_id, token=token, body=body)


def listed_ids(srv, token, query=""):
    return {d["id"] for d in list_all(srv, "/api/v1/devices" + query, token)}


def no_key_in(text):
    """None of the test keys, in either case, is in text."""
    low = text.lower()
    for k in KEYS:
        assert k.lower() not in low, "a DC-09 key was shown: %s" % text[:400]


# -- create, read, change, remove -----------------------------------------------------------


def test_device_lifecycle(srv, crew):
    now = clock_now(srv)
    account = new_dc09_account()
    d = create(srv, crew.admin, kind="lone_worker_device", identifier="356938035643809",
               label="Twig #12", phone="+447700900123", worker_id=crew.worker.id,
               dc09={"account": account.lower(), "key": KEY128, "encryption_required": True},
               supervision={"interval_s": 3600, "alarm": True})
    assert set(d) == DEVICE_FIELDS, d
    assert d["kind"] == "lone_worker_device" and d["identifier"] == "356938035643809"
    assert d["label"] == "Twig #12" and d["phone"] == "+447700900123"
    assert d["worker_id"] == crew.worker.id and parse_time(d["issued_at"]) == now
    assert d["dc09"] == {"account": account.upper(), "has_key": True,
                         "encryption_required": True}, d
    # Never heard: supervision runs from now.
    assert d["supervision"] == {"interval_s": 3600, "alarm": True,
                                "due_at": fmt_time(now + 3600 * SEC)}, d
    assert d["signal"] == "ok" and d["lost_at"] is None
    assert d["last_contact_at"] is None and d["last_test_at"] is None
    assert d["battery"] == {"low": False, "at": None}
    assert parse_time(d["created_at"]) == now and d["updated_at"] == d["created_at"]
    due = int(srv.db.value("SELECT silent_due_at FROM devices WHERE id = ?", d["id"]))
    assert due == int((now + 3600 * SEC).timestamp() * 1000)

    assert ok(get(srv, crew.admin, d["id"])) == d
    assert d["id"] in listed_ids(srv, crew.admin)
    assert d["id"] in listed_ids(srv, crew.admin, "?worker_id=%d" % crew.worker.id)
    assert d["id"] not in listed_ids(srv, crew.admin, "?worker_id=%d" % crew.buddy.id)

    later = advance(srv, 60)
    p = ok(patch(srv, crew.admin, d["id"], label=None, phone="+44 113 496 0000",
                 kind="other"))
    assert p["label"] is None and p["phone"] == "+44 113 496 0000" and p["kind"] == "other"
    assert p["dc09"] == d["dc09"] and p["worker_id"] == crew.worker.id
    assert p["issued_at"] == d["issued_at"], "the same worker: still issued then"
    assert parse_time(p["updated_at"]) == later
    # Written again while never heard: the interval runs from this write.
    assert p["supervision"]["due_at"] == fmt_time(later + 3600 * SEC)

    later = advance(srv, 60)
    p = ok(patch(srv, crew.admin, d["id"], worker_id=crew.buddy.id))
    assert p["worker_id"] == crew.buddy.id and parse_time(p["issued_at"]) == later
    p = ok(patch(srv, crew.admin, d["id"], worker_id=None))
    assert p["worker_id"] is None and p["issued_at"] is None

    ok(srv.call("DELETE", "/api/v1/devices/%d" % d["id"], token=crew.admin), 204)
    assert_error(get(srv, crew.admin, d["id"]), 404, "not_found")
    assert_error(patch(srv, crew.admin, d["id"], label="x"), 404, "not_found")
    assert_error(srv.call("DELETE", "/api/v1/devices/%d" % d["id"], token=crew.admin), 404)
    assert d["id"] not in listed_ids(srv, crew.admin)
    # The account is free again.
    again = device(srv, crew, dc09={"account": account})
    assert again["dc09"]["account"] == account.upper()

    actions = [row[0] for row in srv.db.query(
        "SELECT action FROM audit_events WHERE target_type = 'device' AND target_id = ? "
        "ORDER BY id", d["id"])]
    assert actions == ["device.create", "device.update", "device.update", "device.update",
                       "device.delete"], actions


def test_minimal_device(srv, crew):
    d = create(srv, crew.admin, kind="panel", identifier="PANEL 7")
    assert d["dc09"] is None and d["supervision"] is None and d["worker_id"] is None
    assert d["issued_at"] is None and d["label"] is None and d["phone"] is None
    assert d["signal"] == "unsupervised"
    assert srv.db.value("SELECT silent_due_at FROM devices WHERE id = ?", d["id"]) in (None, "0")


def test_dc09_changes(srv, crew):
    d = device(srv, crew, dc09={"account": new_dc09_account(), "key": KEY192})
    assert d["dc09"]["has_key"] is True and d["dc09"]["encryption_required"] is False
    stored = srv.db.value("SELECT dc09_key FROM devices WHERE id = ?", d["id"])
    assert stored == KEY192.upper()
    # An absent key is kept; a new account keeps it too.
    account = new_dc09_account()
    p = ok(patch(srv, crew.admin, d["id"], dc09={"account": account}))
    assert p["dc09"] == {"account": account, "has_key": True, "encryption_required": False}
    p = ok(patch(srv, crew.admin, d["id"], dc09={"encryption_required": True}))
    assert p["dc09"]["encryption_required"] is True and p["dc09"]["account"] == account
    # Encryption required needs a key: removing it is refused while it is.
    assert_error(patch(srv, crew.admin, d["id"], dc09={"key": None}), 422, "invalid_field",
                 "dc09.encryption_required")
    p = ok(patch(srv, crew.admin, d["id"], dc09={"key": None, "encryption_required": False}))
    assert p["dc09"] == {"account": account, "has_key": False, "encryption_required": False}
    assert srv.db.value("SELECT dc09_key FROM devices WHERE id = ?", d["id"]) is None
    p = ok(patch(srv, crew.admin, d["id"], dc09={"key": KEY256.lower()}))
    assert p["dc09"]["has_key"] is True
    assert srv.db.value("SELECT dc09_key FROM devices WHERE id = ?", d["id"]) == KEY256.upper()
    # null removes the account with its key.
    p = ok(patch(srv, crew.admin, d["id"], dc09=None))
    assert p["dc09"] is None
    assert srv.db.query("SELECT dc09_account, dc09_key FROM devices WHERE id = ?",
                        d["id"]) == [[None, None]]
    # Without an account, one must be given.
    assert_error(patch(srv, crew.admin, d["id"], dc09={"key": KEY128}), 422, "invalid_field",
                 "dc09.account")
    assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin,
                          body={"kind": "app", "identifier": unique("A"),
                                "dc09": {"encryption_required": True}}),
                 422, "invalid_field", "dc09.account")
    assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin,
                          body={"kind": "app", "identifier": unique("A"),
                                "dc09": {"account": "ABC", "encryption_required": True}}),
                 422, "invalid_field", "dc09.encryption_required")


def test_supervision_changes(srv, crew):
    d = device(srv, crew)
    assert d["supervision"] is None and d["signal"] == "unsupervised"
    now = clock_now(srv)
    assert_error(patch(srv, crew.admin, d["id"], supervision={"alarm": True}), 422,
                 "invalid_field", "supervision.interval_s")
    p = ok(patch(srv, crew.admin, d["id"], supervision={"interval_s": 60}))
    assert p["supervision"] == {"interval_s": 60, "alarm": False,
                                "due_at": fmt_time(now + 60 * SEC)}
    assert p["signal"] == "ok"
    p = ok(patch(srv, crew.admin, d["id"], supervision={"alarm": True}))
    assert p["supervision"]["interval_s"] == 60 and p["supervision"]["alarm"] is True
    p = ok(patch(srv, crew.admin, d["id"], supervision={"interval_s": 604800}))
    assert p["supervision"]["due_at"] == fmt_time(now + 604800 * SEC)
    assert p["supervision"]["alarm"] is True
    p = ok(patch(srv, crew.admin, d["id"], supervision=None))
    assert p["supervision"] is None and p["signal"] == "unsupervised"
    assert srv.db.value("SELECT silent_due_at FROM devices WHERE id = ?", d["id"]) in (None, "0")


def test_supervision_counts_from_last_contact(srv, crew):
    d = device(srv, crew)
    heard = clock_now(srv) - 600 * SEC
    heard_ms = int(heard.timestamp() * 1000)
    srv.db.execute("UPDATE devices SET last_contact_at = ? WHERE id = ?", heard_ms, d["id"])
    p = ok(patch(srv, crew.admin, d["id"], supervision={"interval_s": 3600}))
    assert p["last_contact_at"] == fmt_time(heard)
    assert p["supervision"]["due_at"] == fmt_time(heard + 3600 * SEC)


def test_conflicts(srv, crew):
    ident = unique("SN-")
    account = new_dc09_account()
    first = device(srv, crew, identifier=ident, dc09={"account": account})
    assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin,
                          body={"kind": "panel", "identifier": ident}),
                 409, "conflict", "identifier")
    # Identifiers are per organisation, accounts per server (either case).
    create(srv, crew.admin2, kind="panel", identifier=ident)
    assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin2,
                          body={"kind": "panel", "identifier": unique("SN-"),
                                "dc09": {"account": account.lower()}}),
                 409, "conflict", "dc09.account")
    other = device(srv, crew)
    assert_error(patch(srv, crew.admin, other["id"], identifier=ident), 409, "conflict",
                 "identifier")
    assert_error(patch(srv, crew.admin, other["id"], dc09={"account": account}), 409, "conflict",
                 "dc09.account")
    # Refused changes changed nothing.
    assert ok(get(srv, crew.admin, other["id"])) == other
    assert ok(get(srv, crew.admin, first["id"])) == first
    # Its own identifier and account again are no conflict.
    ok(patch(srv, crew.admin, first["id"], identifier=ident, dc09={"account": account}))


# -- who sees what ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet(srv, crew):
    """A device of the worker (team of lm), one of the outsider (other team), one not
    issued, and one of the other organisation."""
    class Fleet:
        pass
    f = Fleet()
    f.mine = device(srv, crew, worker_id=crew.worker.id, label="worker's")
    f.outsider = device(srv, crew, worker_id=crew.outsider.id, label="outsider's")
    f.spare = device(srv, crew, label="spare")
    f.foreign = create(srv, crew.admin2, kind="app", identifier=unique("F-"),
                       worker_id=crew.worker2.id)
    f.ours = {f.mine["id"], f.outsider["id"], f.spare["id"]}
    return f


@pytest.mark.parametrize("who", ["admin", "org_admin", "operator", "sm", "lsms"])
def test_organisation_roles_see_every_device(srv, crew, fleet, who):
    token = crew.admin if who == "admin" else getattr(crew, who).token
    ids = listed_ids(srv, token)
    assert fleet.ours <= ids and fleet.foreign["id"] not in ids
    for d in (fleet.mine, fleet.outsider, fleet.spare):
        assert ok(get(srv, token, d["id"])) == d
    assert_error(get(srv, token, fleet.foreign["id"]), 404, "not_found")


@pytest.mark.parametrize("who,sees", [("lm", "mine"), ("other_lm", "outsider"),
                                      ("worker", "mine"), ("outsider", "outsider"),
                                      ("buddy", None)])
def test_people_see_their_devices_only(srv, crew, fleet, who, sees):
    token = getattr(crew, who).token
    visible = {getattr(fleet, sees)["id"]} if sees else set()
    assert listed_ids(srv, token) & (fleet.ours | {fleet.foreign["id"]}) == visible
    for name in ("mine", "outsider", "spare", "foreign"):
        d = getattr(fleet, name)
        if d["id"] in visible:
            assert ok(get(srv, token, d["id"])) == d
        else:
            assert_error(get(srv, token, d["id"]), 404, "not_found")


def test_worker_filter_of_another_worker_is_empty(srv, crew, fleet):
    assert listed_ids(srv, crew.worker.token, "?worker_id=%d" % crew.outsider.id) == set()
    assert listed_ids(srv, crew.worker.token, "?worker_id=%d" % crew.worker.id) == \
        {fleet.mine["id"]}
    assert listed_ids(srv, crew.lm.token, "?worker_id=%d" % crew.outsider.id) == set()


@pytest.mark.parametrize("who", ["operator", "sm", "lsms", "lm", "worker"])
def test_only_admins_change_devices(srv, crew, fleet, who):
    token = getattr(crew, who).token
    assert_error(srv.call("POST", "/api/v1/devices", token=token,
                          body={"kind": "panel", "identifier": unique("X")}), 403, "forbidden")
    assert_error(patch(srv, token, fleet.mine["id"], label="mine now"), 403, "forbidden")
    assert_error(srv.call("DELETE", "/api/v1/devices/%d" % fleet.mine["id"], token=token), 403,
                 "forbidden")
    assert ok(get(srv, crew.admin, fleet.mine["id"])) == fleet.mine


def test_other_organisation_cannot_touch(srv, crew, fleet):
    assert_error(patch(srv, crew.admin2, fleet.mine["id"], label="x"), 404, "not_found")
    assert_error(srv.call("DELETE", "/api/v1/devices/%d" % fleet.mine["id"],
                          token=crew.admin2), 404, "not_found")
    # Their worker cannot be issued one of ours, nor ours one of theirs.
    assert_error(patch(srv, crew.admin, fleet.spare["id"], worker_id=crew.worker2.id), 422,
                 "invalid_field", "worker_id")
    assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin2,
                          body={"kind": "app", "identifier": unique("X"),
                                "worker_id": crew.worker.id}),
                 422, "invalid_field", "worker_id")
    assert ok(get(srv, crew.admin, fleet.spare["id"])) == fleet.spare


def test_list_pages(srv, crew, fleet):
    seen = []
    after = None
    for _ in range(100):
        q = "?limit=1" + ("&after=%d" % after if after else "")
        body = ok(srv.call("GET", "/api/v1/devices" + q, token=crew.admin))
        assert set(body) == {"items", "next_after"} and len(body["items"]) <= 1
        seen.extend(d["id"] for d in body["items"])
        after = body["next_after"]
        if after is None:
            break
    assert seen == sorted(seen) and fleet.ours <= set(seen)
    for q in ("?limit=0", "?limit=201", "?after=-1", "?worker_id=abc", "?after=x"):
        assert_error(srv.call("GET", "/api/v1/devices" + q, token=crew.admin), 400,
                     "malformed_request")


# -- hostile input ---------------------------------------------------------------------------

BAD_BODIES = [
    ({"identifier": "X1"}, "kind"),
    ({"kind": "pager", "identifier": "X1"}, "kind"),
    ({"kind": 1, "identifier": "X1"}, "kind"),
    ({"kind": "panel"}, "identifier"),
    ({"kind": "panel", "identifier": ""}, "identifier"),
    ({"kind": "panel", "identifier": "I" * 65}, "identifier"),
    ({"kind": "panel", "identifier": "a\nb"}, "identifier"),
    ({"kind": "panel", "identifier": "caf\u00e9"}, "identifier"),
    ({"kind": "panel", "identifier": " lead"}, "identifier"),
    ({"kind": "panel", "identifier": None}, "identifier"),
    ({"kind": "panel", "identifier": "X1", "label": "L" * 101}, "label"),
    ({"kind": "panel", "identifier": "X1", "label": "a\u0007b"}, "label"),
    ({"kind": "panel", "identifier": "X1", "phone": "call me"}, "phone"),
    ({"kind": "panel", "identifier": "X1", "phone": "9" * 40}, "phone"),
    ({"kind": "panel", "identifier": "X1", "worker_id": 0}, "worker_id"),
    ({"kind": "panel", "identifier": "X1", "worker_id": -3}, "worker_id"),
    ({"kind": "panel", "identifier": "X1", "worker_id": "3"}, "worker_id"),
    ({"kind": "panel", "identifier": "X1", "worker_id": MISSING}, "worker_id"),
    ({"kind": "panel", "identifier": "X1", "owner": 3}, "owner"),
    ({"kind": "panel", "identifier": "X1", "dc09": "1234"}, "dc09"),
    ({"kind": "panel", "identifier": "X1", "dc09": {}}, "dc09.account"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": "12"}}, "dc09.account"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": "1" * 17}}, "dc09.account"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": "12G4"}}, "dc09.account"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": " 1234"}}, "dc09.account"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": 1234}}, "dc09.account"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": "1234", "key": KEY128[:-1]}},
     "dc09.key"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": "1234", "key": KEY128 + "00"}},
     "dc09.key"),
    ({"kind": "panel", "identifier": "X1",
      "dc09": {"account": "1234", "key": "Z" + KEY128[1:]}}, "dc09.key"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": "1234", "key": KEY256 + KEY128}},
     "dc09.key"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": "1234", "key": "A" * 5000}},
     "dc09.key"),
    ({"kind": "panel", "identifier": "X1",
      "dc09": {"account": "1234", "encryption_required": "yes"}}, "dc09.encryption_required"),
    ({"kind": "panel", "identifier": "X1", "dc09": {"account": "1234", "pin": "1"}},
     "dc09.pin"),
    ({"kind": "panel", "identifier": "X1", "supervision": 3600}, "supervision"),
    ({"kind": "panel", "identifier": "X1", "supervision": {}}, "supervision.interval_s"),
    ({"kind": "panel", "identifier": "X1", "supervision": {"interval_s": 59}},
     "supervision.interval_s"),
    ({"kind": "panel", "identifier": "X1", "supervision": {"interval_s": 604801}},
     "supervision.interval_s"),
    ({"kind": "panel", "identifier": "X1", "supervision": {"interval_s": -3600}},
     "supervision.interval_s"),
    ({"kind": "panel", "identifier": "X1", "supervision": {"interval_s": "3600"}},
     "supervision.interval_s"),
    ({"kind": "panel", "identifier": "X1", "supervision": {"interval_s": 3600.5}},
     "supervision.interval_s"),
    ({"kind": "panel", "identifier": "X1", "supervision": {"interval_s": 2 ** 63 - 1}},
     "supervision.interval_s"),
    ({"kind": "panel", "identifier": "X1", "supervision": {"interval_s": 60, "alarm": 1}},
     "supervision.alarm"),
    ({"kind": "panel", "identifier": "X1", "supervision": {"interval_s": 60, "every": 1}},
     "supervision.every"),
]


@pytest.mark.parametrize("body,field", BAD_BODIES)
def test_bad_input_is_refused(srv, crew, body, field):
    before = int(srv.db.value("SELECT COUNT(*) FROM devices"))
    err = assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin, body=body), 422,
                       "invalid_field", field)
    no_key_in(json.dumps(err))
    assert int(srv.db.value("SELECT COUNT(*) FROM devices")) == before


def as_change(body, field):
    """A bad body of a POST as a PATCH: only its bad part (None when it is a missing
    required field, which a PATCH may leave out)."""
    top = field.split(".")[0]
    if top not in body:
        return None
    return {top: body[top]}


@pytest.mark.parametrize("body,field", [b for b in BAD_BODIES if as_change(*b)])
def test_bad_changes_are_refused(srv, crew, fleet, body, field):
    change = as_change(body, field)
    assert_error(patch(srv, crew.admin, fleet.spare["id"], **change), 422, "invalid_field",
                 field)
    assert ok(get(srv, crew.admin, fleet.spare["id"])) == fleet.spare


def test_oversized_and_malformed_bodies(srv, crew):
    assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin,
                          body={"kind": "panel", "identifier": "X" * 200000}), 413)
    assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin,
                          raw=b'{"kind": "panel", "kind": "app", "identifier": "X"}',
                          headers={"Content-Type": "application/json"}), 400,
                 "malformed_request")
    assert_error(srv.call("POST", "/api/v1/devices", token=crew.admin, raw=b"[1]",
                          headers={"Content-Type": "application/json"}), 400)
    assert_error(srv.call("GET", "/api/v1/devices/abc", token=crew.admin), 404)
    assert_error(srv.call("GET", "/api/v1/devices/-1", token=crew.admin), 404)
    assert_error(srv.call("GET", "/api/v1/devices/99999999999999999999", token=crew.admin), 404)
    assert_error(srv.call("GET", "/api/v1/devices"), 401, "unauthenticated")


# -- the key is never shown ------------------------------------------------------------------


def test_key_never_shown_or_logged(srv, crew):
    d = device(srv, crew, worker_id=crew.worker.id,
               dc09={"account": new_dc09_account(), "key": KEY128})
    texts = [json.dumps(d)]
    p = ok(patch(srv, crew.admin, d["id"], dc09={"key": KEY192}))
    texts.append(json.dumps(p))
    p = ok(patch(srv, crew.admin, d["id"], dc09={"key": KEY256}))
    texts.append(json.dumps(p))
    for who in (crew.admin, crew.operator.token, crew.lm.token, crew.worker.token):
        texts.append(json.dumps(ok(get(srv, who, d["id"]))))
        texts.append(json.dumps(list_all(srv, "/api/v1/devices", who)))
    texts.append(json.dumps(ok(srv.call("GET", "/api/v1/audit-events?limit=200",
                                        token=crew.admin))))
    texts.append(json.dumps(ok(srv.call("GET", "/api/v1/dc09/events?link=true&limit=200",
                                        token=crew.admin))))
    for t in texts:
        no_key_in(t)
    assert p["dc09"]["has_key"] is True
    details = [row[0] for row in srv.db.query(
        "SELECT detail FROM audit_events WHERE target_type = 'device' AND target_id = ? "
        "ORDER BY id", d["id"])]
    assert details == ["dc09 key set"] * 3, details
    no_key_in(srv.run.stderr())


# -- DC-09 events ----------------------------------------------------------------------------


def add_event(srv, org_id, device_id=None, worker_id=None, action="red", code="1120",
              token="ADM-CID", position=None, account=None, seq=1):
    """An event as the receiver stores it, written straight into the database; its id."""
    lat, lon = position if position else (None, None)
    now_ms = int(clock_now(srv).timestamp() * 1000)
    srv.db.execute(
        "INSERT INTO dc09_events (organisation_id, device_id, worker_id, account, receiver, "
        "prefix, token, encrypted, seq, digest, code, zone, action, label, data, latitude, "
        "longitude, event_at, sent_at, verification, extra, transport, peer, received_at, "
        "pending_at, applied_at, alarm_id) VALUES (?, ?, ?, ?, NULL, '0', ?, 1, ?, 'd', ?, "
        "'015', ?, 'Panic', '1120 01 015', ?, ?, NULL, ?, NULL, ?, 'tcp', '127.0.0.1:5000', ?, "
        "NULL, NULL, NULL)",
        org_id, device_id, worker_id, account or "1234", token, seq, code, action, lat, lon,
        now_ms, '{"I": "Site 4"}', now_ms)
    return int(srv.db.value("SELECT MAX(id) FROM dc09_events"))


@pytest.fixture(scope="module")
def events(srv, crew, fleet):
    class Events:
        pass
    e = Events()
    org = crew.team["organisation_id"]
    e.mine = add_event(srv, org, fleet.mine["id"], crew.worker.id, action="duress",
                       code="1121", position=(53.8, -1.55))
    e.outsider = add_event(srv, org, fleet.outsider["id"], crew.outsider.id, action="battery_low",
                           code="1302", position=(51.5, -0.12))
    e.spare = add_event(srv, org, fleet.spare["id"], None, action="record", code="1999")
    e.link = add_event(srv, org, fleet.mine["id"], crew.worker.id, action="link", code=None,
                       token="NULL")
    e.foreign = add_event(srv, crew.org2["id"], fleet.foreign["id"], crew.worker2.id)
    e.unassigned = add_event(srv, None, account="FFFF01", position=(52.0, 0.1))
    return e


def event_ids(srv, token, query="", status=200):
    body = ok(srv.call("GET", "/api/v1/dc09/events" + query, token=token), status)
    assert set(body) == {"items", "next_before"}, body
    return [e["id"] for e in body["items"]]


def test_event_shape(srv, crew, events):
    body = ok(srv.call("GET", "/api/v1/dc09/events?limit=200", token=crew.operator.token))
    by_id = {e["id"]: e for e in body["items"]}
    e = by_id[events.outsider]
    assert set(e) == EVENT_FIELDS, e
    assert e["device_id"] is not None and e["worker_id"] == crew.outsider.id
    assert e["account"] == "1234" and e["receiver"] is None and e["prefix"] == "0"
    assert e["token"] == "ADM-CID" and e["encrypted"] is True and e["seq"] == 1
    assert e["code"] == "1302" and e["zone"] == "015" and e["action"] == "battery_low"
    assert e["label"] == "Panic" and e["data"] == "1120 01 015"
    assert e["extra"] == {"I": "Site 4"} and e["transport"] == "tcp"
    assert e["peer"] == "127.0.0.1:5000" and e["event_at"] is None
    assert parse_time(e["sent_at"]) == parse_time(e["received_at"])
    assert e["applied_at"] is None and e["alarm_id"] is None and e["verification"] is None
    # The worker has not consented to share their location: no coordinates.
    assert e["position"] is None
    ids = [x["id"] for x in body["items"]]
    assert ids == sorted(ids, reverse=True), "newest first"


def position_reads(srv, crew):
    """The audit log's entries of DC-09 event lists that showed a worker's position."""
    body = ok(srv.call("GET", "/api/v1/audit-events?limit=200", token=crew.admin))
    return [a for a in body["items"] if a["action"] == "dc09_event.read_positions"]


def test_position_only_with_consent(srv, crew, events):
    def position(token):
        body = ok(srv.call("GET", "/api/v1/dc09/events?limit=200", token=token))
        return {e["id"]: e["position"] for e in body["items"]}[events.mine]
    assert position(crew.operator.token) is None
    reads = len(position_reads(srv, crew))
    ok(srv.call("PUT", "/api/v1/me/alert-profile", token=crew.worker.token,
                body={"location_consent": True}))
    try:
        assert position(crew.operator.token) == {"latitude": 53.8, "longitude": -1.55}
        assert position(crew.lm.token) == {"latitude": 53.8, "longitude": -1.55}
        # Each list that showed where the worker was is in the audit log, with its reader.
        logged = position_reads(srv, crew)
        assert len(logged) == reads + 2
        assert {a["actor_user_id"] for a in logged[:2]} == {crew.operator.id, crew.lm.id}
        assert logged[0]["detail"] == "positions=1"
    finally:
        ok(srv.call("PUT", "/api/v1/me/alert-profile", token=crew.worker.token,
                    body={"location_consent": False}))
    assert position(crew.operator.token) is None


@pytest.mark.parametrize("who", ["admin", "operator", "sm", "lsms"])
def test_handlers_see_the_organisations_events(srv, crew, events, who):
    token = crew.admin if who == "admin" else getattr(crew, who).token
    ids = event_ids(srv, token, "?limit=200")
    assert {events.mine, events.outsider, events.spare} <= set(ids)
    assert events.link not in ids, "link tests are left out by default"
    assert events.foreign not in ids and events.unassigned not in ids
    assert events.link in event_ids(srv, token, "?limit=200&link=true")
    assert events.link not in event_ids(srv, token, "?limit=200&link=false")


def test_line_managers_see_their_teams_events(srv, crew, events):
    assert set(event_ids(srv, crew.lm.token, "?limit=200")) & events_all(events) == \
        {events.mine}
    assert set(event_ids(srv, crew.other_lm.token, "?limit=200")) & events_all(events) == \
        {events.outsider}
    assert event_ids(srv, crew.lm.token, "?worker_id=%d" % crew.outsider.id) == []


def events_all(events):
    return {events.mine, events.outsider, events.spare, events.link, events.foreign,
            events.unassigned}


@pytest.mark.parametrize("who", ["worker", "buddy", "outsider"])
def test_workers_and_buddies_never_see_events(srv, crew, events, who):
    token = getattr(crew, who).token
    assert_error(srv.call("GET", "/api/v1/dc09/events", token=token), 403, "forbidden")
    assert_error(srv.call("GET", "/api/v1/dc09/events?worker_id=%d" % getattr(crew, who).id,
                          token=token), 403, "forbidden")


def test_a_workers_own_events_are_hidden_even_from_an_operator_role(srv, crew, fleet):
    both = new_account(srv, crew.admin, unique("opw"), ["operator", "worker"],
                       team_ids=[crew.team["id"]])
    e = add_event(srv, crew.team["organisation_id"], fleet.spare["id"], both.id, action="duress",
                  code="1121")
    assert e not in event_ids(srv, both.token, "?limit=200")
    assert e in event_ids(srv, crew.operator.token, "?limit=200")
    assert e in event_ids(srv, crew.lm.token, "?limit=200")


def test_event_filters_and_pages(srv, crew, events, fleet):
    token = crew.operator.token
    assert event_ids(srv, token, "?device_id=%d&link=true" % fleet.mine["id"]) == \
        [events.link, events.mine]
    assert event_ids(srv, token, "?device_id=%d" % fleet.mine["id"]) == [events.mine]
    assert event_ids(srv, token, "?worker_id=%d" % crew.outsider.id) == [events.outsider]
    assert event_ids(srv, token, "?action=battery_low&worker_id=%d" % crew.outsider.id) == \
        [events.outsider]
    assert event_ids(srv, token, "?action=red&worker_id=%d" % crew.outsider.id) == []
    pages, before = [], None
    for _ in range(100):
        q = "?limit=1&link=true" + ("&before=%d" % before if before else "")
        body = ok(srv.call("GET", "/api/v1/dc09/events" + q, token=token))
        assert len(body["items"]) <= 1
        pages.extend(e["id"] for e in body["items"])
        before = body["next_before"]
        if before is None:
            break
    assert pages == sorted(pages, reverse=True)
    assert {events.mine, events.outsider, events.spare, events.link} <= set(pages)
    for q in ("?action=panic", "?link=yes", "?unassigned=1", "?limit=0", "?before=x",
              "?device_id=-4", "?unassigned=true&device_id=3", "?unassigned=true&worker_id=3"):
        assert_error(srv.call("GET", "/api/v1/dc09/events" + q, token=crew.admin), 400,
                     "malformed_request")


def test_unassigned_events_for_the_host_organisations_operators(srv, crew, events):
    for token in (crew.operator.token, crew.admin, crew.org_admin.token):
        ids = event_ids(srv, token, "?unassigned=true&limit=200")
        assert events.unassigned in ids
        assert not set(ids) & (events_all(events) - {events.unassigned})
    body = ok(srv.call("GET", "/api/v1/dc09/events?unassigned=true&limit=200",
                       token=crew.operator.token))
    e = {x["id"]: x for x in body["items"]}[events.unassigned]
    assert e["device_id"] is None and e["worker_id"] is None and e["account"] == "FFFF01"
    assert e["position"] == {"latitude": 52.0, "longitude": 0.1}, "nobody's location"
    for token in (crew.lsms.token, crew.sm.token, crew.lm.token, crew.worker.token,
                  crew.op2.token, crew.admin2):
        assert_error(srv.call("GET", "/api/v1/dc09/events?unassigned=true", token=token), 403,
                     "forbidden")


def test_other_organisation_sees_only_its_own(srv, crew, events):
    ids = event_ids(srv, crew.op2.token, "?limit=200&link=true")
    assert events.foreign in ids
    assert not set(ids) & (events_all(events) - {events.foreign})


def test_deleted_device_keeps_its_events(srv, crew):
    d = device(srv, crew, worker_id=crew.outsider.id)
    e = add_event(srv, crew.team["organisation_id"], d["id"], crew.outsider.id, action="test",
                  code="1601")
    ok(srv.call("DELETE", "/api/v1/devices/%d" % d["id"], token=crew.admin), 204)
    body = ok(srv.call("GET", "/api/v1/dc09/events?limit=200", token=crew.operator.token))
    kept = {x["id"]: x for x in body["items"]}[e]
    assert kept["device_id"] is None and kept["worker_id"] == crew.outsider.id


# -- the client ------------------------------------------------------------------------------


class As(Cli):
    """The CLI of a token, on the server's clock."""

    def __init__(self, server, token):
        super().__init__(server)
        self.token = token

    def env(self):
        env = super().env()
        env["NOTALONE_TOKEN"] = self.token
        env["NOTALONE_NOW"] = fmt_time(clock_now(self.server))
        env["TZ"] = "UTC"
        return env


def key_file(text):
    path = os.path.join(tmp_dir("key-"), "key")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def test_cli_device_commands(srv, crew):
    admin = As(srv, crew.admin)
    account = new_dc09_account()
    ident = unique("CLI-")
    d = admin.json("device", "add", "--kind", "lone_worker_device", "--identifier", ident,
                   "--label", "Twig #3", "--phone", "+447700900124", "--worker",
                   crew.worker.username, "--account", account.lower(), "--key-file",
                   key_file(KEY128 + "\n"), "--encryption-required", "--supervision", "2h",
                   "--supervision-alarm")
    assert d["identifier"] == ident and d["worker_id"] == crew.worker.id
    assert d["dc09"] == {"account": account, "has_key": True, "encryption_required": True}
    assert d["supervision"]["interval_s"] == 7200 and d["supervision"]["alarm"] is True
    assert srv.db.value("SELECT dc09_key FROM devices WHERE id = ?", d["id"]) == KEY128.upper()
    assert ok(get(srv, crew.admin, d["id"])) == d

    out = admin.ok("device", "show", str(d["id"]))
    for text in (ident, "Twig #3", "Asha Patel", account, "set", "required", "every 2h00m",
                 "(an alarm when lost)", "ok"):
        assert text in out, (text, out)
    no_key_in(out)
    out = admin.ok("device", "list", "--worker", crew.worker.username)
    assert ident in out and account in out and "LAST CONTACT" in out
    listed = admin.json("device", "list")
    assert d["id"] in [x["id"] for x in listed]

    # The key from the environment only with --set-key; --no-key removes it.
    p = admin.json("device", "update", str(d["id"]), "--label", "", "--no-worker",
                   "--encryption-required", "no", "--supervision-alarm", "no",
                   env={"NOTALONE_DC09_KEY": KEY256})
    assert p["label"] is None and p["worker_id"] is None
    assert p["dc09"]["encryption_required"] is False and p["supervision"]["alarm"] is False
    assert srv.db.value("SELECT dc09_key FROM devices WHERE id = ?", d["id"]) == KEY128.upper()
    admin.json("device", "update", str(d["id"]), "--set-key", env={"NOTALONE_DC09_KEY": KEY256})
    assert srv.db.value("SELECT dc09_key FROM devices WHERE id = ?", d["id"]) == KEY256
    p = admin.json("device", "update", str(d["id"]), "--no-key", "--no-supervision")
    assert p["dc09"]["has_key"] is False and p["supervision"] is None
    p = admin.json("device", "update", str(d["id"]), "--no-dc09")
    assert p["dc09"] is None

    out = admin.ok("device", "remove", str(d["id"]))
    assert "Removed device %d" % d["id"] in out
    assert_error(get(srv, crew.admin, d["id"]), 404)


def test_cli_device_add_key_from_environment(srv, crew):
    admin = As(srv, crew.admin)
    d = admin.json("device", "add", "--kind", "panel", "--identifier", unique("P-"),
                   "--account", new_dc09_account(), env={"NOTALONE_DC09_KEY": KEY192.lower()})
    assert d["dc09"]["has_key"] is True
    assert srv.db.value("SELECT dc09_key FROM devices WHERE id = ?", d["id"]) == KEY192.upper()
    # Without an account the key in the environment is not used (a panel without DC-09).
    d = admin.json("device", "add", "--kind", "panel", "--identifier", unique("P-"),
                   env={"NOTALONE_DC09_KEY": KEY192})
    assert d["dc09"] is None


@pytest.mark.parametrize("args,env,message", [
    (["--kind", "panel"], {}, "missing --identifier"),
    (["--identifier", "X"], {}, "missing --kind"),
    (["--kind", "panel", "--identifier", "X", "--key-file", "/nonexistent/key"], {},
     "need --account"),
    (["--kind", "panel", "--identifier", "X", "--account", "ABC", "--key-file",
      "/nonexistent/key"], {}, "cannot read the key file"),
    (["--kind", "panel", "--identifier", "X", "--account", "ABC"],
     {"NOTALONE_DC09_KEY": "not-a-key"}, "NOTALONE_DC09_KEY is not a key"),
    (["--kind", "panel", "--identifier", "X", "--supervision", "soon"], {}, "DURATION"),
    (["--kind", "panel", "--identifier", "X", "--supervision-alarm"], {}, "needs --supervision"),
    (["--kind", "panel", "--identifier", "X", "--key", KEY128], {}, "unknown option"),
])
def test_cli_device_add_usage_errors(srv, crew, args, env, message):
    rc, out, err = As(srv, crew.admin)("device", "add", *args, env=env)
    assert rc == 2, (rc, out, err)
    assert message in err, err
    no_key_in(out + err)


def test_cli_bad_key_file_is_not_echoed(srv, crew):
    bad = key_file(KEY128[:-2] + "zz")
    rc, out, err = As(srv, crew.admin)("device", "add", "--kind", "panel", "--identifier", "X",
                                      "--account", "ABC", "--key-file", bad)
    assert rc == 2 and "does not hold a key" in err, err
    assert KEY128[:-2] not in out + err


def test_cli_device_update_usage_errors(srv, crew, fleet):
    admin = As(srv, crew.admin)
    ident = str(fleet.spare["id"])
    for args, message in ((["--worker", "x", "--no-worker"], "exclude each other"),
                          (["--no-dc09", "--account", "ABC"], "--no-dc09"),
                          (["--no-key", "--set-key"], "--no-key"),
                          (["--set-key"], "NOTALONE_DC09_KEY"),
                          (["--encryption-required", "maybe"], "yes or no"),
                          (["--no-supervision", "--supervision", "1h"], "--no-supervision"),
                          ([], "nothing to change")):
        rc, out, err = admin("device", "update", ident, *args)
        assert rc == 2 and message in err, (args, rc, out, err)
    assert ok(get(srv, crew.admin, fleet.spare["id"])) == fleet.spare
    rc, out, err = As(srv, crew.worker.token)("device", "update", ident, "--label", "x")
    assert rc == 1 and "forbidden" in err, (rc, out, err)


def test_cli_dc09_events(srv, crew, events):
    op = As(srv, crew.operator.token)
    listed = op.json("dc09", "events", "--limit", "200")
    ids = [e["id"] for e in listed]
    assert events.mine in ids and events.link not in ids
    assert events.link in [e["id"] for e in op.json("dc09", "events", "--link", "--limit", "200")]
    assert [e["id"] for e in op.json("dc09", "events", "--worker", crew.outsider.username,
                                     "--action", "battery_low")] == [events.outsider]
    out = op.ok("dc09", "events", "--worker", crew.outsider.username, "--action", "battery_low")
    assert "battery_low" in out and "1302 zone 015" in out and "1234" in out, out
    one = op.json("dc09", "events", "--limit", "1", "--link")
    assert len(one) == 1 and one[0]["id"] == max(ids + [events.link])
    unassigned = op.json("dc09", "events", "--unassigned")
    assert events.unassigned in [e["id"] for e in unassigned]
    out = op.ok("dc09", "events", "--action", "amber")
    assert "No events." in out
    rc, out, err = As(srv, crew.worker.token)("dc09", "events")
    assert rc == 1 and "forbidden" in err, (rc, out, err)
    rc, out, err = op("dc09", "events", "--limit", "0")
    assert rc == 2 and "--limit" in err

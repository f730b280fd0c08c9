"""The SIA DC-09 receiver over real TCP and UDP sockets: answers (ACK, encrypted ACK, NAK,
DUH) as the standard frames them, checked with the independent Python implementation
(tests/support/dc09_frames.py); events stored before the ACK and shown by the API; alarms
opened from panic and duress codes; supervision loss and restore on the simulated clock;
connection limits; and no acknowledged event lost when the server is killed mid-stream
(on a simulated clock, on both backends)."""

import datetime
import itertools
import os
import socket
import sys
import threading
import time

import pytest

from conftest import (SOURCE_DIR, advance, clock_args, clock_now, free_port, make_crew, ok,
                      parse_time, unique)

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import dc09_frames as dc  # noqa: E402

SEC = datetime.timedelta(seconds=1)
TIMEOUT = 5.0  # seconds an answer may take before a test fails; never slept
KEY128 = bytes.fromhex("00112233445566778899aabbccddeeff")
KEY192 = bytes.fromhex("000102030405060708090A0B0C0D0E0F1011121314151617")
KEY256 = bytes.fromhex("603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4")

_accounts = itertools.count(0x1000)


def new_account():
    """A DC-09 account unused on this test process's servers (accounts are server-wide)."""
    return "%X%02X" % (next(_accounts), os.getpid() % 256)


def dc09_args(port, *more):
    return ["--dc09-listen", "127.0.0.1:%d" % port] + list(more)


# -- sockets --------------------------------------------------------------------------------


class Tcp:
    """One transmitter's TCP connection to the receiver."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pending = []  # answers read but not yet asked for

    def send(self, data):
        self.sock.sendall(data)

    def frames(self, n, timeout=TIMEOUT):
        """The next n answers (framed bytes); fails when they do not come in time."""
        deadline = time.monotonic() + timeout
        while True:
            got, self.buf = dc.split_frames(self.buf)
            self.pending.extend(got)
            if len(self.pending) >= n:
                out, self.pending = self.pending[:n], self.pending[n:]
                return out
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            assert chunk, "the receiver closed the connection; answers so far: %r" % \
                self.pending
            self.buf += chunk

    def ask(self, frame, key=None, timeout=TIMEOUT):
        """Sends one message; returns its answer, parsed (and checks none came unasked)."""
        assert not self.pending and not self.buf, "answers nobody asked for: %r" % self.pending
        self.send(frame)
        return dc.parse_answer(self.frames(1, timeout)[0], key=key)

    def closed_by_server(self):
        """Whether the receiver closes the connection within TIMEOUT."""
        self.sock.settimeout(TIMEOUT)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def udp_ask(port, frame, key=None):
    """Sends one datagram; returns the answer, parsed, and the address it came from."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    try:
        s.sendto(frame, ("127.0.0.1", port))
        data, addr = s.recvfrom(65536)
        return dc.parse_answer(data, key=key), addr
    finally:
        s.close()


# -- the server, its crew and their devices -------------------------------------------------


class Receiver:
    """A notaloned with the receiver on, on the simulated clock."""

    def __init__(self, server, port):
        self.srv = server
        self.port = port

    def now(self):
        return clock_now(self.srv)

    def tcp(self):
        return Tcp(self.port)


@pytest.fixture(scope="module")
def rx(module_factory):
    port = free_port()
    return Receiver(module_factory(extra_args=clock_args() + dc09_args(port)), port)


@pytest.fixture(scope="module")
def crew(rx):
    return make_crew(rx.srv)


def add_device(rx, crew, worker=True, key=None, required=False, supervision=None, **fields):
    """Registers a device with a new account (issued to crew.worker unless worker=False);
    returns the device JSON."""
    dc09 = {"account": new_account()}
    if key is not None:
        dc09["key"] = key.hex()
    if required:
        dc09["encryption_required"] = True
    body = {"kind": "lone_worker_device", "identifier": unique("IMEI-"), "dc09": dc09}
    if worker:
        body["worker_id"] = crew.worker.id
    if supervision is not None:
        body["supervision"] = supervision
    body.update(fields)
    return ok(rx.srv.call("POST", "/api/v1/devices", token=crew.admin, body=body), 201)


def account_of(device):
    return device["dc09"]["account"]


def events_of(rx, token, device_id, link=True):
    body = ok(rx.srv.call("GET", "/api/v1/dc09/events?device_id=%d&link=%s&limit=200"
                          % (device_id, "true" if link else "false"), token=token))
    return body["items"]


def alarms_of(rx, token, worker_id):
    body = ok(rx.srv.call("GET", "/api/v1/alarms?state=all&worker_id=%d&limit=200" % worker_id,
                          token=token))
    return body["items"]


def assert_ack(answer, seq, account, receiver=None, prefix="0"):
    assert answer["token"] == "ACK", answer
    assert answer["seq"] == "%04d" % seq, answer
    assert answer["account"] == account and answer["receiver"] == receiver, answer
    assert answer["prefix"] == prefix, answer


def assert_nak(answer, at):
    """A NAK as the standard frames it, with the receiver's time `at` (a datetime)."""
    assert answer["token"] == "NAK", answer
    assert answer["seq"] == "0000" and answer["account"] is None, answer
    assert answer["encrypted"] is False and answer["timestamp"] == at, answer


# -- acknowledgements and the events they stand for ----------------------------------------


def test_plain_message_acknowledged_and_stored(rx, crew):
    d = add_device(rx, crew)
    acct = account_of(d)
    now = rx.now()
    with rx.tcp() as t:
        answer = t.ask(dc.build("ADM-CID", 17, acct, "1302 01 004", receiver="12AB",
                                prefix="3", xdata="[XE1.5][YN53.8]", timestamp=now))
    assert_ack(answer, 17, acct, receiver="12AB", prefix="3")
    assert answer["encrypted"] is False and answer["data"] == "", answer
    (e,) = events_of(rx, crew.operator.token, d["id"])
    assert e["account"] == acct and e["seq"] == 17 and e["token"] == "ADM-CID", e
    assert e["receiver"] == "12AB" and e["prefix"] == "3" and e["encrypted"] is False, e
    assert e["code"] == "1302" and e["zone"] == "004" and e["action"] == "battery_low", e
    assert e["transport"] == "tcp" and e["peer"].startswith("127.0.0.1:"), e
    assert e["worker_id"] == crew.worker.id and parse_time(e["sent_at"]) == now, e
    assert parse_time(e["received_at"]) == now, e
    got = ok(rx.srv.call("GET", "/api/v1/devices/%d" % d["id"], token=crew.admin))
    assert parse_time(got["last_contact_at"]) == now and got["battery"]["low"] is True, got


@pytest.mark.parametrize("key", [KEY128, KEY192, KEY256], ids=["aes128", "aes192", "aes256"])
def test_encrypted_message_gets_an_encrypted_ack(rx, crew, key):
    d = add_device(rx, crew, key=key, required=True)
    acct = account_of(d)
    now = rx.now()
    with rx.tcp() as t:
        answer = t.ask(dc.build("SIA-DCS", 5, acct, "Nri1/RP000", receiver="1",
                                timestamp=now - 10 * SEC, key=key), key=key)
    assert_ack(answer, 5, acct, receiver="1")
    # The ACK carries the receiver's own time, inside the encryption.
    assert answer["encrypted"] is True and answer["timestamp"] == now, answer
    (e,) = events_of(rx, crew.operator.token, d["id"])
    assert e["encrypted"] is True and e["token"] == "SIA-DCS" and e["code"] == "RP", e
    assert e["data"] == "Nri1/RP000", e


def test_stale_or_missing_timestamp_is_naked_with_the_receivers_time(rx, crew):
    d = add_device(rx, crew, key=KEY128)
    acct = account_of(d)
    now = rx.now()
    with rx.tcp() as t:
        # 40 s back and 20 s ahead are the standard's window.
        for when in (now - 41 * SEC, now + 21 * SEC, now - 3600 * SEC):
            assert_nak(t.ask(dc.build("ADM-CID", 8, acct, "1120 01 001", timestamp=when,
                                      key=KEY128)), now)
        assert_nak(t.ask(dc.build("ADM-CID", 9, acct, "1120 01 001", key=KEY128)), now)
        # Within the window at both ends: acknowledged.
        for seq, when in ((10, now - 40 * SEC), (11, now + 20 * SEC)):
            answer = t.ask(dc.build("NULL", seq, acct, timestamp=when, key=KEY128), key=KEY128)
            assert_ack(answer, seq, acct)
    assert [e["seq"] for e in events_of(rx, crew.operator.token, d["id"])] == [11, 10]


def test_unknown_token_is_answered_duh(rx, crew):
    acct = account_of(add_device(rx, crew))
    with rx.tcp() as t:
        answer = t.ask(dc.build("SIA-XYZ", 21, acct, "Nri1/PA501", receiver="7",
                                timestamp=rx.now()))
    assert answer["token"] == "DUH" and answer["seq"] == "0021", answer
    assert answer["account"] == acct and answer["receiver"] == "7", answer


def test_wrong_crc_or_length_is_naked_and_the_connection_goes_on(rx, crew):
    d = add_device(rx, crew)
    acct = account_of(d)
    now = rx.now()
    good = dc.build("ADM-CID", 30, acct, "1602 00 000", timestamp=now)
    message, _ = dc.unwrap(good)
    with rx.tcp() as t:
        assert_nak(t.ask(dc.wrap(message, crc=dc.crc16(message) ^ 0x0101)), now)
        assert_nak(t.ask(dc.wrap(message, length=len(message) - 1)), now)
        assert_nak(t.ask(dc.wrap(message, length=len(message) + 1) + b"junk"), now)
        assert_ack(t.ask(good), 30, acct)
    assert [e["seq"] for e in events_of(rx, crew.operator.token, d["id"])] == [30]


def test_encryption_mismatch_is_refused_with_duh(rx, crew):
    plain = add_device(rx, crew)
    strict = add_device(rx, crew, key=KEY128, required=True)
    now = rx.now()
    with rx.tcp() as t:
        answer = t.ask(dc.build("ADM-CID", 40, account_of(plain), "1120 01 001", timestamp=now,
                                key=KEY128))
        assert answer["token"] == "DUH" and answer["seq"] == "0040", answer
        answer = t.ask(dc.build("ADM-CID", 41, account_of(strict), "1120 01 001",
                                timestamp=now))
        assert answer["token"] == "DUH" and answer["seq"] == "0041", answer
        assert answer["account"] == account_of(strict), answer
    for d in (plain, strict):
        assert events_of(rx, crew.operator.token, d["id"]) == []


def test_receiver_number_echoed_or_omitted_and_binary_crc_answered_alike(rx, crew):
    d = add_device(rx, crew)
    acct = account_of(d)
    now = rx.now()
    with rx.tcp() as t:
        answer = t.ask(dc.build("NULL", 50, acct, timestamp=now))
        assert_ack(answer, 50, acct, receiver=None)
        assert answer["crc_binary"] is False, answer
        answer = t.ask(dc.build("NULL", 51, acct, receiver="ABC123", prefix="FF", timestamp=now,
                                crc_binary=True))
        assert_ack(answer, 51, acct, receiver="ABC123", prefix="FF")
        assert answer["crc_binary"] is True, answer
        # Lower-case hex in the header is as good as upper case, and echoed as sent.
        answer = t.ask(dc.build("NULL", 52, acct.lower(), receiver="ab", timestamp=now))
        assert_ack(answer, 52, acct.lower(), receiver="ab")
    assert sorted(e["seq"] for e in events_of(rx, crew.operator.token, d["id"])) == [50, 51, 52]


def test_frames_split_byte_by_byte_and_several_in_one_segment(rx, crew):
    d = add_device(rx, crew)
    acct = account_of(d)
    now = rx.now()
    with rx.tcp() as t:
        frame = dc.build("ADM-CID", 60, acct, "1602 00 000", timestamp=now)
        for i in range(len(frame)):
            t.send(frame[i:i + 1])
        assert_ack(dc.parse_answer(t.frames(1)[0]), 60, acct)
        burst = b"".join(dc.build("NULL", seq, acct, timestamp=now) for seq in range(61, 71))
        t.send(b"\r\n\x00garbage" + burst)
        answers = [dc.parse_answer(f) for f in t.frames(10)]
    assert [a["seq"] for a in answers] == ["%04d" % s for s in range(61, 71)]
    assert all(a["token"] == "ACK" for a in answers), answers
    assert sorted(e["seq"] for e in events_of(rx, crew.operator.token, d["id"])) == \
        list(range(60, 71))


def test_udp_message_acknowledged_to_its_sender(rx, crew):
    d = add_device(rx, crew, key=KEY256)
    acct = account_of(d)
    now = rx.now()
    answer, _ = udp_ask(rx.port, dc.build("ADM-CID", 80, acct, "1602 00 000", timestamp=now,
                                          key=KEY256), key=KEY256)
    assert_ack(answer, 80, acct)
    assert answer["encrypted"] is True and answer["timestamp"] == now
    answer, _ = udp_ask(rx.port, dc.build("NULL", 81, acct, timestamp=now, key=KEY128))
    assert_nak(answer, now)  # the wrong key opens nothing
    (e,) = events_of(rx, crew.operator.token, d["id"])
    assert e["transport"] == "udp" and e["seq"] == 80, e


def test_repeated_message_acknowledged_again_without_a_second_event(rx, crew):
    d = add_device(rx, crew)
    acct = account_of(d)
    frame = dc.build("ADM-CID", 90, acct, "1302 00 000", timestamp=rx.now())
    with rx.tcp() as t:
        assert_ack(t.ask(frame), 90, acct)
        assert_ack(t.ask(frame), 90, acct)
    # Over UDP, the usual path of a retry, too.
    answer, _ = udp_ask(rx.port, frame)
    assert_ack(answer, 90, acct)
    assert [e["seq"] for e in events_of(rx, crew.operator.token, d["id"])] == [90]
    # The same sequence number with other content is another event.
    with rx.tcp() as t:
        assert_ack(t.ask(dc.build("ADM-CID", 90, acct, "3302 00 000", timestamp=rx.now())),
                   90, acct)
    assert len(events_of(rx, crew.operator.token, d["id"])) == 2


def test_busy_database_naks_and_the_retry_is_stored(rx, crew):
    """A database that stays locked past the busy timeout (5 s) gets the message a NAK, so
    that the transmitter sends it again; nothing was stored, and the retry is."""
    d = add_device(rx, crew)
    acct = account_of(d)
    now = rx.now()
    frame = dc.build("ADM-CID", 95, acct, "1302 00 000", timestamp=now)
    with rx.srv.db.session() as conn, rx.tcp() as t:
        conn.begin_write()
        conn.execute("UPDATE devices SET updated_at = updated_at WHERE id = ?", d["id"])
        assert_nak(t.ask(frame, timeout=20), now)
        conn.execute("ROLLBACK")
        assert events_of(rx, crew.operator.token, d["id"]) == []
        assert_ack(t.ask(frame), 95, acct)
    assert [e["seq"] for e in events_of(rx, crew.operator.token, d["id"])] == [95]
    assert "event=dc09_batch_failed" in rx.srv.run.stderr()


# -- what events do ------------------------------------------------------------------------


def test_panic_opens_a_red_alarm_and_duress_a_duress_alarm(rx, crew):
    d = add_device(rx, crew)
    acct = account_of(d)
    before = {a["id"] for a in alarms_of(rx, crew.operator.token, crew.worker.id)}
    with rx.tcp() as t:
        assert_ack(t.ask(dc.build("ADM-CID", 100, acct, "1120 01 015", timestamp=rx.now())),
                   100, acct)
        assert_ack(t.ask(dc.build("ADM-CID", 101, acct, "1121 01 015", timestamp=rx.now())),
                   101, acct)
    advance(rx.srv, 0)  # the watch applies what is due
    new = [a for a in alarms_of(rx, crew.operator.token, crew.worker.id)
           if a["id"] not in before]
    assert sorted((a["kind"], a["duress"], a["source"]) for a in new) == \
        [("duress", True, "dc09"), ("red", False, "dc09")], new
    events = {e["seq"]: e for e in events_of(rx, crew.operator.token, d["id"])}
    assert events[100]["action"] == "red" and events[101]["action"] == "duress", events
    assert {events[100]["alarm_id"], events[101]["alarm_id"]} == {a["id"] for a in new}
    assert events[100]["applied_at"] is not None


def test_unknown_account_is_stored_as_unassigned(rx, crew):
    acct = new_account()
    with rx.tcp() as t:
        assert_ack(t.ask(dc.build("ADM-CID", 110, acct, "1120 01 001", timestamp=rx.now())),
                   110, acct)
    body = ok(rx.srv.call("GET", "/api/v1/dc09/events?unassigned=true&limit=200",
                          token=crew.admin))
    mine = [e for e in body["items"] if e["account"] == acct]
    assert len(mine) == 1 and mine[0]["device_id"] is None and mine[0]["seq"] == 110, mine


def test_panic_from_an_unregistered_account_tells_the_host_operators(rx, crew):
    """No device has the account, so no alarm can open; the host organisation's operators
    are told at once, once, even though the transmitter sends it again."""
    acct = new_account()
    frame = dc.build("ADM-CID", 111, acct, "1120 01 007", timestamp=rx.now())
    with rx.tcp() as t:
        assert_ack(t.ask(frame), 111, acct)
        assert_ack(t.ask(frame), 111, acct)  # a repeat: no second notice
    advance(rx.srv, 0)  # the watch applies what is due
    told = rx.srv.db.query("SELECT user_id, subject FROM outbox WHERE event = "
                           "'dc09.unassigned_alert' AND subject LIKE ?", "%% account %s %%" % acct)
    assert [int(r[0]) for r in told] == [crew.operator.id], told
    assert told[0][1].startswith("RED ALERT from unregistered DC-09 account %s (peer 127.0.0.1:"
                                 % acct), told
    body = ok(rx.srv.call("GET", "/api/v1/dc09/events?unassigned=true&limit=200",
                          token=crew.operator.token))
    (e,) = [e for e in body["items"] if e["account"] == acct]
    assert e["applied_at"] is not None and e["alarm_id"] is None, e


@pytest.mark.parametrize("token", ["ACK", "NAK", "DUH"])
def test_an_answer_sent_to_the_receiver_is_answered_duh_and_not_stored(rx, crew, token):
    acct = new_account()
    sent = dc.answer(token, seq="0112", account=None if token == "NAK" else acct,
                     timestamp=rx.now() if token == "NAK" else None)
    assert dc.parse_answer(sent)["token"] == token  # a well-formed frame
    with rx.tcp() as t:
        answer = t.ask(sent)
        assert answer["token"] == "DUH" and answer["seq"] == "0112", answer
        # The connection goes on serving messages.
        assert_ack(t.ask(dc.build("NULL", 113, acct, timestamp=rx.now())), 113, acct)
    body = ok(rx.srv.call("GET", "/api/v1/dc09/events?unassigned=true&link=true&limit=200",
                          token=crew.admin))
    assert not [e for e in body["items"] if e["token"] in ("ACK", "NAK", "DUH")], body
    assert [e["seq"] for e in body["items"] if e["account"] == acct] == [113]


def test_supervision_loss_and_restore(rx, crew):
    d = add_device(rx, crew, supervision={"interval_s": 600, "alarm": True})
    acct = account_of(d)
    with rx.tcp() as t:
        assert_ack(t.ask(dc.build("NULL", 120, acct, timestamp=rx.now())), 120, acct)
    advance(rx.srv, 599)
    assert ok(rx.srv.call("GET", "/api/v1/devices/%d" % d["id"], token=crew.admin))[
        "signal"] == "ok"
    lost_at = advance(rx.srv, 2)
    got = ok(rx.srv.call("GET", "/api/v1/devices/%d" % d["id"], token=crew.admin))
    assert got["signal"] == "lost" and parse_time(got["lost_at"]) == lost_at, got
    lost = [a for a in alarms_of(rx, crew.operator.token, crew.worker.id)
            if a["source"] == "dc09" and a["kind"] == "overdue" and a["state"] != "closed"]
    assert len(lost) == 1, lost
    told = rx.srv.db.query("SELECT user_id FROM outbox WHERE event = 'device.signal_lost'")
    assert [int(r[0]) for r in told] == [crew.lm.id], told
    # Heard from again: back in contact, the alarm closed, the managers told.
    with rx.tcp() as t:
        assert_ack(t.ask(dc.build("NULL", 121, acct, timestamp=rx.now())), 121, acct)
    advance(rx.srv, 0)
    got = ok(rx.srv.call("GET", "/api/v1/devices/%d" % d["id"], token=crew.admin))
    assert got["signal"] == "ok" and got["lost_at"] is None, got
    alarm = ok(rx.srv.call("GET", "/api/v1/alarms/%d" % lost[0]["id"], token=crew.operator.token))
    assert alarm["state"] == "closed", alarm
    told = rx.srv.db.query("SELECT user_id FROM outbox WHERE event = 'device.signal_restored'")
    assert [int(r[0]) for r in told] == [crew.lm.id], told


def test_metrics_count_the_answers(rx, crew):
    acct = account_of(add_device(rx, crew))

    def figures():
        text = ok(rx.srv.call("GET", "/metrics"))
        out = {}
        for line in text.splitlines():
            if line.startswith("notalone_dc09_"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    before = figures()
    with rx.tcp() as t:
        assert_ack(t.ask(dc.build("NULL", 130, acct, timestamp=rx.now())), 130, acct)
        assert t.ask(dc.build("XYZ", 131, acct))["token"] == "DUH"
        after = figures()
        assert after["notalone_dc09_connections"] >= 1
    ack, duh = 'notalone_dc09_answers_total{answer="ack"}', \
        'notalone_dc09_answers_total{answer="duh"}'
    assert after[ack] == before[ack] + 1 and after[duh] == before[duh] + 1, after
    assert after["notalone_dc09_frames_total"] == before["notalone_dc09_frames_total"] + 2
    assert after["notalone_dc09_batches_total"] > before["notalone_dc09_batches_total"]


# -- limits --------------------------------------------------------------------------------


def limited_receiver(factory, *flags):
    port = free_port()
    return Receiver(factory(extra_args=clock_args() + dc09_args(port, *flags)), port)


@pytest.fixture(scope="module")
def quick_idle(module_factory):
    return limited_receiver(module_factory, "--dc09-idle-timeout", "1s")


@pytest.fixture(scope="module")
def three_per_source(module_factory):
    return limited_receiver(module_factory, "--dc09-max-per-source", "3")


def test_idle_connection_is_closed(quick_idle):
    acct = new_account()
    with quick_idle.tcp() as t:
        assert_ack(t.ask(dc.build("NULL", 1, acct, timestamp=quick_idle.now())), 1, acct)
        start = time.monotonic()
        assert t.closed_by_server()
        assert time.monotonic() - start >= 0.9
    with quick_idle.tcp() as t:
        assert_ack(t.ask(dc.build("NULL", 2, acct, timestamp=quick_idle.now())), 2, acct)


def test_connections_per_source_are_limited(three_per_source):
    rx = three_per_source
    acct = new_account()
    frame = dc.build("NULL", 2, acct, timestamp=rx.now())
    held = [rx.tcp() for _ in range(3)]
    try:
        for t in held:
            assert_ack(t.ask(frame), 2, acct)
        with rx.tcp() as extra:
            assert extra.closed_by_server()
        # Those within the limit go on being served; a place freed is taken again.
        assert_ack(held[0].ask(frame), 2, acct)
        held.pop().close()
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                with rx.tcp() as again:
                    answer = again.ask(frame)
                break
            except (AssertionError, OSError):
                # the server may not have seen the close yet
                assert time.monotonic() < deadline, "the freed place was not given back"
        assert_ack(answer, 2, acct)
    finally:
        for t in held:
            t.close()


def test_garbage_and_an_oversize_frame_leave_others_served(rx, crew):
    d = add_device(rx, crew)
    acct = account_of(d)
    now = rx.now()
    with rx.tcp() as bad, rx.tcp() as good:
        # A header promising the longest frame, then 8 KiB without the CR it needs.
        noise = bytes((i * 37 + 11) % 256 for i in range(8192)).replace(b"\n", b"x")
        bad.send(b"\n" + b"ABCD0FFF" + b'"NULL"' + noise)
        bad.send(b"\x00\xff" * 1000)
        assert_ack(good.ask(dc.build("NULL", 140, acct, timestamp=now)), 140, acct)
        # The bad one is still served once it sends a frame.
        bad.send(dc.build("NULL", 141, acct, timestamp=now))
        answers = []
        while not answers or answers[-1]["token"] != "ACK":
            answers.append(dc.parse_answer(bad.frames(1)[0]))
        assert_ack(answers[-1], 141, acct)
        assert all(a["token"] == "NAK" for a in answers[:-1]), answers
        assert_ack(good.ask(dc.build("NULL", 142, acct, timestamp=now)), 142, acct)


def test_server_refuses_to_start_when_it_cannot_bind(server_factory):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        srv = server_factory(start=False, extra_args=dc09_args(holder.getsockname()[1]))
        rc, err = srv.start_expect_exit()
        assert rc != 0 and "dc09_listen_failed" in err, err
    finally:
        holder.close()


# -- durability ----------------------------------------------------------------------------


def test_unassigned_events_are_stored_at_a_bounded_pace(server_factory):
    """Made-up accounts cannot fill the disk: past a burst of 300, new events of accounts no
    device has are answered DUH and not stored (5 a second refill); a device is not held
    back by them."""
    port = free_port()
    srv = server_factory(extra_args=clock_args() + dc09_args(port))
    rx = Receiver(srv, port)
    crew = make_crew(srv)
    d = add_device(rx, crew)
    t = rx.tcp()
    now = rx.now()
    sent = 340
    started = time.monotonic()
    t.send(b"".join(dc.build("ADM-CID", seq, "F%05X" % seq, "1602 00 000", timestamp=now)
                    for seq in range(1, sent + 1)))
    answers = [dc.parse_answer(f) for f in t.frames(sent)]
    elapsed = time.monotonic() - started
    acks = sum(a["token"] == "ACK" for a in answers)
    duhs = sum(a["token"] == "DUH" for a in answers)
    assert acks + duhs == sent, answers
    assert 300 <= acks <= 300 + 5 * elapsed + 1, (acks, elapsed)
    assert duhs > 0
    body = ok(srv.call("GET", "/api/v1/dc09/events?unassigned=true&link=true&limit=200",
                       token=srv.admin()))
    stored = len(body["items"])
    while body["next_before"] is not None:
        body = ok(srv.call("GET", "/api/v1/dc09/events?unassigned=true&link=true&limit=200"
                           "&before=%d" % body["next_before"], token=srv.admin()))
        stored += len(body["items"])
    assert stored == acks
    assert_ack(t.ask(dc.build("ADM-CID", 1, account_of(d), "1602 00 000", timestamp=now)),
               1, account_of(d))


def test_killed_server_loses_no_acknowledged_event(server_factory):
    """Several transmitters pipeline messages; the server is killed (SIGKILL) while they
    send, then restarted: every (account, seq) it acknowledged is stored."""
    port = free_port()
    srv = server_factory(extra_args=clock_args() + dc09_args(port))
    rx = Receiver(srv, port)
    crew = make_crew(srv)
    devices = [add_device(rx, crew) for _ in range(4)]
    acked = {account_of(d): set() for d in devices}
    enough = threading.Event()
    errors = []
    now = rx.now()

    def transmit(account):
        try:
            t = rx.tcp()
        except OSError as e:
            errors.append(e)
            return
        try:
            seq, window = 1, 0
            while seq <= 2000:
                # Eight messages awaiting their answers at a time: the kill lands mid-batch.
                while window < 8 and seq <= 2000:
                    t.send(dc.build("ADM-CID", seq, account, "1602 00 000", timestamp=now))
                    seq += 1
                    window += 1
                answer = dc.parse_answer(t.frames(1)[0])
                window -= 1
                if answer["token"] == "ACK":
                    acked[account].add(int(answer["seq"]))
                if sum(len(s) for s in acked.values()) >= 400:
                    enough.set()
        except (OSError, AssertionError):
            pass  # the server went away
        finally:
            t.close()

    threads = [threading.Thread(target=transmit, args=(account_of(d),)) for d in devices]
    for th in threads:
        th.start()
    assert enough.wait(60), "the receiver acknowledged too little: %r" % errors
    srv.kill()
    for th in threads:
        th.join(60)
    assert not errors, errors
    total = sum(len(s) for s in acked.values())
    assert 400 <= total < 4 * 2000, "the kill did not land mid-stream: %d" % total
    srv.admin_token = None
    srv.start()
    for d in devices:
        stored = set()
        before = ""
        while True:
            body = ok(srv.call("GET", "/api/v1/dc09/events?device_id=%d&link=true&limit=200%s"
                               % (d["id"], before), token=srv.admin()))
            stored.update(e["seq"] for e in body["items"])
            if body["next_before"] is None:
                break
            before = "&before=%d" % body["next_before"]
        missing = acked[account_of(d)] - stored
        assert not missing, "acknowledged but not stored: %s" % sorted(missing)[:20]
    # Transmitters sending again after the restart are served.
    with rx.tcp() as t:
        acct = account_of(devices[0])
        assert_ack(t.ask(dc.build("NULL", 9999, acct, timestamp=rx.now())), 9999, acct)


# -- settings ------------------------------------------------------------------------------


def test_code_table_and_repeat_window_from_the_settings(server_factory):
    codes = os.path.join(server_factory.tmp_root, "codes.json")
    with open(codes, "w") as f:
        f.write('{"contact_id": {"1602": "record", "1999": {"action": "amber", '
                '"label": "Amber button"}}, "sia": {"ZZ": "test"}}')
    port = free_port()
    rx = Receiver(server_factory(extra_args=clock_args() + dc09_args(
        port, "--dc09-codes", codes, "--dc09-repeat-window", "60s")), port)
    crew = make_crew(rx.srv)
    d = add_device(rx, crew)
    acct = account_of(d)
    first = dc.build("ADM-CID", 1, acct, "1999 00 007", timestamp=rx.now())
    with rx.tcp() as t:
        assert_ack(t.ask(first), 1, acct)
        assert_ack(t.ask(dc.build("ADM-CID", 2, acct, "1602 00 000", timestamp=rx.now())), 2,
                   acct)
        assert_ack(t.ask(first), 1, acct)  # a repeat within the window
    advance(rx.srv, 61)
    with rx.tcp() as t:
        assert_ack(t.ask(first), 1, acct)  # past the window: a new event
    events = events_of(rx, crew.operator.token, d["id"])
    assert [(e["seq"], e["code"], e["action"], e["label"]) for e in events] == [
        (1, "1999", "amber", "Amber button"), (2, "1602", "record", "Periodic test"),
        (1, "1999", "amber", "Amber button")], events


@pytest.mark.parametrize("text", ['{"contact_id": {"1120": "explode"}}', "{not json",
                                  '{"contact_id": {"1120": "red"}, "contact_id": {}}'])
def test_server_refuses_a_bad_code_table(server_factory, text):
    codes = os.path.join(server_factory.tmp_root, "codes-%d.json" % len(text))
    with open(codes, "w") as f:
        f.write(text)
    srv = server_factory(start=False, extra_args=dc09_args(free_port(), "--dc09-codes", codes))
    rc, err = srv.start_expect_exit()
    assert rc != 0 and "setting=dc09_codes" in err, err

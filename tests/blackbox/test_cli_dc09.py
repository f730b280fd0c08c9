"""notalone dc09 send: the messages it builds, checked against the independent Python
implementation (tests/support/dc09_frames.py), and what it says of each answer, against a
small answering receiver in this file (TCP and UDP) and against notaloned's own receiver."""

import datetime
import os
import re
import socket
import sys
import threading

import pytest

from conftest import (clock_args, clock_now, fmt_time, free_port, make_crew, ok, tmp_dir,
                      unique, SOURCE_DIR)
from test_cli import Cli

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import dc09_frames as dc  # noqa: E402

NOW = datetime.datetime(2026, 11, 23, 9, 30, 15, tzinfo=datetime.timezone.utc)
KEY128 = "2B7E151628AED2A6ABF7158809CF4F3C"
KEY192 = "8E73B0F7DA0E6452C810F32B809079E562F8EAD2522C6B7B"
KEY256 = "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4"


class Send(Cli):
    """The CLI with its clock at NOW (the timestamp of the messages it builds)."""

    def __init__(self, now=NOW):
        super().__init__(None)
        self.now = now

    def env(self):
        env = super().env()
        env["NOTALONE_NOW"] = fmt_time(self.now)
        return env

    def __call__(self, *args, **kw):
        kw.setdefault("server", "http://127.0.0.1:1")
        return super().__call__("dc09", "send", *args, **kw)


def unescape(line):
    """The bytes of a frame printed by --print (\\n, \\r, \\\\ and \\xHH escapes)."""
    out = bytearray()
    i = 0
    while i < len(line):
        c = line[i]
        if c != "\\":
            out.append(ord(c))
            i += 1
            continue
        nxt = line[i + 1]
        if nxt == "x":
            out.append(int(line[i + 2:i + 4], 16))
            i += 4
        else:
            out.append({"n": 10, "r": 13, "\\": 92}[nxt])
            i += 2
    return bytes(out)


def printed(send, *args, env=None):
    rc, out, err = send(*args, "--print", env=env)
    assert rc == 0, (args, rc, out, err)
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert re.fullmatch(r"[\x20-\x7e]+", lines[0]), "control characters printed: %r" % out
    return unescape(lines[0])


def key_file(text):
    path = os.path.join(tmp_dir("key-"), "key")
    with open(path, "w") as f:
        f.write(text)
    return path


# -- the messages built ----------------------------------------------------------------------

PLAIN = [
    # (CLI options, dc09_frames.build arguments)
    ([], dict(token="ADM-CID", seq=1, data="1602 00 000", timestamp=NOW)),
    (["--no-timestamp"], dict(token="ADM-CID", seq=1, data="1602 00 000")),
    (["--token", "SIA-DCS", "--seq", "42", "--receiver", "12A", "--prefix", "3F"],
     dict(token="SIA-DCS", seq=42, data="Nri1/PA501", receiver="12A", prefix="3F",
          timestamp=NOW)),
    (["--token", "NULL", "--seq", "9999"], dict(token="NULL", seq=9999, data="",
                                                timestamp=NOW)),
    (["--seq", "0", "--xdata", "[XE1.5][YN53.8][Isite 4]"],
     dict(token="ADM-CID", seq=0, data="1120 01 015", xdata="[XE1.5][YN53.8][Isite 4]",
          timestamp=NOW)),
    (["--binary-crc"], dict(token="ADM-CID", seq=7, data="1302 00 000", timestamp=NOW,
                            crc_binary=True)),
    (["--binary-crc", "--no-timestamp", "--token", "SIA-DCS"],
     dict(token="SIA-DCS", seq=3, data="Nri1/RP0000", crc_binary=True)),
]


@pytest.mark.parametrize("opts,want", PLAIN)
def test_plain_message_is_built_as_the_standard_says(opts, want):
    args = ["--account", "1234AB", "--data", want["data"]] if want["data"] else \
        ["--account", "1234AB"]
    if want["seq"] != 1 and "--seq" not in opts:
        args += ["--seq", str(want["seq"])]
    frame = printed(Send(), *(args + opts))
    assert frame == dc.build(account="1234AB", **want), frame
    message, binary = dc.unwrap(frame)
    assert binary == want.get("crc_binary", False)


def test_binary_crc_with_control_bytes_prints_escaped():
    """Some sequence gives a CRC byte that is a control character: it prints escaped."""
    for seq in range(200):
        frame = dc.build("ADM-CID", seq, "1234", "1602 00 000", crc_binary=True)
        if any(b < 0x20 or b > 0x7e for b in frame[1:3]):
            break
    else:
        pytest.fail("no sequence found")
    got = printed(Send(), "--account", "1234", "--data", "1602 00 000", "--seq", str(seq),
                  "--binary-crc", "--no-timestamp")
    assert got == frame


@pytest.mark.parametrize("key", [KEY128, KEY192.lower(), KEY256])
@pytest.mark.parametrize("source", ["file", "env", "stdin"])
def test_encrypted_message_opens_with_the_key(key, source):
    args = ["--account", "5A5A", "--token", "SIA-DCS", "--data", "Nri1/PA501", "--seq", "12",
            "--xdata", "[XW1.55][YN53.8]"]
    env = {}
    stdin = ""
    if source == "file":
        args += ["--key-file", key_file(key + "\n")]
    elif source == "stdin":
        args += ["--key-file", "-"]
        stdin = key + "\n"
    else:
        env = {"NOTALONE_DC09_KEY": key}
    rc, out, err = Send()(*args, "--print", env=env, stdin=stdin)
    assert rc == 0, (rc, out, err)
    assert key.lower() not in (out + err).lower()
    frame = unescape(out.strip())
    got = dc.parse_answer(frame, key=bytes.fromhex(key))
    assert got["token"] == "SIA-DCS" and got["encrypted"] is True
    assert got["seq"] == "0012" and got["account"] == "5A5A" and got["receiver"] is None
    assert got["data"] == "#5A5A|Nri1/PA501" and got["xdata"] == "[XW1.55][YN53.8]"
    assert got["timestamp"] == NOW
    # The pad is random: the same message twice is two cipher texts.
    again = unescape(Send()(*args, "--print", env=env, stdin=stdin)[1].strip())
    assert dc.parse_answer(again, key=bytes.fromhex(key))["data"] == got["data"]
    assert again != frame


@pytest.mark.parametrize("args,message", [
    ([], "missing --account"),
    (["--account", "12"], "--account"),
    (["--account", "12345678901234567"], "--account"),
    (["--account", "12G4", "--data", "1602 00 000"], "--account"),
    (["--account", "1234"], "missing --data"),
    (["--account", "1234", "--token", "NULL", "--data", "1602 00 000"], "carries no --data"),
    (["--account", "1234", "--token", "ACK", "--data", "x"], "--token"),
    (["--account", "1234", "--data", "1602 00 000", "--seq", "10000"], "--seq"),
    (["--account", "1234", "--data", "1602 00 000", "--seq", "-1"], "--seq"),
    (["--account", "1234", "--data", "1602 00 000", "--receiver", "1234567"], "--receiver"),
    (["--account", "1234", "--data", "1602 00 000", "--prefix", ""], "--prefix"),
    (["--account", "1234", "--data", "16\t02"], "printable"),
    (["--account", "1234", "--data", "1602 00 000", "--to", "localhost"], "--to"),
    (["--account", "1234", "--data", "1602 00 000", "--to", "127.0.0.1:70000"], "--to"),
    (["--account", "1234", "--data", "1602 00 000", "--timeout", "0"], "--timeout"),
    (["--account", "1234", "--data", "1602 00 000", "--key-file", "/nonexistent"],
     "cannot read the key file"),
    (["--account", "1234", "--data", "1602 00 000", "--key", KEY128], "unknown option"),
    (["--account", "1234", "--data", "1602 00 000", "--data", "x"], "more than once"),
    (["--account", "1234", "--data", "x" * 4080], "cannot build the message"),
])
def test_usage_errors(args, message):
    rc, out, err = Send()(*args)
    assert rc == 2, (args, rc, out, err)
    assert message in err and "usage: notalone dc09 send" in err, err
    assert out == ""


def test_bad_keys_are_refused_without_showing_them():
    send = Send()
    base = ["--account", "1234", "--data", "1602 00 000", "--print"]
    for bad in (KEY128[:-1], KEY128 + "0", "X" + KEY128[1:], KEY256 + "00"):
        rc, out, err = send(*base, "--key-file", key_file(bad))
        assert rc == 2 and "does not hold a key of 32, 48 or 64 hex digits" in err, err
        assert bad not in out + err
        rc, out, err = send(*base, env={"NOTALONE_DC09_KEY": bad})
        assert rc == 2 and "NOTALONE_DC09_KEY is not a key" in err, err
        assert bad not in out + err
    rc, out, err = send(*base, "--no-timestamp", env={"NOTALONE_DC09_KEY": KEY128})
    assert rc == 2 and "always carries a timestamp" in err, err


# -- answers of a receiver ---------------------------------------------------------------------


class Receiver:
    """A DC-09 receiver on a free loopback port, TCP and UDP: each frame it gets is kept and
    answered by answer(frame) (bytes, a list of byte pieces sent apart, or None: silence)."""

    def __init__(self, answer):
        self.answer = answer
        self.frames = []
        self.port = free_port()
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.stop = False
        self.threads = [threading.Thread(target=self.serve_tcp, daemon=True),
                        threading.Thread(target=self.serve_udp, daemon=True)]
        for t in self.threads:
            t.start()

    def reply(self, frame):
        self.frames.append(frame)
        a = self.answer(frame)
        if a is None:
            return []
        return a if isinstance(a, list) else [a]

    def serve_tcp(self):
        self.tcp.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                buf = b""
                try:
                    while True:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        frames, buf = dc.split_frames(buf + chunk)
                        for f in frames:
                            for piece in self.reply(f):
                                conn.sendall(piece)
                        if frames and self.answer is CLOSE:
                            break
                except (socket.timeout, OSError):
                    pass

    def serve_udp(self):
        self.udp.settimeout(0.2)
        while not self.stop:
            try:
                data, peer = self.udp.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            frames, _ = dc.split_frames(data)
            for f in frames:
                for piece in self.reply(f):
                    self.udp.sendto(piece, peer)

    def close(self):
        self.stop = True
        for t in self.threads:
            t.join()
        self.tcp.close()
        self.udp.close()


def CLOSE(frame):
    return None


@pytest.fixture
def receiver():
    made = []

    def make(answer):
        r = Receiver(answer)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def echo(frame, key=None):
    """The fields of a received frame, for answering it."""
    got = dc.parse_answer(frame, key=key)
    return dict(seq=got["seq"], receiver=got["receiver"], prefix=got["prefix"],
                account=got["account"])


def send_to(r, *args, udp=False, env=None, stdin=""):
    argv = list(args) + ["--to", "127.0.0.1:%d" % r.port, "--timeout", "5"]
    if udp:
        argv.append("--udp")
    return Send()(*argv, env=env, stdin=stdin)


@pytest.mark.parametrize("udp", [False, True])
def test_ack(receiver, udp):
    r = receiver(lambda f: dc.answer("ACK", **echo(f)))
    rc, out, err = send_to(r, "--account", "1234", "--data", "1602 00 000", "--receiver", "7",
                           udp=udp)
    assert rc == 0, (rc, out, err)
    assert out == "ACK 0001 #1234\n" and err == "", (out, err)
    assert len(r.frames) == 1
    got = dc.parse_answer(r.frames[0])
    assert got["token"] == "ADM-CID" and got["receiver"] == "7" and got["timestamp"] == NOW
    assert got["data"] == "#1234|1602 00 000"


@pytest.mark.parametrize("udp", [False, True])
@pytest.mark.parametrize("key", [KEY128, KEY192, KEY256])
def test_encrypted_ack_shows_the_receivers_time(receiver, udp, key):
    kb = bytes.fromhex(key)
    receiver_time = NOW + datetime.timedelta(seconds=3)
    r = receiver(lambda f: dc.answer("ACK", key=kb, timestamp=receiver_time, **echo(f, kb)))
    rc, out, err = send_to(r, "--account", "ABCD", "--token", "SIA-DCS", "--data", "Nri1/PA501",
                           "--seq", "5", udp=udp, env={"NOTALONE_DC09_KEY": key})
    assert rc == 0, (rc, out, err)
    assert out == "ACK 0005 #ABCD (receiver time 09:30:18 11-23-2026)\n", out
    assert err == ""
    got = dc.parse_answer(r.frames[0], key=kb)
    assert got["encrypted"] and got["data"] == "#ABCD|Nri1/PA501" and got["timestamp"] == NOW


def test_encrypted_ack_with_another_key_is_said(receiver):
    other = bytes.fromhex(KEY256)
    r = receiver(lambda f: dc.answer("ACK", key=other, timestamp=NOW,
                                     **echo(f, bytes.fromhex(KEY128))))
    rc, out, err = send_to(r, "--account", "ABCD", "--data", "1602 00 000",
                           env={"NOTALONE_DC09_KEY": KEY128})
    assert rc == 0 and out == "ACK 0001 #ABCD\n", (rc, out, err)
    assert "does not open with this key" in err


def test_encrypted_ack_to_a_plain_message_is_said(receiver):
    r = receiver(lambda f: dc.answer("ACK", key=bytes.fromhex(KEY128), timestamp=NOW,
                                     **echo(f)))
    rc, out, err = send_to(r, "--account", "ABCD", "--data", "1602 00 000")
    assert rc == 0 and out == "ACK 0001 #ABCD\n", (rc, out, err)
    assert "the ACK is encrypted and there is no key to open it" in err


def test_plain_ack_to_an_encrypted_message_is_said(receiver):
    kb = bytes.fromhex(KEY128)
    r = receiver(lambda f: dc.answer("ACK", **echo(f, kb)))
    rc, out, err = send_to(r, "--account", "ABCD", "--data", "1602 00 000",
                           env={"NOTALONE_DC09_KEY": KEY128})
    assert rc == 0 and out.startswith("ACK 0001 #ABCD"), (rc, out, err)
    assert "the message was encrypted but the ACK is not" in err


@pytest.mark.parametrize("udp", [False, True])
def test_nak_with_the_receivers_time(receiver, udp):
    # A receiver clock far from ours: the timestamp is what it refused.
    late = NOW + datetime.timedelta(minutes=5)
    kb = bytes.fromhex(KEY128)
    r = receiver(lambda f: dc.answer("NAK", receiver=echo(f, kb)["receiver"], timestamp=late))
    rc, out, err = send_to(r, "--account", "1234", "--data", "1602 00 000", udp=udp,
                           env={"NOTALONE_DC09_KEY": KEY128})
    assert rc == 1, (rc, out, err)
    assert out == ("NAK: receiver time 09:35:15 11-23-2026 (this computer's time "
                   "09:30:15 11-23-2026: the message's timestamp is outside the receiver's "
                   "window)\n"), out
    assert err == "", err


@pytest.mark.parametrize("udp", [False, True])
def test_nak_echoing_nothing_is_no_answer_for_another_message(receiver, udp):
    """A NAK carries sequence 0000 and account 0 as the standard frames it: that is no sign
    of an answer to another message."""
    r = receiver(lambda f: dc.answer("NAK", timestamp=NOW))
    rc, out, err = send_to(r, "--account", "1234AB", "--data", "1602 00 000", "--seq", "42",
                           udp=udp)
    assert rc == 1, (rc, out, err)
    assert out.startswith("NAK: receiver time 09:30:15 11-23-2026"), out
    assert err == "", err


# Receiver clock minus ours (s), whether the message was encrypted, and whether the client
# blames the timestamp: the receiver takes 40 s back and 20 s ahead of its time.
@pytest.mark.parametrize("apart,encrypted,blamed", [
    (0, True, False), (40, True, False), (41, True, True), (-20, True, False),
    (-21, True, True), (300, False, False), (-300, False, False)])
def test_nak_blames_the_timestamp_only_outside_the_window(receiver, apart, encrypted, blamed):
    when = NOW + datetime.timedelta(seconds=apart)
    r = receiver(lambda f: dc.answer("NAK", timestamp=when))
    env = {"NOTALONE_DC09_KEY": KEY128} if encrypted else {}
    rc, out, err = send_to(r, "--account", "1234", "--data", "1602 00 000", env=env)
    assert rc == 1, (rc, out, err)
    assert out.startswith("NAK: receiver time %s" % when.strftime("%H:%M:%S %m-%d-%Y")), out
    assert ("outside the receiver's window" in out) == blamed, out
    if not blamed:
        assert "(the receiver refused the message" in out, out


@pytest.mark.parametrize("udp", [False, True])
def test_duh(receiver, udp):
    r = receiver(lambda f: dc.answer("DUH", **echo(f)))
    rc, out, err = send_to(r, "--account", "BEEF", "--token", "NULL", "--seq", "77", udp=udp)
    assert rc == 1, (rc, out, err)
    assert out.startswith("DUH 0077 #BEEF: the receiver does not take this message"), out
    assert dc.parse_answer(r.frames[0])["token"] == "NULL"


def test_answer_in_pieces_after_garbage(receiver):
    def answer(f):
        whole = dc.answer("ACK", **echo(f))
        return [b"\x00garbage\r"] + [whole[i:i + 1] for i in range(len(whole))]
    r = receiver(answer)
    rc, out, err = send_to(r, "--account", "1234", "--data", "1602 00 000")
    assert rc == 0 and out == "ACK 0001 #1234\n", (rc, out, err)


def test_binary_crc_answer(receiver):
    r = receiver(lambda f: dc.answer("ACK", crc_binary=True, **echo(f)))
    rc, out, err = send_to(r, "--account", "1234", "--data", "1602 00 000", "--binary-crc")
    assert rc == 0 and out == "ACK 0001 #1234\n", (rc, out, err)
    assert dc.unwrap(r.frames[0])[1] is True


def test_answer_for_another_message_is_said(receiver):
    r = receiver(lambda f: dc.answer("ACK", seq="0002", account="9999"))
    rc, out, err = send_to(r, "--account", "1234", "--data", "1602 00 000")
    assert rc == 0 and out == "ACK 0002 #9999\n", (rc, out, err)
    assert "sequence 2, not 1" in err and "another account" in err


def test_a_broken_answer(receiver):
    r = receiver(lambda f: dc.wrap('"ACK"0001L0#1234[]', crc=0x1234))
    rc, out, err = send_to(r, "--account", "1234", "--data", "1602 00 000")
    assert rc == 1 and "not a valid DC-09 frame (crc)" in out, (rc, out, err)


@pytest.mark.parametrize("udp", [False, True])
def test_no_answer_within_the_timeout(receiver, udp):
    r = receiver(lambda f: None)
    argv = ["--account", "1234", "--data", "1602 00 000", "--to", "127.0.0.1:%d" % r.port,
            "--timeout", "1"] + (["--udp"] if udp else [])
    rc, out, err = Send()(*argv)
    assert rc == 2, (rc, out, err)
    assert "no answer from 127.0.0.1 port %d within 1 s" % r.port in err, err
    assert len(r.frames) == 1


def test_connection_closed_without_answer(receiver):
    r = receiver(CLOSE)
    rc, out, err = send_to(r, "--account", "1234", "--data", "1602 00 000")
    assert rc == 2 and "closed the connection without answering" in err, (rc, out, err)


def test_nothing_listening():
    port = free_port()
    rc, out, err = Send()("--account", "1234", "--data", "1602 00 000", "--to",
                          "127.0.0.1:%d" % port)
    assert rc == 2 and "cannot connect to 127.0.0.1 port %d" % port in err, (rc, out, err)
    rc, out, err = Send()("--account", "1234", "--data", "1602 00 000", "--to",
                          "no-such-host.invalid:9009")
    assert rc == 2 and "cannot find no-such-host.invalid" in err, (rc, out, err)


# -- against notaloned's receiver ------------------------------------------------------------


@pytest.fixture(scope="module")
def live(module_factory):
    port = free_port()
    srv = module_factory(extra_args=clock_args() + ["--dc09-listen", "127.0.0.1:%d" % port])
    srv.dc09_port = port
    srv.crew = make_crew(srv)
    return srv


def test_send_to_notaloned(live):
    crew = live.crew
    plain, secret = ("%X" % (0x100000 + os.getpid() * 2 + i) for i in range(2))
    dev = ok(live.call("POST", "/api/v1/devices", token=crew.admin,
                       body={"kind": "lone_worker_device", "identifier": unique("T-"),
                             "worker_id": crew.worker.id, "dc09": {"account": plain}}), 201)
    ok(live.call("POST", "/api/v1/devices", token=crew.admin,
                 body={"kind": "panel", "identifier": unique("P-"),
                       "dc09": {"account": secret, "key": KEY192,
                                "encryption_required": True}}), 201)
    send = Send(now=clock_now(live))
    to = ["--to", "127.0.0.1:%d" % live.dc09_port, "--timeout", "10"]
    for udp in ([], ["--udp"]):
        rc, out, err = send("--account", plain, "--data", "1602 00 000", "--seq",
                            str(3 + len(udp)), *to, *udp)
        assert rc == 0 and out == "ACK %04d #%s\n" % (3 + len(udp), plain), (rc, out, err)
    when = clock_now(live)
    rc, out, err = send("--account", secret, "--token", "SIA-DCS", "--data", "Nri1/RP0000",
                        *to, env={"NOTALONE_DC09_KEY": KEY192})
    assert rc == 0, (rc, out, err)
    assert out == "ACK 0001 #%s (receiver time %s)\n" % (secret, when.strftime(
        "%H:%M:%S %m-%d-%Y")), out
    # A plain message from the account that requires encryption is refused.
    rc, out, err = send("--account", secret, "--data", "1602 00 000", *to)
    assert rc == 1 and out.startswith("DUH 0001 #%s" % secret), (rc, out, err)
    # A stale encrypted message: NAK with the receiver's time.
    stale = Send(now=when - datetime.timedelta(minutes=10))
    rc, out, err = stale("--account", secret, "--data", "1602 00 000", *to,
                         env={"NOTALONE_DC09_KEY": KEY192})
    assert rc == 1, (rc, out, err)
    assert out.startswith("NAK: receiver time %s" % when.strftime("%H:%M:%S %m-%d-%Y")), out
    assert "outside the receiver's window" in out
    assert err == "", err

    op = Cli(live)
    events = op.json("dc09", "events", "--device", str(dev["id"]), "--link",
                     env={"NOTALONE_TOKEN": crew.operator.token, "TZ": "UTC",
                          "NOTALONE_NOW": fmt_time(when)})
    assert sorted(e["seq"] for e in events) == [3, 4], events
    assert {e["transport"] for e in events} == {"tcp", "udp"}
    assert all(e["code"] == "1602" and e["worker_id"] == crew.worker.id for e in events)

"""SIA DC-09 frames for tests, written apart from the receiver's C code.

Only the standard library and pycryptodome (Debian's python3-pycryptodome): it builds messages
as a transmitter would (plain or AES-CBC encrypted, hex or binary CRC, with or without a
receiver number, timestamps, extended data) and reads the receiver's answers (ACK, NAK,
DUH; an encrypted ACK is decrypted and its timestamp returned).

    frame = build("SIA-DCS", 1, "1234", "Nri1/PA501", key=bytes(16), timestamp=now())
    answer = parse_answer(reply, key=bytes(16))   # {"token": "ACK", "seq": "0001", ...}

A frame is  LF crc 0LLL "id" seq [Rrcvr] Lpref #acct [data] [x-data]... [timestamp] CR
where crc (CRC-16/ARC) and LLL (hex) both cover the bytes from the opening quote to the end
of the timestamp.
"""

import datetime
import os
import re

try:
    # Debian's python3-pycryptodome installs the package as Cryptodome.
    from Cryptodome.Cipher import AES
except ImportError:
    from Crypto.Cipher import AES

TS_FORMAT = "_%H:%M:%S,%m-%d-%Y"
PAD_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crc16(data):
    """CRC-16/ARC of data (bytes): polynomial 0x8005 reflected, initial value 0."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def now():
    """The current UTC time, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def format_timestamp(ts):
    """'_HH:MM:SS,MM-DD-YYYY' of an aware (or UTC naive) datetime."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(datetime.timezone.utc)
    return ts.strftime(TS_FORMAT)


def parse_timestamp(text):
    """The UTC datetime of 'HH:MM:SS,MM-DD-YYYY' (with or without the leading '_')."""
    text = text[1:] if text.startswith("_") else text
    if not re.fullmatch(r"\d\d:\d\d:\d\d,\d\d-\d\d-\d\d\d\d", text):
        raise ValueError("malformed timestamp %r" % text)
    ts = datetime.datetime.strptime(text, TS_FORMAT[1:])
    return ts.replace(tzinfo=datetime.timezone.utc)


def wrap(message, crc_binary=False, length=None, crc=None):
    """Frames message (bytes from the opening quote to the end of the timestamp):
    LF, CRC as four upper-case hex characters or two bytes, '0' and the length as three
    hex characters, the message, CR. length and crc override the true values (for tests
    of broken frames)."""
    if isinstance(message, str):
        message = message.encode("ascii")
    value = crc16(message) if crc is None else crc
    n = len(message) if length is None else length
    if n > 0xFFF:
        raise ValueError("message longer than 0xFFF bytes")
    if crc_binary:
        head = bytes([value >> 8, value & 0xFF])
    else:
        head = b"%04X" % value
    return b"\n" + head + b"0%03X" % n + message + b"\r"


def random_pad(n):
    """n padding characters (none of '|', '[' and ']')."""
    return "".join(PAD_CHARS[b % len(PAD_CHARS)] for b in os.urandom(n))


def encrypt(key, text, pad=None):
    """Upper-case hex of AES-CBC (IV of zeros) over pad '|' text; pad is made random (and
    as long as needed for a multiple of 16 bytes) when None."""
    if pad is None:
        pad = random_pad((16 - (len(text) + 1) % 16) % 16)
    clear = (pad + "|" + text).encode("ascii")
    if len(clear) % 16:
        raise ValueError("pad does not make a multiple of 16 bytes")
    cipher = AES.new(key, AES.MODE_CBC, iv=bytes(16))
    return cipher.encrypt(clear).hex().upper()


def decrypt(key, hex_text):
    """The clear text of hex_text (either case) without its pad and '|'."""
    clear = AES.new(key, AES.MODE_CBC, iv=bytes(16)).decrypt(bytes.fromhex(hex_text))
    text = clear.decode("ascii")
    pad, bar, rest = text.partition("|")
    if not bar or len(pad) > 15 or "[" in pad or "]" in pad:
        raise ValueError("decrypted text has no pad and '|'")
    return rest


def build(token, seq, account, data="", prefix="0", receiver=None, xdata="", timestamp=None,
          key=None, crc_binary=False, pad=None, data_account=None):
    """A message as a transmitter sends it, framed (bytes).

    token: "SIA-DCS", "ADM-CID", "NULL" or any other text; seq: a number (written with
    four digits) or a text written as given; receiver None: no R field; xdata: extended
    data as sent ("[XE12.5][YN55.1]"); timestamp: a datetime or None (none); key: bytes of
    16, 24 or 32 to encrypt (the token gets its '*'); pad: the encryption pad (random when
    None); data_account: write "#acct|" before the data (default: for SIA-DCS and ADM-CID).
    """
    seq_text = "%04d" % seq if isinstance(seq, int) else seq
    if data_account is None:
        data_account = token in ("SIA-DCS", "ADM-CID")
    inner = ("#%s|" % account if data_account else "") + data
    body = inner + "]" + xdata
    if timestamp is not None:
        body += format_timestamp(timestamp)
    head = '"%s%s"%s' % ("*" if key else "", token, seq_text)
    if receiver is not None:
        head += "R" + receiver
    head += "L" + prefix + "#" + account + "["
    if key:
        message = head + encrypt(key, body, pad)
    else:
        message = head + body
    return wrap(message, crc_binary=crc_binary)


def frame_length(buf):
    """The length of the frame at the start of buf (bytes beginning with LF) once it is
    all there, None while it is not. Found from the length field, never by looking for
    the CR: a binary CRC may contain one."""
    if len(buf) >= 8 and buf[7:8] == b'"':
        head = 7
    elif len(buf) >= 10:
        head = 9
    else:
        return None
    total = head + int(buf[head - 3:head], 16) + 1
    return total if len(buf) >= total else None


def split_frames(buf):
    """The complete frames at the start of buf and the bytes left over."""
    frames = []
    while True:
        start = buf.find(b"\n")
        if start < 0:
            return frames, b""
        buf = buf[start:]
        n = frame_length(buf)
        if n is None:
            return frames, buf
        frames.append(buf[:n])
        buf = buf[n:]


def unwrap(frame):
    """Checks a frame's CRC and length; returns (message bytes, crc_binary)."""
    if frame[:1] != b"\n" or frame[-1:] != b"\r":
        raise ValueError("a frame runs from LF to CR")
    crc_binary = frame[7:8] == b'"'
    head = 7 if crc_binary else 9
    message = frame[head:-1]
    if int(frame[head - 3:head], 16) != len(message) or frame[head - 4:head - 3] != b"0":
        raise ValueError("length field does not match")
    if crc_binary:
        crc = frame[1] << 8 | frame[2]
    else:
        crc = int(frame[1:5], 16)
    if crc != crc16(message):
        raise ValueError("CRC does not match")
    return message, crc_binary


HEADER = re.compile(
    r'"(?P<star>\*?)(?P<token>[A-Z-]+)"(?P<seq>\d{4})(?:R(?P<receiver>[0-9A-Fa-f]{1,6}))?'
    r"L(?P<prefix>[0-9A-Fa-f]{1,6})(?:#(?P<account>[0-9A-Fa-f]{3,16})|A0)\[(?P<rest>.*)$",
    re.S,
)


def parse_answer(frame, key=None):
    """Reads a receiver's answer (or any frame). Returns a dict: token ("ACK", "NAK",
    "DUH"), encrypted, seq, receiver (None when absent), prefix, account (None for "A0"),
    data, xdata, timestamp (datetime or None), crc_binary. An encrypted body is decrypted
    with key. ValueError when anything is malformed."""
    message, crc_binary = unwrap(frame)
    m = HEADER.match(message.decode("ascii"))
    if not m:
        raise ValueError("malformed header: %r" % message)
    rest = m.group("rest")
    if m.group("star"):
        if key is None:
            raise ValueError("encrypted answer and no key")
        rest = decrypt(key, rest)
    tail = re.fullmatch(r"(?P<data>[^\[\]]*)\](?P<x>(?:\[[^\[\]]*\])*)(?P<ts>_.{19})?", rest)
    if not tail:
        raise ValueError("malformed body: %r" % rest)
    ts = tail.group("ts")
    return {
        "token": m.group("token"),
        "encrypted": bool(m.group("star")),
        "seq": m.group("seq"),
        "receiver": m.group("receiver"),
        "prefix": m.group("prefix"),
        "account": m.group("account"),
        "data": tail.group("data"),
        "xdata": tail.group("x"),
        "timestamp": parse_timestamp(ts) if ts else None,
        "crc_binary": crc_binary,
    }


def answer(token, seq="0000", receiver=None, prefix="0", account=None, timestamp=None,
           key=None, crc_binary=False, pad=None):
    """The answer text a receiver should send, framed: ACK/DUH with '#acct' and "[]", NAK
    with "A0", and (encrypted ACK) the '[' and hex of pad '|' ']' timestamp."""
    head = '"%s%s"%s' % ("*" if key else "", token, seq)
    if receiver is not None:
        head += "R" + receiver
    head += "L" + prefix + ("#" + account if account is not None else "A0")
    ts = format_timestamp(timestamp) if timestamp is not None else ""
    if key:
        message = head + "[" + encrypt(key, "]" + ts, pad)
    else:
        message = head + "[]" + ts
    return wrap(message, crc_binary=crc_binary)

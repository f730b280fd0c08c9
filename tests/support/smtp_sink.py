#!/usr/bin/python3
"""SMTP sink for the notifier's tests.

Usage: smtp_sink.py DIR [--auth USER:PASSWORD]

Listens on a free loopback port, prints "ready PORT" and saves every message it accepts
as DIR/NNNNNN.envelope (MAIL FROM, then one RCPT TO per line) and DIR/NNNNNN.eml (the
message as received, dot-stuffing removed). With --auth, AUTH (PLAIN/LOGIN, allowed
without TLS) is required and only USER:PASSWORD is accepted. STARTTLS is not offered.
Exits when its standard input closes, so a test that dies takes it along.
"""
import argparse
import asyncio
import itertools
import logging
import os
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult


class Saver:
    def __init__(self, directory):
        self.directory = directory
        self.seq = itertools.count(1)

    def _write(self, name, data):
        tmp = os.path.join(self.directory, "." + name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.directory, name))

    async def handle_DATA(self, server, session, envelope):
        n = next(self.seq)
        lines = [envelope.mail_from] + list(envelope.rcpt_tos)
        # The .eml is written last: a test that sees it sees both files.
        self._write("%06d.envelope" % n, ("\n".join(lines) + "\n").encode())
        self._write("%06d.eml" % n, envelope.original_content)
        return "250 OK"


def authenticator_for(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == user and auth_data.password.decode() == password)
        # handled=False: aiosmtpd then sends the 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return check


def exit_on_stdin_eof():
    for _ in sys.stdin.buffer:
        pass
    os._exit(0)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--auth")
    args = ap.parse_args()
    # AUTH without TLS is what the test wants; keep aiosmtpd quiet about it.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    saver = Saver(args.dir)
    kw = {}
    if args.auth:
        user, password = args.auth.split(":", 1)
        kw = dict(authenticator=authenticator_for(user, password), auth_required=True,
                  auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(saver, decode_data=False, hostname="sink.test", **kw), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    print("ready %d" % port, flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

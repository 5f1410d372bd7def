#!/usr/bin/env python3
"""SMTP capture server for sealdrop's tests.

Accepts every message on HOST:PORT (no TLS, no auth) and writes each one, exactly as
received, into DIR as `<time>-<n>.eml`, with the SMTP envelope prepended as
`X-Sealdrop-Mail-From:` and `X-Sealdrop-Rcpt-To:` headers so a test can find the mail sent
to one address even when the headers say otherwise. Files appear atomically (written under
a temporary name, then renamed), so a reader never sees half a message.

Started by `cargo xtask test` / `cargo xtask services up` from a venv holding aiosmtpd;
stops on SIGTERM or SIGINT.
"""

import argparse
import itertools
import os
import signal
import sys
import time

from aiosmtpd.controller import Controller


class CaptureHandler:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        name = f"{time.time_ns()}-{n:05d}.eml"
        envelope_headers = f"X-Sealdrop-Mail-From: {envelope.mail_from}\r\n"
        for rcpt in envelope.rcpt_tos:
            envelope_headers += f"X-Sealdrop-Rcpt-To: {rcpt}\r\n"
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope_headers.encode("utf-8"))
            f.write(content)
        os.replace(tmp, os.path.join(self.directory, name))
        # Addresses only: message bodies may hold verification codes.
        print(f"captured {name} from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True, help="folder that receives one .eml per message")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(
        CaptureHandler(args.dir),
        hostname=args.host,
        port=args.port,
        # Tests send verification mails, not attachments; 10 MiB is plenty.
        data_size_limit=10 * 1024 * 1024,
        enable_SMTPUTF8=True,
    )
    controller.start()
    print(f"listening on {args.host}:{args.port}, writing to {args.dir}", flush=True)

    def shutdown(*_):
        controller.stop()
        sys.exit(0)

    # The controller serves from its own thread; the main thread only waits for a signal.
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()

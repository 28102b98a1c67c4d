"""Read one raw email (RFC 822) from stdin or a file and put it on the candidate's timeline.

    # an MTA pipe, e.g. Postfix: reply  unix - n n - - pipe
    #   flags=Rq user=hrmos argv=/app/manage.py receive_email --recipient ${original_recipient}
    manage.py receive_email < message.eml
    manage.py receive_email --file message.eml

Exit codes follow sysexits, which MTAs understand: 0 stored (or a duplicate), 67 (EX_NOUSER:
no company at the address, or no candidate with the sender's address; the MTA bounces with
the reason printed on stderr), 65 (EX_DATAERR: not a usable email), 75 (EX_TEMPFAIL: the
database is unavailable; the MTA retries later). See messaging/inbound_email.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from messaging.receiving import inbound_email

EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Receive one raw email (stdin or --file) onto the matching candidate's timeline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", help="read the email from this file instead of stdin")
        parser.add_argument(
            "--recipient", action="append", default=[], help="the envelope recipient (reply+<企業ID>@…); repeatable"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        raw = Path(options["file"]).read_bytes() if options["file"] else sys.stdin.buffer.read()
        try:
            result = inbound_email.receive(raw, recipients=options["recipient"])
        except inbound_email.MalformedEmail as exc:
            self.stderr.write(f"rejected: {exc}")
            sys.exit(EX_DATAERR)
        except DatabaseError as exc:
            self.stderr.write(f"temporarily unavailable: {exc}")
            sys.exit(EX_TEMPFAIL)
        if result.status == inbound_email.REJECTED:
            self.stderr.write(f"rejected: {result.text}")
            sys.exit(EX_NOUSER)
        self.stdout.write(f"{result.status}: message {result.message_pk}")

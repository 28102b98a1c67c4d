"""Print the two URLs a company registers in the LINE Developers console.

    manage.py line_urls --company PUBLIC_ID
    manage.py line_urls --demo --emulator-args   # for `python -m line_emulator seed`

`make run` uses the second form so the emulator's demo channels already know the demo
company's callback and webhook URLs.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from candidates.management.commands.seed_demo import COMPANY_NAME as DEMO_COMPANY_NAME
from hrmos.models import Company
from line_integration.models import callback_url, webhook_url


class Command(BaseCommand):
    help = "Print a company's LINE Login callback URL and Messaging API webhook URL."

    def add_arguments(self, parser: ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--company", metavar="PUBLIC_ID", help="the company's public id (企業ID)")
        which.add_argument("--demo", action="store_true", help="the company created by seed_demo")
        parser.add_argument("--emulator-args", action="store_true", help="print as LINE emulator seed arguments")

    def handle(self, *args: Any, company: str | None, demo: bool, emulator_args: bool, **options: Any) -> None:
        found = (
            Company.objects.filter(name=DEMO_COMPANY_NAME).order_by("pk").first()
            if demo
            else Company.objects.filter(public_id=company).first()
        )
        if found is None:
            raise CommandError("企業が見つかりません。" + ("先に seed_demo を実行してください。" if demo else ""))
        if emulator_args:
            self.stdout.write(f"--callback-url {callback_url(found)} --webhook-url {webhook_url(found)}")
            return
        self.stdout.write(f"コールバックURL（LINEログインチャネル）: {callback_url(found)}")
        self.stdout.write(f"Webhook URL（Messaging APIチャネル）: {webhook_url(found)}")

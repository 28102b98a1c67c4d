"""`python -m line_emulator [--host H] [--port P] [--data PATH]` serves the emulator;
`python -m line_emulator seed [--port P] [--data PATH] [--json] [--webhook-url URL] [--callback-url URL]`
creates the demo provider, channels and personas (idempotently, without the server running).
"""

import argparse
import contextlib
import os
import sys


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m line_emulator", description="Local LINE platform emulator")
    parser.add_argument("command", nargs="?", choices=["serve", "seed"], default="serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data", help="SQLite file (default var/line_emulator.sqlite3 or $LINE_EMULATOR_DATA)")
    parser.add_argument("--json", action="store_true", help="seed: print the ids and secrets as JSON")
    parser.add_argument("--webhook-url", help="seed: the Messaging API channel's webhook URL")
    parser.add_argument("--callback-url", action="append", default=[], help="seed: a LINE Login callback URL")
    return parser.parse_args(argv)


def _setup(data: str | None) -> None:
    if data:
        os.environ["LINE_EMULATOR_DATA"] = os.path.abspath(data)
    # Forced, not setdefault: a parent (pytest, make run) may carry the app's settings module.
    os.environ["DJANGO_SETTINGS_MODULE"] = "line_emulator.settings"
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.DATA_PATH.parent.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)


def main(argv: list[str]) -> None:
    args = _arguments(argv)
    _setup(args.data)
    if args.command == "seed":
        from line_emulator.seed import print_seed, seed

        print_seed(seed(webhook_url=args.webhook_url, callback_urls=args.callback_url), args.port, as_json=args.json)
        return
    from django.conf import settings

    from line_emulator.server import serve

    banner = f"LINE emulator on http://{args.host}:{args.port}/  (data: {settings.DATA_PATH})"
    try:
        with contextlib.suppress(KeyboardInterrupt):
            serve(args.host, args.port, banner)
    except OSError as error:
        sys.exit(f"LINE emulator: cannot listen on {args.host}:{args.port}: {error.strerror}")


if __name__ == "__main__":
    main(sys.argv[1:])

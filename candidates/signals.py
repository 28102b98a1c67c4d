"""Signals the candidates floor sends to the floors above, which it cannot import."""

from django.dispatch import Signal

# Sent by `manage.py seed_demo` with `company` and `now` once the demo candidates exist: each app
# adds its own demo rows for the company, idempotently (the command is safe to run again).
demo_seeded = Signal()

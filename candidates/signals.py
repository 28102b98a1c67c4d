"""News that candidates sends up to the apps above it, which it cannot import."""

from django.dispatch import Signal

# Sent at the end of `manage.py seed_demo` with `company=` (the demo company) and `now=`:
# each app above seeds its own demo rows for that company, idempotently.
demo_seeded = Signal()

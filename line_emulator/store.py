"""One writer at a time: SQLite serialises writes anyway, and a lock hands over faster than its busy wait."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

_write_lock = threading.RLock()


@contextmanager
def writing() -> Iterator[None]:
    """A write transaction. Every state change in the emulator runs inside one."""
    with _write_lock, transaction.atomic():
        yield

"""Process-wide knobs: the emulated clock, settings, injected faults and rate-limit buckets.

The clock offset and the settings are persisted in `EmulatorState` so they survive a restart;
faults and buckets live in memory only (a restart clears them, like `POST /_emu/reset`).
"""

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from line_emulator.models import EmulatorState

DEFAULT_SETTINGS: dict[str, Any] = {
    # "METHOD /path/template" -> requests per second, or {"limit": n, "per_seconds": s}.
    "rate_limits": {},
    # When the follow webhook of a login's "add friend" is sent, relative to the redirect back
    # to the app: < 0 before it (the redirect waits), 0 at the same time, > 0 after it.
    "follow_webhook_delay_ms": 0,
    "redelivery": {"count": 3, "interval_ms": 5000},
    "webhook_timeout_ms": 2000,
    "chaos": {"duplicate": False, "shuffle": False, "delay_ms": 0},
    # Plain http:// webhook URLs on 127.0.0.1/localhost; LINE itself accepts only https.
    "allow_http_webhooks": True,
    # How long a "timeout" fault holds the request before dropping the connection.
    "fault_timeout_seconds": 10,
    # Content older than this answers 410 (None: kept forever).
    "content_retention_seconds": None,
    "id_token_lifetime_seconds": 3600,
    "event_mode": "active",
}

# LINE's limits per channel and endpoint (LINE's published rate limits): (requests, per seconds).
DEFAULT_RATE_LIMITS: dict[str, tuple[float, float]] = {
    "POST /v2/bot/message/multicast": (200, 1),
    "POST /v2/oauth/accessToken": (370, 1),
    "POST /v2/bot/channel/webhook/test": (60, 3600),
    "PUT /v2/bot/channel/webhook/endpoint": (1000, 60),
    "GET /v2/bot/channel/webhook/endpoint": (1000, 60),
    "POST /v2/bot/chat/loading/start": (100, 1),
}
DEFAULT_RATE_LIMIT = (2000.0, 1.0)

FAULT_MODES = {
    "500",
    "timeout",
    "reset",
    "429-rate",
    "429-quota",
    "accept-then-500",
    "accept-then-reset",
    "accept-then-timeout",
    "202",  # content endpoints only: "still preparing"
}


@dataclass
class Fault:
    fault_id: int
    endpoint: str
    mode: str
    remaining: int
    channel_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault_id": self.fault_id,
            "endpoint": self.endpoint,
            "mode": self.mode,
            "remaining": self.remaining,
            "channel_id": self.channel_id,
        }


@dataclass
class Bucket:
    capacity: float
    per_seconds: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        rate = self.capacity / self.per_seconds
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Runtime:
    lock: threading.RLock = field(default_factory=threading.RLock)
    loaded: bool = False
    offset_seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_SETTINGS))
    faults: list[Fault] = field(default_factory=list)
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    next_fault_id: int = 1
    # Bumped by a reset so that work queued before it is dropped.
    generation: int = 0
    clock_listeners: list[Callable[[], None]] = field(default_factory=list)


_runtime = Runtime()


def _state() -> "EmulatorState":
    from line_emulator.models import EmulatorState

    state, _ = EmulatorState.objects.get_or_create(pk=1)
    return state


def _ensure_loaded() -> None:
    if _runtime.loaded:
        return
    with _runtime.lock:
        if _runtime.loaded:
            return
        state = _state()
        _runtime.offset_seconds = state.clock_offset_seconds
        _runtime.settings = _merge(copy.deepcopy(DEFAULT_SETTINGS), state.settings or {})
        _runtime.loaded = True


def _persist() -> None:
    from line_emulator.models import EmulatorState

    EmulatorState.objects.update_or_create(
        pk=1, defaults={"clock_offset_seconds": _runtime.offset_seconds, "settings": _runtime.settings}
    )


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "rate_limits":
            _merge(base[key], value)
        else:
            base[key] = value
    return base


# Clock ------------------------------------------------------------------------------------------


def now() -> datetime:
    _ensure_loaded()
    return datetime.now(UTC) + timedelta(seconds=_runtime.offset_seconds)


def now_ms() -> int:
    return int(now().timestamp() * 1000)


def monotonic() -> float:
    """A monotonic clock that jumps with `advance_clock`, for buckets and webhook scheduling."""
    _ensure_loaded()
    return time.monotonic() + _runtime.offset_seconds


def offset_seconds() -> float:
    _ensure_loaded()
    return _runtime.offset_seconds


def advance_clock(seconds: float) -> datetime:
    _ensure_loaded()
    with _runtime.lock:
        _runtime.offset_seconds += seconds
        _persist()
        listeners = list(_runtime.clock_listeners)
    for listener in listeners:
        listener()
    return now()


def on_clock_change(listener: Callable[[], None]) -> None:
    with _runtime.lock:
        _runtime.clock_listeners.append(listener)


# Settings ---------------------------------------------------------------------------------------


def setting(name: str) -> Any:
    _ensure_loaded()
    return _runtime.settings[name]


def all_settings() -> dict[str, Any]:
    _ensure_loaded()
    with _runtime.lock:
        return copy.deepcopy(_runtime.settings)


def update_settings(changes: dict[str, Any]) -> dict[str, Any]:
    _ensure_loaded()
    unknown = set(changes) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    with _runtime.lock:
        _runtime.settings = _merge(copy.deepcopy(_runtime.settings), copy.deepcopy(changes))
        if "rate_limits" in changes:
            _runtime.buckets.clear()
        _persist()
        return copy.deepcopy(_runtime.settings)


def reset() -> None:
    """Back to a fresh emulator: default settings, real time, no faults, full buckets."""
    with _runtime.lock:
        _runtime.offset_seconds = 0.0
        _runtime.settings = copy.deepcopy(DEFAULT_SETTINGS)
        _runtime.faults.clear()
        _runtime.buckets.clear()
        _runtime.generation += 1
        _runtime.loaded = True
        _persist()


def generation() -> int:
    return _runtime.generation


# Faults -----------------------------------------------------------------------------------------


def add_fault(endpoint: str, mode: str, count: int, channel_id: str | None) -> Fault:
    if mode not in FAULT_MODES:
        raise ValueError(f"mode must be one of {sorted(FAULT_MODES)}")
    with _runtime.lock:
        fault = Fault(_runtime.next_fault_id, endpoint, mode, count, channel_id)
        _runtime.next_fault_id += 1
        _runtime.faults.append(fault)
        return fault


def take_fault(endpoint: str, channel_id: str | None) -> str | None:
    """The mode of the first matching fault, consuming one of its `count`; None when none match."""
    if not _runtime.faults:
        return None
    with _runtime.lock:
        for fault in _runtime.faults:
            if fault.endpoint not in (endpoint, "*"):
                continue
            if fault.channel_id and fault.channel_id != channel_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                _runtime.faults.remove(fault)
            return fault.mode
    return None


def list_faults() -> list[dict[str, Any]]:
    with _runtime.lock:
        return [fault.as_dict() for fault in _runtime.faults]


def clear_faults() -> None:
    with _runtime.lock:
        _runtime.faults.clear()


# Rate limits ------------------------------------------------------------------------------------


def rate_limit(endpoint: str) -> tuple[float, float]:
    override = setting("rate_limits").get(endpoint)
    if isinstance(override, int | float):
        return float(override), 1.0
    if isinstance(override, dict):
        return float(override["limit"]), float(override.get("per_seconds", 1))
    return DEFAULT_RATE_LIMITS.get(endpoint, DEFAULT_RATE_LIMIT)


def take_token(channel_id: str, endpoint: str) -> bool:
    """One request through the (channel, endpoint) token bucket; False when it is empty."""
    key = (channel_id, endpoint)
    moment = monotonic()
    with _runtime.lock:
        bucket = _runtime.buckets.get(key)
        if bucket is None:
            capacity, per_seconds = rate_limit(endpoint)
            bucket = Bucket(capacity, per_seconds, capacity, moment)
            _runtime.buckets[key] = bucket
        return bucket.take(moment)

"""Autotask's limits (hourly threshold, thread limit) and faults injected on demand."""

import random
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, fields, replace

WINDOW_SECONDS = 3600  # the default length of the rolling "hour" (the window_seconds setting)
THREAD_LIMIT = 3
SCRIPT_FAULTS = ("500", "503", "429", "timeout", "drop")
# "lost": the request is carried out (a write committed), then the connection is dropped.
FAULT_KINDS = (*SCRIPT_FAULTS, "lost")


@dataclass
class FaultScript:
    method: str
    entity: str
    nth: int
    when: str = "after"  # "before" the write happens, or "after" it was committed
    fault: str = "drop"
    seen: int = 0
    fired: bool = False

    def matches(self, method: str, entity: str | None) -> bool:
        return (
            not self.fired
            and method.upper() == self.method.upper()
            and entity is not None
            and entity.lower() == self.entity.lower()
        )


@dataclass
class Settings:
    """What `POST /_sandbox/faults` can change at run time."""

    latency_ms: int = 0
    fail_rate: float = 0.0
    fail_kinds: list[str] = field(default_factory=lambda: ["500", "503", "timeout", "drop"])
    timeout_seconds: float = 30.0
    requests_per_hour: int = 10_000
    threshold_latency_scale: float = 1.0
    date_suffix: str = "Z"  # "" returns timestamps without a designator, as Autotask sometimes does
    fault_seed: int | None = None  # re-seeds the random fault decisions whenever it is set
    window_seconds: int = WINDOW_SECONDS  # the rolling window of requests_per_hour
    scripts: list[FaultScript] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Bumped whenever fault_seed is set (even to the same value): Limits re-seeds then.
        self.seed_version = 0

    def update(self, changes: dict) -> None:
        """Apply `changes`, all or nothing: a ValueError leaves every setting as it was."""
        draft = replace(self)
        draft._apply(changes)
        for item in fields(self):
            setattr(self, item.name, getattr(draft, item.name))
        if "fault_seed" in changes:
            self.seed_version += 1

    def _apply(self, changes: dict) -> None:
        for key, value in changes.items():
            if key == "scripts":
                self.scripts = [_script(item) for item in value or ()]
            elif key == "fail_kinds":
                kinds = [str(kind) for kind in value]
                unknown = set(kinds) - set(FAULT_KINDS)
                if unknown or not kinds:
                    raise ValueError(f"fail_kinds must be some of {list(FAULT_KINDS)}")
                self.fail_kinds = kinds
            elif key in ("latency_ms", "requests_per_hour"):
                setattr(self, key, int(value))
            elif key == "window_seconds":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError("window_seconds must be a whole number of seconds, at least 1")
                self.window_seconds = value
            elif key == "fault_seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("fault_seed must be an integer or null")
                self.fault_seed = value
            elif key in ("fail_rate", "timeout_seconds", "threshold_latency_scale"):
                setattr(self, key, float(value))
            elif key == "date_suffix":
                if value not in ("Z", ""):
                    raise ValueError('date_suffix must be "Z" or ""')
                self.date_suffix = value
            else:
                raise ValueError(f"unknown fault setting {key!r}")
        if not 0 <= self.fail_rate <= 1:
            raise ValueError("fail_rate must be between 0 and 1")
        if self.requests_per_hour < 1:
            raise ValueError("requests_per_hour must be at least 1")

    def as_dict(self) -> dict:
        data = asdict(self)
        data["scripts"] = [asdict(script) for script in self.scripts]
        return data


def _script(item: dict) -> FaultScript:
    try:
        script = FaultScript(
            method=str(item["method"]),
            entity=str(item["entity"]),
            nth=int(item["nth"]),
            when=str(item.get("when", "after")),
            fault=str(item.get("fault", "drop")),
        )
    except (KeyError, TypeError, ValueError):
        raise ValueError("a script needs method, entity and nth") from None
    if script.when not in ("before", "after") or script.fault not in SCRIPT_FAULTS:
        raise ValueError(f"a script's when is before/after and its fault one of {SCRIPT_FAULTS}")
    if script.nth < 1:
        raise ValueError("a script's nth counts from 1")
    return script


class Limits:
    """Counters shared by every request thread."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.window: deque[float] = deque()
        self.in_flight: Counter = Counter()
        self.max_concurrent: Counter = Counter()
        self.requests = 0
        self.by_entity: Counter = Counter()
        self.rejected_thread_limit = 0
        self.rejected_threshold = 0
        self.faults_injected = 0
        self.random = random.Random(settings.fault_seed)
        self.seed_version = settings.seed_version

    def hourly_count(self) -> int:
        with self.lock:
            self._prune(time.monotonic())
            return len(self.window)

    def _prune(self, now: float) -> None:
        while self.window and self.window[0] <= now - self.settings.window_seconds:
            self.window.popleft()

    def enter(self, code: str, bucket: str) -> bool:
        """Take a thread slot for (integration code, entity); False when 3 are taken."""
        key = f"{code}|{bucket}"
        with self.lock:
            self.requests += 1
            self.by_entity[bucket] += 1
            if self.in_flight[key] >= THREAD_LIMIT:
                self.rejected_thread_limit += 1
                return False
            self.in_flight[key] += 1
            self.max_concurrent[key] = max(self.max_concurrent[key], self.in_flight[key])
            return True

    def leave(self, code: str, bucket: str) -> None:
        with self.lock:
            self.in_flight[f"{code}|{bucket}"] -= 1

    def count_request(self) -> float | None:
        """Count one request in the rolling hour. Returns the delay to add, or None when
        the threshold is passed (the request is refused and not counted)."""
        now = time.monotonic()
        with self.lock:
            self._prune(now)
            used = len(self.window)
            threshold = self.settings.requests_per_hour
            if used >= threshold:
                self.rejected_threshold += 1
                return None
            self.window.append(now)
        share = (used + 1) / threshold
        scale = self.settings.threshold_latency_scale
        if share >= 0.75:
            return 1.0 * scale
        if share >= 0.5:
            return 0.5 * scale
        return 0.0

    def random_fault(self) -> str | None:
        """The fault kind to inject in this request, if any. Decisions are drawn under the
        lock, so a seeded generator gives the same sequence for the same requests in order."""
        settings = self.settings
        with self.lock:
            if self.seed_version != settings.seed_version:
                self.seed_version = settings.seed_version
                self.random.seed(settings.fault_seed)
            if settings.fail_rate and self.random.random() < settings.fail_rate:
                self.faults_injected += 1
                return self.random.choice(settings.fail_kinds)
        return None

    def scripted_fault(self, method: str, entity: str | None) -> FaultScript | None:
        with self.lock:
            for script in self.settings.scripts:
                if script.matches(method, entity):
                    script.seen += 1
                    if script.seen == script.nth:
                        script.fired = True
                        self.faults_injected += 1
                        return script
        return None

    def counters(self) -> dict:
        with self.lock:
            self._prune(time.monotonic())
            return {
                "requests": self.requests,
                "hourly_count": len(self.window),
                "by_entity": dict(self.by_entity),
                "max_concurrent": dict(self.max_concurrent),
                "in_flight": {key: value for key, value in self.in_flight.items() if value},
                "rejected_thread_limit": self.rejected_thread_limit,
                "rejected_threshold": self.rejected_threshold,
                "faults_injected": self.faults_injected,
            }

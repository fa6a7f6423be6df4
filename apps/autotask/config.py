"""What an `AutotaskClient` is given: its `ClientConfig` (credentials, addresses, time-outs,
retries, pacing), the `Limiter` it shares, and which addresses a request may go to."""

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

DEFAULT_DISCOVERY_URL = "https://webservices2.autotask.net/atservicesrest/"


def url_allowed(url: str, *, https_only: bool, http_hosts: tuple[str, ...] = ()) -> bool:
    """Whether a request may go to ``url``: any address, or with ``https_only`` an https://
    one, or plain http:// to one of ``http_hosts``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not https_only or scheme == "https":
        return True
    return scheme == "http" and (parts.hostname or "") in http_hosts


@dataclass(frozen=True)
class ClientConfig:
    username: str
    secret: str
    integration_code: str
    discovery_url: str = DEFAULT_DISCOVERY_URL  # where zoneInformation is asked
    zone_url: str | None = None  # ".../ATServicesRest/" once discovered
    impersonation_resource_id: int | None = None
    https_only: bool = False  # a real Autotask connection: refuse any http:// address
    http_hosts: tuple[str, ...] = ()  # ... except to these hosts (local development)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_default: float = 60.0  # the longest Retry-After honoured within a run
    pace_check_every: int = 200  # requests between ThresholdInformation checks
    pace_slow_share: float = 0.5  # past this share of the hourly threshold: slow down
    pace_stop_share: float = 0.9  # past this: stop and let the caller reschedule
    pace_delay: float = 0.5  # seconds added to each request while slowed down


class Limiter(Protocol):
    """Caps concurrent requests per connection and entity across processes."""

    def acquire(self, entity: str): ...

    def release(self, token) -> None: ...

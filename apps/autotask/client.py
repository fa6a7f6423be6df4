"""The only code in syncadmin that speaks HTTP to Autotask.

One `AutotaskClient` per connection: a pooled `requests.Session`, a timeout on every call,
zone discovery (cached by the caller and rediscovered when Autotask says the zone moved),
queries always by POST with their cursors followed by POST (falling back to `id > last`
paging), `in` batches of at most 500 ids, typed errors, retries with exponential backoff
and jitter, a shared concurrency limiter and pacing from `ThresholdInformation`.

It imports no models and reads no settings: the caller passes a `ClientConfig`, a limiter
and callbacks, and gets plain dicts back.
"""

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter

from apps.autotask.config import ClientConfig, Limiter, url_allowed
from apps.autotask.errors import (
    AutotaskAuthError,
    AutotaskError,
    AutotaskInsecureUrl,
    AutotaskNotFound,
    AutotaskThrottled,
    AutotaskUnavailable,
    AutotaskValidationError,
)
from apps.autotask.failures import failure_of, is_retryable

logger = logging.getLogger(__name__)

API_VERSION = "V1.0"
MAX_PAGE = 500
MAX_IN_BATCH = 500
EVERYTHING = [{"op": "gte", "field": "id", "value": 0}]
# Children that are written through /Contracts/{id}/{path}.
CONTRACT_CHILD_PATHS = {
    "ContractServices": "Services",
    "ContractServiceAdjustments": "ServiceAdjustments",
    "ContractServiceUnits": "ServiceUnits",
    "ContractCharges": "Charges",
    "ContractNotes": "Notes",
}


class AutotaskClient:
    def __init__(
        self,
        config: ClientConfig,
        *,
        limiter: Limiter | None = None,
        on_zone_change: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ):
        self.config = config
        self.limiter = limiter
        self.on_zone_change = on_zone_change
        self.sleep = sleep
        self.session = session or requests.Session()
        if session is None:
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
        self.requests_made = 0
        self.requests_by_entity: Counter = Counter()
        self.slowed = False
        self._since_pace_check = 0
        self._random = random.Random()  # noqa: S311 - retry jitter, not a secret

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- zone and version ----------------------------------------------------------

    @property
    def zone_url(self) -> str:
        if not self.config.zone_url:
            self.discover_zone()
        return self.config.zone_url

    @property
    def api_url(self) -> str:
        return urljoin(self.zone_url, f"{API_VERSION}/")

    def discover_zone(self) -> str:
        """Ask zoneInformation (no credentials) where this API user's zone is."""
        url = urljoin(self.config.discovery_url, f"{API_VERSION.lower()}/zoneInformation")
        data = self._call(
            "GET", url, entity="ZoneInformation", params={"user": self.config.username}, auth=False
        )
        zone = data.get("url")
        if not zone:
            raise AutotaskAuthError("Autotask did not return a zone for this API user.", url=url)
        if not zone.endswith("/"):
            zone += "/"
        self._check_scheme(zone)  # never remember a zone the secret may not be sent to
        changed = zone != self.config.zone_url
        self.config = replace(self.config, zone_url=zone)
        if changed and self.on_zone_change:
            self.on_zone_change(zone)
        return zone

    def version_information(self) -> list[str]:
        url = urljoin(self.config.discovery_url, "versioninformation")
        data = self._call("GET", url, entity="VersionInformation", auth=False)
        return list(data.get("apiVersions") or [])

    def threshold_information(self) -> dict:
        return self._call(
            "GET", f"{self.api_url}ThresholdInformation", entity="ThresholdInformation"
        )

    def check_budget(self) -> float:
        """Read the hourly usage; slow down past the slow share, stop past the stop share."""
        info = self.threshold_information()
        self._since_pace_check = 0
        threshold = info.get("externalRequestThreshold") or 0
        used = info.get("currentTimeframeRequestCount") or 0
        share = used / threshold if threshold else 0.0
        self.slowed = share >= self.config.pace_slow_share
        if share >= self.config.pace_stop_share:
            raise AutotaskThrottled(
                f"Autotask's hourly API budget is {share:.0%} used ({used} of {threshold}); "
                "syncadmin stops here so other integrations keep working, and tries again later.",
                retry_after=15 * 60,
            )
        return share

    # -- reading ---------------------------------------------------------------------

    def query(
        self,
        entity: str,
        filters: list[dict] | None = None,
        *,
        include_fields: list[str] | None = None,
        page_size: int = MAX_PAGE,
    ) -> Iterator[dict]:
        """Every matching row, page by page (POST, cursors POSTed; `id > last` fallback)."""
        filters = list(filters or EVERYTHING)
        body = {"filter": filters, "MaxRecords": page_size}
        if include_fields:
            body["IncludeFields"] = sorted({*include_fields, "id"})
        query_url = f"{self.api_url}{entity}/query"
        url, last_id = query_url, None
        while True:
            try:
                data = self._call("POST", url, entity=entity, body=body)
            except (AutotaskNotFound, AutotaskValidationError):
                if url == query_url:
                    raise
                logger.warning("Autotask refused a %s paging cursor; paging by id instead", entity)
                body = {**body, "filter": [*filters, {"op": "gt", "field": "id", "value": last_id}]}
                url = query_url
                continue
            items = data.get("items") or []
            for item in items:
                if last_id is None or item["id"] > last_id:
                    last_id = item["id"]
                yield item
            next_url = (data.get("pageDetails") or {}).get("nextPageUrl")
            if not next_url or not items:
                return
            url = next_url

    def query_all(self, entity: str, filters=None, **kwargs) -> list[dict]:
        return list(self.query(entity, filters, **kwargs))

    def get_many(self, entity: str, ids, *, include_fields: list[str] | None = None) -> list[dict]:
        """Rows by id, in `in` batches of at most 500 ids."""
        unique = sorted({int(value) for value in ids})
        found = []
        for start in range(0, len(unique), MAX_IN_BATCH):
            batch = unique[start : start + MAX_IN_BATCH]
            found += self.query_all(
                entity, [{"op": "in", "field": "id", "value": batch}], include_fields=include_fields
            )
        return found

    def count(self, entity: str, filters: list[dict] | None = None) -> int:
        data = self._call(
            "POST",
            f"{self.api_url}{entity}/query/count",
            entity=entity,
            body={"filter": list(filters or EVERYTHING)},
        )
        return int(data.get("queryCount") or 0)

    def get(self, entity: str, record_id: int) -> dict | None:
        data = self._call("GET", f"{self.api_url}{entity}/{int(record_id)}", entity=entity)
        return data.get("item")

    def entity_information(self, entity: str, detail: str | None = None) -> dict:
        suffix = f"/{detail}" if detail else ""
        return self._call("GET", f"{self.api_url}{entity}/entityInformation{suffix}", entity=entity)

    # -- writing ---------------------------------------------------------------------

    def _write_url(self, entity: str, parent_id: int | None) -> str:
        if parent_id is not None:
            return f"{self.api_url}Contracts/{int(parent_id)}/{CONTRACT_CHILD_PATHS[entity]}"
        return f"{self.api_url}{entity}"

    def create(self, entity: str, body: dict, *, parent_id: int | None = None) -> int:
        """Create one row. Never retried blindly: a lost answer may hide a created row, so
        the caller looks it up by its own key before trying again."""
        data = self._call(
            "POST", self._write_url(entity, parent_id), entity=entity, body=body, idempotent=False
        )
        return int(data["itemId"])

    def update(self, entity: str, body: dict, *, parent_id: int | None = None) -> int:
        """PATCH on the collection URL with `id` in the body (safe to repeat)."""
        if not body.get("id"):
            raise ValueError("an update needs the row's id in the body")
        data = self._call("PATCH", self._write_url(entity, parent_id), entity=entity, body=body)
        return int(data["itemId"])

    def delete(self, entity: str, record_id: int, *, parent_id: int) -> int:
        url = f"{self._write_url(entity, parent_id)}/{int(record_id)}"
        data = self._call("DELETE", url, entity=entity, idempotent=False)
        return int(data["itemId"])

    # -- the request cycle -----------------------------------------------------------

    def _headers(self) -> dict:
        headers = {
            "ApiIntegrationCode": self.config.integration_code,
            "UserName": self.config.username,
            "Secret": self.config.secret,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if self.config.impersonation_resource_id:
            headers["ImpersonationResourceId"] = str(self.config.impersonation_resource_id)
        return headers

    def _call(
        self,
        method: str,
        url: str,
        *,
        entity: str,
        body=None,
        params=None,
        auth: bool = True,
        idempotent: bool = True,
    ) -> dict:
        attempt = 0
        rediscovered = False
        while True:
            attempt += 1
            if auth and self.config.pace_check_every and entity != "ThresholdInformation":
                self._since_pace_check += 1
                if self._since_pace_check > self.config.pace_check_every:
                    self.check_budget()
            try:
                response = self._send(method, url, entity, body, params, auth)
            except requests.Timeout:
                failure = AutotaskUnavailable(
                    f"Autotask did not answer within {self.config.read_timeout:g} seconds.",
                    url=url,
                )
                retry = idempotent
            except requests.ConnectionError as problem:
                failure = AutotaskUnavailable(
                    f"The connection to Autotask failed ({type(problem).__name__}).", url=url
                )
                retry = idempotent
            else:
                if response.status_code == 200:
                    return self._json(response, url)
                failure = failure_of(response, url)
                retry = is_retryable(failure, idempotent)
                if (
                    isinstance(failure, AutotaskAuthError)
                    and auth
                    and not rediscovered
                    and self.config.zone_url
                ):
                    # Autotask answers 401/500 when a database moved to another zone.
                    rediscovered = True
                    old_zone = self.config.zone_url
                    if self.discover_zone() != old_zone:
                        url = url.replace(old_zone, self.config.zone_url)
                        attempt -= 1
                        continue
            if not retry or attempt > self.config.max_retries:
                raise failure
            delay = self._delay(attempt, failure)
            logger.info(
                "Autotask %s %s failed (%s); retry %s in %.1fs",
                method,
                entity,
                failure,
                attempt,
                delay,
            )
            self.sleep(delay)

    def _check_scheme(self, url: str) -> None:
        if url_allowed(url, https_only=self.config.https_only, http_hosts=self.config.http_hosts):
            return
        raise AutotaskInsecureUrl(
            f"Refused to send a request to {url}: an Autotask connection uses HTTPS only.",
            url=url,
        )

    def _send(self, method, url, entity, body, params, auth) -> requests.Response:
        self._check_scheme(url)
        token = self.limiter.acquire(entity) if (self.limiter and auth) else None
        try:
            if self.slowed and auth:
                self.sleep(self.config.pace_delay)
            return self.session.request(
                method,
                url,
                json=body,
                params=params,
                headers=self._headers() if auth else {"Accept": "application/json"},
                timeout=(self.config.connect_timeout, self.config.read_timeout),
            )
        finally:
            self.requests_made += 1
            self.requests_by_entity[entity] += 1
            if token is not None:
                self.limiter.release(token)

    @staticmethod
    def _json(response: requests.Response, url: str) -> dict:
        try:
            data = response.json()
        except ValueError:
            raise AutotaskUnavailable(
                "Autotask answered with something that is not JSON.", status=200, url=url
            ) from None
        if not isinstance(data, dict):
            raise AutotaskUnavailable("Autotask answered with an unexpected shape.", url=url)
        return data

    def _delay(self, attempt: int, failure: AutotaskError) -> float:
        if isinstance(failure, AutotaskThrottled) and failure.retry_after is not None:
            return min(failure.retry_after, self.config.retry_after_default)
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        return self._random.uniform(ceiling / 2, ceiling)

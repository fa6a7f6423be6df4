"""The sandbox behind its HTTP layer: one request in, one answer out.

`SandboxApp.dispatch()` logs each request and answers it: authentication, the thread and
hourly limits, faults (random and scripted), then the route (reads in `reading.py`,
writes in `writer.py`, entity information in `information.py`).
"""

import contextlib
import datetime as dt
import json
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from apps.sandbox.credentials import Credentials
from apps.sandbox.information import information
from apps.sandbox.limits import Limits, Settings
from apps.sandbox.reading import Reader
from apps.sandbox.routes import API_VERSION, Route, resolve
from apps.sandbox.store import Store
from apps.sandbox.units import UnitRows
from apps.sandbox.values import ApiError, error, method_not_allowed
from apps.sandbox.writer import Writer


@dataclass
class Response:
    status: int = 200
    body: dict | None = None
    action: str | None = None  # "drop", "lost" or "timeout": no answer at all


class SandboxApp:
    """Everything behind the HTTP layer: auth, limits, faults, queries and writes."""

    def __init__(self, store: Store, credentials: Credentials, settings: Settings):
        self.store = store
        self.credentials = credentials
        self.settings = settings
        self.units = UnitRows(store)
        self.writer = Writer(store, self.units)
        self.reader = Reader(store, self.units, settings)
        self.limits = Limits(settings)
        self.log: deque = deque(maxlen=100_000)

    # -- the request cycle -------------------------------------------------------------

    def dispatch(self, method: str, target: str, headers, body: bytes, host: str) -> Response:
        started = time.monotonic()
        parts = urlsplit(target)
        params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        segments = [segment.lower() for segment in parts.path.split("/") if segment]
        if segments[:1] == ["_sandbox"]:
            return self.inspect(method, segments[1:], parts.path, body)
        route = resolve(segments)
        response = self._answer(method, route, params, headers, body, host)
        self.log.append(
            {
                "method": method,
                "path": parts.path,
                "query": parts.query[:500],
                "status": response.status if response.action is None else None,
                "fault": response.action,
                "latency_ms": round((time.monotonic() - started) * 1000, 2),
                "entity": route.bucket if route else None,
                "time": dt.datetime.now(dt.UTC).isoformat(),
            }
        )
        return response

    def _answer(self, method, route, params, headers, body, host) -> Response:
        try:
            if route is None:
                raise ApiError(404, "The requested URL does not exist on this server.")
            if method not in route.methods:
                raise method_not_allowed(method)
            if route.kind == "version":
                return Response(body={"apiVersions": [API_VERSION]})
            if route.kind == "zone":
                return self._zone(params, host)
            self._authenticate(headers)
            code = self.credentials.integration_code
            if not self.limits.enter(code, route.bucket):
                raise ApiError(
                    429,
                    "Thread Threshold Exceeded: API thread threshold of 3 threads has been "
                    "exceeded. Please retry the request later.",
                )
            try:
                return self._within_limits(method, route, params, body, host)
            finally:
                self.limits.leave(code, route.bucket)
        except ApiError as problem:
            return Response(problem.status, problem.body)

    def _within_limits(self, method, route, params, body, host) -> Response:
        delay = self.limits.count_request()
        if delay is None:
            raise ApiError(
                429,
                "The API request threshold for this database has been exceeded "
                f"({self.settings.requests_per_hour} requests per hour). API access is "
                "suspended until the number of requests in the last 60 minutes falls below it.",
            )
        delay += self.settings.latency_ms / 1000
        if delay:
            time.sleep(delay)
        fault = self.limits.random_fault()
        if fault == "lost":
            # The work is done (a write committed), then the answer is lost on the way back.
            with contextlib.suppress(ApiError):  # a refused write is lost just the same
                self._route(method, route, params, body, host)
            return Response(action="lost")
        if fault:
            return self._fault(fault)
        script = self.limits.scripted_fault(method, route.bucket)
        if script and script.when == "before":
            return self._fault(script.fault)
        response = self._route(method, route, params, body, host)
        if script:
            return self._fault(script.fault)
        return response

    @staticmethod
    def _fault(kind: str) -> Response:
        if kind == "500":
            return Response(500, {"errors": ["An unexpected error occurred (sandbox fault)."]})
        if kind == "503":
            return Response(503, {"errors": ["The service is unavailable (sandbox fault)."]})
        if kind == "429":
            return Response(
                429,
                {
                    "errors": [
                        "API thread threshold of 3 threads has been exceeded (sandbox fault)."
                    ]
                },
            )
        return Response(action=kind)

    def _authenticate(self, headers) -> None:
        username = headers.get("UserName") or ""
        secret = headers.get("Secret") or ""
        code = headers.get("ApiIntegrationCode") or ""
        if username.lower() != self.credentials.username.lower():
            raise error(
                "Unable to authenticate: the user name is not an API user of this database."
            )
        if secret != self.credentials.secret:
            raise ApiError(401, "Authentication failed: the secret does not match the user name.")
        if code != self.credentials.integration_code:
            raise error("Unable to authenticate: the API integration code is not valid.")
        impersonation = headers.get("ImpersonationResourceId")
        if impersonation is not None and not impersonation.strip().isdigit():
            raise error("ImpersonationResourceId must be the id of a resource.")

    def _zone(self, params, host) -> Response:
        if params.get("user", "").lower() != self.credentials.username.lower():
            raise error("Zone information could not be determined")
        return Response(
            body={
                "zoneName": "Sandbox",
                "url": f"http://{host}/ATServicesRest/",
                "webUrl": f"http://{host}/",
                "ci": 0,
            }
        )

    # -- routes --------------------------------------------------------------------

    def _route(self, method, route: Route, params, body: bytes, host) -> Response:
        kind = route.kind
        if kind == "threshold":
            return Response(
                body={
                    "externalRequestThreshold": self.settings.requests_per_hour,
                    "requestThresholdTimeframe": 60,
                    "currentTimeframeRequestCount": self.limits.hourly_count(),
                }
            )
        if kind == "info":
            return Response(body=information(self.store, route))
        if kind in ("query", "count"):
            search = self.reader.search(method, route.entity, params, body)
            if kind == "count":
                rows = self.reader.matching(route.entity, search.predicate)
                return Response(body={"queryCount": len(rows)})
            origin = "GET" if method == "GET" else "POST"
            page = self.reader.page(route, search, host, origin, anchor=-1, history=[])
            return Response(body=page)
        if kind == "next":
            return Response(body=self.reader.next_page(method, route, params, body, host))
        if kind == "item":
            record = self.reader.rows_by_id(route.entity).get(route.record_id)
            return Response(body={"item": self.reader.render(route.entity, record)})
        if kind == "child":
            if method == "GET":
                return Response(body=self.reader.child_list(route, params, host))
            return self._write(method, route, body)
        if kind == "child_item":
            record = self.reader.rows_by_id(route.entity).get(route.record_id)
            if record is not None and record.get("contractID") != route.parent_id:
                record = None
            if method == "DELETE":
                with self.store.lock:
                    deleted = self.writer.delete(
                        route.entity, route.record_id, parent_id=route.parent_id
                    )
                return Response(body={"itemId": deleted})
            return Response(body={"item": self.reader.render(route.entity, record)})
        if kind == "collection":
            return self._write(method, route, body)
        raise ApiError(404, "The requested URL does not exist on this server.")

    def _write(self, method, route: Route, body: bytes) -> Response:
        data = self._json_body(body)
        with self.store.lock:
            if method == "POST":
                item_id = self.writer.create(route.entity, data, parent_id=route.parent_id)
            else:
                item_id = self.writer.update(
                    route.entity, data, parent_id=route.parent_id, replace=method == "PUT"
                )
        return Response(body={"itemId": item_id})

    @staticmethod
    def _json_body(body: bytes):
        if not body:
            raise error("The request body is empty.")
        try:
            return json.loads(body)
        except ValueError:
            raise error("The request body is not valid JSON.") from None

    # -- inspection ------------------------------------------------------------------

    def inspect(self, method: str, segments: list[str], path: str, body: bytes) -> Response:
        from apps.sandbox.inspection import inspect

        return inspect(self, method, segments, path, body)

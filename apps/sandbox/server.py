"""The sandbox's HTTP server: Autotask's URL surface over a threaded stdlib server.

`SandboxApp.dispatch()` turns one request into one answer; `Handler` only moves bytes.
"""

import contextlib
import datetime as dt
import hashlib
import json
import socket
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

from apps.sandbox.credentials import DEFAULT_CREDENTIALS, Credentials
from apps.sandbox.limits import Limits, Settings
from apps.sandbox.query import parse_search, parse_search_text, validate_cursor_paging
from apps.sandbox.rules import Writer, merge_udfs, picklist_values
from apps.sandbox.schema import (
    CONTRACT_CHILDREN,
    ENTITIES,
    ENTITIES_BY_LOWER,
    ROOT_QUERYABLE,
    Entity,
)
from apps.sandbox.seed import seed_store
from apps.sandbox.store import Store
from apps.sandbox.units import UnitRows
from apps.sandbox.values import ApiError, error, method_not_allowed

API_VERSION = "V1.0"
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass
class Response:
    status: int = 200
    body: dict | None = None
    action: str | None = None  # "drop", "lost" or "timeout": no answer at all


@dataclass
class Route:
    kind: str
    methods: tuple[str, ...]
    entity: Entity | None = None
    parent_id: int | None = None
    record_id: int | None = None
    detail: str | None = None

    @property
    def bucket(self) -> str:
        return self.entity.name if self.entity else self.kind


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def resolve(segments: list[str]) -> Route | None:
    """Match a lower-cased path to a route; None for an unknown path (404)."""
    if len(segments) < 2 or segments[0] != "atservicesrest":
        return None
    if segments[1:] == ["versioninformation"]:
        return Route("version", ("GET",))
    if segments[1] != API_VERSION.lower() or len(segments) < 3:
        return None
    rest = segments[2:]
    if rest == ["zoneinformation"]:
        return Route("zone", ("GET",))
    if rest == ["thresholdinformation"]:
        return Route("threshold", ("GET",))
    entity = ENTITIES_BY_LOWER.get(rest[0])
    if entity is None:
        return None
    if entity.name == "Contracts" and len(rest) >= 3 and _number(rest[1]) is not None:
        return _resolve_child(_number(rest[1]), rest[2:])
    if entity.parent and entity.name not in ROOT_QUERYABLE and not entity.root_create:
        return None  # e.g. ContractNotes: only under Contracts/{id}/Notes
    if len(rest) == 1:
        methods = []
        if entity.can_create and (entity.parent is None or entity.root_create):
            methods.append("POST")
        if entity.can_update and entity.parent is None:
            methods += ["PATCH", "PUT"]
        return Route("collection", tuple(methods), entity)
    if rest[1] == "entityinformation":
        return _info_route(entity, rest[2:])
    if entity.name not in ROOT_QUERYABLE:
        return None
    if rest[1:] == ["query"]:
        return Route("query", ("GET", "POST"), entity)
    if rest[1:] == ["query", "count"]:
        return Route("count", ("GET", "POST"), entity)
    if rest[1:] == ["query", "next"]:
        return Route("next", ("GET", "POST"), entity)
    if len(rest) == 2 and _number(rest[1]) is not None:
        return Route("item", ("GET",), entity, record_id=_number(rest[1]))
    return None


def _info_route(entity: Entity, rest: list[str], parent_id=None) -> Route | None:
    if not rest:
        return Route("info", ("GET",), entity, parent_id=parent_id)
    if rest in (["fields"], ["userdefinedfields"]):
        return Route("info", ("GET",), entity, parent_id=parent_id, detail=rest[0])
    return None


def _resolve_child(parent_id: int, rest: list[str]) -> Route | None:
    child = CONTRACT_CHILDREN.get(rest[0])
    if child is None:
        return None
    readable = child.name != "ContractServiceAdjustments"
    if len(rest) == 1:
        methods = ["GET"] if readable else []
        if child.can_create:
            methods.append("POST")
        if child.can_update:
            methods += ["PATCH", "PUT"]
        return Route("child", tuple(methods), child, parent_id=parent_id)
    if rest[1] == "entityinformation":
        return _info_route(child, rest[2:], parent_id)
    if len(rest) == 2 and _number(rest[1]) is not None:
        methods = ["GET"] if readable else []
        if child.can_delete:
            methods.append("DELETE")
        return Route("child_item", tuple(methods), child, parent_id, _number(rest[1]))
    return None


class SandboxApp:
    """Everything behind the HTTP layer: auth, limits, faults, queries and writes."""

    def __init__(self, store: Store, credentials: Credentials, settings: Settings):
        self.store = store
        self.credentials = credentials
        self.settings = settings
        self.units = UnitRows(store)
        self.writer = Writer(store, self.units)
        self.limits = Limits(settings)
        self.log: deque = deque(maxlen=100_000)
        self.cursors: OrderedDict[str, dict] = OrderedDict()
        self.cursor_lock = threading.Lock()
        self.datetime_fields = {
            name: [field.name for field in entity.fields if field.data_type == "datetime"]
            for name, entity in ENTITIES.items()
        }

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
            return Response(body=self._information(route))
        if kind in ("query", "count"):
            data = self._search_data(method, params, body)
            search = parse_search(route.entity, data, self._udf_names(route.entity))
            if kind == "count":
                rows = self._matching(route.entity, search.predicate)
                return Response(body={"queryCount": len(rows)})
            origin = "GET" if method == "GET" else "POST"
            return self._page(route, search, host, origin, anchor=-1, history=[])
        if kind == "next":
            return self._next(method, route, params, body, host)
        if kind == "item":
            record = self._rows_by_id(route.entity).get(route.record_id)
            return Response(body={"item": self._render(route.entity, record)})
        if kind == "child":
            if method == "GET":
                return self._child_list(route, params, host)
            return self._write(method, route, body)
        if kind == "child_item":
            record = self._rows_by_id(route.entity).get(route.record_id)
            if record is not None and record.get("contractID") != route.parent_id:
                record = None
            if method == "DELETE":
                with self.store.lock:
                    deleted = self.writer.delete(
                        route.entity, route.record_id, parent_id=route.parent_id
                    )
                return Response(body={"itemId": deleted})
            return Response(body={"item": self._render(route.entity, record)})
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

    def _search_data(self, method, params, body: bytes) -> dict:
        if method == "GET":
            if "search" not in params:
                raise error("Invalid query: the search parameter is required.")
            return parse_search_text(params["search"])
        if not body:
            raise error("Invalid query: the request body is empty.")
        return parse_search_text(body.decode("utf-8", errors="replace"))

    # -- reading -------------------------------------------------------------------

    def _rows_by_id(self, entity: Entity) -> dict[int, dict]:
        if entity.name == "ContractServiceUnits":
            return self.units.all()
        return self.store.tables[entity.name]

    def _matching(self, entity: Entity, predicate, parent_id=None) -> list[dict]:
        with self.store.lock:
            rows = list(self._rows_by_id(entity).values())
        if parent_id is not None:
            rows = [row for row in rows if row.get("contractID") == parent_id]
        matched = [row for row in rows if predicate(row)]
        matched.sort(key=lambda row: row["id"])
        return matched

    def _udf_names(self, entity: Entity) -> set[str]:
        return {item["name"] for item in self.store.udf_definitions(entity.name)}

    def _render(self, entity: Entity, record: dict | None, include: list[str] | None = None):
        if record is None:
            return None
        names = include if include is not None else [field.name for field in entity.fields]
        item = {name: record.get(name) for name in names}
        suffix = self.settings.date_suffix
        if suffix:
            for name in self.datetime_fields[entity.name]:
                if item.get(name):
                    item[name] += suffix
        if entity.has_udfs:
            item["userDefinedFields"] = merge_udfs(
                self.store, entity, record.get("userDefinedFields"), None
            )
        else:
            item["userDefinedFields"] = []
        return item

    def _page(self, route: Route, search, host, origin, *, anchor, history, query_id=None):
        entity = route.entity
        page_size = search.max_records
        matched = self._matching(entity, search.predicate, route.parent_id)
        after = [row for row in matched if row["id"] > anchor]
        page = after[:page_size]
        base = f"http://{host}/ATServicesRest/{API_VERSION}"
        if route.kind == "child":
            cursor_path = f"{base}/Contracts/{route.parent_id}/{entity.child_path}"
        else:
            cursor_path = f"{base}/{entity.name}/query/next"
        search_text = json.dumps(search.raw, separators=(",", ":"))
        if origin == "POST" and query_id is None:
            query_id = self._remember(search_text)

        def cursor(previous, next_anchor):
            paging = {"pageSize": page_size, "previousIds": previous, "nextIds": [next_anchor]}
            if origin == "POST":
                paging["queryId"] = query_id
            url = f"{cursor_path}?paging={quote(json.dumps(paging, separators=(',', ':')))}"
            if origin == "GET" and route.kind != "child":
                url += f"&search={quote(search_text)}"
            return url

        next_url = cursor([*history, anchor], page[-1]["id"]) if len(after) > page_size else None
        prev_url = cursor(history[:-1], history[-1]) if history else None
        return Response(
            body={
                "items": [self._render(entity, row, search.include_fields) for row in page],
                "pageDetails": {
                    "count": len(page),
                    "requestCount": page_size,
                    "prevPageUrl": prev_url,
                    "nextPageUrl": next_url,
                },
            }
        )

    def _remember(self, search_text: str) -> str:
        query_id = hashlib.sha1(search_text.encode(), usedforsecurity=False).hexdigest()[:16]
        with self.cursor_lock:
            self.cursors[query_id] = json.loads(search_text)
            self.cursors.move_to_end(query_id)
            while len(self.cursors) > 1000:
                self.cursors.popitem(last=False)
        return query_id

    def _next(self, method, route: Route, params, body: bytes, host) -> Response:
        if "paging" not in params:
            raise error("Invalid paging parameter.")
        paging = validate_cursor_paging(params["paging"])
        if "search" in params:
            data = parse_search_text(params["search"])
            origin = "GET"
        elif method == "GET":
            # A cursor from a POST query must be POSTed, as Autotask requires.
            raise method_not_allowed("GET")
        else:
            origin = "POST"
            if body.strip():
                data = parse_search_text(body.decode("utf-8", errors="replace"))
            else:
                with self.cursor_lock:
                    data = self.cursors.get(paging["queryId"] or "")
                if data is None:
                    raise error("The paging cursor has expired: run the query again.")
        data = {key: value for key, value in data.items() if key.lower() != "maxrecords"} | {
            "MaxRecords": paging["pageSize"]
        }
        search = parse_search(route.entity, data, self._udf_names(route.entity))
        return self._page(
            route,
            search,
            host,
            origin,
            anchor=paging["after"],
            history=paging["previousIds"],
            query_id=paging["queryId"],
        )

    def _child_list(self, route: Route, params, host) -> Response:
        data = {"filter": [{"op": "exist", "field": "id"}]}
        anchor, history, page_size = -1, [], 500
        if "paging" in params:
            paging = validate_cursor_paging(params["paging"])
            anchor, history, page_size = paging["after"], paging["previousIds"], paging["pageSize"]
        data["MaxRecords"] = page_size
        search = parse_search(route.entity, data, set())
        return self._page(route, search, host, "GET", anchor=anchor, history=history)

    def _information(self, route: Route) -> dict:
        entity = route.entity
        if route.detail == "fields":
            return {"fields": [self._field_info(entity, field) for field in entity.fields]}
        if route.detail == "userdefinedfields":
            return {
                "fields": [self._udf_info(item) for item in self.store.udf_definitions(entity.name)]
            }
        # What the entity supports, wherever it is written (children through Contracts).
        can_query = route.parent_id is not None or entity.name in ROOT_QUERYABLE
        can_create = entity.can_create
        can_update = entity.can_update

        def access(flag):
            return "All" if flag else "None"

        return {
            "info": {
                "name": entity.name,
                "canCreate": can_create,
                "canDelete": entity.can_delete,
                "canQuery": can_query,
                "canUpdate": can_update,
                "userAccessForCreate": access(can_create),
                "userAccessForDelete": access(entity.can_delete),
                "userAccessForQuery": access(can_query),
                "userAccessForUpdate": access(can_update),
                "hasUserDefinedFields": entity.has_udfs,
                "supportsWebhookCallouts": False,
            }
        }

    def _field_info(self, entity: Entity, field) -> dict:
        values = picklist_values(self.store, entity, field)
        return {
            "name": field.name,
            "dataType": field.data_type,
            "length": field.length if field.data_type == "string" else 0,
            "isRequired": field.required,
            "isReadOnly": field.read_only,
            "isQueryable": True,
            "isReference": field.reference is not None,
            "referenceEntityType": ENTITIES[field.reference].singular if field.reference else "",
            "isPickList": values is not None,
            "picklistValues": None
            if values is None
            else [
                {
                    "value": str(value),
                    "label": label,
                    "isDefaultValue": False,
                    "sortOrder": position,
                    "parentValue": "",
                    "isActive": True,
                    "isSystem": not isinstance(field.picklist, str),
                }
                for position, (value, label) in enumerate(sorted(values.items()), start=1)
            ],
            "picklistParentValueField": "",
            "isSupportedWebhookField": False,
        }

    @staticmethod
    def _udf_info(definition: dict) -> dict:
        return {
            "name": definition["name"],
            "label": definition.get("label", definition["name"]),
            "type": definition.get("type", "string"),
            "length": definition.get("length", 100),
            "description": definition.get("description", ""),
            "isRequired": False,
            "isReadOnly": False,
            "isQueryable": True,
            "isReference": False,
            "referenceEntityType": "",
            "isPickList": False,
            "picklistValues": None,
            "picklistParentValueField": "",
            "defaultValue": None,
            "isSupportedWebhookField": False,
        }

    # -- inspection ------------------------------------------------------------------

    def inspect(self, method: str, segments: list[str], path: str, body: bytes) -> Response:
        from apps.sandbox.inspection import inspect

        return inspect(self, method, segments, path, body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AutotaskSandbox/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(Response(413, {"errors": ["The request body is too large."]}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        response = self.server.app.dispatch(method, self.path, self.headers, body, host)
        if response.action == "timeout":
            time.sleep(self.server.app.settings.timeout_seconds)
        if response.action in ("timeout", "drop", "lost"):
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        data = json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def log_message(self, format, *args):  # the request log is kept by SandboxApp
        return


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app: SandboxApp):
        super().__init__(address, Handler)
        self.app = app
        self._thread = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_background(self) -> "SandboxServer":
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()
        self.app.store.close()


def build_app(
    *,
    db: str | None = None,
    seed: str = "demo",
    credentials: Credentials = DEFAULT_CREDENTIALS,
    **settings,
) -> SandboxApp:
    store = Store(db)
    if store.is_empty():
        seed_store(store, seed)
    fault_settings = Settings()
    fault_settings.update(settings)
    return SandboxApp(store, credentials, fault_settings)


def start_sandbox(host: str = "127.0.0.1", port: int = 0, **options) -> SandboxServer:
    """Start a sandbox in a background thread (tests, benchmarks); returns the server."""
    server = SandboxServer((host, port), build_app(**options))
    return server.start_in_background()

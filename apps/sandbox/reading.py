"""Reading: the rows a query matches, rendered as Autotask shows them, a page at a time
with the paging cursors to the pages around it (a POSTed query's search remembered)."""

import hashlib
import json
import threading
from collections import OrderedDict
from urllib.parse import quote

from apps.sandbox.body import merge_udfs
from apps.sandbox.limits import Settings
from apps.sandbox.query import parse_search, parse_search_text, validate_cursor_paging
from apps.sandbox.routes import API_VERSION, Route
from apps.sandbox.schema import ENTITIES, Entity
from apps.sandbox.store import Store
from apps.sandbox.units import UnitRows
from apps.sandbox.values import error, method_not_allowed


class Reader:
    """Queries, counts, items and child lists; answers are the JSON bodies."""

    def __init__(self, store: Store, units: UnitRows, settings: Settings):
        self.store = store
        self.units = units
        self.settings = settings
        self.cursors: OrderedDict[str, dict] = OrderedDict()
        self.cursor_lock = threading.Lock()
        self.datetime_fields = {
            name: [field.name for field in entity.fields if field.data_type == "datetime"]
            for name, entity in ENTITIES.items()
        }

    def rows_by_id(self, entity: Entity) -> dict[int, dict]:
        if entity.name == "ContractServiceUnits":
            return self.units.all()
        return self.store.tables[entity.name]

    def matching(self, entity: Entity, predicate, parent_id=None) -> list[dict]:
        with self.store.lock:
            rows = list(self.rows_by_id(entity).values())
        if parent_id is not None:
            rows = [row for row in rows if row.get("contractID") == parent_id]
        matched = [row for row in rows if predicate(row)]
        matched.sort(key=lambda row: row["id"])
        return matched

    def udf_names(self, entity: Entity) -> set[str]:
        return {item["name"] for item in self.store.udf_definitions(entity.name)}

    def render(self, entity: Entity, record: dict | None, include: list[str] | None = None):
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

    # -- queries ---------------------------------------------------------------------

    def search(self, method, entity: Entity, params, body: bytes):
        """The search of a `/query` or `/query/count` request (GET: `search=`, POST: body)."""
        if method == "GET":
            if "search" not in params:
                raise error("Invalid query: the search parameter is required.")
            data = parse_search_text(params["search"])
        else:
            if not body:
                raise error("Invalid query: the request body is empty.")
            data = parse_search_text(body.decode("utf-8", errors="replace"))
        return parse_search(entity, data, self.udf_names(entity))

    def page(self, route: Route, search, host, origin, *, anchor, history, query_id=None):
        entity = route.entity
        page_size = search.max_records
        matched = self.matching(entity, search.predicate, route.parent_id)
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
        return {
            "items": [self.render(entity, row, search.include_fields) for row in page],
            "pageDetails": {
                "count": len(page),
                "requestCount": page_size,
                "prevPageUrl": prev_url,
                "nextPageUrl": next_url,
            },
        }

    def _remember(self, search_text: str) -> str:
        query_id = hashlib.sha1(search_text.encode(), usedforsecurity=False).hexdigest()[:16]
        with self.cursor_lock:
            self.cursors[query_id] = json.loads(search_text)
            self.cursors.move_to_end(query_id)
            while len(self.cursors) > 1000:
                self.cursors.popitem(last=False)
        return query_id

    def next_page(self, method, route: Route, params, body: bytes, host) -> dict:
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
        search = parse_search(route.entity, data, self.udf_names(route.entity))
        return self.page(
            route,
            search,
            host,
            origin,
            anchor=paging["after"],
            history=paging["previousIds"],
            query_id=paging["queryId"],
        )

    def child_list(self, route: Route, params, host) -> dict:
        data = {"filter": [{"op": "exist", "field": "id"}]}
        anchor, history, page_size = -1, [], 500
        if "paging" in params:
            paging = validate_cursor_paging(params["paging"])
            anchor, history, page_size = paging["after"], paging["previousIds"], paging["pageSize"]
        data["MaxRecords"] = page_size
        search = parse_search(route.entity, data, set())
        return self.page(route, search, host, "GET", anchor=anchor, history=history)

"""Autotask's URL surface: which route a path is, and the methods each route allows."""

from dataclasses import dataclass

from apps.sandbox.schema import CONTRACT_CHILDREN, ENTITIES_BY_LOWER, ROOT_QUERYABLE, Entity

API_VERSION = "V1.0"


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

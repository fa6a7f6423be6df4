"""The billing data comes first in the data flow: no module of `apps/catalog` imports an
app that builds on it (the Autotask connections, the mappings, the sandbox). The markups
the charts need come through `settings.CATALOG_DEFAULT_MARKUPS` instead."""

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

CATALOG = ROOT / "apps" / "catalog"
LATER_APPS = ("apps.autotask", "apps.mappings", "apps.sandbox")


def _names(node: ast.AST, package: str) -> list[str]:
    """The modules an import statement may load: `import a.b` → a.b; `from a import b` →
    a and a.b (b may be a module: `from apps import autotask`); a relative import is
    resolved against ``package``, the importing module's package."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [base, *(".".join(filter(None, (base, alias.name))) for alias in node.names)]


def later_app_imports(source: str, package: str = "apps.catalog") -> list[tuple[int, str]]:
    """(line, app) for every import statement, at any depth, that reaches a later app."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = _names(node, package)
        for app in LATER_APPS:
            if any(name == app or name.startswith(f"{app}.") for name in names):
                found.append((node.lineno, app))
    return sorted(found)


def test_the_check_sees_every_form_of_import():
    source = (
        "import apps.autotask.models\n"
        "from apps.mappings.models import OfferMapping\n"
        "from apps import sandbox\n"
        "def later():\n"
        "    from apps.autotask import models\n"
        "from apps.catalog import prices\n"
        "import apps.autotasks_like_name\n"
        "from . import models\n"
        "from ..autotask import models\n"
    )
    assert later_app_imports(source, package="apps.catalog") == [
        (1, "apps.autotask"),
        (2, "apps.mappings"),
        (3, "apps.sandbox"),
        (5, "apps.autotask"),
        (9, "apps.autotask"),
    ]
    assert later_app_imports("from ...sandbox import x\n", "apps.catalog.importers") == [
        (1, "apps.sandbox")
    ]


@pytest.mark.parametrize(
    "path", sorted(CATALOG.rglob("*.py")), ids=lambda path: str(path.relative_to(CATALOG))
)
def test_no_catalog_module_imports_a_later_app(path: Path):
    package = ".".join(path.relative_to(ROOT).parent.parts)
    assert later_app_imports(path.read_text(encoding="utf-8"), package) == []

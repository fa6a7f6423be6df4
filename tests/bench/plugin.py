"""The pytest plugin `make bench` loads: the `figure` fixture benchmarks record with."""

import pytest

FIGURES = pytest.StashKey[list]()


@pytest.fixture
def figure(request):
    """Record a measured figure, e.g. figure("import speed", 31250, "lines/s", ">= 25000")."""

    def record(name: str, value: float, unit: str, target: str = "") -> None:
        request.config.stash.setdefault(FIGURES, []).append(
            {
                "benchmark": request.node.nodeid,
                "name": name,
                "value": value,
                "unit": unit,
                "target": target,
            }
        )

    return record

"""`make bench`: run the benchmarks under tests/bench/ and write docs/benchmarks.md.

Each benchmark is a function `bench_*` in a `bench_*.py` module that records its figures
with the `figure` fixture. The file lists the machine, the database and the date with
every figure, so numbers from different machines are never compared unawares.
"""

import datetime
import os
import platform
import sys
from pathlib import Path

import pytest

from tests.bench.plugin import FIGURES

ROOT = Path(__file__).resolve().parents[2]


class Collector:
    def __init__(self):
        self.figures: list[dict] = []
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.nodeid] = report.outcome

    def pytest_sessionfinish(self, session):
        self.figures = session.config.stash.get(FIGURES, [])


def machine_description() -> list[str]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kilobytes = int(meminfo.read_text().split()[1])
        memory = f", {kilobytes / 1024 / 1024:.1f} GiB memory"
    database = os.environ.get("DATABASE_URL", "").split("://", 1)[0] or "sqlite (default)"
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores{memory}",
        f"- System: {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- Database: {database}; broker: {'redis' if os.environ.get('REDIS_URL') else 'orm'}",
    ]


def render(collector: Collector, when: datetime.datetime) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (tests/bench/run.py); do not edit by hand.",
        "",
        f"- Date: {when:%Y-%m-%d %H:%M} UTC",
        *machine_description(),
        "",
    ]
    if not collector.outcomes:
        lines.append("No benchmarks yet: later issues add them under `tests/bench/`.")
        return "\n".join(lines) + "\n"
    lines += [
        "| benchmark | figure | value | unit | target |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for item in collector.figures:
        lines.append(
            f"| {item['benchmark']} | {item['name']} | {item['value']:,.2f} | "
            f"{item['unit']} | {item['target']} |"
        )
    failed = sorted(nodeid for nodeid, outcome in collector.outcomes.items() if outcome != "passed")
    if failed:
        lines += ["", "Did not finish: " + ", ".join(failed)]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Usage: python -m tests.bench.run [OUTPUT.md [BENCHMARK_DIR]]"""
    output = Path(argv[0]) if argv else ROOT / "docs" / "benchmarks.md"
    folder = Path(argv[1]) if len(argv) > 1 else ROOT / "tests" / "bench"
    collector = Collector()
    status = pytest.main(
        [
            str(folder),
            "-p",
            "tests.bench.plugin",
            "-o",
            "python_files=bench_*.py",
            "-o",
            "python_functions=bench_*",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            "-q",
        ],
        plugins=[collector],
    )
    output.write_text(render(collector, datetime.datetime.now(datetime.UTC)))
    print(f"Figures written to {output}")
    no_tests = pytest.ExitCode.NO_TESTS_COLLECTED
    return 0 if status in (pytest.ExitCode.OK, no_tests) else int(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make bench` writes what benchmarks measure to a Markdown file with the machine and date."""

import subprocess
import sys

from tests.conftest import ROOT

SAMPLE = """
def bench_counting(figure):
    figure("numbers counted", sum(1 for _ in range(1000)), "numbers", ">= 1000")


def test_not_a_benchmark():
    raise AssertionError("make bench collects bench_* functions only")
"""


def run_bench(tmp_path, folder):
    output = tmp_path / "benchmarks.md"
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.run", str(output), str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, output


def test_figures_are_written_with_machine_and_date(tmp_path):
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "bench_sample.py").write_text(SAMPLE)
    result, output = run_bench(tmp_path, folder)
    assert result.returncode == 0, result.stdout + result.stderr
    text = output.read_text()
    assert "- Date: " in text
    assert "- Machine: " in text
    assert "| numbers counted | 1,000.00 | numbers | >= 1000 |" in text


def test_no_benchmarks_is_not_a_failure(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    result, output = run_bench(tmp_path, folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No benchmarks yet" in output.read_text()


def test_make_test_never_collects_benchmarks():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "tests/bench/" not in result.stdout

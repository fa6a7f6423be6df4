"""Importing a generated 1,000,000-line daily rated usage file (the issue's target: 25,000
lines a second or more on PostgreSQL, peak memory under 400 MB)."""

import resource
import subprocess
import sys
import time

import pytest
from django.db import connection

from apps.catalog.importing import import_billing
from apps.catalog.models import BillingLine
from tests.catalog.generator import azure_plan_recon_row, write_recon_csv
from tests.conftest import ROOT

LINES = 1_000_000
WRITE = """
import sys
from tests.catalog.generator import usage_rows, write_usage_csv
write_usage_csv(sys.argv[1], usage_rows(int(sys.argv[2]), customers=24))
"""


@pytest.mark.django_db(transaction=True)
def bench_import_a_million_usage_lines(figure, tmp_path):
    path = tmp_path / "usage-1m.csv"
    # Written by another process, so this one's peak memory is the import's alone.
    subprocess.run([sys.executable, "-c", WRITE, str(path), str(LINES)], cwd=ROOT, check=True)
    # Daily usage goes to its invoice's report: the invoice (G127575010) comes first.
    invoice = write_recon_csv(tmp_path / "recon.csv", [azure_plan_recon_row()])
    import_billing([(invoice, invoice.name)], actor="bench")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    outcome = import_billing([(path, path.name)], actor="bench")
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert outcome.files[0].lines == LINES
    assert BillingLine.objects.count() == LINES + 1
    per_second = LINES / seconds
    database = connection.vendor
    figure(
        f"import: daily usage lines per second ({database})",
        per_second,
        "lines/s",
        ">= 25,000 on PostgreSQL",
    )
    figure(f"import: peak memory of the importing process ({database})", peak_mb, "MB", "< 400")
    figure("import: memory before the import", before / 1024, "MB")
    figure("import: file size", path.stat().st_size / 1e6, "MB")
    if database == "postgresql":
        assert per_second >= 25_000
    assert peak_mb < 400

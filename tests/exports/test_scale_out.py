import json
import pytest
from apps.catalog.models import BillingReport
from apps.exports.services import export_run_create, export_run_execute
from tests.exports.harness import autotask_state
from tests.exports.small import small_world

pytestmark = pytest.mark.django_db

def test_peek(sandbox, tmp_path):
    c = small_world(sandbox, tmp_path)
    run = export_run_create(connection=c, report=BillingReport.objects.get())
    run = export_run_execute(run_id=run.pk)
    print(run.status, run.counts)
    s = autotask_state(sandbox)
    print(json.dumps(s, indent=1, default=str)[:12000])
    print(sandbox.admin("GET", "/counters").json())

"""The product reads the sandbox's demo credentials from `apps.sandbox.credentials`, never
through the sandbox's server: checked in a fresh interpreter (on this test run's
database), where `sys.modules` shows exactly what the product pulled in."""

import json
import subprocess
import sys

import pytest

from apps.autotask.models import Connection
from apps.sandbox.credentials import DEFAULT_CREDENTIALS
from tests.conftest import ROOT, child_env

# Creates a sandbox connection with the real command, then imports every module of the
# product's apps that deal with connections, and reports the sandbox modules loaded.
PROBE = """
import importlib, json, pkgutil, sys
import django
django.setup()
from django.core.management import call_command
call_command("connection", "create", "Probe", "--sandbox")
command = sorted(name for name in sys.modules if name.startswith("apps.sandbox"))
import apps.autotask, apps.core
for package in (apps.autotask, apps.core):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
product = sorted(name for name in sys.modules if name.startswith("apps.sandbox"))
print(json.dumps({"command": command, "product": product}))
"""
# django.setup() imports each installed app's package and its apps.py.
ALLOWED = {"apps.sandbox", "apps.sandbox.apps", "apps.sandbox.credentials"}


@pytest.mark.django_db(transaction=True)
def test_the_connection_command_uses_the_credentials_without_the_sandbox_server():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=child_env(DJANGO_SETTINGS_MODULE="syncadmin.settings"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout.strip().splitlines()[-1])

    assert "apps.sandbox.credentials" in imported["command"]
    for modules in imported.values():
        assert "apps.sandbox.server" not in modules
        assert set(modules) <= ALLOWED
    probe = Connection.objects.get(name="Probe")
    assert (probe.is_sandbox, probe.username, probe.integration_code) == (
        True,
        DEFAULT_CREDENTIALS.username,
        DEFAULT_CREDENTIALS.integration_code,
    )
    assert probe.secret() == DEFAULT_CREDENTIALS.secret

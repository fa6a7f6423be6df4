"""Settings come from the environment; production refuses to start without its secrets."""

import json
import subprocess

import pytest
from cryptography.fernet import Fernet

from tests.conftest import MANAGE, ROOT

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 60 + "-production-like-secret-key-with-enough-variety-7f3a9c",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "syncadmin.example.com",
    "DATABASE_URL": "postgresql://syncadmin:pw@db.example.com:5432/syncadmin",
    "REDIS_URL": "redis://cache.example.com:6379/0",
}
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'], "
    "'db_name': str(s.DATABASES['default']['NAME']), 'broker': sorted(k for k in "
    "('orm', 'redis') if k in s.Q_CLUSTER), 'cache': s.CACHES['default']['BACKEND'], "
    "'hosts': s.ALLOWED_HOSTS, 'ssl_redirect': s.SECURE_SSL_REDIRECT}))"
)


def run_settings(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "SYNCADMIN_VAR_DIR": str(tmp_path / "var")}
    return subprocess.run(
        [MANAGE[0], "-c", PROBE],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "syncadmin.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_come_from_the_environment(tmp_path):
    result = run_settings(PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen == {
        "debug": False,
        "engine": "django.db.backends.postgresql",
        "db_name": "syncadmin",
        "broker": ["redis"],
        "cache": "django.core.cache.backends.redis.RedisCache",
        "hosts": ["syncadmin.example.com"],
        "ssl_redirect": True,
    }


def test_local_defaults_are_sqlite_under_var_and_the_orm_broker(tmp_path):
    result = run_settings({"DEBUG": "1"}, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["engine"] == "django.db.backends.sqlite3"
    assert seen["db_name"] == str(tmp_path / "var" / "syncadmin.sqlite3")
    assert seen["broker"] == ["orm"]
    assert seen["cache"] == "django.core.cache.backends.db.DatabaseCache"
    # Keys generated for local use are kept, private, and reused on the next start.
    secret_file = tmp_path / "var" / "secret_key"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    first = secret_file.read_text()
    assert run_settings({"DEBUG": "1"}, tmp_path).returncode == 0
    assert secret_file.read_text() == first


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ALLOWED_HOSTS"])
def test_production_without_a_secret_stops_and_names_it(tmp_path, missing):
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = run_settings(env, tmp_path)
    assert result.returncode != 0
    assert f"The environment variable {missing} is required when DEBUG is off" in result.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


def test_a_bad_encryption_key_is_refused_by_name(tmp_path):
    result = run_settings({**PRODUCTION, "FIELD_ENCRYPTION_KEY": "not-a-key"}, tmp_path)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY: key 1 is not a Fernet key" in result.stderr


def test_a_second_encryption_key_is_accepted_for_rotation(tmp_path):
    keys = f"{Fernet.generate_key().decode()},{PRODUCTION['FIELD_ENCRYPTION_KEY']}"
    result = run_settings({**PRODUCTION, "FIELD_ENCRYPTION_KEY": keys}, tmp_path)
    assert result.returncode == 0, result.stderr


def test_debug_must_be_a_known_word(tmp_path):
    result = run_settings({**PRODUCTION, "DEBUG": "maybe"}, tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_check_deploy_reports_no_warnings(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SYNCADMIN_VAR_DIR": str(tmp_path / "var"), **PRODUCTION}
    result = subprocess.run(
        [*MANAGE, "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_static_files_collect_for_production(tmp_path):
    """The manifest storage used with DEBUG off can process every packaged asset."""
    env = {"PATH": "/usr/bin:/bin", "SYNCADMIN_VAR_DIR": str(tmp_path / "var"), **PRODUCTION}
    result = subprocess.run(
        [*MANAGE, "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "var" / "static" / "staticfiles.json").read_text())
    for asset in (
        "bootstrap/css/bootstrap.min.css",
        "bootstrap/js/bootstrap.bundle.min.js",
        "django_htmx/htmx-2.min.js",
        "css/syncadmin.css",
    ):
        assert asset in manifest["paths"]

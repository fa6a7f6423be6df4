"""Shared fixtures: users per role, and the environment for child processes."""

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.core.management.commands import flush
from django.db import connections

from apps.accounts.roles import Role, role_group
from apps.audit import db_guard
from apps.sandbox.server import DEFAULT_CREDENTIALS, start_sandbox

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]
TEST_PASSWORD = "correct-horse-battery-staple"


def log_in(client, username: str, password: str = TEST_PASSWORD) -> bool:
    """``client.login`` as the sign-in page authenticates: django-axes needs the request,
    here one from the test client's own address.

    A test's shortcut, not a sign-in under test: it writes no "Sign In" audit entry, so a
    test reading the audit log sees only what it did (tests/accounts/ sign in through the
    form and check those entries)."""
    from django.contrib.auth.signals import user_logged_in
    from django.http import HttpRequest

    from apps.accounts import signals

    request = HttpRequest()
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    uid = signals.SIGN_IN_DISPATCH_UID
    user_logged_in.disconnect(dispatch_uid=uid)
    try:
        return client.login(request=request, username=username, password=password)
    finally:
        user_logged_in.connect(signals.on_user_logged_in, dispatch_uid=uid)


def sign_in(client, user):
    """The Django test client, signed in as ``user`` (the sign-in must succeed)."""
    assert log_in(client, user.username)
    return client


def _sqlite_test_files() -> list[Path]:
    return sorted((ROOT / "var").glob("test-*.sqlite3*"))


def _pid_of(path: Path) -> int | None:
    digits = path.name.removeprefix("test-").split(".", 1)[0]
    return int(digits) if digits.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pytest_configure(config):
    """Each test run has its own SQLite test database (settings name it after the process
    id). Remove those of runs that were killed: a new database file beside an old
    write-ahead log fails with "disk I/O error"."""
    for path in _sqlite_test_files():
        pid = _pid_of(path)
        if pid is not None and pid != os.getpid() and not _alive(pid):
            path.unlink(missing_ok=True)


def pytest_unconfigure(config):
    for path in _sqlite_test_files():
        if _pid_of(path) == os.getpid():
            path.unlink(missing_ok=True)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Tests sign in hundreds of times; the production hasher is slow on purpose (about a
    quarter of a second a sign-in). Tests hash with a fast one; what is checked is who may
    sign in, not how hard a hash is to crack."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def no_progress_from_other_tests():
    """Run numbers start again in every test database: progress, heartbeats and cancel
    requests a test left in the progress files must not reach the next test's runs. (The
    file cache is this process's own folder; Redis keys are left alone, since clearing
    Redis would clear the other processes' queues too.)"""
    from django.core.cache import caches
    from django.core.cache.backends.filebased import FileBasedCache

    progress = caches["progress"]
    if isinstance(progress, FileBasedCache):
        progress.clear()
    yield


@pytest.fixture(scope="session", autouse=True)
def flush_past_the_audit_guard():
    """Transactional tests end with ``manage.py flush`` (TRUNCATE on PostgreSQL, DELETE on
    SQLite), which the audit table's triggers refuse. In tests only, flush drops the
    triggers, empties the tables and puts the triggers back."""
    original = flush.Command.handle

    def handle(self, **options):
        connection = connections[options["database"]]
        db_guard.uninstall(connection)
        try:
            return original(self, **options)
        finally:
            db_guard.install(connection)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, role: Role | None) -> object:
        user = django_user_model.objects.create_user(username=username, password=TEST_PASSWORD)
        if role is not None:
            user.groups.add(role_group(role))
        return user

    return make


@pytest.fixture
def viewer(make_user):
    return make_user("vera-viewer", Role.VIEWER)


@pytest.fixture
def operator(make_user):
    return make_user("otto-operator", Role.OPERATOR)


@pytest.fixture
def administrator(make_user):
    return make_user("ada-admin", Role.ADMINISTRATOR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**overrides: str) -> dict[str, str]:
    """Environment for a manage.py child process that uses this test run's database."""
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ)
    env["DEBUG"] = "1"
    env["KEY_SPACE"] = settings.KEY_SPACE  # this process's Redis keys, queue and progress
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{settings_dict['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgresql://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
        if settings_dict.get("PASSWORD"):
            env["DATABASE_URL"] = env["DATABASE_URL"].replace(
                f"{settings_dict['USER']}@",
                f"{settings_dict['USER']}:{settings_dict['PASSWORD']}@",
            )
    env.update(overrides)
    return env


# -- the Autotask sandbox, started on a free port for each test, spoken to over HTTP --


@dataclass
class Sandbox:
    root: str  # http://127.0.0.1:PORT
    api: str  # http://127.0.0.1:PORT/ATServicesRest/V1.0
    headers: dict
    session: requests.Session

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.api + path, headers=self.headers, timeout=30, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.post(
            self.api + path, json=json, headers=self.headers, timeout=30, **kwargs
        )

    def patch(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.patch(
            self.api + path, json=json, headers=self.headers, timeout=30, **kwargs
        )

    def put(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.put(
            self.api + path, json=json, headers=self.headers, timeout=30, **kwargs
        )

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.session.delete(self.api + path, headers=self.headers, timeout=30, **kwargs)

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        """The inspection API: admin("POST", "/faults", json={...})."""
        return self.session.request(method, f"{self.root}/_sandbox{path}", timeout=30, **kwargs)

    def insert(self, entity: str, items: list[dict]) -> list[int]:
        response = self.admin("POST", f"/records/{entity}", json={"items": items})
        response.raise_for_status()
        return response.json()["ids"]


@pytest.fixture
def sandbox_server():
    server = start_sandbox(port=0, seed="empty")
    yield server
    server.shutdown()


@pytest.fixture
def sandbox(sandbox_server):
    session = requests.Session()
    headers = {
        "UserName": DEFAULT_CREDENTIALS.username,
        "Secret": DEFAULT_CREDENTIALS.secret,
        "ApiIntegrationCode": DEFAULT_CREDENTIALS.integration_code,
    }
    yield Sandbox(
        root=sandbox_server.url,
        api=f"{sandbox_server.url}/ATServicesRest/V1.0",
        headers=headers,
        session=session,
    )
    session.close()

"""docker-compose.yml, the Dockerfile and the README agree with the code."""

import re
import shlex

import yaml

from tests.conftest import ROOT

REQUIRED_ENVIRONMENT = {
    "DEBUG",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def makefile_variable(name: str) -> str:
    text = (ROOT / "Makefile").read_text()
    return re.search(rf"^{name} = (.+)$", text, re.MULTILINE).group(1).strip()


def test_services():
    services = compose()["services"]
    assert set(services) == {"web", "worker", "db", "redis"}


def test_web_and_worker_share_one_image_built_here_and_one_environment():
    services = compose()["services"]
    web, worker = services["web"], services["worker"]
    assert web["image"] == worker["image"]
    assert web["build"] == worker["build"] == "."
    assert (ROOT / "Dockerfile").is_file()
    assert web["environment"] == worker["environment"]
    assert set(web["environment"]) >= REQUIRED_ENVIRONMENT
    assert web["environment"]["DEBUG"] == "0"
    assert web["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "@db:5432/" in web["environment"]["DATABASE_URL"]
    assert web["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_worker_runs_the_command_the_makefile_runs():
    worker = compose()["services"]["worker"]
    assert worker["command"] == ["python", *shlex.split(makefile_variable("WORKER_CMD"))]
    # Scalable: no fixed name or published port that a second copy would collide with.
    assert "container_name" not in worker
    assert "ports" not in worker


def test_only_web_migrates_and_workers_wait_for_it():
    services = compose()["services"]
    web_command = " ".join(services["web"]["command"])
    assert "manage.py migrate" in web_command
    assert "gunicorn syncadmin.wsgi" in web_command
    assert "migrate" not in " ".join(services["worker"]["command"])
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_database_and_redis_have_health_checks():
    services = compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["web"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["redis"]["image"].startswith("redis:")
    assert services["web"]["depends_on"]["redis"]["condition"] == "service_healthy"


def environment_variables_read_by_the_code() -> set[str]:
    names = set()
    for path in [*ROOT.glob("syncadmin/*.py"), *ROOT.glob("apps/**/*.py")]:
        text = path.read_text()
        names |= set(re.findall(r'environ(?:\.get)?\(\s*"([A-Z_]+)"', text))
        names |= set(re.findall(r'env_(?:bool|int|list|secret)\(\s*"([A-Z_]+)"', text))
        names |= set(re.findall(r'fernet_keys\(\s*"([A-Z_]+)"', text))
    names.discard("DJANGO_SETTINGS_MODULE")
    return names


def test_readme_starts_with_the_two_commands_and_explains_every_variable():
    readme = (ROOT / "README.md").read_text()
    first_commands = re.findall(r"^make \w+", readme, re.MULTILINE)[:2]
    assert first_commands == ["make run", "make test"]
    names = environment_variables_read_by_the_code()
    assert names >= REQUIRED_ENVIRONMENT
    undocumented = sorted(name for name in names if f"`{name}`" not in readme)
    assert not undocumented, f"README.md does not explain: {undocumented}"
    for role in ("Viewer", "Operator", "Administrator"):
        assert f"**{role}**" in readme
    assert "--scale worker=" in readme

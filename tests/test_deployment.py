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


def worker_host_compose() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "worker-host.compose.yml").read_text())


def deployment_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Deployment with docker-compose", 1)[1].split("\n## ", 1)[0]


def media_target(service: dict) -> str:
    """Where the service mounts the uploaded files: MEDIA_ROOT in the image."""
    var_dir = re.search(r"SYNCADMIN_VAR_DIR=(\S+)", (ROOT / "Dockerfile").read_text()).group(1)
    targets = [volume.rsplit(":", 1)[1] for volume in service["volumes"]]
    assert f"{var_dir}/media" in targets
    return f"{var_dir}/media"


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


def test_two_workers_by_default_and_web_once():
    services = compose()["services"]
    # deploy.replicas is what `docker compose` honours without swarm; `--scale` overrides
    # it. `scale` beside it would have to agree, so only one of them is set.
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "scale" not in services["worker"]
    for name in ("web", "db", "redis"):
        assert services[name].get("deploy", {}).get("replicas", 1) == 1
        assert "scale" not in services[name]
    assert re.search(r"two\s+copies\s+by\s+default", deployment_section())


def test_web_and_workers_share_the_uploaded_files():
    services = compose()["services"]
    assert media_target(services["web"]) == media_target(services["worker"])


def test_worker_host_compose_runs_workers_only_against_the_first_host():
    main = compose()["services"]["worker"]
    services = worker_host_compose()["services"]
    assert set(services) == {"worker"}
    worker = services["worker"]
    assert worker["image"] == main["image"]
    assert (ROOT / "deploy" / worker["build"]).resolve() == ROOT.resolve()
    assert worker["command"] == main["command"]
    assert "migrate" not in " ".join(worker["command"])
    assert "ports" not in worker and "container_name" not in worker
    assert worker["deploy"]["replicas"] == 2
    # The same environment, but for where PostgreSQL and Redis are.
    environment, expected = worker["environment"], main["environment"]
    assert set(environment) == set(expected)
    where = {"DATABASE_URL", "REDIS_URL"}
    assert {k: v for k, v in environment.items() if k not in where} == {
        k: v for k, v in expected.items() if k not in where
    }
    assert "@${MAIN_HOST:?set MAIN_HOST}:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"] == "redis://${MAIN_HOST:?set MAIN_HOST}:6379/0"
    # The uploads the first host's web saved, at the path their run recorded.
    assert media_target(worker) == media_target(main)
    assert worker["volumes"] == [f"${{MEDIA_DIR:?set MEDIA_DIR}}:{media_target(main)}"]


def test_readme_explains_workers_on_other_hosts():
    section = deployment_section()
    assert "deploy/worker-host.compose.yml" in section
    assert "python manage.py qcluster" in section
    assert "--scale worker=" in section
    # The first host's override is valid and shares what the worker hosts need.
    [override] = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    services = yaml.safe_load(override)["services"]
    main = compose()["services"]
    assert {volume.rsplit(":", 1)[1] for volume in services["web"]["volumes"]} == {
        media_target(main["web"])
    }
    assert services["worker"]["volumes"] == services["web"]["volumes"]
    assert services["db"]["ports"][0].endswith(":5432:5432")
    assert services["redis"]["ports"][0].endswith(":6379:6379")
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
        assert f"`{name}`" in section
    for word in ("migrate", "NTP", "RUN_STALE_SECONDS", "interrupted"):
        assert word in section


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

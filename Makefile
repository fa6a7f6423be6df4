# syncadmin: `make run` starts the product, `make test` checks it. See README.md.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

# The processes `make run` starts; docker-compose.yml runs the same worker command.
WEB_CMD = manage.py runserver --noreload 127.0.0.1:8000
WORKER_CMD = manage.py qcluster
SANDBOX_CMD = manage.py autotask_sandbox --port 8765 --db var/sandbox.sqlite3 --seed demo

.PHONY: help setup run sandbox migrate test lint format bench lock clean

help:
	@echo "make run    set up and start syncadmin on http://127.0.0.1:8000 (web + worker)"
	@echo "make test   set up, lint and run the whole test suite"
	@echo "make bench  run the benchmarks and write docs/benchmarks.md"
	@echo "make sandbox  run only the Autotask sandbox on http://127.0.0.1:8765"
	@echo "make lock   re-pin requirements*.lock from pyproject.toml"

$(INSTALLED): requirements-dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	@touch $@

setup: $(INSTALLED)

# Local use: DEBUG on unless set, keys generated once under var/.
run: export DEBUG ?= 1
run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py ensure_demo_admin
	$(PY) manage.py connection create Sandbox --sandbox --if-missing
	$(PY) manage.py supervise web="$(WEB_CMD)" worker="$(WORKER_CMD)" sandbox="$(SANDBOX_CMD)"

sandbox: setup
	$(PY) $(SANDBOX_CMD)

migrate: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# The suite runs in TEST_PROCESSES parallel processes (pytest-xdist): most of its time is
# spent waiting for workers, browsers and servers, not on a core. Each process has its own
# test database and its own Redis keys (settings.KEY_SPACE). TEST_PROCESSES=0: one process.
TEST_PROCESSES ?= 4
test: export DEBUG ?= 1
test: lint
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist worksteal

# Benchmarks measure PostgreSQL (the production database) unless DATABASE_URL says otherwise.
bench: export DEBUG ?= 1
bench: export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/syncadmin
bench: setup
	$(PY) -m tests.bench.run

lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet pip-tools
	$(VENV)-lock/bin/pip-compile --quiet --upgrade --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(VENV)-lock/bin/pip-compile --quiet --strip-extras --allow-unsafe --extra dev \
		--no-emit-index-url --no-emit-find-links -c requirements.lock \
		-o requirements-dev.lock pyproject.toml
	rm -rf $(VENV)-lock

clean:
	rm -rf $(VENV) var/static

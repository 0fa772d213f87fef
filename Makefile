# Two commands: `make run` serves the shop with demo data, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint format compare lab clean

$(VENV)/.run-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: install, migrate, load the demo catalogue and admin, serve on 127.0.0.1:8000
run: $(VENV)/.run-installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py ensure_demo_admin
	$(PY) manage.py runserver $(HOST):$(PORT)

## serve: the same under gunicorn with DEBUG off (needs DJANGO_SECRET_KEY and CART_TOKEN_KEYS)
serve: $(VENV)/.run-installed
	@echo "Collecting static files into staticfiles/ (hashed and compressed; up to a minute the first time)..."
	DJANGO_DEBUG=0 $(PY) manage.py collectstatic --noinput --verbosity 0
	DJANGO_DEBUG=0 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=0 $(VENV)/bin/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers 2

## test: lint, format check and the whole test suite
test: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

## compare: load benchmarks and fault drills of both channels (a few minutes; COMPARE_ARGS="--rounds 5")
compare: $(VENV)/.dev-installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compare $(COMPARE_ARGS)

## lab: the real topology on one machine, one scenario after another (LAB_ARGS="--seconds 5";
## LAB_SCENARIOS="failover" for one); distance needs root for its namespaces and tc
LAB_SCENARIOS ?= distance failover
lab: $(VENV)/.dev-installed
	$(PY) manage.py migrate --noinput
	@status=0; for scenario in $(LAB_SCENARIOS); do \
		$(PY) manage.py lab $$scenario $(LAB_ARGS) || status=1; \
	done; exit $$status

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .hypothesis

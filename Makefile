# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SKYTRAIN := $(VENV)/bin/skytrain
EXAMPLES := examples/giphy examples/organization examples/media

.PHONY: demo test lint bench schemas clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(SKYTRAIN) validate $(EXAMPLES)
	$(SKYTRAIN) render examples/giphy --env staging -o build/demo/giphy-staging
	$(SKYTRAIN) render examples/giphy --env production --target marathon
	$(SKYTRAIN) routes --fleet examples --env production --out build/demo/routes
	$(PY) -m skytrain.demo

test: $(VENV)/.installed
	$(VENV)/bin/ruff check skytrain tests bench
	$(PY) -m pytest -n 2 -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check skytrain tests bench
	$(VENV)/bin/ruff format --check skytrain tests bench

bench: $(VENV)/.installed
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

# overlay.schema.json is generated from application.schema.json; a test keeps them in step
schemas: $(VENV)/.installed
	$(SKYTRAIN) schema overlay > schemas/overlay.schema.json

clean:
	rm -rf $(VENV) build .pytest_cache

# The two commands that set everything up: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean test-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sprechzimmer serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy domain application infrastructure interfaces projections bench sprechzimmer_protocol
	$(BIN)/mypy --strict sprechzimmer_protocol interfaces/client

# The relay-only call test runs Debian's coturn on 127.0.0.1; install it when missing (needs root and apt).
test-deps:
	@command -v turnserver >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ apt-get update -qq >/dev/null; apt-get install -y -qq --no-install-recommends coturn >/dev/null; }; } || \
		{ echo "coturn fehlt: bitte 'apt-get install -y coturn' ausführen" >&2; exit 1; }

test: lint test-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP) test-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

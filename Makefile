# The two commands that set everything up: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean test-deps web web-test node-check api-types

# The browser app (web/): built when its sources or package-lock.json changed. Node.js >= 20.19 (Vite 8).
WEB_INSTALLED := web/node_modules/.installed
WEB_STAMP := web/dist/.built
WEB_SOURCES := $(shell find web/src web/join web/scripts -type f 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json web/package.json
NODE_OK := const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

node-check:
	@node -e '$(NODE_OK)' 2>/dev/null || { \
		echo "Node.js ab Version 20.19 wird für die Browser-Anwendung benötigt (gefunden: $$(node --version 2>/dev/null || echo keins))." >&2; \
		echo "Node.js >= 20.19 is required to build the web app (found: $$(node --version 2>/dev/null || echo none))." >&2; \
		exit 1; }

$(WEB_INSTALLED): web/package-lock.json web/package.json
	@$(MAKE) --no-print-directory node-check
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_STAMP): $(WEB_INSTALLED) $(WEB_SOURCES) web/package-lock.json
	cd web && npm run build
	touch $@

web: $(WEB_STAMP)

# The app's request/response types, generated from the API's OpenAPI document (tests/web checks they are current).
api-types: $(STAMP) $(WEB_INSTALLED)
	$(BIN)/python -c 'import json; from interfaces.http.openapi import build_spec; print(json.dumps(build_spec()))' \
		> web/openapi.json
	cd web && npx openapi-typescript openapi.json -o src/app/api-types.ts && rm openapi.json

web-test: $(WEB_INSTALLED)
	cd web && npx tsc --noEmit
	cd web && npm test

run: $(STAMP) $(WEB_STAMP)
	$(BIN)/sprechzimmer serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy domain application infrastructure interfaces projections bench sprechzimmer_protocol
	$(BIN)/mypy --strict sprechzimmer_protocol interfaces/client

# The relay-only call test runs Debian's coturn on 127.0.0.1, the browser tests Debian's Chromium (without
# recommends: ~480 MB otherwise; never `playwright install`); install them when missing (needs root and apt).
test-deps:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ apt-get update -qq >/dev/null; apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; }; } || \
		{ echo "Chromium fehlt: bitte 'apt-get install -y --no-install-recommends chromium fonts-liberation' ausführen" >&2; exit 1; }
	@command -v turnserver >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ apt-get update -qq >/dev/null; apt-get install -y -qq --no-install-recommends coturn >/dev/null; }; } || \
		{ echo "coturn fehlt: bitte 'apt-get install -y coturn' ausführen" >&2; exit 1; }

test: lint test-deps web-test $(WEB_STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP) test-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist

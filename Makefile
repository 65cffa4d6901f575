# Two commands on a fresh machine: `make demo` (the playground in your browser) and `make test`.
# Each creates .venv and installs everything on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup pot demo test browser postgres bench clean gpu-pack gpu-dry-run gpu-land

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch 2.13.0 is the CPU build this machine keeps on disk; an unpinned torch pulls GBs of CUDA.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	# invisible-watermark declares the GUI OpenCV, which needs libGL: keep only the headless build's cv2.
	$(BIN)/python -m pip uninstall -q -y opencv-python
	$(BIN)/python -m pip install -q --force-reinstall --no-deps 'opencv-python-headless>=4.8'
	touch $(STAMP)

# The compiled catalogues (bot/locales/*/LC_MESSAGES/figment.mo): built strictly from the .po files
# (bot.i18n also builds them at import when missing or older than their .po).
setup: $(STAMP)
	$(BIN)/python -c "from bot import i18n; i18n.compile_all(strict=True)"

# Debian's Chromium for the playground's browser test (Playwright drives it; it never downloads one).
# Best effort ("-"): if a package cannot be installed, the tests that need it skip and say why.
browser:
	-@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: browser tests will be skipped (install Debian's chromium)"; fi; }

# A local PostgreSQL for the store's PostgreSQL tests (they skip when none is reachable).
postgres:
	-@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  command -v pg_ctlcluster >/dev/null 2>&1 || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; \
	  service postgresql start >/dev/null; \
	  su postgres -c "psql -qtc \"SELECT 1 FROM pg_roles WHERE rolname='figment'\" | grep -q 1 || \
	    psql -qc \"CREATE USER figment PASSWORD 'figment' CREATEDB\"" && \
	  su postgres -c "psql -qtc \"SELECT 1 FROM pg_database WHERE datname='figment_test'\" | grep -q 1 || \
	    createdb -O figment figment_test"; \
	else echo "not root: PostgreSQL tests will be skipped unless FIGMENT_TEST_POSTGRES_URL points at a server"; fi

# First run: where ../shared/faces exists, the playground imports a sample of it by itself
# (FIGMENT_STARTER_PHOTOS; one set in the environment wins).
demo: setup
	$(if $(wildcard ../shared/faces),FIGMENT_STARTER_PHOTOS="$${FIGMENT_STARTER_PHOTOS-../shared/faces}") $(BIN)/figment demo

test: setup browser postgres
	$(BIN)/pytest -q

# The English source catalogue, from every N_/_/ngettext/loc/NC_ text (docs/languages.md).
pot: setup
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k NC_:1c,2 -k loc -k ngettext:1,2 -k pgettext:1c,2 \
	  -c TRANSLATORS: --no-location --sort-output --project=Figment --copyright-holder=Figment \
	  -o bot/locales/figment.pot bot

bench: setup
	$(BIN)/figment bench db

clean:
	rm -rf $(VENV) .pytest_cache

# GPU training sessions (docs/gpu-training.md): pack the parts, try the prepared command on this
# CPU with a tiny budget, take a session's results in (make gpu-land RESULTS=folder).
gpu-pack: setup
	$(BIN)/figment gpu pack

gpu-dry-run: setup
	rm -rf /tmp/figment-dry-run
	OUT=/tmp/figment-dry-run/train PY=$(BIN)/python bash generator/gpu_train.sh train --stage /tmp/figment-dry-run/stage \
	    --device cpu --batch 4 --session-seconds 120 --first-bench-seconds 0
	OUT=/tmp/figment-dry-run/eval PY=$(BIN)/python bash generator/gpu_train.sh eval --stage /tmp/figment-dry-run/stage \
	    --device cpu --eval-n 40
	ls -la /tmp/figment-dry-run/train /tmp/figment-dry-run/train/state /tmp/figment-dry-run/eval

gpu-land: setup
	$(BIN)/figment gpu land $(RESULTS) $(if $(EVAL),--eval $(EVAL))

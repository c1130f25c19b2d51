# Set-up and the two everyday commands. `make play` plays the shipped model, `make test` tests;
# both create .venv first. TORCH_SPEC picks the torch build (default: the CPU wheel).
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install play game test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

play: install
	$(BIN)/wm-video play

game: install
	$(BIN)/wm-video game

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench: install
	$(BIN)/python benchmarks/bench_game.py
	$(BIN)/python benchmarks/bench_vae.py
	$(BIN)/python benchmarks/bench_dit.py
	$(BIN)/python benchmarks/bench_rollout.py

clean:
	rm -rf $(VENV) build *.egg-info

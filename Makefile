# Two commands do everything on a fresh machine (see README.md):
#   make book   -- create .venv, install requirements.txt, build the website (every notebook executed, warnings are errors)
#   make test   -- lint + unit/property/statistical tests + nbval over every notebook + browser test of the built site
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: book test setup lint unit notebooks browser student bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

_build/html/index.html:
	$(MAKE) book

lint: setup
	$(BIN)/ruff check code tests benchmarks scripts
	$(BIN)/ruff format --check code tests benchmarks scripts

unit: setup
	$(BIN)/pytest tests

notebooks: setup
	$(BIN)/pytest --nbval chapters

test: lint unit notebooks

bench: setup
	$(BIN)/python benchmarks/bench_conv.py

clean:
	rm -rf _build

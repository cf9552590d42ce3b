# Two commands do everything on a fresh machine (see README.md):
#   make book   -- create .venv, install requirements.txt, build the website (every notebook executed, warnings are errors)
#   make test   -- lint + unit/property/statistical tests + nbval over every notebook + browser test of the built site
PYTHON ?= python3
# The networks are small: BLAS threads only fight each other on a 2-core laptop.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: book test setup lint unit notebooks browser pdf student bench clean

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
	$(BIN)/ruff check code tests benchmarks scripts browser_tests _ext
	$(BIN)/ruff format --check code tests benchmarks scripts browser_tests _ext

unit: setup
	$(BIN)/pytest tests

notebooks: setup
	$(BIN)/pytest --nbval chapters

# Browser test of the built site and of the handout PDF (builds them first if there are
# none): headless Debian Chromium driven by Playwright, axe-core (vendored in
# browser_tests/vendor), poppler-utils; screenshots of every page in _build/screenshots/.
browser: setup _build/html/index.html _build/pdf/book.pdf
	bash scripts/install_browser.sh
	$(BIN)/pytest browser_tests

# A PDF of the whole book for handouts: every page of the built site printed by headless
# Chromium and joined with pdfunite (solutions left out, code and tables wrapped).
pdf: setup _build/html/index.html
	bash scripts/install_browser.sh
	$(BIN)/python scripts/build_pdf.py

_build/pdf/book.pdf:
	$(MAKE) pdf

test: lint unit notebooks browser

bench: setup
	$(BIN)/python benchmarks/bench_conv.py

clean:
	rm -rf _build

# Student edition (solutions replaced by stubs) in ./student; see chapters/instructors.md.
student: setup
	$(BIN)/python scripts/make_student_edition.py --out student

# Grade submitted notebooks: make grade SUBMISSIONS=path/to/folder [GRADES=grades.csv]
SUBMISSIONS ?= submissions
GRADES      ?= grades.csv
.PHONY: grade
grade: setup
	$(BIN)/python scripts/grade_submissions.py $(SUBMISSIONS) --reference chapters --csv $(GRADES)

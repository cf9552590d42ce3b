# Two commands do everything on a fresh machine (see README.md):
#   make book   -- create .venv, install requirements.txt, build the website from the notebooks'
#                  committed outputs (warnings are errors)
#   make test   -- lint, then one parallel pytest run: unit/property/statistical tests, nbval
#                  (executes every notebook and compares it with its committed outputs) and the
#                  browser test of the built site
# Every notebook is thus executed and compared once per `make book && make test`.
PYTHON ?= python3
# The networks are small: BLAS threads only fight each other on a 2-core laptop.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
VENV   ?= .venv
BIN     = $(VENV)/bin
# pytest-xdist workers for `make test`/`unit`/`notebooks` (a whole file -- a notebook, a test
# module -- stays on one worker: nbval's cells share a kernel)
JOBS   ?= 2
XDIST   = -n $(JOBS) --dist loadfile

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
	$(BIN)/ruff check code tests benchmarks scripts browser_tests _ext
	$(BIN)/ruff format --check code tests benchmarks scripts browser_tests _ext

unit: setup
	$(BIN)/pytest $(XDIST) tests

notebooks: setup
	$(BIN)/pytest $(XDIST) --nbval chapters

# Browser test of the built site (builds it first if there is none): headless Debian
# Chromium driven by Playwright; screenshots of every page in _build/screenshots/.
browser: setup _build/html/index.html
	bash scripts/install_browser.sh
	$(BIN)/pytest browser_tests

# The unit tests, nbval over every notebook and the browser test, in one pytest run spread
# over $(JOBS) workers (the exercise fixture notebook is test data, not a chapter).
test: lint _build/html/index.html
	bash scripts/install_browser.sh
	$(BIN)/pytest $(XDIST) --durations=12 --nbval tests chapters browser_tests \
		--ignore=tests/fixtures

# Benchmarks (see README.md, "Performance"). OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when the
# machine sets them, pin OpenBLAS to a slower kernel: unset here, for the benchmarks only.
bench: setup
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/bench_conv.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/bench_training.py

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

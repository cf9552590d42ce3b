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

.PHONY: book test setup lint unit notebooks browser student bench clean sandbox grade bench-grade

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
	$(BIN)/ruff check code tests benchmarks scripts browser_tests _ext grading
	$(BIN)/ruff format --check code tests benchmarks scripts browser_tests _ext grading

# the grader's tests (tests/test_grading.py) run student code in bubblewrap
unit: setup sandbox
	$(BIN)/pytest tests

notebooks: setup
	$(BIN)/pytest --nbval chapters

# Browser test of the built site (builds it first if there is none): headless Debian
# Chromium driven by Playwright; screenshots of every page in _build/screenshots/.
browser: setup _build/html/index.html
	bash scripts/install_browser.sh
	$(BIN)/pytest browser_tests

test: lint unit notebooks browser

bench: setup
	$(BIN)/python benchmarks/bench_conv.py

clean:
	rm -rf _build

# Student edition in ./student (or STUDENT=dir), publishable as it is; its repository and
# launch buttons point to STUDENT_REPO_URL, or are off. See chapters/instructors.md.
STUDENT          ?= student
STUDENT_REPO_URL ?=
student: setup
	$(BIN)/python scripts/make_student_edition.py --out $(STUDENT) --repo-url "$(STUDENT_REPO_URL)"

# The grader's sandbox: Debian's bubblewrap (idempotent; see scripts/install_bubblewrap.sh).
sandbox:
	bash scripts/install_bubblewrap.sh

# Grade a class: make grade SUBMISSIONS=folder [GRADES=grades] [JOBS=2]
# (one sub-folder of notebooks per student; writes GRADES/grades.csv, verdicts.csv, feedback/)
SUBMISSIONS ?= submissions
GRADES      ?= grades
JOBS        ?= 2
grade: setup sandbox
	$(BIN)/python scripts/grade_submissions.py $(SUBMISSIONS) --reference chapters --out $(GRADES) -j $(JOBS)

# Grading benchmark: a generated class of 30 submissions of the real chapters, -j 2
bench-grade: setup sandbox
	$(BIN)/python benchmarks/bench_grading.py --students 30 -j $(JOBS)

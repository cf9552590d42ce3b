# Two commands do everything on a fresh machine (see README.md):
#   make book   -- create .venv, install requirements.txt, build the website from the notebooks'
#                  committed outputs (warnings are errors)
#   make test   -- lint, then one parallel pytest run: unit/property/statistical tests, nbval
#                  (executes every notebook and compares it with its committed outputs), the
#                  handout PDF (built by browser_tests/test_pdf.py when missing or older than
#                  the site) and the browser test of the built site
# Every notebook is thus executed and compared once per `make book && make test`.
PYTHON ?= python3
# The networks are small: BLAS threads only fight each other on a 2-core laptop.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
# The outputs stored in the notebooks were computed with OpenBLAS's Haswell kernel (AVX2).
# Its SkylakeX kernel (AVX-512) sums float32 products in another order: the last bit of a
# product differs, and through ten seeds of training so does the 4th digit of some printed
# means, and nbval would fail on an AVX-512 machine. So every notebook and test runs with
# the Haswell kernel on x86-64 (unless the machine pins a kernel itself); the benchmarks
# unset it (`make bench`). conftest.py and scripts/execute_notebooks.py do the same.
ifeq ($(shell uname -m),x86_64)
export OPENBLAS_CORETYPE ?= Haswell
endif
# Python may cache the bytecode of what it imports (__pycache__, gitignored): where
# PYTHONDONTWRITEBYTECODE is set, as on the machines this project is built on, every
# process would compile scipy, matplotlib, sphinx... from source again -- about 3 s of CPU
# per notebook kernel, and a test run starts dozens of Python processes.
unexport PYTHONDONTWRITEBYTECODE
VENV   ?= .venv
BIN     = $(VENV)/bin
# pytest-xdist workers for `make test`/`unit`/`notebooks`. conftest.py groups the tests: a
# whole file -- a notebook (nbval's cells share a kernel), a test module -- stays on one
# worker, each browser test of a page is a unit of its own, longest units first
# (.ci/durations.json), so that both workers finish together.
JOBS   ?= 2
XDIST   = -n $(JOBS) --dist loadscope

.PHONY: book test setup lint unit notebooks browser pdf student bench bench-book clean sandbox grade bench-grade

setup: $(VENV)/.installed

# The requirements are installed by uv (bootstrapped from PyPI into the venv with pip):
# ~10 s instead of ~55 s with pip on a fresh machine, the same packages. Without uv (not
# installable, or failing), pip installs them as before.
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	( $(BIN)/python -m pip install -q uv && \
	  $(BIN)/uv pip install --python $(BIN)/python -r requirements.txt ) || \
	( echo "setup: uv unavailable, installing with pip" && \
	  $(BIN)/python -m pip install --upgrade pip && \
	  $(BIN)/python -m pip install -r requirements.txt )
	touch $@

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

_build/html/index.html:
	$(MAKE) book

lint: setup
	$(BIN)/ruff check conftest.py code tests benchmarks scripts browser_tests _ext grading
	$(BIN)/ruff format --check conftest.py code tests benchmarks scripts browser_tests _ext grading

# the grader's tests (tests/test_grading.py) run student code in bubblewrap
unit: setup sandbox
	$(BIN)/pytest $(XDIST) tests

notebooks: setup
	$(BIN)/pytest $(XDIST) --nbval chapters

# Browser test of the built site and of the handout PDF (builds the site first if there is
# none; test_pdf.py builds the PDF when it is missing or older than the site): headless Debian Chromium driven by Playwright, axe-core (vendored in
# browser_tests/vendor), poppler-utils; full-page screenshots of every page at both
# screen sizes in _build/screenshots/ (--screenshots: costly, so `make test` takes none).
browser: setup _build/html/index.html
	bash scripts/install_browser.sh
	$(BIN)/pytest $(XDIST) --screenshots browser_tests

# A PDF of the whole book for handouts: every page of the built site printed by headless
# Chromium and joined with pdfunite (solutions left out, code and tables wrapped).
pdf: setup _build/html/index.html
	bash scripts/install_browser.sh
	$(BIN)/python scripts/build_pdf.py

# The unit tests, nbval over every notebook and the browser test (site and PDF), in one
# pytest run spread over $(JOBS) workers (the notebooks of tests/fixtures are test data).
# The PDF is built inside that run (test_pdf.py), on one worker while the other tests.
test: lint _build/html/index.html
	bash scripts/install_browser.sh
	bash scripts/install_bubblewrap.sh
	$(BIN)/pytest $(XDIST) --durations=12 --nbval tests chapters browser_tests \
		--ignore=tests/fixtures

# Benchmarks (see README.md, "Performance"). OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when the
# machine sets them, pin OpenBLAS to a slower kernel: unset here, for the benchmarks only.
bench: setup
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/bench_conv.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/bench_training.py

# CPU and wall time of every notebook and of the whole book, two notebooks at a time
# (README, "Execution time")
bench-book: setup
	$(BIN)/python benchmarks/bench_book.py

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

# Grade a class: make grade SUBMISSIONS=folder [GRADES=grades] [JOBS=2 students at a time]
# (one sub-folder of notebooks per student; writes GRADES/grades.csv, verdicts.csv, feedback/)
SUBMISSIONS ?= submissions
GRADES      ?= grades
grade: setup sandbox
	$(BIN)/python scripts/grade_submissions.py $(SUBMISSIONS) --reference chapters --out $(GRADES) -j $(JOBS)

# Grading benchmark: a generated class of 30 submissions of the real chapters, -j 2
bench-grade: setup sandbox
	$(BIN)/python benchmarks/bench_grading.py --students 30 -j $(JOBS)

# One entry point for people and CI. `make test` sets up everything it needs on a fresh
# Debian 12 machine (run as root): apt packages, the project virtualenv, the systemd test image,
# the offline MongoDB stand-in repository; then it lints and runs every test suite.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := $(CURDIR)/.venv
CACHE  := $(CURDIR)/.cache
SUITE  ?= bookworm
BIN    := $(VENV)/bin

# Podman reads the project's own containers.conf (runc, no default ulimits); /etc is not edited.
export CONTAINERS_CONF := $(CURDIR)/tests/harness/containers.conf
export PATH := $(BIN):$(PATH)
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

# chromium + chromium-driver: the browser test of the admin login (tests/browser, run by test-demo).
HOST_PACKAGES := podman runc netavark aardvark-dns containernetworking-plugins iptables \
                 debootstrap dpkg-dev apt-utils gnupg python3-venv openssh-client curl \
                 chromium chromium-driver shellcheck

.PHONY: help
help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: host-deps
host-deps: ## Install the apt packages the harness needs (only those missing)
	@missing=$$(for p in $(HOST_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "host-deps: installing" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "host-deps: all present"; fi

# Quiet pip: no progress output, no self-update check.
PIP_QUIET := --quiet --disable-pip-version-check

$(VENV)/.installed: requirements.txt tests/standin/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip
	$(BIN)/pip install $(PIP_QUIET) -r requirements.txt -r tests/standin/requirements.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the project virtualenv (controller tools, stand-in server deps)

# The application's own virtualenvs, one per connector, as the django_app role builds them on a
# host. Tests of the application and of the stand-in's client compatibility run in them.
$(CACHE)/venv-%/.installed: app/requirements/%.txt
	rm -rf $(CACHE)/venv-$*
	$(PYTHON) -m venv $(CACHE)/venv-$*
	$(CACHE)/venv-$*/bin/pip install $(PIP_QUIET) -r $<
	touch $@

APP_VENVS := $(CACHE)/venv-mongodb-backend/.installed $(CACHE)/venv-djongo/.installed

.PHONY: app-venvs
app-venvs: $(APP_VENVS) ## Create the application virtualenvs (one per connector)

.PHONY: apt-repo
apt-repo: host-deps venv ## Build the offline repository of the MongoDB stand-in (a test double)
	PYTHON=$(BIN)/python tests/standin/build-repo.sh $(CACHE)/mongodb-repo

.PHONY: image
image: host-deps ## Build (or reuse) the Debian systemd test image
	tests/harness/build-image.sh $(SUITE) $(CACHE)/images

.PHONY: lint
lint: host-deps venv ## yamllint, ansible-lint (production profile), syntax checks of every inventory, shellcheck, ruff
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint
	for inv in local staging production; do \
	  $(BIN)/ansible-playbook -i inventory/$$inv site.yml --syntax-check; done
	shellcheck --severity=warning tests/harness/*.sh tests/standin/*.sh
	$(BIN)/ruff check .

.PHONY: test-project
test-project: venv ## Project conventions: role docs and specs, no test double in production values
	$(BIN)/pytest -q tests/test_project.py

.PHONY: docs
docs: venv ## Regenerate the role READMEs' variable tables from meta/argument_specs.yml
	$(BIN)/python tools/role_docs.py

.PHONY: test-badinput
test-badinput: venv ## Bad input fails before any host is changed, naming the variable or file
	$(BIN)/pytest -v -s tests/test_bad_input.py

.PHONY: test-standin
test-standin: venv app-venvs ## The MongoDB stand-in's own test suite (wire, auth, durability, clients)
	STANDIN_DJANGO_PYTHON=$(CACHE)/venv-mongodb-backend/bin/python \
	STANDIN_DJONGO_PYTHON=$(CACHE)/venv-djongo/bin/python \
	STANDIN_PYMONGO3_PYTHON=$(CACHE)/venv-djongo/bin/python \
	  $(BIN)/pytest -q tests/standin/tests

# pytest (app/tests) starts a MongoDB stand-in and runs Django's test runner in each connector's
# application virtualenv: one pytest test per connector, failing with Django's output.
.PHONY: test-app
test-app: venv app-venvs ## The reference Django project's tests, with each connector
	HELLODJANGO_PYTHON_MONGODB_BACKEND=$(CACHE)/venv-mongodb-backend/bin/python \
	HELLODJANGO_PYTHON_DJONGO=$(CACHE)/venv-djongo/bin/python \
	  $(BIN)/pytest -v app/tests

# What the instance tests share. In lanes (LANES=1: tests/harness/lanes.sh runs targets side by
# side, the virtualenv already made) the image and the stand-in repository are built under a lock
# by whichever instance target, or `make test`'s image-once, takes it first; the others wait for
# the lock, then find them built (both builds reuse what exists).
INSTANCE_PREREQS := host-deps venv image apt-repo
INSTANCE_DEPS := $(if $(LANES),instance-prereqs-once,$(INSTANCE_PREREQS))
PREREQS_LOCK := flock $(CACHE)/instance-prereqs.lock $(MAKE) --no-print-directory

.PHONY: instance-prereqs-once image-once
instance-prereqs-once:
	@mkdir -p $(CACHE)
	$(PREREQS_LOCK) image apt-repo
image-once: host-deps
	@mkdir -p $(CACHE)
	$(PREREQS_LOCK) image

# One Molecule scenario (create, converge, idempotence, verify, destroy): make molecule-default,
# molecule-djongo, molecule-mongodb, molecule-cluster. A pattern rule, so not .PHONY (make skips
# the rule search for phony targets); no file has these names.
molecule-%: $(INSTANCE_DEPS)
	$(BIN)/molecule --base-config $(CURDIR)/.config/molecule/config.yml test -s $*

# The checks and the instance tests of `make test`, in lanes that run side by side
# (tests/harness/lanes.sh says why): targets in one lane run one after the other; the lanes are
# balanced by the measured times (README, "Testing"). Containers are named per scenario, so any
# scenarios may share a lane or not; the checks need no instance and share a lane with them.
# Four lanes on two cores: the scenarios wait on their instances much of the time, and the two
# cores stay busy until the last lane is nearly done. Each lane's CPU priority (lanes.sh nice=N):
# the cluster's, the longest chain of work, gets the cores first; the checks and the demo, whose
# work can wait, last.
CHECK_TARGETS := lint test-project test-tools test-badinput test-standin test-app
LANE_1 := test-demo
LANE_2 := molecule-default
LANE_3 := molecule-cluster
LANE_4 := molecule-djongo molecule-mongodb
LANE_1_NICE := nice=3
LANE_2_NICE := nice=1
LANE_3_NICE := nice=0
LANE_4_NICE := nice=2
LANES = "$(LANE_1_NICE) $(1) $(LANE_1)" "$(LANE_2_NICE) $(LANE_2)" "$(LANE_3_NICE) $(LANE_3)" "$(LANE_4_NICE) $(LANE_4)"

.PHONY: test-instances
test-instances: $(INSTANCE_PREREQS) ## Every Molecule scenario and the demo test, in lanes side by side
	tests/harness/lanes.sh $(call LANES,)

.PHONY: demo
demo: venv image ## Deploy the whole stack over SSH to a local VM-like container (site on :8080)
	tests/harness/demo.sh up

.PHONY: demo-destroy
demo-destroy: ## Remove the demo container
	tests/harness/demo.sh destroy

.PHONY: demo-check
demo-check: host-deps venv ## Check the running demo (curl checks, browser login to the admin), no redeploy
	tests/harness/demo.sh check

.PHONY: test-demo
test-demo: $(INSTANCE_DEPS) ## The SSH path end to end: demo up, check the site (curl, browser), demo down
	DEMO_MONGODB_SOURCE=offline tests/harness/demo.sh test

.PHONY: test-tools
test-tools: venv ## The test tools' own tests (the load generator, against servers on 127.0.0.1)
	$(BIN)/pytest -q tests/loadgen

.PHONY: check
check: lint test-project test-tools test-badinput test-app ## The fast loop: lint, conventions, tools, bad input, app tests (no instances)

# Everything CI runs, from a fresh machine: the apt packages, then the image (debootstrap) and,
# side by side with it, the project virtualenv and then the lanes: the checks start as soon as the
# virtualenv is there (their lane makes the application virtualenvs when it needs them), the
# instance targets once the image and the stand-in repository are (INSTANCE_DEPS above). Last,
# the table of where the time went. The lanes' makes run without the jobserver of this one.
.PHONY: test test-lanes
test: host-deps ## Everything CI runs
	$(MAKE) --no-print-directory -j2 image-once test-lanes
test-lanes: venv
	env -u MAKEFLAGS -u MFLAGS tests/harness/lanes.sh $(call LANES,$(CHECK_TARGETS))

# Benchmarks (issue 12; bench/README.md): measurements, not pass/fail tests, so not part of `test`.
# wrk loads the serving figures; matplotlib draws the deploy-under-load PNGs, from its own venv
# so that the controller's pins stay as they are.
# The deploy figures are measured over plain SSH (what users run) and through Mitogen (the
# scenarios' accelerator, from the project virtualenv; BENCH_MITOGEN=0 leaves it out).
BENCH_VENV := $(CACHE)/bench/venv
MATPLOTLIB_VERSION := 3.10.3

.PHONY: bench-deps
bench-deps: ## Install wrk (only if missing) and matplotlib in .cache/bench/venv
	@dpkg-query -W -f='$${Status}\n' wrk 2>/dev/null | grep -q '^install ok installed$$' || { \
	  echo "bench-deps: installing wrk"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	@[ -f $(BENCH_VENV)/.installed-$(MATPLOTLIB_VERSION) ] || { \
	  rm -rf $(BENCH_VENV) && $(PYTHON) -m venv $(BENCH_VENV) && \
	  $(BENCH_VENV)/bin/pip install $(PIP_QUIET) matplotlib==$(MATPLOTLIB_VERSION) && \
	  touch $(BENCH_VENV)/.installed-$(MATPLOTLIB_VERSION); }

.PHONY: bench
bench: host-deps venv image apt-repo bench-deps ## Benchmarks on the demo VM: deploy times, serving, deploys under load
	$(BIN)/python bench/bench.py

.PHONY: clean
clean: ## Remove the virtualenv and caches (the test image stays in podman)
	rm -rf $(VENV) $(CACHE)

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

HOST_PACKAGES := podman runc netavark aardvark-dns containernetworking-plugins iptables \
                 debootstrap dpkg-dev apt-utils gnupg python3-venv openssh-client curl

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

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the project virtualenv with the pinned controller tools

.PHONY: image
image: host-deps ## Build (or reuse) the Debian systemd test image
	tests/harness/build-image.sh $(SUITE) $(CACHE)/images

.PHONY: lint
lint: venv ## yamllint, ansible-lint (production profile), syntax checks of every inventory
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint
	for inv in local staging production; do \
	  $(BIN)/ansible-playbook -i inventory/$$inv site.yml --syntax-check; done

.PHONY: molecule
molecule: venv image ## Run the Molecule scenarios (create, converge, idempotence, verify, destroy)
	$(BIN)/molecule test --all

.PHONY: test
test: host-deps venv lint molecule ## Everything CI runs

.PHONY: clean
clean: ## Remove the virtualenv and caches (the test image stays in podman)
	rm -rf $(VENV) $(CACHE)

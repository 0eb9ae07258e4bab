# The two commands the README opens with:
#   make lab    set up this machine, build the host image, start the lab, run site.yml on it
#   make test   every test: lint, unit, sanity, molecule, lab; non-zero on any failure
# Everything else is a part of one of those, runnable on its own.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SCENARIO ?=

.PHONY: help setup image lab lab-up lab-down lab-status site test lint unit sanity molecule lab-test bench ee-context bench-16 vm-flannel

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: ## apt packages, podman settings, the virtual environment, collections
	@scripts/setup.sh

image: setup ## build the local Debian 12 host image (skipped when current)
	@scripts/build-image.sh

lab: image ## THE MAIN JOB: start the three lab hosts and run site.yml against them
	@scripts/lab.sh up
	@scripts/lab.sh converge

lab-up: image ## start the lab hosts only
	@scripts/lab.sh up

site: ## run site.yml against the running lab
	@scripts/lab.sh converge

lab-status: ## show the lab hosts
	@scripts/lab.sh status

lab-down: ## remove the lab hosts, their network and keys (the image stays)
	@scripts/lab.sh down

test: setup image ## EVERY TEST: lint, unit, sanity, molecule, lab
	@scripts/test.sh all

lint: ## yamllint, ansible-lint (production profile), actionlint and zizmor; offline
	@scripts/test.sh lint

unit: ## pytest unit and integration tests
	@scripts/test.sh unit

sanity: ## ansible-test sanity on the collection
	@scripts/test.sh sanity

molecule: ## molecule scenarios (all, or SCENARIO=name)
	@scripts/test.sh molecule $(SCENARIO)

lab-test: image ## fresh lab, site.yml, node-add of a 4th host, real traffic; removes the lab
	@scripts/test.sh lab

bench: image ## time a 3-host bench lab of its own: first converge, no-op, --check, memory
	@scripts/bench-lab.sh

bench-16: image ## the same on 3 then 16 hosts, side by side (not part of make test)
	@BENCH_SIZES="3 16" scripts/bench-lab.sh

vm-flannel: setup ## Flannel's MTU and offload fix on a real flannel.1 in a qemu VM (not in make test)
	@scripts/vm-flannel-test.sh

ee-context: ## the execution environment's build context in .cache/ee/context (offline; then ansible-builder build)
	@source .venv/bin/activate && ansible-galaxy collection build --force --output-path .cache/ee . >/dev/null \
	  && rm -rf .cache/ee/context && ansible-builder create -f execution-environment.yml -c .cache/ee/context

# novaops.migration — developer entry points. See README.md.
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python
export PIP_CONFIG_FILE := /dev/null
export PATH := $(VENV)/bin:$(PATH)

.PHONY: venv
venv: $(VENV)/.installed

$(VENV)/.installed: requirements/dev.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements/dev.lock
	touch $@


# ---------------------------------------------------------------------------
# Static checks: no lab needed.
# ---------------------------------------------------------------------------
# ansible-test and the `ansible_collections.novaops.migration` imports need the
# collection at ansible_collections/<namespace>/<name>. The tree is a copy (not
# symlinks, which ansible-test rejects) of every file git knows about or would
# add (tracked + untracked-not-ignored), minus lab/ and bench/ (the test
# environment and its benchmark, not collection content), and .collections/, the link that lets
# ansible.cfg find this checkout as a collection. Copied with tar: rsync is not on every
# machine this runs on. The copy gets its own (empty) git repository: else
# ansible-test walks up to this repository, where .build/ is ignored, and
# finds no files at all.
BUILD_ROOT := $(CURDIR)/.build
COLLECTION_DIR := $(BUILD_ROOT)/ansible_collections/novaops/migration
SANITY_PYTHON ?= 3.11
# Listed from the copy, so a module added meanwhile cannot be missing from it.
MODULES = $(basename $(notdir $(wildcard $(COLLECTION_DIR)/plugins/modules/*.py)))

.PHONY: collection-tree lint sanity unit docs-check docs-site changelog-lint ee-check check

collection-tree: venv
	rm -rf $(COLLECTION_DIR)
	mkdir -p $(COLLECTION_DIR)
	git ls-files -z --cached --others --exclude-standard -- . ':!:lab/' ':!:bench/' ':!:.collections/' \
		| xargs -0 -r sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh \
		| tar --null -T - -cf - | tar -xf - -C $(COLLECTION_DIR)
	git -C $(COLLECTION_DIR) init -q

lint: venv
	ansible-lint

# ansible-test builds one virtualenv per test with its own pinned tools
# (pylint, yamllint, voluptuous, antsibull-changelog...), installed by pip on
# first use and reused afterwards (~/.ansible/test/venv); --docker is not
# available here. It bootstraps pip in them with a script from a host we
# cannot reach, so we put our stand-in in its cache first (see the script).
ANSIBLE_TEST_PIP_VERSION = $(shell $(PY) -c 'import ansible_test._internal.python_requirements as r, inspect, re; print(re.search(r"pip=.([0-9.]+)", inspect.getsource(r.get_venv_packages)).group(1))' 2>/dev/null)
GET_PIP_CACHE = $(HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(ANSIBLE_TEST_PIP_VERSION)).py

sanity: collection-tree
	@test -n "$(ANSIBLE_TEST_PIP_VERSION)" || { echo "cannot tell which pip ansible-test bootstraps"; exit 1; }
	@test -e $(GET_PIP_CACHE) || install -D -m 0644 tests/sanity/get_pip_offline.py $(GET_PIP_CACHE)
	cd $(COLLECTION_DIR) && ansible-test sanity --venv --python $(SANITY_PYTHON) --color no

unit: collection-tree
	cd $(COLLECTION_DIR) && PYTHONPATH=$(BUILD_ROOT) python -m pytest -q -p no:cacheprovider -n 2 tests/unit

# Every module's documentation must render, without warnings.
docs-check: collection-tree
	@set -e; for module in $(MODULES); do \
		errors=$$(ANSIBLE_COLLECTIONS_PATH=$(BUILD_ROOT) ansible-doc -t module novaops.migration.$$module 2>&1 >/dev/null); \
		if [ -n "$$errors" ]; then echo "ansible-doc novaops.migration.$$module: $$errors"; exit 1; fi; \
		echo "ok novaops.migration.$$module"; \
	done

# The documentation site (RST for every plugin and role, with the playbooks'
# variables through novaops.migration.playbook_settings), built by antsibull-docs
# from the collection tree; it fails on any documentation problem.
DOCS_DIR = $(BUILD_ROOT)/docs
docs-site: collection-tree
	cd $(COLLECTION_DIR) && antsibull-docs lint-collection-docs --plugin-docs .
	rm -rf $(DOCS_DIR) && mkdir -p $(DOCS_DIR)
	ANSIBLE_COLLECTIONS_PATH=$(BUILD_ROOT) antsibull-docs collection --use-current --fail-on-error \
		--dest-dir $(DOCS_DIR) novaops.migration
	@test -s $(DOCS_DIR)/collections/novaops/migration/index.rst || { echo "antsibull-docs wrote no index"; exit 1; }

# The changelog fragments must be valid before a release is cut from them.
changelog-lint: venv
	antsibull-changelog lint

# An execution environment finds our requirements (meta/execution-environment.yml),
# and ansible-builder accepts the example definition.
EE_CONTEXT = $(BUILD_ROOT)/ee-context
ee-check: collection-tree
	ansible-builder introspect --sanitize $(BUILD_ROOT) > $(BUILD_ROOT)/introspect.txt
	@grep -q 'openstacksdk' $(BUILD_ROOT)/introspect.txt || { cat $(BUILD_ROOT)/introspect.txt; echo "introspect found no openstacksdk"; exit 1; }
	@grep -q 'openssh-client' $(BUILD_ROOT)/introspect.txt || { cat $(BUILD_ROOT)/introspect.txt; echo "introspect found no system requirement"; exit 1; }
	rm -rf $(EE_CONTEXT)
	ansible-builder create -f examples/execution-environment.yml --context $(EE_CONTEXT)
	@test -s $(EE_CONTEXT)/Dockerfile

check: lint sanity unit docs-check docs-site changelog-lint ee-check

# ---------------------------------------------------------------------------
# Everything: the static checks, then the real lab (brought up if needed) with
# the integration tests and the Molecule scenario. The lab is left running;
# `make lab-down` removes it (.ci/run does).
# ---------------------------------------------------------------------------
.PHONY: test integration integration-three-computes lab-fresh-tests molecule molecule-vm

# Unbuffered: the log shows each test as it ends, also when a run is cut short.
PYTEST_INTEGRATION = PYTHONUNBUFFERED=1 $(VENV)/bin/python -m pytest -p no:cacheprovider -W ignore::DeprecationWarning

# Full logs of the lab runs go to $(TEST_LOGS); tests/ci/failure_summary.py
# picks out of them why a run failed, for the end of CI's output.
TEST_LOGS = $(CURDIR)/tests/output/logs

# `make integration INTEGRATION_SKIP=--ignore=tests/integration/test_X.py` leaves a file out.
INTEGRATION_SKIP ?=

# Rolling maintenance (test_maintenance.py) needs three computes: it runs in integration-three-computes.
integration: venv
	@mkdir -p $(TEST_LOGS)
	$(PYTEST_INTEGRATION) -q -rfE --durations=30 $(INTEGRATION_SKIP) --ignore=tests/integration/test_maintenance.py tests/integration 2>&1 | tee $(TEST_LOGS)/integration.log; exit $${PIPESTATUS[0]}

# The lab brought up again with three computes (lab.sh up replaces a lab of another size), prepared by
# site.yml, for the rolling maintenance of compute1, compute2 and compute3.
integration-three-computes: venv
	@mkdir -p $(TEST_LOGS)
	LAB_COMPUTES=3 $(MAKE) --no-print-directory lab-up > $(TEST_LOGS)/lab-up-three-computes.log 2>&1 || { tail -n 30 $(TEST_LOGS)/lab-up-three-computes.log; exit 1; }
	$(PYTEST_INTEGRATION) -q -rfE --durations=10 tests/integration/test_maintenance.py 2>&1 | tee $(TEST_LOGS)/integration-three-computes.log; exit $${PIPESTATUS[0]}

# Molecule installs a copy of the collection into ~/.ansible/collections; a
# stale copy there would shadow this checkout for later tools, so it goes.
molecule: venv
	@mkdir -p $(TEST_LOGS)
	molecule test -s default 2>&1 | tee $(TEST_LOGS)/molecule-default.log; rc=$${PIPESTATUS[0]}; rm -rf $(HOME)/.ansible/collections/ansible_collections/novaops; exit $$rc

# The "vm" scenario: two User-Mode Linux guests with SELinux, rebooted
# (molecule/vm/README.md). It needs no lab; its kernel and disk image are
# fetched and built on first use and cached in /var/cache/novaops-vm.
molecule-vm: venv
	@mkdir -p $(TEST_LOGS)
	molecule test -s vm 2>&1 | tee $(TEST_LOGS)/molecule-vm.log; rc=$${PIPESTATUS[0]}; rm -rf $(HOME)/.ansible/collections/ansible_collections/novaops; exit $$rc

# The lab's starting state is checked before the Molecule scenario prepares it
# with site.yml (from a fresh lab, as an operator would); the migration tests
# then run on the prepared lab.
lab-fresh-tests: venv
	@mkdir -p $(TEST_LOGS)
	$(PYTEST_INTEGRATION) -q -rfE tests/integration/test_lab.py tests/integration/test_site_fresh.py 2>&1 | tee $(TEST_LOGS)/lab-fresh.log; exit $${PIPESTATUS[0]}

# The static checks, the lab's build and the Molecule "vm" scenario (its own User-Mode Linux guests, no lab)
# share nothing but the venv (made first): they run side by side (the lab's build waits on Debian's archive
# and PyPI most of the time, the checks use the CPU, the guests little of it). The lab's output is kept in
# $(TEST_LOGS)/lab-up.log and the scenario's in $(TEST_LOGS)/molecule-vm.log, shown when all three ended.
# Then the tests on the lab, in order.
test: venv
	@mkdir -p $(TEST_LOGS)
	@started=$$SECONDS; rm -f $(TEST_LOGS)/molecule-vm.rc; \
	$(MAKE) --no-print-directory lab-up > $(TEST_LOGS)/lab-up.log 2>&1 & lab=$$!; \
	{ $(MAKE) --no-print-directory molecule-vm > /dev/null 2>&1; echo $$? > $(TEST_LOGS)/molecule-vm.rc; \
	  echo "test: molecule-vm ended (rc $$(cat $(TEST_LOGS)/molecule-vm.rc)) after $$((SECONDS - started)) s"; } & vm=$$!; \
	$(MAKE) --no-print-directory check; check=$$?; \
	echo "test: check ended (rc $$check) after $$((SECONDS - started)) s; waiting for the lab and the vm scenario"; \
	wait $$lab; up=$$?; echo "test: lab-up ended (rc $$up) after $$((SECONDS - started)) s:"; \
	cat $(TEST_LOGS)/lab-up.log; \
	wait $$vm; vm=$$(cat $(TEST_LOGS)/molecule-vm.rc 2>/dev/null || echo 1); \
	echo "test: the vm scenario (rc $$vm), the end of $(TEST_LOGS)/molecule-vm.log:"; \
	sed 's/\x1b\[[0-9;]*m//g' $(TEST_LOGS)/molecule-vm.log | tail -n $$( [ $$vm = 0 ] && echo 25 || echo 120 ); \
	[ $$check = 0 ] && [ $$up = 0 ] && [ $$vm = 0 ]
	$(MAKE) --no-print-directory lab-fresh-tests molecule integration integration-three-computes

include lab/lab.mk

# The README's main job: the lab, prepared, with myinstance moved live and cold.
.PHONY: demo
demo: venv lab-up
	lab/demo.sh

# Issue 7's benchmark: ours vs the plain tools on the lab, a table on stdout and
# bench/results/latest.json. BENCH_REPEATS=N A/B pairs per section (default 2),
# BENCH_ONLY=live,cold to run some sections only (bench/bench.py --help).
.PHONY: bench
bench: venv lab-up
	$(PY) bench/bench.py

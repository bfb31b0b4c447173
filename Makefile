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

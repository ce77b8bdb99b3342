# The two quick-start commands (README): `make test` and `make plan STACK=dev`.
# Both create ./venv from requirements.txt on first use (and again when it changes).
PYTHON ?= python3
VENV ?= venv
PY := $(VENV)/bin/python
STACK ?= dev
# The policy pack's own virtualenv (policies/PulumiPolicy.yaml: virtualenv venv), built from
# policies/requirements.txt alone: what the CLI runs the pack in, and what tests/policies/test_pack.py starts.
POLICY_VENV := policies/venv
# Checkov's own virtualenv (requirements-scan.txt): its dependencies never touch ./venv's pins.
SCAN_VENV ?= venv-scan

.PHONY: test plan plan-json bench clean venv-scan scan release-status release-promote release-abort release-rollback release-wait release-prepare

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

# the CRD models of the custom-resource schema test (package.json, exact versions in package-lock.json)
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

$(POLICY_VENV)/.installed: policies/requirements.txt
	$(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/pip install --quiet -r policies/requirements.txt
	touch $@

test: $(VENV)/.installed $(POLICY_VENV)/.installed $(SCAN_VENV)/.installed node_modules/.package-lock.json  ## run the whole test suite
	$(PY) -m pytest

plan: $(VENV)/.installed  ## show what STACK would create and the policy verdicts
	$(PY) -m tools.plan --stack $(STACK)

plan-json: $(VENV)/.installed
	$(PY) -m tools.plan --stack $(STACK) --json

bench: $(VENV)/.installed  ## offline plan time of every stack vs the import floor
	$(PY) -m tools.benchmark

$(SCAN_VENV)/.installed: requirements-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/pip install --quiet --no-deps -r requirements-scan.txt
	touch $@

venv-scan: $(SCAN_VENV)/.installed  ## build ./venv-scan (pinned Checkov) for `make scan` and the tests

# Exit status: make itself exits 2 on any failure; `python -m tools.scan` underneath exits 0 (pass
# ratio >= 95 %), 1 (below) or 2 (error) and says which.
scan: $(VENV)/.installed $(SCAN_VENV)/.installed  ## Checkov over STACK's offline plan: pass ratio, fails below 95 %
	$(PY) -m tools.scan --stack $(STACK) --checkov $(SCAN_VENV)/bin/checkov

# Releases (tools/release.py): STACK and SERVICE (a service, or `all`); DRY_RUN=1 prints the native
# commands without running them. e.g. `make release-rollback STACK=prod-aws SERVICE=api`
SERVICE ?= all
RELEASE = $(PY) -m tools.release $(STACK) $(SERVICE) $(1) $(if $(DRY_RUN),--dry-run)

release-status: $(VENV)/.installed  ## where SERVICE's release is (traffic split, deployments)
	$(call RELEASE,status)

release-promote: $(VENV)/.installed  ## give SERVICE's candidate all traffic now
	$(call RELEASE,promote)

release-abort: $(VENV)/.installed  ## stop SERVICE's release, traffic back to the stable version
	$(call RELEASE,abort)

release-rollback: $(VENV)/.installed  ## seed 001 emergency rollback: switch SERVICE's traffic back
	$(call RELEASE,rollback)

release-wait: $(VENV)/.installed  ## wait for SERVICE's release; fails when it was rolled back
	$(call RELEASE,wait)

release-prepare: $(VENV)/.installed  ## cloudrun, before `pulumi up`: pin traffic to the serving revision
	$(call RELEASE,prepare)

clean:
	rm -rf $(VENV) $(POLICY_VENV) $(SCAN_VENV) .pytest_cache

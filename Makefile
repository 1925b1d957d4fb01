# Colony: `make run` starts the whole platform locally; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= af-south-1

.PHONY: run test test-fast test-any-hour vendor lint format cli package deploy bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==26.2.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# The embedded AWS keeps its state in .local/state/ across runs; `make run FRESH=1` starts empty.
run: $(STAMP)
	$(BIN)/python -m chalicelib.local $(if $(filter 1 yes true,$(FRESH)),--fresh)

test: $(STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadscope -q --durations=10

# The whole suite again with the machine's clock faked (libfaketime, from Debian) to a weekday morning, a
# Sunday night, a public holiday and a year's last minute in UTC (already New Year in Johannesburg).
MOMENTS := "2027-03-09 06:30:00" "2027-03-07 21:00:00" "2026-12-16 10:00:00" "2026-12-31 23:59:00"
test-any-hour: $(STAMP)
	command -v faketime >/dev/null || (apt-get update -qq && apt-get install -y -qq faketime)
	for moment in $(MOMENTS); do \
		echo "machine clock at $$moment UTC"; \
		TZ=UTC faketime -f "@$$moment" $(BIN)/python -m pytest -n 2 --dist loadscope -q -p no:cacheprovider || exit 1; \
	done

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not e2e and not package"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

cli: $(STAMP)
	$(BIN)/python -m chalicelib.cli $(ARGS)

# The queue names Chalice writes into the template resolve against the stack name at deploy time. The template
# needs no AWS account, but chalice reads AWS_PROFILE (a traceback when `make deploy` names an unknown one).
package: $(STAMP)
	rm -rf dist
	COLONY_PREFIX='$${AWS::StackName}' env -u AWS_PROFILE $(BIN)/chalice package --stage prod --merge-template infra/resources.json dist
	$(BIN)/cfn-lint dist/sam.json

# `make deploy STACK=acme-colony AWS_PROFILE=acme REGION=af-south-1`: package, then with your profile upload the
# bundle and the template (too big to send inline) to an artifacts bucket and create or update the stack.
REGION ?= $(or $(AWS_REGION),$(AWS_DEFAULT_REGION))
deploy:
	@test -n '$(STACK)' || { echo 'make deploy needs STACK=<stack name>, e.g. make deploy STACK=acme-colony AWS_PROFILE=acme REGION=af-south-1' >&2; exit 1; }
	$(MAKE) --no-print-directory package
	AWS_REGION='$(REGION)' $(BIN)/python -m chalicelib.deploy --stack '$(STACK)' $(if $(ARTIFACTS_BUCKET),--bucket '$(ARTIFACTS_BUCKET)')

# The web app's chart library and the browser tests' accessibility checker, from pinned npm packages whose
# checksums are checked before anything is unpacked; the files are committed, so nothing runs this at build.
VENDOR := .vendor
CHART_JS := chart.js-4.5.1.tgz f540d98468457ac7a0aabb32006dfb066297e096c5ea063a5d80aa973d1c337a
AXE_CORE := axe-core-4.11.1.tgz 5b86f813d96904f2d925fed5715877c75fc1cc140f89565fb42145e7801b2305
vendor:
	rm -rf $(VENDOR) && mkdir $(VENDOR)
	cd $(VENDOR) && npm pack --silent chart.js@4.5.1 axe-core@4.11.1 >/dev/null
	cd $(VENDOR) && printf '%s  %s\n' $(word 2,$(CHART_JS)) $(word 1,$(CHART_JS)) $(word 2,$(AXE_CORE)) $(word 1,$(AXE_CORE)) | sha256sum -c
	tar xzf $(VENDOR)/$(word 1,$(CHART_JS)) -O package/dist/chart.umd.min.js > chalicelib/webapp/chart.umd.min.js
	tar xzf $(VENDOR)/$(word 1,$(AXE_CORE)) -O package/axe.min.js > tests/e2e/vendor/axe.min.js
	rm -rf $(VENDOR)

clean:
	rm -rf dist .local .pytest_cache .ruff_cache

# Colony: `make run` starts the whole platform locally; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= af-south-1

.PHONY: run test test-fast lint format cli package bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==26.2.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m chalicelib.local

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadscope -q --durations=10

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

# The queue names Chalice writes into the template resolve against the stack name at deploy time.
package: $(STAMP)
	rm -rf dist
	COLONY_PREFIX='$${AWS::StackName}' $(BIN)/chalice package --stage prod --merge-template infra/resources.json dist
	$(BIN)/cfn-lint dist/sam.json

clean:
	rm -rf dist .local .pytest_cache .ruff_cache

# recruit-sync: make install | demo | test | lint | bench
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test test-unit chaos lint typecheck bench bench-pipeline bench-classifier bench-page-parse bench-http-client bench-dry-run \
	bench-fairness bench-fairness-quick bench-latency bench-memory bench-memory-quick bench-incremental \
	bench-incremental-quick clean

install: ## create .venv with recruit-sync in .venv/bin (installs uv through pip if missing)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --all-packages
	@test -x $(BIN)/recruit-sync && echo "installed: $(BIN)/recruit-sync"

demo: install ## set up, run the demo sync end to end, print its summary, stop everything
	bash scripts/demo.sh

# Two workers, a test module each (its e2e stack stays on one worker): every test has its own database
# and vhost, and the e2e tier spends much of its time waiting on processes; about 7 minutes instead of 12.
TEST_WORKERS ?= 2

test: install lint ## the whole suite: lint, then unit, integration and e2e on the real RabbitMQ and PostgreSQL
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

chaos: install ## every fault scenario on 20,000 records (CHAOS_RECORDS=...), a line per scenario; make test runs a few
	CHAOS_FULL=1 $(BIN)/pytest -q -m chaos tests/chaos tests/faults libs services

test-unit: install
	$(BIN)/pytest -q -m "not integration and not e2e"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The quick benchmarks, then (BENCH_MILLION=1) the million-record ones; each prints its own block.
BENCH_QUICK := bench-classifier bench-page-parse bench-http-client bench-pipeline bench-fairness-quick bench-latency bench-memory-quick bench-incremental-quick

bench: $(BENCH_QUICK) $(if $(BENCH_MILLION),bench-memory bench-incremental,) ## every benchmark; each prints ratios against a baseline from the same run (BENCH_MILLION=1: also the million-record ones)

bench-pipeline: install ## a full sync of N generated candidates (200,000 by default; BENCH_N=... to change), then a full re-sync
	$(BIN)/python bench/pipeline.py $(if $(BENCH_N),--records $(BENCH_N),)

bench-dry-run: install ## replay --dry-run and a preview of a full sync of N generated candidates, against the run
	$(BIN)/python bench/dry_run.py $(if $(BENCH_N),--records $(BENCH_N),)

bench-classifier: install ## classify_email against email-validator alone
	$(BIN)/python bench/classifier.py

bench-page-parse: install ## a page of Recruit records read with only the fields used, against read whole
	$(BIN)/python bench/page_parse.py

bench-http-client: install ## the fetcher's CPU per page through its aiohttp transport, against httpx's own
	$(BIN)/python bench/http_client.py

bench-fairness: install ## twenty syncs of 1,000 records alone, then 1 s into a full sync of 300,000 (BENCH_BACKFILL=...)
	@echo "--- bench/fairness.py"
	$(BIN)/python bench/fairness.py $(if $(BENCH_BACKFILL),--backfill $(BENCH_BACKFILL),)

bench-fairness-quick: install ## the same beside a backfill of 100,000
	@echo "--- bench/fairness.py --quick"
	$(BIN)/python bench/fairness.py --quick

bench-latency: install ## a full sync of 20,000 with Recruit slowed to 300 ms a call, against calls x delay
	@echo "--- bench/latency.py"
	$(BIN)/python bench/latency.py

bench-memory: install ## peak RSS per service, full syncs of 200,000 and of 1,000,000 (two stacks), growth ratio
	@echo "--- bench/memory.py"
	$(BIN)/python bench/memory.py

bench-memory-quick: install ## the same for 50,000 and 200,000
	@echo "--- bench/memory.py --quick"
	$(BIN)/python bench/memory.py --quick

bench-incremental: install ## a no-change incremental run on a store of 1,000,000 contacts, against one of 1,000
	@echo "--- bench/incremental.py"
	$(BIN)/python bench/incremental.py

bench-incremental-quick: install ## the same on a store of 100,000
	@echo "--- bench/incremental.py --quick"
	$(BIN)/python bench/incremental.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The two commands: `make demo` and `make test`. Both install what is missing first.
.PHONY: all bootstrap build build-dev demo test test-dev lint format bench fuzz clean

PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)

all: build

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	@[ -f $(BUILD_DIR)/build.ninja ] || cmake --preset $(PRESET) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)/src/cli/slipway

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 1500

# AddressSanitizer + UBSan build of everything, then the same tests.
test-dev:
	@$(MAKE) test PRESET=dev

lint:
	@bash scripts/bootstrap.sh --dev-tools
	@bash scripts/lint.sh

format:
	@git ls-files '*.h' '*.cpp' | xargs clang-format -i

bench: build
	@.venv/bin/python -m pip install -q -r requirements-bench.txt  # peers only benchmarks need (MLflow's server)
	@.venv/bin/python bench/run.py $(BENCH)

fuzz:
	@bash scripts/bootstrap.sh --dev-tools
	@[ -f build/fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
	@cmake --build build/fuzz -j $(JOBS)

clean:
	rm -rf build

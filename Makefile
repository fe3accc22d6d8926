# Two entry points (the README opens with them) and a few helpers around meson.
#   make demo   install deps, build, run the finbot example suite against v1 and v2
#   make test   install deps, build, run every test; closes with "N passed, N failed"
BUILD ?= build
MESON_OPTS ?=

.PHONY: all setup llama build demo test asan fuzz lint clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS) >/dev/null

# llama.cpp from the npm registry (pinned; cached outside the clone, llama-server built once).
# A build folder configured before it was there is reconfigured so the worker gets built.
llama: setup
	@bash scripts/llama.sh --server --quiet
	@if [ -f $(BUILD)/al_config.h ] && grep -q 'AL_LLAMA_DIR ""' $(BUILD)/al_config.h; then \
	  meson setup --reconfigure $(BUILD) $(MESON_OPTS) >/dev/null; fi

build: setup $(BUILD)/build.ninja
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

demo: build
	@bash scripts/demo.sh $(BUILD)

test: llama build
	@meson test -C $(BUILD) --print-errorlogs --num-processes 2 >$(BUILD)/test-output.txt 2>&1 || true
	@python3 tests/summary.py $(BUILD)

asan: setup
	@test -f build-asan/build.ninja || CC=clang meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C build-asan >/dev/null || ninja -C build-asan
	@meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 4 --suite unit --suite fuzz >build-asan/test-output.txt 2>&1 || true
	@python3 tests/summary.py build-asan

lint:
	@bash scripts/lint.sh

clean:
	rm -rf build build-asan build-fuzz

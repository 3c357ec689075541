# correo - the two commands: `make run` and `make test`.
#   make run    install missing Debian packages, build optimized, run correod with config/correo.toml
#   make test   install missing packages (and test peers), build with ASan+UBSan, run every test
#   make bench  ingest (bench/ingest.py), end-to-end relay vs Postfix (bench/relay.py), TLS (bench/tls.py),
#               anti-spam policy cost (bench/policy.py)
#   make bench-micro  the Google Benchmark microbenchmarks (bench/micro/) on the Release build
#   make fuzz   build the libFuzzer targets with clang (build-fuzz/) and fuzz each for FUZZ_SECONDS
#   make test-tsan  ThreadSanitizer build (build-tsan/): unit tests and the integration tests
#               whose daemon runs every thread hand-off (workers, spool, scheduler, admin)
JOBS ?= $(shell nproc)
BUILD ?= build
TEST_BUILD ?= build-asan
CONFIG ?= config/correo.toml

FUZZ_SECONDS ?= 60
TSAN_BUILD ?= build-tsan
# Integration suites that drive every thread hand-off: worker -> spool -> worker, the
# scheduler and outbound delivery, admin commands, reload, kill -9 recovery.
TSAN_INTEGRATION ?= test_sink|test_delivery|test_delivery_tls|test_operations|test_durability|test_crash|test_reload|test_pipelining|test_policy|test_smtp_session|test_milter|test_observability|test_tls_auth

.PHONY: run test test-tsan build build-test deps deps-test bench bench-micro fuzz clean

deps:
	@deploy/debian-deps.sh build

deps-test:
	@deploy/debian-deps.sh test

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/correod --config $(CONFIG)

build-test: deps-test
	cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCORREO_SANITIZE=ON
	cmake --build $(TEST_BUILD) -j $(JOBS)

test: build-test
	cd $(TEST_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

bench: build deps-test
	bench/ingest.py --reps 3 --seconds 10
	bench/relay.py --reps 3 --messages 10000
	bench/tls.py --reps 3 --seconds 10
	bench/policy.py --reps 3 --seconds 8

bench-micro: build
	@for b in $(BUILD)/bench/*_bench; do $$b --benchmark_min_time=0.5 || exit 1; done

test-tsan: deps-test
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORREO_TSAN=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(CURDIR)/tests/tsan.supp" \
		ctest --output-on-failure -j $(JOBS) -L unit && \
		TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(CURDIR)/tests/tsan.supp" \
		ctest --output-on-failure -j $(JOBS) -R "integration\.($(TSAN_INTEGRATION))$$"

fuzz: deps-test
	tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-fuzz $(TSAN_BUILD)

# The two commands of the README: `make run` and `make test`.
# Both install what is missing (scripts/bootstrap), then build with CMake.

BUILD      ?= build
TEST_BUILD ?= build-test
LISTEN     ?= 127.0.0.1:8080
DC09_LISTEN ?= 127.0.0.1:9009
DATA_DIR   ?= data
JOBS       ?= $(shell nproc)

.PHONY: run test build test-build bootstrap format clean

bootstrap:
	@./scripts/bootstrap

# The web console is built into $(BUILD)/web (scripts/build-web); notaloned serves it at /.
build: bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	./scripts/build-web $(BUILD)/web

run: build
	./$(BUILD)/notaloned --listen $(LISTEN) --dc09-listen $(DC09_LISTEN) --data-dir $(DATA_DIR) \
	    --console-dir $(BUILD)/web

# The test build is the one CI trusts: AddressSanitizer + UndefinedBehaviorSanitizer,
# warnings as errors. The browser tests (tests/browser) use the console built into
# $(TEST_BUILD)/web.
test-build: bootstrap
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNOTALONE_SANITIZE=ON \
	      -DNOTALONE_WERROR=ON >/dev/null
	cmake --build $(TEST_BUILD) -j $(JOBS)
	./scripts/build-web $(TEST_BUILD)/web

test: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD)

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

build: bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/notaloned --listen $(LISTEN) --dc09-listen $(DC09_LISTEN) --data-dir $(DATA_DIR)

# The test build is the one CI trusts: AddressSanitizer + UndefinedBehaviorSanitizer,
# warnings as errors.
test-build: bootstrap
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNOTALONE_SANITIZE=ON \
	      -DNOTALONE_WERROR=ON >/dev/null
	cmake --build $(TEST_BUILD) -j $(JOBS)

test: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD)

# A private PostgreSQL server (scripts/test-pg) for the runs on the second backend: started
# before the first test that needs it, stopped after the last.
set(PG_TEST_DIR ${CMAKE_BINARY_DIR}/pg)
add_test(NAME pg.start COMMAND ${CMAKE_SOURCE_DIR}/scripts/test-pg start ${PG_TEST_DIR})
add_test(NAME pg.stop COMMAND ${CMAKE_SOURCE_DIR}/scripts/test-pg stop ${PG_TEST_DIR})
set_tests_properties(pg.start PROPERTIES FIXTURES_SETUP pg TIMEOUT 120)
set_tests_properties(pg.stop PROPERTIES FIXTURES_CLEANUP pg)

# Unit tests: every tests/unit/test_<module>.c is one cmocka program. The storage tests
# run twice: on SQLite, and as unit_pg.* on PostgreSQL (NOTALONE_TEST_PG_DIR set).
file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(${name} PRIVATE NOTALONE_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  # Tests of the HTTP and daemon parts need the server library; the rest only what they test.
  if(name MATCHES "^test_(http|api|config|metrics|router|daemon|notify|sched|watch|dc09)")
    target_link_libraries(${name} PRIVATE na_server)
  else()
    target_link_libraries(${name} PRIVATE na_store PkgConfig::JANSSON)
  endif()
  target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES TIMEOUT 120)
  if(name MATCHES "^test_store")
    add_test(NAME unit_pg.${name} COMMAND ${name})
    set_tests_properties(unit_pg.${name} PROPERTIES TIMEOUT 300 FIXTURES_REQUIRED pg
                         ENVIRONMENT "NOTALONE_TEST_PG_DIR=${PG_TEST_DIR}")
  endif()
endforeach()

# Black-box tests: every tests/blackbox/test_*.py runs the real binaries under pytest, on
# SQLite (blackbox.*) and on PostgreSQL (blackbox_pg.*); test_cluster*.py, several nodes
# on one database, only on PostgreSQL. Debian's python3 is used explicitly: it is the one
# python3-pytest installs into.
set(BLACKBOX_ENV "NOTALONED=$<TARGET_FILE:notaloned>;NOTALONE_CLI=$<TARGET_FILE:notalone>;NOTALONE_SOURCE_DIR=${CMAKE_SOURCE_DIR};ASAN_OPTIONS=detect_leaks=1:abort_on_error=0;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
file(GLOB BLACKBOX_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/blackbox/test_*.py)
foreach(src ${BLACKBOX_TESTS})
  get_filename_component(name ${src} NAME_WE)
  set(pytest /usr/bin/python3 -m pytest -q -p no:cacheprovider ${src})
  if(NOT name MATCHES "^test_cluster")
    add_test(NAME blackbox.${name} COMMAND ${pytest})
    set_tests_properties(blackbox.${name} PROPERTIES TIMEOUT 600 ENVIRONMENT "${BLACKBOX_ENV}")
  endif()
  add_test(NAME blackbox_pg.${name} COMMAND ${pytest})
  set_tests_properties(blackbox_pg.${name} PROPERTIES TIMEOUT 900 FIXTURES_REQUIRED pg
                       ENVIRONMENT "${BLACKBOX_ENV};NOTALONE_TEST_PG_DIR=${PG_TEST_DIR}")
endforeach()

# Browser tests of the web console: every tests/browser/<name>.test.mjs runs under node's
# test runner, driving Debian's Chromium (playwright-core from web/node_modules) against a
# real notaloned that serves the console built into ${CMAKE_BINARY_DIR}/web (make
# test-build, or scripts/build-web DIR). Screenshots of the pages land in
# ${CMAKE_BINARY_DIR}/screenshots. SQLite only: they test the console, and the black-box
# tests already run the API on both backends.
set(BROWSER_ENV "NOTALONED=$<TARGET_FILE:notaloned>;NOTALONE_SOURCE_DIR=${CMAKE_SOURCE_DIR};NOTALONE_CONSOLE_DIR=${CMAKE_BINARY_DIR}/web;NOTALONE_SCREENSHOTS=${CMAKE_BINARY_DIR}/screenshots;ASAN_OPTIONS=detect_leaks=1:abort_on_error=0;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
file(GLOB BROWSER_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/browser/*.test.mjs)
foreach(src ${BROWSER_TESTS})
  get_filename_component(name ${src} NAME)
  string(REGEX REPLACE "\\.test\\.mjs$" "" name ${name})
  add_test(NAME browser.${name} COMMAND node --test ${src})
  set_tests_properties(browser.${name} PROPERTIES TIMEOUT 300 ENVIRONMENT "${BROWSER_ENV}")
endforeach()

# Source checks: banned calls and formatting (STYLE.md).
add_test(NAME check.banned_calls COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-banned ${CMAKE_SOURCE_DIR})
add_test(NAME check.format COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-format ${CMAKE_SOURCE_DIR})

# Fuzzing: the DC-09 frame parser's libFuzzer target, briefly (20 s) from its seed corpus;
# by hand for hours: scripts/fuzz-dc09 /tmp/fz 36000.
add_test(NAME fuzz.dc09_frame COMMAND ${CMAKE_SOURCE_DIR}/scripts/fuzz-dc09 ${CMAKE_BINARY_DIR}/fuzz-dc09 20)
set_tests_properties(fuzz.dc09_frame PROPERTIES TIMEOUT 300)

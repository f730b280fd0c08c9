# Unit tests: every tests/unit/test_<module>.c is one cmocka program.
file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(${name} PRIVATE NOTALONE_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  # Tests of the HTTP and daemon parts need the server library; the rest only what they test.
  if(name MATCHES "^test_(http|api|config|metrics|router|daemon|notify|sched|watch)")
    target_link_libraries(${name} PRIVATE na_server)
  else()
    target_link_libraries(${name} PRIVATE na_store PkgConfig::JANSSON)
  endif()
  target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES TIMEOUT 120)
endforeach()

# Black-box tests: every tests/blackbox/test_*.py runs the real binaries under pytest.
# Debian's python3 is used explicitly: it is the one python3-pytest installs into.
file(GLOB BLACKBOX_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/blackbox/test_*.py)
foreach(src ${BLACKBOX_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME blackbox.${name}
           COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider ${src})
  set_tests_properties(blackbox.${name} PROPERTIES
    TIMEOUT 600
    ENVIRONMENT "NOTALONED=$<TARGET_FILE:notaloned>;NOTALONE_CLI=$<TARGET_FILE:notalone>;NOTALONE_SOURCE_DIR=${CMAKE_SOURCE_DIR};ASAN_OPTIONS=detect_leaks=1:abort_on_error=0;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endforeach()

# Source checks: banned calls and formatting (STYLE.md).
add_test(NAME check.banned_calls COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-banned ${CMAKE_SOURCE_DIR})
add_test(NAME check.format COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-format ${CMAKE_SOURCE_DIR})

# Jepsen-style fault tests (tests/cluster/jepsen/): the checkers' own tests on
# hand-made histories, then short runs of real clusters under faults.
set(COORD_JEPSEN_DIR ${CMAKE_CURRENT_SOURCE_DIR}/jepsen)
add_test(NAME jepsen_checkers
  COMMAND ${Python3_EXECUTABLE} ${COORD_JEPSEN_DIR}/test_checkers.py)
set_tests_properties(jepsen_checkers PROPERTIES LABELS "jepsen;unit" TIMEOUT 60)

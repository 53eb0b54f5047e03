# purity.cmake: fails if the Raft libraries reference any symbol outside a
# short allowlist of libc memory/string functions and assert. Run by ctest:
#   cmake -DNM=nm -DCORE=libcoord_raft.a -DCODEC=libcoord_raft_codec.a -P purity.cmake
# Anything else (time, clock_gettime, rand, socket, open, read, write,
# pthread_*, sqlite3_*, MHD_*, uv_*, ...) breaks the core's determinism.
set(allowed
  malloc calloc realloc free
  memcpy memmove memset memcmp memchr
  strlen strnlen strcmp strncmp strcpy strncpy strchr
  __assert_fail __stack_chk_fail __memcpy_chk __memmove_chk __memset_chk
  __strcpy_chk _GLOBAL_OFFSET_TABLE_)
set(LIBS ${CORE} ${CODEC})
# Symbols the libraries define themselves are internal references.
set(defined "")
foreach(lib ${LIBS})
  execute_process(COMMAND ${NM} -g --defined-only ${lib} OUTPUT_VARIABLE out)
  string(REGEX MATCHALL "[^\n]+" lines "${out}")
  foreach(line ${lines})
    if(line MATCHES "^[0-9a-fA-F]+ [A-Za-z] (.+)$")
      list(APPEND defined "${CMAKE_MATCH_1}")
    endif()
  endforeach()
endforeach()
set(bad "")
foreach(lib ${LIBS})
  execute_process(COMMAND ${NM} -u ${lib} OUTPUT_VARIABLE out RESULT_VARIABLE rv)
  if(NOT rv EQUAL 0)
    message(FATAL_ERROR "nm failed on ${lib}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  foreach(line ${lines})
    string(STRIP "${line}" line)
    if(line STREQUAL "" OR line MATCHES ":$")
      continue()
    endif()
    string(REGEX REPLACE "^U +" "" sym "${line}")
    string(REGEX REPLACE "@.*" "" sym "${sym}")
    # Instrumentation the compiler inserts in sanitizer builds.
    if(sym MATCHES "^__(asan|ubsan|sanitizer)_")
      continue()
    endif()
    list(FIND defined "${sym}" internal)
    if(NOT internal EQUAL -1)
      continue()
    endif()
    list(FIND allowed "${sym}" at)
    if(at EQUAL -1)
      list(APPEND bad "${sym} (${lib})")
    endif()
  endforeach()
endforeach()
if(bad)
  list(REMOVE_DUPLICATES bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  message(FATAL_ERROR "raft/ references symbols outside the allowlist:\n  ${bad}")
endif()
message(STATUS "raft purity: only allowlisted libc symbols referenced")

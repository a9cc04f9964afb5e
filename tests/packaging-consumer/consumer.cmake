# The consumer program both packaging tests build: main.cc linked against
# mlmon::mlmon (and mlmon::http when the package has it), checking at run
# time that the headers report `version`, the version the build system saw.
# The caller calls enable_testing() at its top level first.
function(mlmon_add_consumer version)
  add_executable(consumer ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/main.cc)
  target_link_libraries(consumer PRIVATE mlmon::mlmon)
  target_compile_definitions(consumer PRIVATE MLMON_EXPECTED_VERSION="${version}")
  if(TARGET mlmon::http)
    target_link_libraries(consumer PRIVATE mlmon::http)
    target_compile_definitions(consumer PRIVATE MLMON_CONSUMER_WITH_HTTP=1)
  endif()
  add_test(NAME consumer COMMAND consumer)
  # A shared library carries SOVERSION = the major version, so the consumer
  # records libmlmon.so.<major>: an incompatible release gets a new name.
  get_target_property(type mlmon::mlmon TYPE)
  if(type STREQUAL "SHARED_LIBRARY")
    string(REGEX MATCH "^[0-9]+" major "${version}")
    add_test(NAME soname
      COMMAND sh -c "readelf -d \"$<TARGET_FILE:consumer>\" | grep -q 'NEEDED.*\\[libmlmon\\.so\\.${major}\\]'")
  endif()
endfunction()

# The consumer program both packaging tests build: main.cc linked against
# mlmon::mlmon (and mlmon::http when the package has it), checking at run
# time that the headers report `version`, the version the build system saw.
function(mlmon_add_consumer version)
  add_executable(consumer ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/main.cc)
  target_link_libraries(consumer PRIVATE mlmon::mlmon)
  target_compile_definitions(consumer PRIVATE MLMON_EXPECTED_VERSION="${version}")
  if(TARGET mlmon::http)
    target_link_libraries(consumer PRIVATE mlmon::http)
    target_compile_definitions(consumer PRIVATE MLMON_CONSUMER_WITH_HTTP=1)
  endif()
  enable_testing()
  add_test(NAME consumer COMMAND consumer)
endfunction()

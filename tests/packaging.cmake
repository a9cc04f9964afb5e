# Packaging tests, as in fmt: consumer projects built with
# `ctest --build-and-test` against
#   - an install of this build into a scratch prefix (find_package),
#   - this build tree (find_package through the build-tree export),
#   - the source tree (add_subdirectory), as shared libraries.
# Included at the end of tests/CMakeLists.txt. Each consumer links
# mlmon::mlmon (and mlmon::http when built) and runs a program that records
# metrics and checks the exposition.
#
# This file is also the install step of the install-tree test, run as
#   cmake -DBINARY_DIR=<build> -DPREFIX=<dir> -DLIBDIR=<lib> [-DCONFIG=<cfg>]
#         [-DCLEAN=<dir>...] -P packaging.cmake
# which empties PREFIX (and CLEAN), installs BINARY_DIR into it and checks
# that the package config landed.

if(CMAKE_SCRIPT_MODE_FILE)
  foreach(var BINARY_DIR PREFIX LIBDIR)
    if(NOT ${var})
      message(FATAL_ERROR "packaging.cmake: -D${var}=... is required")
    endif()
  endforeach()
  file(REMOVE_RECURSE "${PREFIX}" ${CLEAN})
  set(config_args)
  if(CONFIG)
    set(config_args --config "${CONFIG}")
  endif()
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --install "${BINARY_DIR}" --prefix "${PREFIX}"
            ${config_args}
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install ${BINARY_DIR} failed: ${rc}")
  endif()
  foreach(file
      "${PREFIX}/${LIBDIR}/cmake/mlmon/mlmon-config.cmake"
      "${PREFIX}/${LIBDIR}/cmake/mlmon/mlmon-config-version.cmake"
      "${PREFIX}/${LIBDIR}/cmake/mlmon/mlmon-targets.cmake"
      "${PREFIX}/include/mlmon/mlmon.h"
      "${PREFIX}/include/mlmon/version.h")
    if(NOT EXISTS "${file}")
      message(FATAL_ERROR "not installed: ${file}")
    endif()
  endforeach()
  if(EXISTS "${PREFIX}/include/mlmon/internal" OR EXISTS "${PREFIX}/src")
    message(FATAL_ERROR "private headers were installed under ${PREFIX}")
  endif()
  return()
endif()

if(MLMON_SANITIZE)
  # The consumers are built without the sanitizer and could not link a
  # sanitized static library; packaging does not depend on it anyway.
  message(STATUS "mlmon: packaging tests are skipped in sanitizer builds")
  return()
endif()

set(_mlmon_pkg_dir "${CMAKE_CURRENT_BINARY_DIR}/packaging")

# -C for the consumer builds and their ctest run.
get_property(_mlmon_multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
set(_mlmon_pkg_config)
if(_mlmon_multi_config)
  set(_mlmon_pkg_config -C $<CONFIG>)
elseif(CMAKE_BUILD_TYPE)
  set(_mlmon_pkg_config -C ${CMAKE_BUILD_TYPE})
endif()

# Lists in add_test() arguments need escaped semicolons.
string(REPLACE ";" "$<SEMICOLON>" _mlmon_pkg_prefix_path "${CMAKE_PREFIX_PATH}")

# mlmon_add_packaging_test(NAME SOURCE_DIR OPTIONS...): builds the consumer
# project in SOURCE_DIR with the same generator, compiler and build type as
# this build, then runs its tests.
function(mlmon_add_packaging_test name source_dir)
  add_test(NAME ${name}
    COMMAND ${CMAKE_CTEST_COMMAND} ${_mlmon_pkg_config}
      --build-and-test "${source_dir}" "${_mlmon_pkg_dir}/${name}"
      --build-generator "${CMAKE_GENERATOR}"
      --build-makeprogram "${CMAKE_MAKE_PROGRAM}"
      --build-options
        "-DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}"
        "-DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}"
        ${ARGN}
      --test-command ${CMAKE_CTEST_COMMAND} ${_mlmon_pkg_config}
        --output-on-failure --no-tests=error)
  set_tests_properties(${name} PROPERTIES LABELS packaging TIMEOUT 900)
endfunction()

if(MLMON_INSTALL)
  # Install this build into a scratch prefix, then find it there.
  set(_mlmon_pkg_prefix "${_mlmon_pkg_dir}/install")
  add_test(NAME packaging-install
    COMMAND "${CMAKE_COMMAND}"
      "-DBINARY_DIR=${mlmon_BINARY_DIR}"
      "-DPREFIX=${_mlmon_pkg_prefix}"
      "-DLIBDIR=${CMAKE_INSTALL_LIBDIR}"
      "-DCONFIG=$<CONFIG>"
      "-DCLEAN=${_mlmon_pkg_dir}/find-package-test"
      -P "${CMAKE_CURRENT_LIST_FILE}")
  set_tests_properties(packaging-install PROPERTIES
    LABELS packaging TIMEOUT 300
    FIXTURES_SETUP mlmon_installed
    RESOURCE_LOCK mlmon_packaging_install)

  set(_mlmon_pkg_install_path "${_mlmon_pkg_prefix}")
  if(_mlmon_pkg_prefix_path)
    string(APPEND _mlmon_pkg_install_path "$<SEMICOLON>${_mlmon_pkg_prefix_path}")
  endif()
  mlmon_add_packaging_test(find-package-test
    "${CMAKE_CURRENT_SOURCE_DIR}/find-package-test"
    "-DCMAKE_PREFIX_PATH=${_mlmon_pkg_install_path}"
    "-DMLMON_EXPECTED_PREFIX=${_mlmon_pkg_prefix}")
  set_tests_properties(find-package-test PROPERTIES
    FIXTURES_REQUIRED mlmon_installed
    RESOURCE_LOCK mlmon_packaging_install)

  # The build-tree export (export() + the configured mlmon-config.cmake).
  mlmon_add_packaging_test(find-package-build-tree-test
    "${CMAKE_CURRENT_SOURCE_DIR}/find-package-test"
    "-Dmlmon_DIR=${mlmon_BINARY_DIR}"
    "-DCMAKE_PREFIX_PATH=${_mlmon_pkg_prefix_path}"
    "-DMLMON_EXPECTED_PREFIX=${mlmon_BINARY_DIR}")
else()
  message(STATUS "mlmon: install-tree packaging tests need MLMON_INSTALL=ON")
endif()

# Built as shared libraries, so that the SONAME is checked too.
mlmon_add_packaging_test(add-subdirectory-test
  "${CMAKE_CURRENT_SOURCE_DIR}/add-subdirectory-test"
  "-DMLMON_SOURCE_DIR=${mlmon_SOURCE_DIR}"
  "-DBUILD_SHARED_LIBS=ON"
  "-DCMAKE_PREFIX_PATH=${_mlmon_pkg_prefix_path}")

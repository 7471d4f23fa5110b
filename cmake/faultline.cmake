# fl_library(NAME DIR DEPS...): one static library per folder, from every .cc in
# it (main.cc excluded). A folder with no code yet is an INTERFACE library, so
# targets can name their dependencies before the code arrives.
function(fl_library name dir)
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cc)
  list(FILTER sources EXCLUDE REGEX ".*/main\\.cc$")
  if(sources)
    add_library(${name} STATIC ${sources})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${ARGN})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARGN})
  endif()
endfunction()

# fl_test(NAME DIR LIBS...): a GoogleTest + RapidCheck executable from every .cc
# in tests/DIR, registered with CTest.
function(fl_test name dir)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${dir}/*.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(${name} ${sources})
  target_link_libraries(${name} PRIVATE ${ARGN} GTest::gtest GTest::gtest_main rapidcheck rapidcheck_gtest)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "FL_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

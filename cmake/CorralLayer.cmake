# corral_layer(NAME DEPS a b ... LIBS x y ...)
# Declares the library target corral_NAME from every .cpp under src/NAME (recursively, except
# per-ISA folders kernels/x86/*, which kernels/ adds with their own flags). A layer links only
# the layers named in DEPS: that list is the dependency rule of architecture.md, and
# scripts/check-layers.sh checks the #includes against the same rule.
function(corral_layer name)
  cmake_parse_arguments(L "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  list(FILTER srcs EXCLUDE REGEX "/kernels/x86/")
  set(target corral_${name})
  if(srcs)
    add_library(${target} STATIC ${srcs})
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)  # header-only so far
    set(scope INTERFACE)
  endif()
  target_include_directories(${target} ${scope} ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${target} ${scope} corral_flags Threads::Threads)
  foreach(dep IN LISTS L_DEPS)
    target_link_libraries(${target} ${scope} corral_${dep})
  endforeach()
  if(L_LIBS)
    target_link_libraries(${target} ${scope} ${L_LIBS})
  endif()
endfunction()

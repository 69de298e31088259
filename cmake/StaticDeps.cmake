# Start-up cost: every shared library is mapped and relocated at exec, and in
# a VM each first touch of a page is a fault that costs tens of microseconds.
# With 44 shared libraries (31 of them abseil's) `logtally --version` took
# 16 ms; a run over 1 GB at -j 2 takes 0.4 s, so that was 4% of it.
# Debian ships static archives for abseil, Boost.Iostreams, zstd, zlib, bzip2
# and xz; link those statically. TBB, simdjson and ISA-L ship only shared
# objects and stay shared, and so does libstdc++, which TBB and simdjson load
# anyway (two copies of the C++ runtime in one process would be a hazard).
#
# Called after find_package(absl): rewrites the imported abseil targets to
# their .a archives. The top-level CMakeLists.txt links zstd and the codecs
# of the static Boost.Iostreams (bzip2, xz, zlib: libbz2-dev, liblzma-dev and
# zlib1g-dev, which .ci/setup installs) by their archives.

function(logtally_use_static_deps)
  get_property(imported DIRECTORY ${PROJECT_SOURCE_DIR} PROPERTY IMPORTED_TARGETS)
  foreach(t IN LISTS imported)
    if(NOT t MATCHES "^absl::")
      continue()
    endif()
    get_target_property(type ${t} TYPE)
    if(NOT type STREQUAL "SHARED_LIBRARY")
      continue()
    endif()
    get_target_property(configs ${t} IMPORTED_CONFIGURATIONS)
    foreach(cfg IN LISTS configs)
      get_target_property(loc ${t} IMPORTED_LOCATION_${cfg})
      string(REGEX REPLACE "\\.so(\\.[0-9]+)*$" ".a" archive "${loc}")
      if(NOT archive STREQUAL loc AND EXISTS "${archive}")
        set_target_properties(${t} PROPERTIES
          IMPORTED_LOCATION_${cfg} "${archive}"
          IMPORTED_SONAME_${cfg} "")
      endif()
    endforeach()
  endforeach()
endfunction()

# The Debian package: `cpack -G DEB` in the build directory makes
# logtally_<version>_<arch>.deb from the install rules (cmake/Install.cmake)
# with the prefix /usr. Its Depends come from dpkg-shlibdeps (dpkg-dev), which
# reads the binary's shared libraries: with the default static linking of
# abseil, Boost.Iostreams and the codecs (LOGTALLY_STATIC_DEPS) that is
# libtbb12, libsimdjson14, libisal2 and the C and C++ runtimes.

set(LOGTALLY_PACKAGE_CONTACT "logtally maintainers <maintainers@users.noreply.r-seed-e0c75d99.example>"
  CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME logtally)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${LOGTALLY_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "exact, fast frequency tables from firewall and other line logs")
set(CPACK_PACKAGE_DESCRIPTION
  "logtally counts netfilter (iptables, nftables, ufw) LOG lines and other line
logs by any key, and prints exact frequency tables, most frequent first. It
replaces grep | awk | sort | uniq -c | sort -rn pipelines, reads gzip, zstd,
bzip2 and xz archives, counts beyond memory through temporary files, prints
a per-service breakdown, and writes iptables or nftables rules (with their
revert script) from the groups it counted.")
# Installed into the staging directory through DESTDIR with the prefix /usr,
# so that the install rules see the real prefix (cmake/Install.cmake chooses
# the zsh directory by it).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)

# A source package would sweep up build directories: not offered.
set(CPACK_SOURCE_GENERATOR "")

include(CPack)

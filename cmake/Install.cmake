# What `cmake --install` puts where (GNUInstallDirs, relative to
# CMAKE_INSTALL_PREFIX, DESTDIR honoured): the binary, its manual page and the
# bash and zsh completions. The .deb (cmake/Packaging.cmake) is made from the
# same rules with the prefix /usr.

set(LOGTALLY_BASH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
  CACHE STRING "Where the bash completion goes (relative to the prefix, or absolute)")
set(LOGTALLY_ZSH_COMPLETION_DIR ""
  CACHE STRING "Where the zsh completion goes (relative to the prefix, or absolute; \
default: share/zsh/vendor-completions under the prefix /usr, share/zsh/site-functions under any other)")

install(TARGETS logtally RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The manual page, compressed as Debian's policy asks (gzip -9n: no name or
# time stamp inside, so the same page gives the same bytes); uncompressed
# where there is no gzip.
set(_man_src ${PROJECT_SOURCE_DIR}/docs/man/logtally.1)
find_program(LOGTALLY_GZIP gzip)
mark_as_advanced(LOGTALLY_GZIP)
if(LOGTALLY_GZIP)
  set(_man_out ${PROJECT_BINARY_DIR}/man/logtally.1.gz)
  add_custom_command(
    OUTPUT ${_man_out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${LOGTALLY_GZIP} -9nc ${_man_src} > ${_man_out}
    DEPENDS ${_man_src}
    COMMENT "Compressing the manual page"
    VERBATIM)
  add_custom_target(logtally_man ALL DEPENDS ${_man_out})
else()
  set(_man_out ${_man_src})
endif()
install(FILES ${_man_out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

install(FILES ${PROJECT_SOURCE_DIR}/completions/logtally.bash
  DESTINATION ${LOGTALLY_BASH_COMPLETION_DIR} RENAME logtally)
# zsh looks in share/zsh/vendor-completions for what the distribution's
# packages install (the .deb), and in /usr/local/share/zsh/site-functions for
# local additions; the prefix is known only at install time (cpack and
# --prefix change it), so the default is chosen then.
if(LOGTALLY_ZSH_COMPLETION_DIR)
  install(FILES ${PROJECT_SOURCE_DIR}/completions/_logtally
    DESTINATION ${LOGTALLY_ZSH_COMPLETION_DIR})
else()
  install(CODE "
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(_logtally_zsh_dir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions\")
    else()
      set(_logtally_zsh_dir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/zsh/site-functions\")
    endif()
    file(INSTALL DESTINATION \"\${_logtally_zsh_dir}\" TYPE FILE
      FILES \"${PROJECT_SOURCE_DIR}/completions/_logtally\")")
endif()

# TaskfarmInstall.cmake - installs the libraries with what finds them: the
# CMake package (find_package(taskfarm) gives taskfarm::taskfarm) and the
# pkg-config file, neither holding a path of the build machine but the MPI
# compiler the library was built with.

set(tf_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/taskfarm)
if(tf_installed_libs)
  install(TARGETS ${tf_installed_libs} EXPORT taskfarmTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          NAMELINK_COMPONENT Development
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT taskfarmTargets NAMESPACE taskfarm::
          DESTINATION ${tf_cmakedir})
endif()

include(CMakePackageConfigHelpers)
# The jobs this build has, for find_package's users to read.
set(TF_JOBS_BUILT run null pi)
if(TF_WITH_LINALG)
  list(APPEND TF_JOBS_BUILT linalg)
endif()
if(TF_WITH_LINKCHECK)
  list(APPEND TF_JOBS_BUILT linkcheck)
endif()
configure_package_config_file(
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/taskfarmConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/taskfarmConfig.cmake
  INSTALL_DESTINATION ${tf_cmakedir})
# 0.x releases make no promise from one minor version to the next.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/taskfarmConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/taskfarmConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/taskfarmConfigVersion.cmake
        DESTINATION ${tf_cmakedir})

# pkg-config: the MPI library is named by its own .pc file (Open MPI's
# ompi-c, MPICH's mpich) where it has one, so that no path of this machine
# is written; `pkg-config --static` then brings its flags.
set(TF_PC_REQUIRES_PRIVATE "")
set(TF_PC_LIBS_PRIVATE "-pthread")
if(TF_WITH_MPI)
  find_package(PkgConfig QUIET)
  set(tf_mpi_pc "")
  if(PKG_CONFIG_FOUND)
    if(MPI_C_LIBRARY_VERSION_STRING MATCHES "Open MPI")
      set(tf_mpi_candidates ompi-c ompi)
    elseif(MPI_C_LIBRARY_VERSION_STRING MATCHES "MPICH")
      set(tf_mpi_candidates mpich)
    else()
      set(tf_mpi_candidates ompi-c mpich mpi)
    endif()
    foreach(m ${tf_mpi_candidates})
      pkg_check_modules(TF_PC_${m} QUIET ${m})
      if(TF_PC_${m}_FOUND)
        set(tf_mpi_pc ${m})
        break()
      endif()
    endforeach()
  endif()
  if(tf_mpi_pc)
    set(TF_PC_REQUIRES_PRIVATE "${tf_mpi_pc}")
  else()
    # No .pc file: the libraries by name alone.
    foreach(lib ${MPI_C_LIBRARIES})
      get_filename_component(name ${lib} NAME_WE)
      string(REGEX REPLACE "^lib" "" name "${name}")
      string(APPEND TF_PC_LIBS_PRIVATE " -l${name}")
    endforeach()
  endif()
endif()
# The .pc file finds the prefix from its own place, so an install moved with
# `cmake --install --prefix DIR` still works.
file(RELATIVE_PATH TF_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/taskfarm.pc.in
               ${CMAKE_CURRENT_BINARY_DIR}/taskfarm.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/taskfarm.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

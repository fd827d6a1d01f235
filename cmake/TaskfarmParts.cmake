# TaskfarmParts.cmake - finds what the optional parts need and decides,
# from TASKFARM_MPI, TASKFARM_LINALG and TASKFARM_LINKCHECK (AUTO, ON or
# OFF), which are built: sets TF_WITH_MPI, TF_WITH_LINALG and
# TF_WITH_LINKCHECK, and says at configure what is built and why.

# Whether the part NAME (an option) is asked for at all.
function(tf_part_wanted name out)
  string(TOUPPER "${${name}}" v)
  if(v MATCHES "^(OFF|NO|FALSE|0)$")
    set(${out} OFF PARENT_SCOPE)
  else()
    set(${out} ON PARENT_SCOPE)
  endif()
endfunction()

# Sets TF_WITH_<PART> from the option NAME and FOUND; MISSING says what was
# not found. A part asked for with ON that cannot be built stops configure.
function(tf_part_decide name part found missing)
  string(TOUPPER "${${name}}" v)
  tf_part_wanted(${name} wanted)
  if(NOT wanted)
    set(with OFF)
    set(why "off (${name}=OFF)")
  elseif(found)
    set(with ON)
    set(why "built")
  elseif(v STREQUAL "AUTO")
    set(with OFF)
    set(why "not built: ${missing} not found (${name}=AUTO)")
  else()
    message(FATAL_ERROR "${name}=${${name}}, but ${missing} not found; "
                        "install it or configure with -D${name}=OFF")
  endif()
  message(STATUS "taskfarm: ${part}: ${why}")
  string(TOUPPER "${part}" upper)
  set(TF_WITH_${upper} ${with} PARENT_SCOPE)
endfunction()

# ---------------------------------------------------------------- MPI
tf_part_wanted(TASKFARM_MPI tf_want)
if(tf_want)
  # The library's version string names the MPI (Open MPI, MPICH) for the
  # pkg-config file.
  set(MPI_DETERMINE_LIBRARY_VERSION TRUE)
  find_package(MPI COMPONENTS C)
endif()
tf_part_decide(TASKFARM_MPI mpi "${MPI_C_FOUND}" "an MPI library (MPI_C)")

# ---------------------------------------------------------------- linalg
# Any BLAS with the CBLAS interface and LAPACKE, through CMake's own
# discovery: BLA_VENDOR picks one (OpenBLAS, Intel10_64lp_seq, FLAME for
# BLIS, Generic, ...). The CBLAS and LAPACKE functions may be in the BLAS
# library itself (OpenBLAS, MKL) or in libraries of their own (libcblas,
# liblapacke).
tf_part_wanted(TASKFARM_LINALG tf_want)
set(tf_linalg_missing "")
if(tf_want)
  include(CheckSymbolExists)
  find_package(BLAS)
  find_package(LAPACK)
  if(NOT BLAS_FOUND OR NOT LAPACK_FOUND)
    set(tf_linalg_missing "a BLAS and LAPACK (BLA_VENDOR picks one)")
  endif()
  # OpenBLAS's own cblas.h sits beside openblas_config.h (Debian: in a
  # directory per threading variant); any other cblas.h declares the same
  # standard functions.
  find_path(TF_CBLAS_INCLUDE_DIR cblas.h
    PATH_SUFFIXES ${CMAKE_LIBRARY_ARCHITECTURE}/openblas-pthread
                  ${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
                  ${CMAKE_LIBRARY_ARCHITECTURE}/openblas-serial
                  ${CMAKE_LIBRARY_ARCHITECTURE} openblas mkl flame blis)
  find_path(TF_LAPACKE_INCLUDE_DIR lapacke.h
    PATH_SUFFIXES ${CMAKE_LIBRARY_ARCHITECTURE} openblas mkl)
  if(NOT tf_linalg_missing AND (NOT TF_CBLAS_INCLUDE_DIR OR
                                NOT TF_LAPACKE_INCLUDE_DIR))
    set(tf_linalg_missing "cblas.h and lapacke.h")
  endif()
  set(TF_LINALG_LIBRARIES ${LAPACK_LIBRARIES} ${BLAS_LIBRARIES})
  if(NOT tf_linalg_missing)
    set(CMAKE_REQUIRED_QUIET ON)
    set(CMAKE_REQUIRED_LIBRARIES ${TF_LINALG_LIBRARIES} m)
    set(CMAKE_REQUIRED_INCLUDES ${TF_CBLAS_INCLUDE_DIR})
    check_symbol_exists(cblas_dgemm cblas.h TF_BLAS_HAS_CBLAS)
    if(NOT TF_BLAS_HAS_CBLAS)
      find_library(TF_CBLAS_LIBRARY cblas)
      if(TF_CBLAS_LIBRARY)
        list(PREPEND TF_LINALG_LIBRARIES ${TF_CBLAS_LIBRARY})
      else()
        set(tf_linalg_missing "the CBLAS functions (libcblas)")
      endif()
    endif()
    set(CMAKE_REQUIRED_LIBRARIES ${TF_LINALG_LIBRARIES} m)
    set(CMAKE_REQUIRED_INCLUDES ${TF_LAPACKE_INCLUDE_DIR})
    check_symbol_exists(LAPACKE_dpotrf lapacke.h TF_LAPACK_HAS_LAPACKE)
    if(NOT TF_LAPACK_HAS_LAPACKE)
      find_library(TF_LAPACKE_LIBRARY lapacke)
      if(TF_LAPACKE_LIBRARY)
        list(PREPEND TF_LINALG_LIBRARIES ${TF_LAPACKE_LIBRARY})
      elseif(NOT tf_linalg_missing)
        set(tf_linalg_missing "the LAPACKE functions (liblapacke)")
      endif()
    endif()
    unset(CMAKE_REQUIRED_QUIET)
    unset(CMAKE_REQUIRED_LIBRARIES)
    unset(CMAKE_REQUIRED_INCLUDES)
  endif()
else()
  set(tf_linalg_missing "-")
endif()
if(tf_linalg_missing STREQUAL "")
  set(tf_found ON)
else()
  set(tf_found OFF)
endif()
tf_part_decide(TASKFARM_LINALG linalg ${tf_found} "${tf_linalg_missing}")

# ---------------------------------------------------------------- linkcheck
tf_part_wanted(TASKFARM_LINKCHECK tf_want)
set(tf_found OFF)
if(tf_want)
  find_package(CURL)
  find_package(PkgConfig)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(JANSSON IMPORTED_TARGET GLOBAL jansson)
  endif()
  if(CURL_FOUND AND JANSSON_FOUND)
    set(tf_found ON)
  endif()
endif()
tf_part_decide(TASKFARM_LINKCHECK linkcheck ${tf_found} "libcurl and jansson")

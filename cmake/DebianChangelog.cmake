# Writes OUTPUT (changelog.gz, gzip -9n as Debian policy wants) for the
# package version of HEADER (harness/git_describe.h): run at build time after
# cmake/GitDescribe.cmake; rewrites it only when the version or the maintainer changes.
#   cmake -DHEADER=... -DPROJECT_VERSION=... -DMAINTAINER=... -DOUTPUT=... -P DebianChangelog.cmake
include(${CMAKE_CURRENT_LIST_DIR}/PackageVersion.cmake)
memprobe_package_version(version "${HEADER}" "${PROJECT_VERSION}")
set(stamp "${OUTPUT}.version")
if(EXISTS "${OUTPUT}" AND EXISTS "${stamp}")
  file(READ "${stamp}" old)
  if(old STREQUAL "${version} ${MAINTAINER}")
    return()
  endif()
endif()
string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
string(REGEX REPLACE "\\.gz$" "" plain "${OUTPUT}")
file(WRITE "${plain}" "memprobe (${version}) unstable; urgency=medium\n\n"
     "  * Built by CPack from the memprobe sources.\n\n"
     " -- ${MAINTAINER}  ${date}\n")
execute_process(COMMAND gzip -9nf "${plain}" RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "gzip -9n ${plain} failed")
endif()
file(WRITE "${stamp}" "${version} ${MAINTAINER}")

# The package version, from the one place: CMake's project version plus the
# git revision the binary was built from (the MEMPROBE_GIT_DESCRIBE that
# cmake/GitDescribe.cmake wrote into harness/git_describe.h, so the package
# and `memprobe --version` name the same revision): 0.1+gitcd3d249, with
# ".dirty" for a modified tree, or the plain project version outside git or
# at a tag.
function(memprobe_package_version out header project_version)
  set(version "${project_version}")
  if(EXISTS "${header}")
    file(STRINGS "${header}" line REGEX "MEMPROBE_GIT_DESCRIBE")
    if(line MATCHES "\"([^\"]*)\"")
      set(describe "${CMAKE_MATCH_1}")
      if(describe MATCHES "(^|-g)([0-9a-f]+)(-dirty)?$")
        set(version "${project_version}+git${CMAKE_MATCH_2}")
        if(CMAKE_MATCH_3)
          string(APPEND version ".dirty")
        endif()
      endif()
    endif()
  endif()
  set(${out} "${version}" PARENT_SCOPE)
endfunction()

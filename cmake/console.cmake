# Builds the web console when its sources changed (npm run build in web/, which needs
# `npm ci` there first: scripts/setup.sh does it) and writes every file of web/dist as a C
# array into OUT. Without node_modules an existing web/dist is embedded as it is; without
# either the binary serves no console and the build says so.
#   cmake -DWEB=<repo>/web -DOUT=<build>/gen/console_assets.c [-DNPM=npm] -P console.cmake
set(dist ${WEB}/dist)
set(stamp ${dist}/.usher-built)

if(EXISTS ${WEB}/node_modules/.bin/vite)
    file(GLOB_RECURSE inputs ${WEB}/src/* ${WEB}/public/*)
    list(APPEND inputs ${WEB}/index.html ${WEB}/package.json ${WEB}/package-lock.json
        ${WEB}/tsconfig.json ${WEB}/vite.config.ts)
    set(stale FALSE)
    foreach(input ${inputs})
        if(NOT EXISTS ${stamp} OR ${input} IS_NEWER_THAN ${stamp})
            set(stale TRUE)
            break()
        endif()
    endforeach()
    if(stale)
        if(NOT NPM)
            set(NPM npm)
        endif()
        message(STATUS "Building the web console (npm run build in web/)")
        execute_process(COMMAND ${NPM} run --silent build WORKING_DIRECTORY ${WEB}
            RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "the web console did not build (npm run build in web/: ${rc}):\n${out}")
        endif()
        file(TOUCH ${stamp})
    endif()
elseif(NOT EXISTS ${dist}/index.html)
    message(WARNING "web/node_modules is missing (run scripts/setup.sh): "
        "this build of usher has no web console")
endif()

set(body "/* Generated from web/dist by cmake/console.cmake; do not edit. */\n")
string(APPEND body "#include \"http/static.h\"\n\n")
set(entries "")
if(EXISTS ${dist}/index.html)
    file(GLOB_RECURSE files RELATIVE ${dist} ${dist}/*)
    list(SORT files)
    set(i 0)
    foreach(rel ${files})
        get_filename_component(name ${rel} NAME)
        if(name MATCHES "^\\.")
            continue()
        endif()
        file(READ ${dist}/${rel} hex HEX)
        string(LENGTH "${hex}" hex_len)
        math(EXPR len "${hex_len} / 2")
        string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
        # One line per 64 bytes keeps the file readable and the compiler's lines short.
        string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){64})" "\\1\n    " bytes "${bytes}")
        string(APPEND body "static const unsigned char file_${i}[] = {\n    ${bytes}0x00};\n")
        string(APPEND entries "    {\"/${rel}\", file_${i}, ${len}},\n")
        math(EXPR i "${i} + 1")
    endforeach()
endif()
string(APPEND body "\nconst struct http_static_file http_static_files[] = {\n")
string(APPEND body "${entries}    {0, 0, 0},\n};\n")
# Always rewritten (so make sees it newer than the sources it ran for), atomically.
file(WRITE ${OUT}.tmp "${body}")
file(RENAME ${OUT}.tmp ${OUT})

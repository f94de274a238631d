# Every dependency comes from a Debian 12 package (tools/bootstrap.sh installs them); nothing is vendored.
find_package(nlohmann_json 3.10 REQUIRED)          # nlohmann-json3-dev: config.json, tokenizer.json, CLI output
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)    # libpcre2-dev: Unicode regex (\p{L}, lookahead)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc) # libutf8proc-dev: NFC/NFKC normalization
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)   # libopenblas-dev: sgemm for prefill
find_package(CLI11 2.1 REQUIRED)                    # libcli11-dev: statescope-cli argument parsing
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED)                       # threads over channels/heads in the CPU kernels
if(STATESCOPE_TESTS)
  find_package(GTest REQUIRED)                      # libgtest-dev
endif()
if(STATESCOPE_BENCH)
  find_package(benchmark REQUIRED)                  # libbenchmark-dev
endif()

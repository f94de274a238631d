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

# The studio (app/studio, widgets/): Qt 6 widgets and QCustomPlot, only when STATESCOPE_GUI allows.
# qt6-base-dev + qt6-base-dev-tools (moc, rcc), qt6-qpa-plugins (the offscreen platform the GUI
# tests use), qt6-svg-dev (QSvgGenerator), libqcustomplot-dev (Debian's Qt 6 build:
# libQCustomPlotQt6.so, /usr/include/qcustomplot.h).
set(STATESCOPE_HAVE_GUI OFF)
if(NOT STATESCOPE_GUI STREQUAL "OFF" AND NOT STATESCOPE_ONLY_FUZZ)
  if(STATESCOPE_GUI STREQUAL "ON")
    set(_gui_required REQUIRED)
  else()
    set(_gui_required QUIET)
  endif()
  # PrintSupport: QCustomPlot links it; Svg: plot export as SVG (widgets/common/plot_export.cpp).
  find_package(Qt6 6.2 ${_gui_required} COMPONENTS Core Gui Widgets PrintSupport Svg Test)
  find_package(QCustomPlotQt6 CONFIG QUIET)
  if(NOT TARGET QCustomPlotQt6::QCustomPlotQt6)
    # No CMake package (older Debian, other distributions): the header and the Qt 6 library.
    find_path(QCUSTOMPLOT_INCLUDE_DIR qcustomplot.h)
    find_library(QCUSTOMPLOT_LIBRARY NAMES QCustomPlotQt6 qcustomplot-qt6)
    if(QCUSTOMPLOT_INCLUDE_DIR AND QCUSTOMPLOT_LIBRARY AND Qt6_FOUND)
      add_library(QCustomPlotQt6::QCustomPlotQt6 UNKNOWN IMPORTED)
      set_target_properties(QCustomPlotQt6::QCustomPlotQt6 PROPERTIES
        IMPORTED_LOCATION "${QCUSTOMPLOT_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${QCUSTOMPLOT_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "Qt6::Widgets;Qt6::PrintSupport")
    endif()
  endif()
  if(Qt6_FOUND AND TARGET QCustomPlotQt6::QCustomPlotQt6)
    set(STATESCOPE_HAVE_GUI ON)
  elseif(STATESCOPE_GUI STREQUAL "ON")
    message(FATAL_ERROR "STATESCOPE_GUI=ON but QCustomPlot for Qt 6 was not found (apt-get install libqcustomplot-dev)")
  else()
    message(STATUS "Statescope studio: not built (Qt 6 Widgets/Svg/Test or QCustomPlot for Qt 6 not found; "
                   "apt-get install qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqcustomplot-dev)")
  endif()
endif()

#!/usr/bin/env bash
# Set up, build and run Statescope on Debian 12 from a fresh clone. Idempotent: a second run installs
# nothing and rebuilds only what changed.
#
#   tools/bootstrap.sh run    install what is missing, build, start the studio on the demo zoo
#                             (resources/models: zoo-hybrid loaded, the other three in the model list;
#                             with no display: the CLI chats with zoo-hybrid, saying why)
#   tools/bootstrap.sh test   install what is missing, build, run the whole test suite through ctest
#                             (including the fuzz targets for a bounded time when clang is there)
set -euo pipefail

mode="${1:-run}"
case "$mode" in run|test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${STATESCOPE_BUILD_DIR:-$root/build}"
jobs="$(nproc 2>/dev/null || echo 2)"

# Debian packages, each for one job (see cmake/Dependencies.cmake).
packages=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev      # JSON: config.json, tokenizer.json, CLI output
  libpcre2-dev            # Unicode regex for pre-tokenizers
  libutf8proc-dev         # NFC/NFKC normalization
  libcli11-dev            # command-line parsing
  libopenblas-dev         # sgemm for prefill
  libsqlite3-dev          # the session store (WAL, FTS5)
  libgtest-dev            # tests
  libbenchmark-dev        # benchmarks
  qt6-base-dev            # the studio (statescope): Qt 6 Core, Gui, Widgets, Test
  qt6-base-dev-tools      # moc and rcc for the studio
  qt6-qpa-plugins         # Qt platform plugins, among them offscreen for the GUI tests without a display
  libqcustomplot-dev      # plots in the studio (Debian's Qt 6 build: libqcustomplot2.1-qt6)
  qt6-svg-dev             # QtSvg: plots export as SVG (QSvgGenerator)
  libqt6svg6              # the SVG icon engine (the studio's window icon is an SVG)
  libgl-dev               # OpenGL headers Qt6Gui's CMake package asks for
)
if [ "$mode" = test ]; then
  packages+=(clang libclang-rt-14-dev libomp-dev)   # libFuzzer + sanitizers (and OpenMP for clang) for the fuzz targets
  packages+=(desktop-file-utils appstream)          # tests/packaging/check_deb.sh validates the desktop entry and metainfo
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "statescope: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$jobs"

if [ "$mode" = run ]; then
  demo="$root/resources/models/zoo-hybrid"
  studio="$build/app/studio/statescope"
  if [ -x "$studio" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
    echo "== statescope --model $demo"
    exec "$studio" --model "$demo"
  fi
  if [ ! -x "$studio" ]; then
    echo "statescope: the studio was not built (Qt 6 or QCustomPlot missing, see the cmake output); running the CLI demo instead" >&2
  else
    echo "statescope: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so not starting the studio; running the CLI demo instead." >&2
    echo "statescope: a picture of the studio without a display: QT_QPA_PLATFORM=offscreen $studio --screenshot shot.png --prompt 'Hello'" >&2
  fi
  echo "== statescope-cli info --model $demo"
  "$build/app/statescope-cli" info --model "$demo"
  echo "== statescope-cli generate --chat (zoo-hybrid, a 2.7M-parameter Nemotron-H-style model trained on children's stories)"
  "$build/app/statescope-cli" generate --chat --model "$demo" --prompt "Tell me a story about Lily." --max-new 120 --seed 1 --temperature 0.8
  exit 0
fi

ctest --test-dir "$build" --output-on-failure -j "$jobs"

# Fuzz targets: a separate clang build with libFuzzer + ASan/UBSan, each target run for a bounded time.
if command -v clang++ >/dev/null 2>&1; then
  fuzz_build="${build}-fuzz"
  cmake -S "$root" -B "$fuzz_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DSTATESCOPE_FUZZ=ON -DSTATESCOPE_TESTS=ON -DSTATESCOPE_BENCH=OFF -DSTATESCOPE_ONLY_FUZZ=ON \
    -DSTATESCOPE_CUDA=OFF -DSTATESCOPE_GUI=OFF
  cmake --build "$fuzz_build" -j "$jobs"
  ctest --test-dir "$fuzz_build" --output-on-failure -L fuzz
else
  echo "statescope: clang++ not found; fuzz targets skipped" >&2
  exit 1
fi

#!/bin/sh
# Builds the .deb with CPack from a configured, built tree and checks it as an installer would see it:
# the files it must hold, its Depends, the desktop entry and AppStream metainfo (validated where the
# validators are installed), then runs the programs from the unpacked tree, which finds its demo model
# at <bin>/../share/statescope/models as an installed copy does.
# usage: check_deb.sh BUILD_DIR WITH_GUI(ON|OFF)
set -eu
build=$1; gui=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check_deb: $*" >&2; exit 1; }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" > "$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$work"/out/statescope_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "cpack wrote no statescope_*.deb in $work/out"
echo "package: $(basename "$deb"), $(wc -c < "$deb") bytes"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$work/files"
need="/usr/bin/statescope-cli /usr/share/doc/statescope/copyright"
if [ "$gui" = ON ]; then
  app=io.github.statescope.Statescope
  models=/usr/share/statescope/models/zoo-hybrid
  need="$need /usr/bin/statescope /usr/share/applications/$app.desktop /usr/share/metainfo/$app.metainfo.xml
        /usr/share/icons/hicolor/scalable/apps/$app.svg $models/config.json $models/model.safetensors
        $models/tokenizer.json $models/tokenizer_config.json $models/MODEL_CARD.md
        /usr/share/statescope/models/LICENSE-DATA.md"
  for zoo in zoo-llama zoo-mamba zoo-mamba2; do need="$need /usr/share/statescope/models/$zoo/model.safetensors"; done
fi
for f in $need; do grep -qx "$f" "$work/files" || fail "$f is not in the package"; done

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for d in libc6 libopenblas0 libsqlite3-0; do
  echo "$depends" | grep -q "$d" || fail "Depends lacks $d"
done
[ "$gui" != ON ] || echo "$depends" | grep -q "qt6-qpa-plugins" || fail "Depends lacks qt6-qpa-plugins"
# libqt6svg6: the SVG icon engine (a plugin) and libQt6Svg, which plot export (SVG) links.
[ "$gui" != ON ] || echo "$depends" | grep -q "libqt6svg6" || fail "Depends lacks libqt6svg6"

dpkg-deb -x "$deb" "$work/root"
if [ "$gui" = ON ]; then
  if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$work/root/usr/share/applications/$app.desktop" || fail "the desktop entry is invalid"
  else
    echo "desktop-file-validate not installed: desktop entry not validated"
  fi
  if command -v appstreamcli >/dev/null 2>&1; then
    appstreamcli validate --no-net --explain "$work/root/usr/share/metainfo/$app.metainfo.xml" ||
      fail "the AppStream metainfo is invalid"
  else
    echo "appstreamcli not installed: metainfo not validated"
  fi
fi

"$work/root/usr/bin/statescope-cli" --version
if [ "$gui" = ON ]; then
  "$work/root/usr/bin/statescope-cli" info --model "$work/root$models" | grep -q '"model_type"' ||
    fail "the packaged CLI could not describe the packaged demo model"
  # the unpacked studio finds the packaged demo model by itself and draws the window
  QT_QPA_PLATFORM=offscreen HOME="$work/home" "$work/root/usr/bin/statescope" --screenshot "$work/shot.png" \
    2> "$work/studio.err" || { cat "$work/studio.err" >&2; fail "the packaged studio could not start offscreen"; }
  # a resource compiled into the binary that does not resolve (the icon, once) shows only as a warning
  if grep "Cannot open file ':/" "$work/studio.err" >&2; then fail "the packaged studio misses its own resources"; fi
  [ -s "$work/shot.png" ] || fail "the packaged studio wrote no screenshot"
  head -c 8 "$work/shot.png" | od -An -c | grep -q "P   N   G" || fail "the screenshot is not a PNG"
fi
echo "check_deb: ok"

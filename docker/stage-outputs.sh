#!/bin/sh
# Used inside image builds: copies what the runtime needs of a built workspace into OUT, keeping
# the repository layout (node_modules/@llm-forge/* link to ../../libs/* and ../../apps/*):
# the root package.json, and for the given apps and every library, package.json plus dist/ and
# build/Release/ (native addons) where they exist. Sources, tests and nested node_modules stay out.
#   sh docker/stage-outputs.sh OUT APP_DIR...
set -eu
out=$1
shift
mkdir -p "$out"
cp package.json "$out/"
for dir in "$@" libs/*; do
  [ -f "$dir/package.json" ] || continue
  mkdir -p "$out/$dir"
  cp "$dir/package.json" "$out/$dir/"
  if [ -d "$dir/dist" ]; then cp -R "$dir/dist" "$out/$dir/"; fi
  if [ -d "$dir/build/Release" ]; then
    mkdir -p "$out/$dir/build"
    cp -R "$dir/build/Release" "$out/$dir/build/"
  fi
  if [ -d "$dir/bin" ]; then cp -R "$dir/bin" "$out/$dir/"; fi
done
for dir in "$@"; do
  if [ ! -d "$out/$dir/dist" ]; then
    echo "stage-outputs: $dir has no dist/ (was it built?)" >&2
    exit 1
  fi
done

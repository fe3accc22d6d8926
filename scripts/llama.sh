#!/usr/bin/env bash
# Installs llama.cpp for Airlock's local engine (src/llama) from the npm registry, pinned at
# one exact version, into a cache outside the clone keyed by that version:
#
#   ${AIRLOCK_CACHE:-/var/cache/airlock}/llama-3.22.1/
#     npm/core/       node-llama-cpp@3.22.1 (ships llama.cpp's source as a git bundle)
#     npm/linux-x64/  @node-llama-cpp/linux-x64@3.22.1 (prebuilt libllama + libggml*)
#     src/            llama.cpp source cloned from llama/gitRelease.bundle
#     include/        llama.h, llama-cpp.h and ggml/include/*.h (symlinks into src/)
#     lib/            libllama.v0.5.0.so, libggml*.so (CPU variants too), libllama.so link
#     server/bin/llama-server   (only with --server; built from src/ with CMake, CPU only)
#
# Only `npm pack` is used: it downloads and checks the tarballs without running any
# install script (node-llama-cpp's postinstall would download other things). The
# tarballs' SHA-256 digests are pinned below as well, so a changed package is refused.
# Idempotent: when everything is there it does nothing and prints nothing.
#
# Usage: scripts/llama.sh [--quiet] [--print-dir] [--print-server] [--server] [--no-install]
#   --print-dir     print the cache dir (after making sure it is complete)
#   --no-install    never fetch or build: exit 1 when the cache is incomplete (meson uses
#                   this so that configuring never touches the network)
#   --print-server  print the llama-server path (implies --server)
#   --server        also build llama-server (minutes on 2 cores; cached)
#   --quiet         no progress messages (errors still go to stderr)
set -euo pipefail

VERSION=3.22.1
LLAMA_RELEASE=v0.5.0
SHA256_CORE=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
SHA256_LINUX_X64=0d953e1503d5ab4608d8ed5b739132308c81ac05ffeb760d2a7f30e08a9f90e0
CACHE_ROOT=${AIRLOCK_CACHE:-/var/cache/airlock}
CACHE=$CACHE_ROOT/llama-$VERSION

quiet=0 print_dir=0 print_server=0 server=0 no_install=0
for a in "$@"; do
  case $a in
    --quiet) quiet=1 ;;
    --print-dir) print_dir=1 ;;
    --print-server) print_server=1; server=1 ;;
    --server) server=1 ;;
    --no-install) no_install=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "llama.sh: unknown argument '$a' (expected --quiet, --print-dir, --print-server, --server, --no-install)" >&2
       exit 2 ;;
  esac
done

say() { ((quiet)) || echo "llama.sh: $*" >&2; }
die() { echo "llama.sh: $*" >&2; exit 1; }

complete() {
  [[ -f $CACHE/include/llama.h && -f $CACHE/include/ggml.h && -f $CACHE/include/ggml-backend.h &&
     -f $CACHE/lib/libllama.v0.5.0.so && -f $CACHE/lib/libggml-base.so &&
     -f $CACHE/lib/libggml-cpu-x64.so && -e $CACHE/lib/libllama.so && -f $CACHE/.complete ]]
}

server_bin=$CACHE/server/bin/llama-server

# Fast path: nothing to do, no lock, no output beyond what was asked for.
if complete && { ((server == 0)) || [[ -x $server_bin ]]; }; then
  ((print_dir)) && echo "$CACHE"
  ((print_server)) && echo "$server_bin"
  exit 0
fi

((no_install)) && exit 1
mkdir -p "$CACHE" || die "cannot create $CACHE (set AIRLOCK_CACHE to a writable dir)"
# One installer at a time (meson, CI and a person may all call this at once).
exec 9>"$CACHE_ROOT/.llama-$VERSION.lock"
flock 9

fetch() {
  command -v npm >/dev/null || die "npm not found (scripts/setup.sh installs it)"
  command -v git >/dev/null || die "git not found (scripts/setup.sh installs it)"
  local tmp
  tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
  say "fetching node-llama-cpp@$VERSION and @node-llama-cpp/linux-x64@$VERSION from npm"
  (cd "$tmp" && npm pack --silent --ignore-scripts \
      "node-llama-cpp@$VERSION" "@node-llama-cpp/linux-x64@$VERSION" >packed.txt) ||
    { rm -rf "$tmp"; die "npm pack failed"; }
  local f want got
  for f in "node-llama-cpp-$VERSION.tgz:$SHA256_CORE" "node-llama-cpp-linux-x64-$VERSION.tgz:$SHA256_LINUX_X64"; do
    want=${f##*:}
    got=$(sha256sum "$tmp/${f%%:*}" | cut -d' ' -f1)
    [[ $got == "$want" ]] || { rm -rf "$tmp"; die "${f%%:*}: sha256 $got, expected $want (package changed?)"; }
  done
  mkdir -p "$tmp/core" "$tmp/linux-x64"
  tar -xzf "$tmp/node-llama-cpp-$VERSION.tgz" -C "$tmp/core" --strip-components=1
  tar -xzf "$tmp/node-llama-cpp-linux-x64-$VERSION.tgz" -C "$tmp/linux-x64" --strip-components=1
  local rel
  rel=$(sed -n 's/.*"release": *"\([^"]*\)".*/\1/p' "$tmp/core/llama/binariesGithubRelease.json")
  [[ $rel == "$LLAMA_RELEASE" ]] || { rm -rf "$tmp"; die "expected llama.cpp release $LLAMA_RELEASE, package says '$rel'"; }
  [[ -f $tmp/core/llama/gitRelease.bundle ]] || { rm -rf "$tmp"; die "package has no llama/gitRelease.bundle"; }
  [[ -f $tmp/linux-x64/bins/linux-x64/libllama.v0.5.0.so ]] ||
    { rm -rf "$tmp"; die "package has no bins/linux-x64/libllama.v0.5.0.so"; }
  rm -rf "$CACHE/npm"
  mkdir -p "$CACHE/npm"
  mv "$tmp/core" "$CACHE/npm/core"
  mv "$tmp/linux-x64" "$CACHE/npm/linux-x64"
  rm -rf "$tmp"
}

unpack_source() {
  say "cloning llama.cpp source from the git bundle"
  rm -rf "$CACHE/src" "$CACHE/.src.tmp"
  git clone --quiet "$CACHE/npm/core/llama/gitRelease.bundle" "$CACHE/.src.tmp" 2>/dev/null ||
    git clone --quiet "$CACHE/npm/core/llama/gitRelease.bundle" "$CACHE/.src.tmp"
  mv "$CACHE/.src.tmp" "$CACHE/src"
}

link_tree() {
  rm -rf "$CACHE/include" "$CACHE/lib"
  mkdir -p "$CACHE/include" "$CACHE/lib"
  local h
  for h in "$CACHE"/src/include/*.h "$CACHE"/src/ggml/include/*.h; do
    ln -s "$h" "$CACHE/include/$(basename "$h")"
  done
  cp -a "$CACHE"/npm/linux-x64/bins/linux-x64/*.so "$CACHE/lib/"
  # Link-time names; the run-time names are the SONAMEs (libllama.v0.5.0.so ...).
  ln -s libllama.v0.5.0.so "$CACHE/lib/libllama.so"
  ln -s libggml.v0.5.0.so "$CACHE/lib/libggml.so"
}

if ! complete; then
  rm -f "$CACHE/.complete"
  [[ -f $CACHE/npm/core/llama/gitRelease.bundle && -d $CACHE/npm/linux-x64/bins/linux-x64 ]] || fetch
  [[ -f $CACHE/src/include/llama.h ]] || unpack_source
  link_tree
  echo "node-llama-cpp@$VERSION llama.cpp $LLAMA_RELEASE" >"$CACHE/.complete"
  say "installed into $CACHE"
fi

if ((server)) && [[ ! -x $server_bin ]]; then
  command -v cmake >/dev/null || die "cmake not found (scripts/setup.sh installs it)"
  say "building llama-server (CPU only, -j2; takes minutes, done once)"
  bdir=$CACHE/server-build
  log=$CACHE/server-build.log
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  if ! { cmake -S "$CACHE/src" -B "$bdir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
           -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON \
           -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
           -DLLAMA_BUILD_SERVER=ON &&
         cmake --build "$bdir" --target llama-server -j2; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "llama-server build failed (full log: $log)"
  fi
  mkdir -p "$CACHE/server/bin"
  cp "$bdir/bin/llama-server" "$server_bin.tmp"
  mv "$server_bin.tmp" "$server_bin"
  say "built $server_bin"
fi

((print_dir)) && echo "$CACHE"
((print_server)) && echo "$server_bin"
exit 0

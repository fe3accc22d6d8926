#!/usr/bin/env bash
# Installs what Airlock needs to build, test and benchmark on Debian 12, as root.
# Idempotent: when every package is already there it prints nothing and exits 0.
# The llama.cpp pieces come from the npm registry at one pinned version (see
# scripts/llama.sh); they are fetched into a cache outside the clone.
set -euo pipefail

PKGS=(
  build-essential pkg-config meson ninja-build cmake git
  clang libclang-rt-14-dev
  libcurl4-openssl-dev libevent-dev libjansson-dev libyajl-dev libfyaml-dev
  libhttp-parser-dev  # src/http/h1cli.c parses upstream answers with http_parser
  libhyperscan-dev libpcre2-dev libseccomp-dev libcap-dev
  libsqlite3-dev libsodium-dev libssl-dev libjemalloc-dev libcmocka-dev libcsv-dev libhttp-parser-dev sqlite3
  zlib1g-dev  # sqlite3.pc names -lz for static links (airlock and finbot link SQLite statically)
  nodejs npm curl ca-certificates iproute2 bubblewrap time bc wrk nginx-light tcpdump
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# node/npm may come from outside Debian's packages on some images; accept any working one.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]} (run as root to install)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# aigw installer: Debian packages via apt, a Release build with CMake, `aigw` installed.
#   ./install.sh                 install build dependencies, build, install to /usr/local/bin
#   ./install.sh --test          ... and build and run every test (ctest)
#   ./install.sh --prefix DIR    install under DIR/bin
#   ./install.sh --no-install    build only (binary at build/cli/aigw)
set -euo pipefail

PREFIX=/usr/local
RUN_TESTS=0
DO_INSTALL=1
JOBS=${AIGW_JOBS:-$(nproc 2>/dev/null || echo 2)}
while [ $# -gt 0 ]; do
  case "$1" in
    --test) RUN_TESTS=1 ;;
    --prefix) PREFIX="$2"; shift ;;
    --prefix=*) PREFIX="${1#--prefix=}" ;;
    --no-install) DO_INSTALL=0 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '==> %s\n' "$*"; }
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" 2>/dev/null && pwd || true)
if [ -z "$SRC_DIR" ] || [ ! -f "$SRC_DIR/CMakeLists.txt" ]; then
  echo "install.sh: run it from a checkout of aigw (git clone the repository, then ./install.sh)" >&2
  exit 2
fi
cd "$SRC_DIR"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 && SUDO="sudo" || { echo "install.sh: needs root or sudo for apt-get" >&2; exit 1; }
fi

PACKAGES="build-essential cmake pkg-config libcli11-dev libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev zlib1g-dev libbrotli-dev"
[ "$RUN_TESTS" = 1 ] && PACKAGES="$PACKAGES doctest-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  step "installing packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
else
  step "build dependencies already installed"
fi
# The end-to-end test drives aigw with the official openai SDK; without Node it is skipped
# (reported by ctest as not run; CI, which sets AIGW_E2E_REQUIRED=1, fails instead).
if [ "$RUN_TESTS" = 1 ] && ! command -v npm >/dev/null 2>&1; then
  step "installing nodejs and npm for the SDK end-to-end test"
  [ -n "$missing" ] || $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null 2>&1 ||
    echo "    (could not install nodejs/npm; the SDK end-to-end test will be skipped)"
fi

BUILD_DIR=${AIGW_BUILD_DIR:-build}
step "configuring ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAIGW_BUILD_TESTS=$([ "$RUN_TESTS" = 1 ] && echo ON || echo OFF) >/dev/null
step "building with $JOBS jobs"
cmake --build "$BUILD_DIR" -j "$JOBS"

if [ "$RUN_TESTS" = 1 ]; then
  step "running tests"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j 1)
fi

if [ "$DO_INSTALL" = 1 ]; then
  step "installing aigw to $PREFIX/bin"
  if [ -w "$PREFIX" ] || [ -z "$SUDO" ]; then cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null
  else $SUDO cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null; fi
  step "done: $("$PREFIX/bin/aigw" version)"
  echo "next: aigw quickstart   (sets up providers and starts the gateway; or: aigw --help)"
fi

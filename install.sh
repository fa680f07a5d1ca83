#!/usr/bin/env bash
# aigw installer: Debian packages via apt, a Release build with CMake, `aigw` installed.
# Works from a checkout and piped:
#   ./install.sh [OPTIONS]
#   curl -fsSL <URL>/install.sh | AIGW_REPO=<git URL> bash
#   curl -fsSL <URL>/install.sh | AIGW_REPO=<git URL> bash -s -- --prefix DIR --test
set -euo pipefail

# Everything runs inside main(), so that bash has read the whole script before the first
# command runs: when piped, a command that reads stdin would otherwise eat the rest of it.
main() {
# A piped install fetches the source from AIGW_REPO, which the user names: the script does not
# guess a repository, so it never builds code from a place the user did not choose.

usage() {
  cat <<'EOF'
aigw installer: installs the build dependencies (apt), builds aigw and installs it.

  ./install.sh                 install build dependencies, build, install to /usr/local/bin
  ./install.sh --test          ... and build and run every test (ctest)
  ./install.sh --prefix DIR    install under DIR/bin
  ./install.sh --no-install    build only (binary at build/cli/aigw)
  ./install.sh --no-build      fetch the source and check the dependencies, build nothing
  ./install.sh -h, --help      this text

Piped (no checkout needed): curl -fsSL URL/install.sh | AIGW_REPO=GIT_URL bash -s -- [OPTIONS]
  The source is cloned into a cache directory, then built and installed as above;
  running it again upgrades that copy in place.
  AIGW_REPO        git repository to fetch (required when piped: the aigw repository you use)
  AIGW_REF         tag, branch or commit (default: the newest v* tag, else the default branch)
  AIGW_CACHE_DIR   where the source is kept (default: ~/.cache/aigw)
Also: AIGW_JOBS (parallel build jobs), AIGW_BUILD_DIR (build directory, default build).
EOF
}

step() { printf '==> %s\n' "$*"; }
fail() {
  trap - EXIT
  printf 'install.sh: %s\n' "$1" >&2
  [ $# -gt 1 ] && printf '  what to do: %s\n' "$2" >&2
  exit "${3:-1}"
}

PREFIX=/usr/local
RUN_TESTS=0
DO_INSTALL=1
DO_BUILD=1
ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --test) RUN_TESTS=1 ;;
    --prefix)
      [ $# -ge 2 ] || fail "--prefix needs a directory" "pass --prefix DIR" 2
      PREFIX="$2"
      shift
      ;;
    --prefix=*) PREFIX="${1#--prefix=}" ;;
    --no-install) DO_INSTALL=0 ;;
    --no-build) DO_BUILD=0 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) fail "unknown option $1" "see --help (piped: ... | bash -s -- --help)" 2 ;;
  esac
  shift
done
JOBS=${AIGW_JOBS:-$(nproc 2>/dev/null || echo 2)}

# A command failing under `set -e` says which step it was in, and what to do.
CURRENT_STEP="starting"
trap 'rc=$?; [ $rc -ne 0 ] && printf "install.sh: failed while %s (exit %s); the output above says why.\n  what to do: fix that, then run the installer again (it resumes where it stopped).\n" "$CURRENT_STEP" "$rc" >&2' EXIT

SUDO=""
need_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  command -v sudo >/dev/null 2>&1 ||
    fail "installing packages needs root, and sudo is not installed" "run as root, or install sudo"
  SUDO="sudo"
}

apt_install() {
  need_root
  CURRENT_STEP="installing packages with apt ($*)"
  step "installing packages: $*"
  $SUDO apt-get update -qq </dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" </dev/null >/dev/null
}

missing_packages() {
  local out=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out="$out $p"
  done
  printf '%s' "$out"
}

# --- Where the source is: this checkout, or a clone kept in a cache directory ---------------
SRC_DIR=""
if [ -n "${BASH_SOURCE[0]:-}" ] && [ -f "${BASH_SOURCE[0]}" ]; then
  SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  [ -f "$SRC_DIR/CMakeLists.txt" ] && grep -q 'project(aigw' "$SRC_DIR/CMakeLists.txt" || SRC_DIR=""
fi

if [ -z "$SRC_DIR" ]; then
  REPO=${AIGW_REPO:-}
  [ -n "$REPO" ] || fail "no checkout here, and AIGW_REPO is not set" \
    "set AIGW_REPO to the aigw git repository (the one this install.sh came from), e.g. curl -fsSL URL/install.sh | AIGW_REPO=GIT_URL bash"
  CACHE=${AIGW_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/aigw}
  SRC_DIR="$CACHE/src"
  step "no checkout here: fetching aigw from $REPO"
  if ! command -v git >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || fail "git is needed to fetch the source" "install git"
    apt_install git ca-certificates
  fi
  REF=${AIGW_REF:-}
  if [ -z "$REF" ]; then
    CURRENT_STEP="listing the tags of $REPO"
    step "looking for the newest release tag"
    tags=$(git ls-remote --tags --refs "$REPO" 'refs/tags/v*' </dev/null 2>/dev/null) ||
      fail "cannot reach $REPO" "check the URL and your network, or set AIGW_REPO to a reachable copy"
    REF=$(printf '%s\n' "$tags" | sed -n 's|.*refs/tags/||p' | sort -V | tail -n 1)
    [ -n "$REF" ] && step "newest release: $REF" || step "no release tag: using the default branch"
  fi
  CURRENT_STEP="fetching $REPO"
  if [ -d "$SRC_DIR/.git" ]; then
    step "upgrading the copy in $SRC_DIR"
    git -C "$SRC_DIR" remote set-url origin "$REPO"
    git -C "$SRC_DIR" fetch --quiet --tags --force origin </dev/null ||
      fail "cannot fetch $REPO" "check the URL and your network (AIGW_REPO), then run again"
  else
    step "cloning into $SRC_DIR"
    mkdir -p "$CACHE"
    rm -rf "$SRC_DIR.partial"
    git clone --quiet "$REPO" "$SRC_DIR.partial" </dev/null ||
      fail "cannot clone $REPO" "check the URL and your network (AIGW_REPO), then run again"
    mv "$SRC_DIR.partial" "$SRC_DIR"
  fi
  CURRENT_STEP="checking out ${REF:-the default branch}"
  if [ -n "$REF" ]; then
    target=""
    for candidate in "refs/tags/$REF" "origin/$REF" "$REF"; do
      if git -C "$SRC_DIR" rev-parse --quiet --verify "$candidate^{commit}" >/dev/null; then
        target="$candidate"
        break
      fi
    done
    [ -n "$target" ] || fail "$REPO has no tag, branch or commit \"$REF\"" \
      "set AIGW_REF to one that exists (git ls-remote $REPO), or unset it for the newest release"
  else
    target="origin/HEAD"
    git -C "$SRC_DIR" remote set-head origin --auto >/dev/null 2>&1 || true
  fi
  git -C "$SRC_DIR" -c advice.detachedHead=false checkout --quiet --force "$target"
  step "source: $SRC_DIR at ${REF:-default branch} ($(git -C "$SRC_DIR" rev-parse --short HEAD))"
  # Build and install with the installer of the version just fetched.
  export AIGW_INSTALL_PIPED=1
  CURRENT_STEP="running $SRC_DIR/install.sh"
  trap - EXIT
  exec bash "$SRC_DIR/install.sh" ${ARGS[@]+"${ARGS[@]}"}
fi
cd "$SRC_DIR"
[ "${AIGW_INSTALL_PIPED:-0}" = 1 ] || step "source: $SRC_DIR"

# --- Build dependencies ----------------------------------------------------------------------
PACKAGES="build-essential cmake pkg-config libcli11-dev libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev zlib1g-dev libbrotli-dev libre2-dev libboost-dev libhiredis-dev libsimdjson-dev"
[ "$RUN_TESTS" = 1 ] && PACKAGES="$PACKAGES doctest-dev git curl jq redis-server"
CURRENT_STEP="checking build dependencies"
missing=$(missing_packages $PACKAGES)
if [ -n "$missing" ]; then
  command -v apt-get >/dev/null 2>&1 ||
    fail "missing packages:$missing, and apt-get is not available" "install them, then run again"
  apt_install $missing
else
  step "build dependencies already installed"
fi
# The end-to-end test drives aigw with the official openai SDK; without Node it is skipped
# (reported by ctest as not run; CI, which sets AIGW_E2E_REQUIRED=1, fails instead).
if [ "$RUN_TESTS" = 1 ] && ! command -v npm >/dev/null 2>&1; then
  step "installing nodejs and npm for the SDK end-to-end test"
  {
    need_root && { [ -n "$missing" ] || $SUDO apt-get update -qq </dev/null || true; } &&
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm </dev/null >/dev/null 2>&1
  } || echo "    (could not install nodejs/npm; the SDK end-to-end test will be skipped)"
fi

if [ "$DO_BUILD" = 0 ]; then
  step "--no-build: source and dependencies ready, nothing built or installed"
  trap - EXIT
  exit 0
fi

# --- Build, test, install --------------------------------------------------------------------
BUILD_DIR=${AIGW_BUILD_DIR:-build}
LAUNCHER=""
# ccache, when present, makes re-runs (upgrades) rebuild only what changed.
command -v ccache >/dev/null 2>&1 && LAUNCHER="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
CURRENT_STEP="configuring the build (cmake)"
step "configuring ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release $LAUNCHER \
  -DAIGW_BUILD_TESTS=$([ "$RUN_TESTS" = 1 ] && echo ON || echo OFF) >/dev/null
CURRENT_STEP="building"
step "building with $JOBS jobs"
cmake --build "$BUILD_DIR" -j "$JOBS"

if [ "$RUN_TESTS" = 1 ]; then
  CURRENT_STEP="running the tests"
  step "running tests"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j 1)
fi

if [ "$DO_INSTALL" = 1 ]; then
  CURRENT_STEP="installing into $PREFIX"
  step "installing aigw to $PREFIX/bin"
  mkdir -p "$PREFIX" 2>/dev/null || true
  if [ -w "$PREFIX" ]; then
    cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null
  else
    need_root
    $SUDO cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null
  fi
  step "done: $("$PREFIX/bin/aigw" version)"
  case ":$PATH:" in
    *":$PREFIX/bin:"*) ;;
    *) echo "note: $PREFIX/bin is not on your PATH; add it, or run $PREFIX/bin/aigw" ;;
  esac
  echo "next: aigw quickstart   (sets up providers and starts the gateway; or: aigw --help)"
fi
trap - EXIT
}

main "$@"

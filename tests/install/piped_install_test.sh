#!/usr/bin/env bash
# The piped install (`curl -fsSL URL/install.sh | bash -s -- ...`) against a local bare git
# repository made from this working tree, with AIGW_REPO pointing at it:
#   --help and a bad option work piped; an unreachable repository and an unknown ref fail with
#   what to do; the newest v* tag is cloned into the cache and the checkout's installer runs;
#   a new release is picked up by running it again (upgrade in place); AIGW_REF picks a branch.
# These runs pass --no-build: the build and install steps are the ones `./install.sh --test`
# (CI's own command) already runs from a checkout, so a second full build here would only double
# CI's compile time on 2 cores. Set AIGW_TEST_PIPED_BUILD=1 to also run the whole piped install
# (build included) into a temporary prefix and start the installed binary.
#
# Usage: piped_install_test.sh SOURCE_DIR
set -euo pipefail

SRC=$(cd "$1" && pwd)
WORK=$(mktemp -d /tmp/aigw-piped-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else
    echo "FAILED: $what"
    failures=$((failures + 1))
  fi
}
contains() { grep -qF -- "$2" "$1"; }

# A repository with the working tree's files (committed or not), tagged like a release.
mkdir tree
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard 2>/dev/null ||
  find . -path ./build -prune -o -path ./.git -prune -o -type f -print0) |
  (cd "$SRC" && while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done) |
  (cd "$SRC" && tar --null -T - -cf -) | tar -xf - -C tree
git -C tree init -q -b main
git -C tree -c user.name=t -c user.email=t@t add -A
git -C tree -c user.name=t -c user.email=t@t commit -q -m "release 0.1.0"
git -C tree tag v0.1.0
git clone -q --bare tree repo.git
export AIGW_REPO="file://$WORK/repo.git" AIGW_CACHE_DIR="$WORK/cache"
piped() {  # piped OUTPUT_FILE ARGS...: the installer read from stdin, as from curl
  local out=$1
  shift
  set +e
  bash -s -- "$@" <"$SRC/install.sh" >"$out" 2>&1
  local rc=$?
  set -e
  return $rc
}

check "--help works piped" piped help.txt --help
check "--help names AIGW_REPO" contains help.txt "AIGW_REPO"
piped bad.txt --frobnicate && rc=0 || rc=$?
check "an unknown option exits 2" test "$rc" = 2
check "an unknown option says what to do" contains bad.txt "see --help"

AIGW_REPO= piped unset.txt --no-build && rc=0 || rc=$?
check "without AIGW_REPO a piped run exits 1" test "$rc" = 1
check "without AIGW_REPO it says what to set" contains unset.txt "set AIGW_REPO to the aigw git repository"
AIGW_REPO="file://$WORK/missing.git" piped norepo.txt --no-build && rc=0 || rc=$?
check "an unreachable repository exits 1" test "$rc" = 1
check "an unreachable repository names it" contains norepo.txt "cannot reach file://$WORK/missing.git"
AIGW_REF=v9.9.9 AIGW_CACHE_DIR="$WORK/cache-noref" piped noref.txt --no-build && rc=0 || rc=$?
check "an unknown AIGW_REF exits 1" test "$rc" = 1
check "an unknown AIGW_REF says what to do" contains noref.txt 'has no tag, branch or commit "v9.9.9"'
check "nothing half-cloned is left behind" test ! -e "$WORK/cache-noref/src.partial"

check "first piped run" piped first.txt --prefix "$WORK/prefix" --no-build
check "it picks the newest release" contains first.txt "newest release: v0.1.0"
check "it clones into the cache" contains first.txt "cloning into $WORK/cache/src"
check "the checkout's installer runs" contains first.txt "--no-build: source and dependencies ready"
check "the cache holds the release" test "$(git -C cache/src describe --tags)" = v0.1.0

# A new release: running the same command again upgrades the copy in place.
echo "second release" >tree/RELEASE-0.2.0
git -C tree -c user.name=t -c user.email=t@t add -A
git -C tree -c user.name=t -c user.email=t@t commit -q -m "release 0.2.0"
git -C tree tag v0.2.0
git -C tree push -q "$WORK/repo.git" main v0.2.0
check "second piped run" piped second.txt --prefix "$WORK/prefix" --no-build
check "it upgrades the copy in place" contains second.txt "upgrading the copy in $WORK/cache/src"
check "to the new release" test "$(git -C cache/src describe --tags)" = v0.2.0
check "with its files" test -f cache/src/RELEASE-0.2.0

AIGW_REF=main piped branch.txt --no-build && rc=0 || rc=$?
check "AIGW_REF=main checks out the branch" test "$rc" = 0
check "and says so" contains branch.txt "at main ("

if [ "${AIGW_TEST_PIPED_BUILD:-0}" = 1 ]; then
  start=$(date +%s)
  check "full piped install (build included)" piped full.txt --prefix "$WORK/prefix"
  check "the installed binary runs" "$WORK/prefix/bin/aigw" version
  echo "full piped install took $(($(date +%s) - start)) s"
  [ "$failures" = 0 ] || tail -n 30 full.txt
fi

if [ "$failures" != 0 ]; then
  for f in "$WORK"/*.txt; do
    echo "--- $f"
    cat "$f"
  done
  exit 1
fi
echo "all piped install checks passed"

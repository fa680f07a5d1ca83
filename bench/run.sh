#!/usr/bin/env bash
# aigw benchmark: one command, one run, three targets under the same load on loopback.
#
#   direct : load client -> fast_upstream                     (the floor)
#   nginx  : load client -> nginx (plain reverse proxy) -> fast_upstream
#   aigw   : load client -> aigw (ai-proxy, provider openai) -> fast_upstream
#
# Measures non-streaming and streaming chat completions with wrk (1 connection for unloaded
# latency, CONNS connections for throughput; ROUNDS rounds with the targets interleaved, medians
# reported), then SLOW_STREAMS concurrent slow streams with bench/load_client against the paced
# upstream, then a slowloris run (SLOWLORIS trickling connections while normal requests are
# timed, bench/slowloris) and, when SOAK_S > 0, a soak (wrk for SOAK_S seconds, RSS sampled).
# Prints markdown tables of ratios and writes them to bench/results/<stamp>.md; raw logs and
# generated configs go to bench/runs/<stamp>/. See bench/README.md.
#
# Exit status: 0 when everything ran (targets missed or not, numbers are reported, not asserted);
# 1 when something could not run (missing tool, a server that did not start or answered wrong).
#
# Settings (environment): see bench/README.md. Examples:
#   bench/run.sh
#   AIGW=/path/to/aigw ROUNDS=5 SLOW_STREAMS=2000 bench/run.sh
#   WAIT_QUIET_S=600 bench/run.sh          # on a shared machine: wait for it to be idle first
#   TARGETS=nginx,aigw LABEL=after-fix bench/run.sh
#   SLOW_STREAMS=1000,10000 SOAK_S=600 LABEL=full bench/run.sh
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")

ROUNDS=${ROUNDS:-3}                   # each test is run ROUNDS times, targets interleaved
DURATION=${DURATION:-5}               # seconds per loaded wrk run (per round)
PROBE_DURATION=${PROBE_DURATION:-3}   # seconds per 1-connection latency probe (per round)
WARMUP=${WARMUP:-2}                   # seconds of warm-up per target (not reported)
CONNS=${CONNS:-64}                    # wrk connections for the throughput runs
WRK_THREADS=${WRK_THREADS:-2}
SLOW_STREAMS=${SLOW_STREAMS:-1000}    # concurrent slow streams; a list (1000,10000) runs each size
PACED_EVENTS=${PACED_EVENTS:-20}      # events per slow stream
PACED_DELAY_MS=${PACED_DELAY_MS:-200} # delay between them
SLOW_RAMP_PER_S=${SLOW_RAMP_PER_S:-0} # 0 = open all slow-stream connections at once
SLOW_TIMEOUT_S=${SLOW_TIMEOUT_S:-$(( PACED_EVENTS * PACED_DELAY_MS / 1000 + 30 ))}
SLOWLORIS=${SLOWLORIS:-10000}         # trickling connections in the slowloris test (0 = skip it)
SLOWLORIS_S=${SLOWLORIS_S:-20}        # seconds they are all held open while normal requests are timed
SLOWLORIS_INTERVAL_S=${SLOWLORIS_INTERVAL_S:-5} # each sends one more header line this often
SLOWLORIS_EVERY_MS=${SLOWLORIS_EVERY_MS:-100}   # one normal request (fresh connection) this often
SLOWLORIS_TARGETS=${SLOWLORIS_TARGETS:-nginx,aigw}
SOAK_S=${SOAK_S:-0}                   # soak duration (0 = skip; the issue asks for 600)
SOAK_CONNS=${SOAK_CONNS:-64}          # wrk connections during the soak
SOAK_SEGMENT_S=${SOAK_SEGMENT_S:-30}  # the soak alternates non-streaming / streaming wrk runs this long
SOAK_SAMPLE_S=${SOAK_SAMPLE_S:-5}     # RSS sampling period during the soak
SOAK_TARGETS=${SOAK_TARGETS:-aigw}
TARGETS=${TARGETS:-direct,nginx,aigw}
SLOW_TARGETS=${SLOW_TARGETS:-$TARGETS}
UPSTREAM_THREADS=${UPSTREAM_THREADS:-1}
BASE_PORT=${BASE_PORT:-18400}
NOISY_PCT=${NOISY_PCT:-10}            # flag tests where other processes used more CPU than this
WAIT_QUIET_S=${WAIT_QUIET_S:-0}       # before starting, wait up to this long for the machine to be quiet
LABEL=${LABEL:-}
AIGW_ARGS=${AIGW_ARGS:-}

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
NAME=$STAMP${LABEL:+-$LABEL}
RUN_DIR=$BENCH_DIR/runs/$NAME
RESULTS_DIR=$BENCH_DIR/results
BUILD_DIR=$BENCH_DIR/.build
mkdir -p "$RUN_DIR" "$RESULTS_DIR" "$BUILD_DIR" || { echo "run.sh: cannot create $RUN_DIR" >&2; exit 1; }

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
FAILURES=()
failed() { log "FAILED: $*"; FAILURES+=("$*"); }

# ---------------------------------------------------------------------------------------------
# Processes: every server runs in its own session (setsid keeps the PID), stopped as a group.
PIDS=()
SAMPLER_PID=""
SAMPLER_STOP=$RUN_DIR/.sampler-stop
stop_group() {
  local pid=$1 i state
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
    [[ "$state" == Z ]] && break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  [[ -n "$SAMPLER_PID" ]] && { kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; }
  for pid in "${PIDS[@]}"; do stop_group "$pid"; done
  PIDS=()
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

start_bg() { # NAME CMD... ; sets LAST_PID
  local name=$1; shift
  setsid "$@" >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.err" </dev/null &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
forget_pid() { local p keep=(); for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done; PIDS=("${keep[@]}"); }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # PORT PID
  local i
  for ((i = 0; i < 100; i++)); do
    port_open "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
port_free() { ! port_open "$1" && ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# ---------------------------------------------------------------------------------------------
# Tools
need_pkgs=()
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need_pkgs+=(nginx-light)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v g++ >/dev/null || need_pkgs+=(g++)
if ((${#need_pkgs[@]})); then
  log "missing tools; installing Debian packages: ${need_pkgs[*]} (apt-get install -y)"
  if [[ $EUID -eq 0 ]]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    die "need root or sudo to run: apt-get install -y ${need_pkgs[*]}"; fi
  "${SUDO[@]}" apt-get install -y "${need_pkgs[@]}" >"$RUN_DIR/apt.log" 2>&1 ||
    { "${SUDO[@]}" apt-get update >>"$RUN_DIR/apt.log" 2>&1 && "${SUDO[@]}" apt-get install -y "${need_pkgs[@]}" >>"$RUN_DIR/apt.log" 2>&1; } ||
    die "apt-get install ${need_pkgs[*]} failed (see $RUN_DIR/apt.log)"
fi
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
# nginx-light's package enables and starts a system nginx on :80; we never touch it.

if [[ -z "${AIGW:-}" ]]; then
  AIGW=$ROOT/build/cli/aigw
  if [[ ! -x "$AIGW" && ",$TARGETS," == *,aigw,* ]]; then
    log "building aigw (cmake, Release, -j2) ..."
    { cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release &&
      cmake --build "$ROOT/build" -j2 --target aigw; } >"$RUN_DIR/aigw-build.log" 2>&1 ||
      die "aigw build failed (see $RUN_DIR/aigw-build.log)"
  fi
fi
[[ ",$TARGETS," != *,aigw,* || -x "$AIGW" ]] || die "aigw binary not found at $AIGW (set AIGW=path)"

build_tool() { # NAME EXTRA_FLAGS...
  local name=$1; shift
  if [[ ! -x "$BUILD_DIR/$name" || "$BENCH_DIR/$name.cpp" -nt "$BUILD_DIR/$name" ]]; then
    log "compiling $name"
    g++ -std=c++20 -O2 -Wall -o "$BUILD_DIR/$name" "$BENCH_DIR/$name.cpp" "$@" 2>"$RUN_DIR/build-$name.log" ||
      die "cannot compile $name (see $RUN_DIR/build-$name.log)"
  fi
}
build_tool fast_upstream -lpthread
build_tool load_client
build_tool slowloris

# Open files: a proxy holding N slow streams needs 2N descriptors (client + upstream side), and
# every process started from here inherits this limit (aigw raises its soft limit to the hard
# one itself). Root may raise the hard limit; anyone else gets a warning when it is too low.
IFS=, read -r -a SLOW_SIZES <<<"$SLOW_STREAMS"
MOST_SLOW=$(printf '%s\n' "${SLOW_SIZES[@]}" | sort -n | tail -1)
MOST_CONNS=$(( MOST_SLOW > SLOWLORIS ? MOST_SLOW : SLOWLORIS ))
FD_WANT=$(( 2 * MOST_CONNS + 4096 ))
hard_fd=$(ulimit -Hn)
if [[ "$hard_fd" != unlimited ]] && (( hard_fd < FD_WANT )); then
  ulimit -Hn "$FD_WANT" 2>/dev/null && log "raised the open-file limit from $hard_fd to $FD_WANT"
fi
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
[[ "$(ulimit -n)" == unlimited ]] || (( $(ulimit -n) >= FD_WANT )) ||
  log "warning: open-file limit $(ulimit -n) may be too low for $MOST_CONNS connections (want $FD_WANT)"
# nginx counts client and upstream connections against worker_connections: sized for the largest
# test so that it is not nginx's config that fails (default 8192 when that is enough).
NGINX_WORKER_CONNECTIONS=${NGINX_WORKER_CONNECTIONS:-$(( FD_WANT > 8192 ? FD_WANT : 8192 ))}
NGINX_NOFILE=$((2 * NGINX_WORKER_CONNECTIONS)) # nginx cannot go above the hard limit either
[[ "$(ulimit -Hn)" == unlimited ]] || (( NGINX_NOFILE <= $(ulimit -Hn) )) || NGINX_NOFILE=$(ulimit -Hn)

# Ports: four consecutive free ones from BASE_PORT (bounded search).
for ((try = 0; try < 50; try++)); do
  UP_PORT=$((BASE_PORT + 1)); NGINX_PORT=$((BASE_PORT + 2)); AIGW_PORT=$((BASE_PORT + 3)); AIGW_ADMIN_PORT=$((BASE_PORT + 4))
  port_free $UP_PORT && port_free $NGINX_PORT && port_free $AIGW_PORT && port_free $AIGW_ADMIN_PORT && break
  BASE_PORT=$((BASE_PORT + 10))
done
((try < 50)) || die "no free ports found"

# ---------------------------------------------------------------------------------------------
# /proc helpers
CLK_TCK=$(getconf CLK_TCK)
tree_pids() { # ROOT_PID -> root and its direct children (nginx workers)
  echo "$1"
  ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}
pids_cpu_ticks() { local p t=0 v; for p in "$@"; do
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    t=$((t + ${v:-0})); done; echo "$t"; }
pids_status_kb() { # FIELD PIDS... -> sum in kB
  local f=$1 p t=0 v; shift
  for p in "$@"; do v=$(awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/status" 2>/dev/null); t=$((t + ${v:-0})); done
  echo "$t"
}
cpu_stat() { awk '$1 == "cpu" {print $2 + $3 + $4 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; } # busy total
# CPU of this shell's reaped children (wrk, load_client), in ms. `times` must run in this shell,
# not in a $(...) subshell, so snapshot_children_cpu writes it to a file that children_cpu_ms reads.
snapshot_children_cpu() { times >"$RUN_DIR/.times"; }
children_cpu_ms() {
  tail -1 "$RUN_DIR/.times" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] } printf "%d", s * 1000 }'
}
# CPU window: window_start TARGET ... window_end TARGET sets WIN_TICKS (the target's CPU, for
# direct the upstream's) and WIN_OTHER_PCT (CPU of processes outside the benchmark, % of the
# machine: all busy time minus the target's, the upstream's and this shell's children's).
window_start() { # TARGET
  mapfile -t WIN_PIDS < <(tree_pids "${TPID[$1]}")
  WIN_C0=$(pids_cpu_ticks "${WIN_PIDS[@]}"); WIN_U0=$(pids_cpu_ticks "$UP_PID")
  read -r WIN_S0 WIN_T0 < <(cpu_stat); snapshot_children_cpu; WIN_W0=$(children_cpu_ms)
}
window_end() { # TARGET
  local c1 u1 s1 t1 w1 ours
  c1=$(pids_cpu_ticks "${WIN_PIDS[@]}"); u1=$(pids_cpu_ticks "$UP_PID")
  read -r s1 t1 < <(cpu_stat); snapshot_children_cpu; w1=$(children_cpu_ms)
  WIN_TICKS=$((c1 - WIN_C0))
  ours=$WIN_TICKS
  [[ "$1" == direct ]] || ours=$((ours + u1 - WIN_U0))
  WIN_OTHER_PCT=$(awk -v busy=$((s1 - WIN_S0)) -v tot=$((t1 - WIN_T0)) -v ours="$ours" -v wms=$((w1 - WIN_W0)) -v hz="$CLK_TCK" \
    'BEGIN { o = busy - ours - wms / 1000 * hz; if (o < 0) o = 0; if (tot > 0) printf "%.0f", 100 * o / tot; else print 0 }')
}

# RSS sampler: every PERIOD seconds (first sample after one period) appends "time VmRSS-kB
# threads" of the target's processes to FILE, until stop_sampler.
start_sampler() { # TARGET PERIOD FILE
  local tgt=$1 period=$2 file=$3
  rm -f "$SAMPLER_STOP"
  (
    mapfile -t cur < <(tree_pids "${TPID[$tgt]}")
    while sleep "$period" && [[ ! -e "$SAMPLER_STOP" ]]; do
      printf '%s\t%s\t%s\n' "$(date +%s.%N)" "$(pids_status_kb VmRSS "${cur[@]}")" "$(pids_status_kb Threads "${cur[@]}")"
    done
  ) >"$file" 2>/dev/null &
  SAMPLER_PID=$!
}
stop_sampler() { touch "$SAMPLER_STOP"; kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""; }
column_max() { awk -F'\t' -v c="$2" 'BEGIN { m = 0 } $c > m { m = $c } END { print m }' "$1"; } # FILE COLUMN
declare -A LIFE_HWM # the highest VmHWM seen before each reset, per target
reset_peak_rss() { # TARGET
  local p hwm; hwm=$(pids_status_kb VmHWM $(tree_pids "${TPID[$1]}"))
  (( hwm > ${LIFE_HWM[$1]:-0} )) && LIFE_HWM[$1]=$hwm
  for p in $(tree_pids "${TPID[$1]}"); do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done
}
peak_rss_kb() { # TARGET SAMPLES_FILE -> max of VmHWM (since reset_peak_rss) and the sampled VmRSS
  local hwm sampled
  hwm=$(pids_status_kb VmHWM $(tree_pids "${TPID[$1]}"))
  sampled=$(column_max "$2" 2)
  echo $(( hwm > sampled ? hwm : sampled ))
}

upstream_stat() { curl -s --max-time 2 "http://127.0.0.1:$UP_PORT/__stats${2:-}" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
mib() { awk -v k="${1:-}" 'BEGIN { if (k == "") print "—"; else printf "%.1f MiB", k / 1024 }'; }
kv() { grep -o "\b$2=[^ ]*" <<<"$1" | head -1 | cut -d= -f2; }

declare -A R  # results: R[target.test.key]

# ---------------------------------------------------------------------------------------------
# Measurements
# One wrk run; results in R[TARGET.TEST.rROUND.*], output in runs/.../wrk-TARGET-TEST-rROUND.log
wrk_once() { # TARGET TEST ROUND THREADS CONNS DURATION URL BODY
  local tgt=$1 test=$2 round=$3 thr=$4 conns=$5 dur=$6 url=$7 body=$8
  local key=$tgt.$test.r$round logf=$RUN_DIR/wrk-$tgt-$test-r$round.log
  local q0 q1 out k
  window_start "$tgt"
  q0=$(upstream_stat chat)
  BENCH_BODY_FILE=$body timeout -k 5 $((dur + 30)) wrk -t"$thr" -c"$conns" -d"${dur}s" --timeout 10s \
    -s "$BENCH_DIR/lua/post.lua" "$url" >"$logf" 2>&1
  window_end "$tgt"
  q1=$(upstream_stat chat)
  [[ "$round" == warmup ]] && return 0
  out=$(grep '^RESULT' "$logf")
  if [[ -z "$out" ]]; then failed "wrk $tgt $test round $round produced no result (see $logf)"; return 1; fi
  for k in requests rps p50_us p99_us err_connect err_read err_write err_status err_timeout; do R[$key.$k]=$(kv "$out" "$k"); done
  R[$key.errors]=$(wrk_errors "$out")
  R[$key.cpu_ticks]=$WIN_TICKS                 # the target's CPU (for direct: the upstream's)
  R[$key.up_calls]=$(( ${q1:-0} - ${q0:-0} ))  # chat requests the upstream received
  R[$key.other_pct]=$WIN_OTHER_PCT             # CPU used outside the benchmark, % of the machine
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tgt" "$test" "$round" "${R[$key.requests]}" "${R[$key.rps]}" \
    "${R[$key.p50_us]}" "${R[$key.p99_us]}" "${R[$key.errors]}" "${R[$key.cpu_ticks]}" "${R[$key.other_pct]}" >>"$RUN_DIR/rounds.tsv"
  log "  $tgt $test r$round: ${R[$key.rps]} req/s, p50 ${R[$key.p50_us]} µs, p99 ${R[$key.p99_us]} µs, errors ${R[$key.errors]}, other CPU ${R[$key.other_pct]}%"
}

wrk_errors() { local k n=0; for k in err_connect err_read err_write err_status err_timeout; do n=$((n + $(kv "$1" "$k"))); done; echo "$n"; }

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# Folds the rounds of TARGET.TEST into R[TARGET.TEST.*]: medians of req/s, p50 and p99; sums
# for requests, errors, CPU and upstream calls; mean of the noise; spread = (max-min)/median req/s.
aggregate() { # TARGET TEST
  local tgt=$1 test=$2 r rps=() p50=() p99=() oth=() req=0 err=0 cpu=0 up=0 have=0
  for ((r = 1; r <= ROUNDS; r++)); do
    local key=$tgt.$test.r$r
    [[ -n "${R[$key.rps]:-}" ]] || continue
    have=1
    rps+=("${R[$key.rps]}"); p50+=("${R[$key.p50_us]}"); p99+=("${R[$key.p99_us]}"); oth+=("${R[$key.other_pct]}")
    req=$((req + ${R[$key.requests]})); err=$((err + ${R[$key.errors]})); cpu=$((cpu + ${R[$key.cpu_ticks]})); up=$((up + ${R[$key.up_calls]}))
  done
  ((have)) || return 0
  R[$tgt.$test.rps]=$(median "${rps[@]}")
  R[$tgt.$test.p50_us]=$(printf '%.0f' "$(median "${p50[@]}")")
  R[$tgt.$test.p99_us]=$(printf '%.0f' "$(median "${p99[@]}")")
  R[$tgt.$test.errors]=$err
  R[$tgt.$test.requests]=$req
  R[$tgt.$test.cpu_us]=$(awk -v d="$cpu" -v n="$req" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", d / hz * 1e6 / n; else print "-" }')
  R[$tgt.$test.up_per_req]=$(awk -v d="$up" -v n="$req" 'BEGIN { if (n > 0) printf "%.2f", d / n; else print "-" }')
  R[$tgt.$test.other_pct]=$(printf '%s\n' "${oth[@]}" | awk '{ s += $1 } END { printf "%.0f", s / NR }')
  R[$tgt.$test.spread]=$(printf '%s\n' "${rps[@]}" | sort -g | awk -v m="${R[$tgt.$test.rps]}" '{ a[NR] = $1 } END { if (m > 0) printf "%.0f", 100 * (a[NR] - a[1]) / m; else print 0 }')
}

run_slow() { # TARGET URL STREAMS
  local tgt=$1 url=$2 n=$3
  local sfile=$RUN_DIR/rss-$tgt-slow$n.tsv
  reset_peak_rss "$tgt" # so that VmHWM covers this test only
  upstream_stat paced_peak '?reset=1' >/dev/null
  start_sampler "$tgt" 0.1 "$sfile"
  timeout -k 5 $((SLOW_TIMEOUT_S + 15)) "$BUILD_DIR/load_client" --url "$url" -n "$n" \
    --body-file "$BENCH_DIR/bodies/chat-stream.json" -H "Authorization: Bearer bench" \
    --timeout-s "$SLOW_TIMEOUT_S" --ramp-per-s "$SLOW_RAMP_PER_S" >"$RUN_DIR/slow$n-$tgt.log" 2>"$RUN_DIR/slow$n-$tgt.err"
  stop_sampler
  R[$tgt.slow$n.peak_kb]=$(peak_rss_kb "$tgt" "$sfile")
  R[$tgt.slow$n.threads_max]=$(column_max "$sfile" 3)
  R[$tgt.slow$n.up_peak]=$(upstream_stat paced_peak)
  local out; out=$(grep '^RESULT' "$RUN_DIR/slow$n-$tgt.log")
  if [[ -z "$out" ]]; then failed "load_client $tgt produced no result (see $RUN_DIR/slow$n-$tgt.err)"; return 1; fi
  local k
  for k in completed failed connect_errors io_errors http_errors error_streams no_done timeouts \
    connect_p99_ms first_event_p50_ms first_event_p99_ms total_p50_ms total_p99_ms elapsed_ms; do
    R[$tgt.slow$n.$k]=$(kv "$out" "$k")
  done
  log "  $tgt slow: ${R[$tgt.slow$n.completed]}/$n completed, ${R[$tgt.slow$n.failed]} failed, upstream peak ${R[$tgt.slow$n.up_peak]} concurrent, peak RSS $(( ${R[$tgt.slow$n.peak_kb]} / 1024 )) MiB"
  [[ -s "$RUN_DIR/slow$n-$tgt.err" ]] && sed 's/^/    /' "$RUN_DIR/slow$n-$tgt.err" | head -5 >&2
  return 0
}

# Slowloris: SLOWLORIS connections trickle header lines and never finish their request heads,
# while bench/slowloris times one normal chat completion every SLOWLORIS_EVERY_MS on a fresh
# connection. Results in R[TARGET.loris.*].
run_slowloris() { # TARGET URL
  local tgt=$1 url=$2 out k
  local sfile=$RUN_DIR/rss-$tgt-slowloris.tsv logf=$RUN_DIR/slowloris-$tgt.log
  R[$tgt.loris.rss_before_kb]=$(pids_status_kb VmRSS $(tree_pids "${TPID[$tgt]}"))
  reset_peak_rss "$tgt"
  window_start "$tgt"
  start_sampler "$tgt" 0.5 "$sfile"
  # bounded: opening (<= 60 s) + hold + draining the last normal requests (<= 10 s)
  timeout -k 5 $((SLOWLORIS_S + 100)) "$BUILD_DIR/slowloris" --url "$url" -n "$SLOWLORIS" \
    --duration-s "$SLOWLORIS_S" --interval-s "$SLOWLORIS_INTERVAL_S" --normal-every-ms "$SLOWLORIS_EVERY_MS" \
    --body-file "$BENCH_DIR/bodies/chat.json" -H "Authorization: Bearer bench" >"$logf" 2>"$RUN_DIR/slowloris-$tgt.err"
  stop_sampler
  window_end "$tgt"
  R[$tgt.loris.other_pct]=$WIN_OTHER_PCT
  R[$tgt.loris.peak_kb]=$(peak_rss_kb "$tgt" "$sfile")
  out=$(grep '^RESULT' "$logf")
  if [[ -z "$out" ]]; then failed "slowloris $tgt produced no result (see $RUN_DIR/slowloris-$tgt.err)"; return 1; fi
  for k in opened connect_failed still_open closed_408 closed_status closed_eof closed_reset other_statuses open_ms \
    normal_ok normal_failed normal_p50_ms normal_p99_ms normal_max_ms open_normal_ok open_normal_failed open_normal_p99_ms; do
    R[$tgt.loris.$k]=$(kv "$out" "$k")
  done
  log "  $tgt slowloris: ${R[$tgt.loris.opened]} opened, ${R[$tgt.loris.still_open]} still open; normal requests ${R[$tgt.loris.normal_ok]} ok, ${R[$tgt.loris.normal_failed]} failed, p50 ${R[$tgt.loris.normal_p50_ms]} ms, p99 ${R[$tgt.loris.normal_p99_ms]} ms, max ${R[$tgt.loris.normal_max_ms]} ms"
  [[ -s "$RUN_DIR/slowloris-$tgt.err" ]] && sed 's/^/    /' "$RUN_DIR/slowloris-$tgt.err" | head -6 >&2
  return 0
}

# Soak: SOAK_S seconds of wrk (-c SOAK_CONNS) in SOAK_SEGMENT_S runs alternating non-streaming
# and streaming, the target's RSS sampled every SOAK_SAMPLE_S. Results in R[TARGET.soak.*].
run_soak() { # TARGET URL
  local tgt=$1 url=$2 seg=0 dur body logf out req=0 err=0
  local sfile=$RUN_DIR/rss-$tgt-soak.tsv t0=$SECONDS end=$((SECONDS + SOAK_S))
  window_start "$tgt"
  start_sampler "$tgt" "$SOAK_SAMPLE_S" "$sfile"
  while (( (dur = end - SECONDS) >= 1 )); do
    (( dur > SOAK_SEGMENT_S )) && dur=$SOAK_SEGMENT_S
    body=$BENCH_DIR/bodies/chat.json; (( seg % 2 )) && body=$BENCH_DIR/bodies/chat-stream.json
    logf=$RUN_DIR/soak-$tgt-$seg.log
    BENCH_BODY_FILE=$body timeout -k 5 $((dur + 30)) wrk -t"$WRK_THREADS" -c"$SOAK_CONNS" -d"${dur}s" --timeout 10s \
      -s "$BENCH_DIR/lua/post.lua" "$url" >"$logf" 2>&1
    out=$(grep '^RESULT' "$logf") || { failed "soak $tgt: wrk run $seg produced no result (see $logf)"; break; }
    req=$((req + $(kv "$out" requests))); err=$((err + $(wrk_errors "$out")))
    seg=$((seg + 1))
  done
  stop_sampler
  window_end "$tgt"
  R[$tgt.soak.secs]=$((SECONDS - t0)); R[$tgt.soak.requests]=$req; R[$tgt.soak.errors]=$err
  R[$tgt.soak.other_pct]=$WIN_OTHER_PCT
  R[$tgt.soak.cpu_us]=$(awk -v d="$WIN_TICKS" -v n="$req" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", d / hz * 1e6 / n; else print "-" }')
  [[ -s "$sfile" ]] || { failed "soak $tgt: no RSS samples"; return 1; }
  read -r R[$tgt.soak.first_kb] R[$tgt.soak.min_kb] R[$tgt.soak.max_kb] R[$tgt.soak.last_kb] R[$tgt.soak.samples] < <(
    awk -F'\t' 'NR == 1 { f = $2; mn = $2; mx = $2 } { if ($2 < mn) mn = $2; if ($2 > mx) mx = $2; l = $2 } END { print f, mn, mx, l, NR }' "$sfile")
  log "  $tgt soak: $req requests, $err errors; RSS first $(mib "${R[$tgt.soak.first_kb]}"), max $(mib "${R[$tgt.soak.max_kb]}"), last $(mib "${R[$tgt.soak.last_kb]}")"
}

check_target() { # TARGET FAST_URL PACED_URL
  local tgt=$1 url=$2 purl=$3 code
  code=$(curl -s -o "$RUN_DIR/check-$tgt.json" -w '%{http_code}' --max-time 10 -X POST "$url" \
    -H 'Content-Type: application/json' -H 'Authorization: Bearer bench' --data-binary "@$BENCH_DIR/bodies/chat.json")
  [[ "$code" == 200 ]] && grep -q '"chat.completion"' "$RUN_DIR/check-$tgt.json" ||
    { failed "$tgt: chat completion check got HTTP $code (see $RUN_DIR/check-$tgt.json)"; return 1; }
  curl -sN --max-time 10 -X POST "$url" -H 'Content-Type: application/json' -H 'Authorization: Bearer bench' \
    --data-binary "@$BENCH_DIR/bodies/chat-stream.json" >"$RUN_DIR/check-$tgt-stream.txt"
  grep -q '^data: \[DONE\]' "$RUN_DIR/check-$tgt-stream.txt" ||
    { failed "$tgt: streaming check did not end with data: [DONE] (see $RUN_DIR/check-$tgt-stream.txt)"; return 1; }
  "$BUILD_DIR/load_client" --url "$purl" -n 1 --body-file "$BENCH_DIR/bodies/chat-stream.json" \
    -H "Authorization: Bearer bench" --timeout-s "$SLOW_TIMEOUT_S" >"$RUN_DIR/check-$tgt-paced.txt" 2>&1
  grep -q ' completed=1 ' "$RUN_DIR/check-$tgt-paced.txt" ||
    { failed "$tgt: paced stream check failed (see $RUN_DIR/check-$tgt-paced.txt)"; return 1; }
}

# ---------------------------------------------------------------------------------------------
# Optionally wait (bounded) until other processes use less than NOISY_PCT% of the machine.
if ((WAIT_QUIET_S > 0)); then
  log "waiting up to ${WAIT_QUIET_S}s for the machine to be quiet (< $NOISY_PCT% busy)"
  quiet_deadline=$((SECONDS + WAIT_QUIET_S))
  while ((SECONDS < quiet_deadline)); do
    read -r b0 t0 < <(cpu_stat); sleep 2; read -r b1 t1 < <(cpu_stat)
    busy=$(( t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0 ))
    ((busy < NOISY_PCT)) && break
  done
  log "machine busy: ${busy:-?}% of all CPUs$( ((busy >= NOISY_PCT)) && echo " (still noisy; running anyway)")"
fi

# ---------------------------------------------------------------------------------------------
# Start the upstream
log "run $NAME: targets $TARGETS; ${DURATION}s loaded / ${PROBE_DURATION}s unloaded per test, $CONNS connections; $SLOW_STREAMS slow streams (${PACED_EVENTS} events x ${PACED_DELAY_MS} ms); slowloris $SLOWLORIS for ${SLOWLORIS_S}s; soak ${SOAK_S}s"
log "logs: $RUN_DIR"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
start_bg upstream "$BUILD_DIR/fast_upstream" --port "$UP_PORT" --threads "$UPSTREAM_THREADS" \
  --paced-events "$PACED_EVENTS" --paced-delay-ms "$PACED_DELAY_MS"
UP_PID=$LAST_PID
wait_port "$UP_PORT" "$UP_PID" || die "fast_upstream did not start (see $RUN_DIR/upstream.err)"

declare -A TPID URL PURL
TPID[direct]=$UP_PID
URL[direct]=http://127.0.0.1:$UP_PORT/v1/chat/completions
PURL[direct]=http://127.0.0.1:$UP_PORT/paced/v1/chat/completions
URL[nginx]=http://127.0.0.1:$NGINX_PORT/v1/chat/completions
PURL[nginx]=http://127.0.0.1:$NGINX_PORT/paced/v1/chat/completions
URL[aigw]=http://127.0.0.1:$AIGW_PORT/openai/chat
PURL[aigw]=http://127.0.0.1:$AIGW_PORT/openai/paced

start_nginx() {
  local d=$RUN_DIR/nginx
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
# generated by bench/run.sh: a plain reverse proxy, as light as nginx gets
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile $NGINX_NOFILE;
events { worker_connections $NGINX_WORKER_CONNECTIONS; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  upstream fake_openai {
    server 127.0.0.1:$UP_PORT;
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      proxy_pass http://fake_openai;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 120s;
    }
  }
}
EOF
  start_bg nginx "$NGINX_BIN" -p "$d" -c "$d/nginx.conf"
}

start_aigw() {
  local d=$RUN_DIR/aigw
  mkdir -p "$d/data"
  cat >"$d/aigw.yaml" <<'EOF'
# generated by bench/run.sh
_format_version: "3.0"
routes:
- name: chat
  paths: ["/openai/chat"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer bench"}
      model:
        provider: openai
        name: gpt-4o-mini
        options: {upstream_url: '${{ env "BENCH_UPSTREAM" }}/v1/chat/completions'}
- name: paced
  paths: ["/openai/paced"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer bench"}
      model:
        provider: openai
        name: gpt-4o-mini
        options: {upstream_url: '${{ env "BENCH_UPSTREAM" }}/paced/v1/chat/completions'}
EOF
  export BENCH_UPSTREAM=http://127.0.0.1:$UP_PORT
  # shellcheck disable=SC2086
  start_bg aigw "$AIGW" serve -c "$d/aigw.yaml" \
    --listen "127.0.0.1:$AIGW_PORT" --admin-listen "127.0.0.1:$AIGW_ADMIN_PORT" --data-dir "$d/data" $AIGW_ARGS
}

IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
RAN=()
for tgt in "${TARGET_LIST[@]}"; do
  case "$tgt" in
    direct) ;;
    nginx) start_nginx; TPID[nginx]=$LAST_PID
      wait_port "$NGINX_PORT" "$LAST_PID" || { failed "nginx did not start (see $RUN_DIR/nginx.err, $RUN_DIR/nginx/error.log)"; continue; } ;;
    aigw) start_aigw; TPID[aigw]=$LAST_PID
      wait_port "$AIGW_PORT" "$LAST_PID" || { failed "aigw did not start (see $RUN_DIR/aigw.err)"; continue; } ;;
    *) failed "unknown target $tgt"; continue ;;
  esac
  if check_target "$tgt" "${URL[$tgt]}" "${PURL[$tgt]}"; then
    RAN+=("$tgt")
    log "target $tgt ready (pid ${TPID[$tgt]})"
  elif [[ "$tgt" != direct ]]; then
    stop_group "${TPID[$tgt]}"; forget_pid "${TPID[$tgt]}"
  fi
done
((${#RAN[@]})) || die "no target could be started"

for tgt in "${RAN[@]}"; do
  wrk_once "$tgt" warmup warmup "$WRK_THREADS" 16 "$WARMUP" "${URL[$tgt]}" "$BENCH_DIR/bodies/chat.json"
done
# Every test: ROUNDS rounds, each round runs every target once, so slow drifts in the machine's
# load hit all targets alike.
TESTS=("json1 1 1 $PROBE_DURATION chat.json" "json $WRK_THREADS $CONNS $DURATION chat.json"
  "sse1 1 1 $PROBE_DURATION chat-stream.json" "sse $WRK_THREADS $CONNS $DURATION chat-stream.json")
for spec in "${TESTS[@]}"; do
  read -r test thr conns dur body <<<"$spec"
  log "test $test: wrk -t$thr -c$conns -d${dur}s x $ROUNDS rounds"
  for ((round = 1; round <= ROUNDS; round++)); do
    for tgt in "${RAN[@]}"; do
      wrk_once "$tgt" "$test" "$round" "$thr" "$conns" "$dur" "${URL[$tgt]}" "$BENCH_DIR/bodies/$body"
    done
  done
  for tgt in "${RAN[@]}"; do aggregate "$tgt" "$test"; done
done

# The soak first (a leak shows best on a process that has not just held 10,000 connections),
# then the tests with many connections, one target at a time: slowloris before the slow
# streams, whose 2 x 10,000 connections leave the allocators' high-water mark behind.
if ((SOAK_S > 0)); then
  for tgt in "${RAN[@]}"; do
    [[ ",$SOAK_TARGETS," == *,$tgt,* ]] || continue
    log "soak: $tgt, ${SOAK_S}s of wrk -c$SOAK_CONNS, RSS every ${SOAK_SAMPLE_S}s"; run_soak "$tgt" "${URL[$tgt]}"
  done
fi
if ((SLOWLORIS > 0)); then
  for tgt in "${RAN[@]}"; do
    [[ ",$SLOWLORIS_TARGETS," == *,$tgt,* ]] || continue
    log "slowloris: $tgt, $SLOWLORIS trickling connections held ${SLOWLORIS_S}s"; run_slowloris "$tgt" "${URL[$tgt]}"
  done
fi
for tgt in "${RAN[@]}"; do
  [[ ",$SLOW_TARGETS," == *,$tgt,* ]] || continue
  for n in "${SLOW_SIZES[@]}"; do log "slow streams: $tgt, $n"; run_slow "$tgt" "${PURL[$tgt]}" "$n"; done
done
for tgt in "${RAN[@]}"; do
  reset_peak_rss "$tgt"; R[$tgt.life_hwm_kb]=${LIFE_HWM[$tgt]:-}
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup

# ---------------------------------------------------------------------------------------------
# Report
has() { [[ -n "${R[$1]:-}" ]]; }
ratio() { has "$1" && has "$2" && awk -v a="${R[$1]}" -v b="${R[$2]}" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "—" }' || echo "—"; }
lat() { awk -v u="$1" 'BEGIN { if (u == "") print "—"; else if (u >= 10000) printf "%.1f ms", u / 1000; else printf "%d µs", u }'; }
added() { # TARGET TEST -> p50 minus direct's p50
  if [[ "$1" == direct ]] || ! has "direct.$2.p50_us" || ! has "$1.$2.p50_us"; then echo "—"; return; fi
  awk -v a="${R[$1.$2.p50_us]}" -v b="${R[direct.$2.p50_us]}" 'BEGIN { printf "%+d µs", a - b }'
}
noise() { local o=${R[$1.$2.other_pct]:-0}; ((o > NOISY_PCT)) && echo "$o% ⚠" || echo "$o%"; }

perf_table() { # TEST(json|sse) TEST1(json1|sse1)
  local t=$1 t1=$2 tgt
  echo "| target | req/s | spread | vs direct | vs nginx | p50 | p99 | added p50 | 1-conn p50 | 1-conn p99 | added 1-conn p50 | CPU/req | upstream calls/req | errors | other CPU |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for tgt in "${RAN[@]}"; do
    has "$tgt.$t.rps" || continue
    printf '| %s | %.0f | ±%s%% | %s | %s | %s | %s | %s | %s | %s | %s | %s µs | %s | %s | %s |\n' "$tgt" "${R[$tgt.$t.rps]}" \
      "$(awk -v s="${R[$tgt.$t.spread]}" 'BEGIN { printf "%.0f", s / 2 }')" "$(ratio "$tgt.$t.rps" "direct.$t.rps")" "$(ratio "$tgt.$t.rps" "nginx.$t.rps")" \
      "$(lat "${R[$tgt.$t.p50_us]}")" "$(lat "${R[$tgt.$t.p99_us]}")" "$(added "$tgt" "$t")" \
      "$(lat "${R[$tgt.$t1.p50_us]:-}")" "$(lat "${R[$tgt.$t1.p99_us]:-}")" "$(added "$tgt" "$t1")" \
      "${R[$tgt.$t.cpu_us]}" "${R[$tgt.$t.up_per_req]}" "$(( ${R[$tgt.$t.errors]} + ${R[$tgt.$t1.errors]:-0} ))" "$(noise "$tgt" "$t")"
  done
}

verdict() { [[ "$1" == 1 ]] && echo "**met**" || echo "**missed**"; }
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; } # A B -> A/B
targets_section() { # issue 14's targets
  if has aigw.json.rps && has nginx.json.rps; then
    local r rs c cs
    r=$(ratio2 "${R[aigw.json.rps]}" "${R[nginx.json.rps]}"); rs=$(ratio2 "${R[aigw.sse.rps]:-0}" "${R[nginx.sse.rps]:-0}")
    echo "- Throughput at $CONNS connections ≥ 0.7× nginx: non-streaming ${r}×, streaming ${rs}× — $(verdict "$(awk -v r="$r" -v s="$rs" 'BEGIN { print (r >= 0.7 && s >= 0.7) ? 1 : 0 }')")"
    c=$(ratio2 "${R[aigw.json.cpu_us]}" "${R[nginx.json.cpu_us]}"); cs=$(ratio2 "${R[aigw.sse.cpu_us]:-0}" "${R[nginx.sse.cpu_us]:-0}")
    echo "- CPU per request ≤ 1.5× nginx's: non-streaming ${c}×, streaming ${cs}× — $(verdict "$(awk -v r="$c" -v s="$cs" 'BEGIN { print (r != "n/a" && r <= 1.5 && s <= 1.5) ? 1 : 0 }')")"
  fi
  if has aigw.json1.p50_us && has nginx.json1.p50_us && has direct.json1.p50_us; then
    local a n; a=$(( ${R[aigw.json1.p50_us]} - ${R[direct.json1.p50_us]} )); n=$(( ${R[nginx.json1.p50_us]} - ${R[direct.json1.p50_us]} ))
    local as ns; as=$(( ${R[aigw.sse1.p50_us]:-0} - ${R[direct.sse1.p50_us]:-0} )); ns=$(( ${R[nginx.sse1.p50_us]:-0} - ${R[direct.sse1.p50_us]:-0} ))
    echo "- Added p50 latency (1 connection) ≤ 1.5× nginx's: non-streaming aigw +$a µs vs nginx +$n µs ($(awk -v a=$a -v n=$n 'BEGIN { if (n > 0) printf "%.2f×", a / n; else print "n/a" }')), streaming aigw +$as µs vs nginx +$ns µs ($(awk -v a=$as -v n=$ns 'BEGIN { if (n > 0) printf "%.2f×", a / n; else print "n/a" }')) — $(verdict "$(awk -v a=$a -v n=$n -v b=$as -v m=$ns 'BEGIN { print (a <= 1.5 * n && b <= 1.5 * m) ? 1 : 0 }')")"
  fi
  local n
  for n in "${SLOW_SIZES[@]}"; do
    has "aigw.slow$n.completed" || continue
    local ok=0
    if has "nginx.slow$n.completed"; then
      awk -v a="${R[aigw.slow$n.completed]}" -v n="${R[nginx.slow$n.completed]}" -v p="${R[aigw.slow$n.total_p99_ms]}" -v q="${R[nginx.slow$n.total_p99_ms]}" \
        'BEGIN { exit !(a >= n && p <= 1.1 * q) }' && ok=1
      echo "- $n concurrent slow streams: as many completed as nginx (${R[aigw.slow$n.completed]} vs ${R[nginx.slow$n.completed]}), stream p99 within 10% of nginx's (${R[aigw.slow$n.total_p99_ms]} ms vs ${R[nginx.slow$n.total_p99_ms]} ms) — $(verdict $ok)$( ((n != 1000)) && echo " (the issue sets this for 1,000)")"
    fi
    ok=0; [[ "${R[aigw.slow$n.completed]}" == "$n" && "${R[aigw.slow$n.failed]}" == 0 ]] && (( ${R[aigw.slow$n.peak_kb]:-0} < 200 * 1024 )) && ok=1
    echo "- $n concurrent slow streams with 0 errors and peak RSS < 200 MiB: ${R[aigw.slow$n.completed]} completed, ${R[aigw.slow$n.failed]} failed, peak $(mib "${R[aigw.slow$n.peak_kb]}") — $(verdict $ok)$( ((n != 10000)) && echo " (the issue sets this for 10,000)")"
  done
  if has aigw.loris.normal_ok; then
    local ok=0; awk -v p="${R[aigw.loris.normal_p99_ms]}" -v f="${R[aigw.loris.normal_failed]}" -v o="${R[aigw.loris.normal_ok]}" 'BEGIN { exit !(o > 0 && f == 0 && p >= 0 && p < 50) }' && ok=1
    echo "- Under $SLOWLORIS slowloris connections a normal request answers in < 50 ms: p99 ${R[aigw.loris.normal_p99_ms]} ms, max ${R[aigw.loris.normal_max_ms]} ms, ${R[aigw.loris.normal_failed]} failed of $(( ${R[aigw.loris.normal_ok]} + ${R[aigw.loris.normal_failed]} )) (${R[aigw.loris.still_open]} trickling connections still open at the end) — $(verdict $ok) (judged on p99 and failures)"
  fi
  if has aigw.soak.first_kb; then
    local lo=$(( ${R[aigw.soak.first_kb]} - ${R[aigw.soak.min_kb]} )) hi=$(( ${R[aigw.soak.max_kb]} - ${R[aigw.soak.first_kb]} )) ok=0
    (( lo <= 5 * 1024 && hi <= 5 * 1024 )) && ok=1
    echo "- RSS flat (± 5 MiB) over the ${R[aigw.soak.secs]} s soak: first $(mib "${R[aigw.soak.first_kb]}"), range $(mib_signed $(( -lo ))) … $(mib_signed $hi) of the first sample, last $(mib_signed $(( ${R[aigw.soak.last_kb]} - ${R[aigw.soak.first_kb]} ))) — $(verdict $ok)$( ((SOAK_S < 600)) && echo " (the issue asks for 600 s)")"
  fi
}
mib_signed() { awk -v k="$1" 'BEGIN { printf "%+.1f MiB", k / 1024 }'; }

slow_table() { # STREAMS
  local n=$1
  echo "| target | completed | failed | errors (connect/io/http/error event/no [DONE]/timeout) | upstream concurrent peak | connect p99 | first event p50 | first event p99 | stream p50 | stream p99 | peak RSS | peak threads |"
  echo "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for tgt in "${RAN[@]}"; do
    has "$tgt.slow$n.completed" || continue
    printf '| %s | %s | %s | %s/%s/%s/%s/%s/%s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s | %s |\n' "$tgt" \
      "${R[$tgt.slow$n.completed]}" "${R[$tgt.slow$n.failed]}" "${R[$tgt.slow$n.connect_errors]}" "${R[$tgt.slow$n.io_errors]}" \
      "${R[$tgt.slow$n.http_errors]}" "${R[$tgt.slow$n.error_streams]}" "${R[$tgt.slow$n.no_done]}" "${R[$tgt.slow$n.timeouts]}" \
      "${R[$tgt.slow$n.up_peak]}" "${R[$tgt.slow$n.connect_p99_ms]}" "${R[$tgt.slow$n.first_event_p50_ms]}" \
      "${R[$tgt.slow$n.first_event_p99_ms]}" "${R[$tgt.slow$n.total_p50_ms]}" "${R[$tgt.slow$n.total_p99_ms]}" \
      "$(mib "${R[$tgt.slow$n.peak_kb]}")" "${R[$tgt.slow$n.threads_max]}"
  done
}

slowloris_table() {
  echo "| target | trickling opened | still open at end | closed by server: 408 / other status / close / reset | not opened | normal requests ok | failed | p50 | p99 | max | vs nginx p50 / p99 / max | while opening: ok / failed, p99 | peak RSS (before) | other CPU |"
  echo "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|"
  local tgt vs
  for tgt in "${RAN[@]}"; do
    has "$tgt.loris.normal_ok" || continue
    vs="—"
    if [[ "$tgt" != nginx ]] && has nginx.loris.normal_p50_ms; then
      vs="$(ratio "$tgt.loris.normal_p50_ms" nginx.loris.normal_p50_ms) / $(ratio "$tgt.loris.normal_p99_ms" nginx.loris.normal_p99_ms) / $(ratio "$tgt.loris.normal_max_ms" nginx.loris.normal_max_ms)"
    fi
    printf '| %s | %s | %s | %s / %s / %s / %s%s | %s | %s | %s | %s ms | %s ms | %s ms | %s | %s / %s, %s ms | %s (%s) | %s |\n' "$tgt" \
      "${R[$tgt.loris.opened]}" "${R[$tgt.loris.still_open]}" "${R[$tgt.loris.closed_408]}" "${R[$tgt.loris.closed_status]}" \
      "${R[$tgt.loris.closed_eof]}" "${R[$tgt.loris.closed_reset]}" \
      "$([[ "${R[$tgt.loris.other_statuses]}" != - ]] && echo " (${R[$tgt.loris.other_statuses]})")" "${R[$tgt.loris.connect_failed]}" \
      "${R[$tgt.loris.normal_ok]}" "${R[$tgt.loris.normal_failed]}" "${R[$tgt.loris.normal_p50_ms]}" "${R[$tgt.loris.normal_p99_ms]}" \
      "${R[$tgt.loris.normal_max_ms]}" "$vs" "${R[$tgt.loris.open_normal_ok]}" "${R[$tgt.loris.open_normal_failed]}" \
      "${R[$tgt.loris.open_normal_p99_ms]}" "$(mib "${R[$tgt.loris.peak_kb]}")" "$(mib "${R[$tgt.loris.rss_before_kb]}")" "$(noise "$tgt" loris)"
  done
}

soak_table() {
  echo "| target | duration | requests | req/s | errors | CPU/req | RSS first | RSS min | RSS max | RSS last | last − first | max − min | samples | other CPU |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  local tgt
  for tgt in "${RAN[@]}"; do
    has "$tgt.soak.first_kb" || continue
    printf '| %s | %s s | %s | %s | %s | %s µs | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$tgt" "${R[$tgt.soak.secs]}" \
      "${R[$tgt.soak.requests]}" "$(awk -v n="${R[$tgt.soak.requests]}" -v s="${R[$tgt.soak.secs]}" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')" \
      "${R[$tgt.soak.errors]}" "${R[$tgt.soak.cpu_us]}" "$(mib "${R[$tgt.soak.first_kb]}")" "$(mib "${R[$tgt.soak.min_kb]}")" \
      "$(mib "${R[$tgt.soak.max_kb]}")" "$(mib "${R[$tgt.soak.last_kb]}")" \
      "$(mib_signed $(( ${R[$tgt.soak.last_kb]} - ${R[$tgt.soak.first_kb]} )))" "$(mib $(( ${R[$tgt.soak.max_kb]} - ${R[$tgt.soak.min_kb]} )))" \
      "${R[$tgt.soak.samples]}" "$(noise "$tgt" soak)"
  done
}

fd_note() { # a proxy needs two descriptors per stream; say so when the machine does not allow that
  local lim; lim=$(ulimit -n)
  [[ "$lim" != unlimited ]] && (( lim < 2 * MOST_SLOW + 64 )) || return 0
  echo
  echo "⚠ The open-file limit here is $lim and could not be raised (no CAP_SYS_RESOURCE): a proxy holding $MOST_SLOW streams needs $((2 * MOST_SLOW)) descriptors (client + upstream) plus its own, so the last few streams can fail with EMFILE (nginx: \"socket() failed (24: Too many open files) while connecting to upstream\" → 500) — a limit of this machine, not of the proxy."
  echo
}

peak_rss_section() {
  echo "Peak RSS over the whole run (VmHWM, all tests): $(for tgt in "${RAN[@]}"; do printf '%s %s; ' "$tgt" "$(mib "${R[$tgt.life_hwm_kb]:-}")"; done | sed 's/; $//')."
}

GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]] && GIT_REV="$GIT_REV (+ uncommitted changes)"
AIGW_VERSION=$("$AIGW" version 2>/dev/null | head -1 || true)
REPORT=$RESULTS_DIR/$NAME.md
{
  echo "# aigw benchmark $NAME"
  echo
  echo "- commit $GIT_REV; aigw \`${AIGW_VERSION:-?}\`; $("$NGINX_BIN" -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r); load average at start $LOAD_START, at end $LOAD_END"
  echo "- load: wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s (1-connection probes: -t1 -c1 -d${PROBE_DURATION}s), $ROUNDS rounds with the targets interleaved (medians reported), after a ${WARMUP}s warm-up; no CPU pinning: wrk, the upstream and the target share all CPUs"
  echo "- upstream: bench/fast_upstream ($UPSTREAM_THREADS thread, epoll); bodies: bench/bodies/; nginx: 1 worker, upstream keep-alive, proxy_buffering off, worker_connections $NGINX_WORKER_CONNECTIONS (sized for the largest test); open-file limit $(ulimit -n)"
  echo
  echo "## Non-streaming chat completion"
  echo
  perf_table json json1
  echo
  echo "## Streaming chat completion (upstream: 10 content chunks + usage chunk + [DONE] per answer; req/s = whole streams)"
  echo
  perf_table sse sse1
  echo
  for n in "${SLOW_SIZES[@]}"; do
    echo "## $n concurrent slow streams ($PACED_EVENTS events, $PACED_DELAY_MS ms apart; connections opened $( ((${SLOW_RAMP_PER_S%.*} > 0)) && echo "at $SLOW_RAMP_PER_S/s" || echo "all at once"))"
    echo
    slow_table "$n"
    echo
  done
  fd_note
  if has aigw.loris.normal_ok || has nginx.loris.normal_ok; then
    echo "## Slowloris: $SLOWLORIS trickling connections (request line, then one header line every ${SLOWLORIS_INTERVAL_S} s; held ${SLOWLORIS_S} s) while one chat completion every $SLOWLORIS_EVERY_MS ms is timed on a fresh connection"
    echo
    slowloris_table
    echo
    echo "Limits in play: nginx: 1 worker, worker_connections $NGINX_WORKER_CONNECTIONS (client and upstream connections together$( ((SLOWLORIS + 64 > NGINX_WORKER_CONNECTIONS)) && echo "; **below what this test needs: nginx is capped by its config**")), client_header_timeout 60 s (default); aigw: \`--client-header-timeout\` (default 30 s), \`--max-connections\` (default 65536), \`--max-connections-per-client\` (default none)${AIGW_ARGS:+, run with \`$AIGW_ARGS\`}. Normal-request latency is from \`connect()\` to the last byte of the answer; *while opening* are the requests sent while the trickling connections were still being opened (256 connects in flight at most)."
    echo
  fi
  if has aigw.soak.first_kb || has nginx.soak.first_kb; then
    echo "## Soak: ${SOAK_S} s of wrk -t$WRK_THREADS -c$SOAK_CONNS (${SOAK_SEGMENT_S} s runs, non-streaming and streaming alternating), RSS every ${SOAK_SAMPLE_S} s"
    echo
    soak_table
    echo
  fi
  peak_rss_section
  echo
  echo "## Issue targets (reported, not asserted)"
  echo
  targets_section
  if ((${#FAILURES[@]})); then
    echo
    echo "## Could not run"
    echo
    for f in "${FAILURES[@]}"; do echo "- $f"; done
  fi
  echo
  echo "Columns: req/s and p50/p99 under $CONNS connections (medians of $ROUNDS rounds; *spread* = ±half the range of req/s over the"
  echo "rounds, relative to the median); *vs direct*/*vs nginx* = throughput ratio; *added* = p50"
  echo "minus direct's p50 (the cost of the hop); *1-conn* = one connection, one request at a time (unloaded latency);"
  echo "*CPU/req* = the target's own CPU time per request (for direct: the upstream's); *upstream calls/req* should be 1.00;"
  echo "*other CPU* = CPU used by processes outside the benchmark during the loaded runs, % of the machine (⚠ above $NOISY_PCT%:"
  echo "rerun when the machine is quiet). Peak RSS = sum of VmHWM of the target's processes (nginx: master + worker),"
  echo "reset before each many-connections test, or the highest sampled VmRSS if higher. Raw logs: bench/runs/$NAME/."
} >"$REPORT"

echo
cat "$REPORT"
echo
log "report: $REPORT"
((${#FAILURES[@]})) && exit 1
exit 0

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
# upstream. Prints markdown tables of ratios and writes them to bench/results/<stamp>.md; raw
# logs and generated configs go to bench/runs/<stamp>/. See bench/README.md.
#
# Exit status: 0 when everything ran (targets missed or not, numbers are reported, not asserted);
# 1 when something could not run (missing tool, a server that did not start or answered wrong).
#
# Settings (environment): see bench/README.md. Examples:
#   bench/run.sh
#   AIGW=/path/to/aigw ROUNDS=5 SLOW_STREAMS=2000 bench/run.sh
#   WAIT_QUIET_S=600 bench/run.sh          # on a shared machine: wait for it to be idle first
#   TARGETS=nginx,aigw LABEL=after-fix bench/run.sh
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")

ROUNDS=${ROUNDS:-3}                   # each test is run ROUNDS times, targets interleaved
DURATION=${DURATION:-5}               # seconds per loaded wrk run (per round)
PROBE_DURATION=${PROBE_DURATION:-3}   # seconds per 1-connection latency probe (per round)
WARMUP=${WARMUP:-2}                   # seconds of warm-up per target (not reported)
CONNS=${CONNS:-64}                    # wrk connections for the throughput runs
WRK_THREADS=${WRK_THREADS:-2}
SLOW_STREAMS=${SLOW_STREAMS:-1000}    # concurrent slow streams
PACED_EVENTS=${PACED_EVENTS:-20}      # events per slow stream
PACED_DELAY_MS=${PACED_DELAY_MS:-200} # delay between them
SLOW_RAMP_PER_S=${SLOW_RAMP_PER_S:-0} # 0 = open all slow-stream connections at once
SLOW_TIMEOUT_S=${SLOW_TIMEOUT_S:-$(( PACED_EVENTS * PACED_DELAY_MS / 1000 + 30 ))}
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

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= 2 * SLOW_STREAMS + 100 )) || log "warning: open-file limit $(ulimit -n) may be too low for $SLOW_STREAMS streams"

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
upstream_stat() { curl -s --max-time 2 "http://127.0.0.1:$UP_PORT/__stats${2:-}" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
kv() { grep -o "\b$2=[^ ]*" <<<"$1" | head -1 | cut -d= -f2; }

declare -A R  # results: R[target.test.key]

# ---------------------------------------------------------------------------------------------
# Measurements
# One wrk run; results in R[TARGET.TEST.rROUND.*], output in runs/.../wrk-TARGET-TEST-rROUND.log
wrk_once() { # TARGET TEST ROUND THREADS CONNS DURATION URL BODY
  local tgt=$1 test=$2 round=$3 thr=$4 conns=$5 dur=$6 url=$7 body=$8
  local key=$tgt.$test.r$round logf=$RUN_DIR/wrk-$tgt-$test-r$round.log
  local pids; mapfile -t pids < <(tree_pids "${TPID[$tgt]}")
  local c0 u0 s0 t0 w0 q0 c1 u1 s1 t1 w1 q1 out k
  c0=$(pids_cpu_ticks "${pids[@]}"); u0=$(pids_cpu_ticks "$UP_PID"); read -r s0 t0 < <(cpu_stat); snapshot_children_cpu; w0=$(children_cpu_ms)
  q0=$(upstream_stat chat)
  BENCH_BODY_FILE=$body timeout -k 5 $((dur + 30)) wrk -t"$thr" -c"$conns" -d"${dur}s" --timeout 10s \
    -s "$BENCH_DIR/lua/post.lua" "$url" >"$logf" 2>&1
  c1=$(pids_cpu_ticks "${pids[@]}"); u1=$(pids_cpu_ticks "$UP_PID"); read -r s1 t1 < <(cpu_stat); snapshot_children_cpu; w1=$(children_cpu_ms)
  q1=$(upstream_stat chat)
  [[ "$round" == warmup ]] && return 0
  out=$(grep '^RESULT' "$logf")
  if [[ -z "$out" ]]; then failed "wrk $tgt $test round $round produced no result (see $logf)"; return 1; fi
  for k in requests rps p50_us p99_us err_connect err_read err_write err_status err_timeout; do R[$key.$k]=$(kv "$out" "$k"); done
  R[$key.errors]=$(( ${R[$key.err_connect]} + ${R[$key.err_read]} + ${R[$key.err_write]} + ${R[$key.err_status]} + ${R[$key.err_timeout]} ))
  R[$key.cpu_ticks]=$((c1 - c0))               # the target's CPU (for direct: the upstream's)
  R[$key.up_calls]=$(( ${q1:-0} - ${q0:-0} ))  # chat requests the upstream received
  # CPU used by processes outside the benchmark, % of the whole machine
  local ours=$((c1 - c0))
  [[ "$tgt" == direct ]] || ours=$((ours + u1 - u0))
  R[$key.other_pct]=$(awk -v busy=$((s1 - s0)) -v tot=$((t1 - t0)) -v ours="$ours" -v wms=$((w1 - w0)) -v hz="$CLK_TCK" \
    'BEGIN { o = busy - ours - wms / 1000 * hz; if (o < 0) o = 0; if (tot > 0) printf "%.0f", 100 * o / tot; else print 0 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tgt" "$test" "$round" "${R[$key.requests]}" "${R[$key.rps]}" \
    "${R[$key.p50_us]}" "${R[$key.p99_us]}" "${R[$key.errors]}" "${R[$key.cpu_ticks]}" "${R[$key.other_pct]}" >>"$RUN_DIR/rounds.tsv"
  log "  $tgt $test r$round: ${R[$key.rps]} req/s, p50 ${R[$key.p50_us]} µs, p99 ${R[$key.p99_us]} µs, errors ${R[$key.errors]}, other CPU ${R[$key.other_pct]}%"
}

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

run_slow() { # TARGET URL
  local tgt=$1 url=$2 p
  local pids; mapfile -t pids < <(tree_pids "${TPID[$tgt]}")
  # Reset the peak-RSS counter (VmHWM) so the peak covers this run only.
  for p in "${pids[@]}"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done
  upstream_stat paced_peak '?reset=1' >/dev/null
  local stopf=$RUN_DIR/.sampler-stop; rm -f "$stopf"
  local sfile=$RUN_DIR/rss-$tgt-slow.tsv
  (
    for ((i = 0; i < 10 * (SLOW_TIMEOUT_S + 20); i++)); do
      [[ -e "$stopf" ]] && break
      mapfile -t cur < <(tree_pids "${TPID[$tgt]}")
      printf '%s\t%s\t%s\n' "$(date +%s.%N)" "$(pids_status_kb VmRSS "${cur[@]}")" "$(pids_status_kb Threads "${cur[@]}")"
      sleep 0.1
    done
  ) >"$sfile" 2>/dev/null &
  SAMPLER_PID=$!
  timeout -k 5 $((SLOW_TIMEOUT_S + 15)) "$BUILD_DIR/load_client" --url "$url" -n "$SLOW_STREAMS" \
    --body-file "$BENCH_DIR/bodies/chat-stream.json" -H "Authorization: Bearer bench" \
    --timeout-s "$SLOW_TIMEOUT_S" --ramp-per-s "$SLOW_RAMP_PER_S" >"$RUN_DIR/slow-$tgt.log" 2>"$RUN_DIR/slow-$tgt.err"
  mapfile -t pids < <(tree_pids "${TPID[$tgt]}")
  R[$tgt.slow.hwm_kb]=$(pids_status_kb VmHWM "${pids[@]}")
  touch "$stopf"; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""
  R[$tgt.slow.rss_max_kb]=$(awk -F'\t' 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$sfile")
  R[$tgt.slow.threads_max]=$(awk -F'\t' 'BEGIN { m = 0 } $3 > m { m = $3 } END { print m }' "$sfile")
  R[$tgt.slow.up_peak]=$(upstream_stat paced_peak)
  local out; out=$(grep '^RESULT' "$RUN_DIR/slow-$tgt.log")
  if [[ -z "$out" ]]; then failed "load_client $tgt produced no result (see $RUN_DIR/slow-$tgt.err)"; return 1; fi
  local k
  for k in completed failed connect_errors io_errors http_errors error_streams no_done timeouts \
    connect_p99_ms first_event_p50_ms first_event_p99_ms total_p50_ms total_p99_ms elapsed_ms; do
    R[$tgt.slow.$k]=$(kv "$out" "$k")
  done
  local peak=${R[$tgt.slow.hwm_kb]}
  (( R[$tgt.slow.rss_max_kb] > peak )) && peak=${R[$tgt.slow.rss_max_kb]}
  R[$tgt.slow.peak_kb]=$peak
  log "  $tgt slow: ${R[$tgt.slow.completed]}/$SLOW_STREAMS completed, ${R[$tgt.slow.failed]} failed, upstream peak ${R[$tgt.slow.up_peak]} concurrent, peak RSS $((peak / 1024)) MiB"
  [[ -s "$RUN_DIR/slow-$tgt.err" ]] && sed 's/^/    /' "$RUN_DIR/slow-$tgt.err" | head -5 >&2
  return 0
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
log "run $NAME: targets $TARGETS; ${DURATION}s loaded / ${PROBE_DURATION}s unloaded per test, $CONNS connections; $SLOW_STREAMS slow streams (${PACED_EVENTS} events x ${PACED_DELAY_MS} ms)"
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
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
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

for tgt in "${RAN[@]}"; do
  if [[ ",$SLOW_TARGETS," == *,$tgt,* ]]; then log "slow streams: $tgt"; run_slow "$tgt" "${PURL[$tgt]}"; fi
  mapfile -t tp < <(tree_pids "${TPID[$tgt]}")
  R[$tgt.life_hwm_kb]=$(pids_status_kb VmHWM "${tp[@]}")
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
mib() { awk -v k="${1:-}" 'BEGIN { if (k == "") print "—"; else printf "%.1f MiB", k / 1024 }'; }
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
targets_section() {
  if has aigw.json.rps && has nginx.json.rps; then
    local r; r=$(awk -v a="${R[aigw.json.rps]}" -v b="${R[nginx.json.rps]}" 'BEGIN { printf "%.2f", a / b }')
    local rs; rs=$(awk -v a="${R[aigw.sse.rps]:-0}" -v b="${R[nginx.sse.rps]:-1}" 'BEGIN { printf "%.2f", a / b }')
    echo "- Throughput ≥ 0.5× nginx: non-streaming ${r}×, streaming ${rs}× — $(verdict "$(awk -v r="$r" -v s="$rs" 'BEGIN { print (r >= 0.5 && s >= 0.5) ? 1 : 0 }')")"
  fi
  if has aigw.json1.p50_us && has nginx.json1.p50_us && has direct.json1.p50_us; then
    local a n; a=$(( ${R[aigw.json1.p50_us]} - ${R[direct.json1.p50_us]} )); n=$(( ${R[nginx.json1.p50_us]} - ${R[direct.json1.p50_us]} ))
    local as ns; as=$(( ${R[aigw.sse1.p50_us]:-0} - ${R[direct.sse1.p50_us]:-0} )); ns=$(( ${R[nginx.sse1.p50_us]:-0} - ${R[direct.sse1.p50_us]:-0} ))
    echo "- Added p50 latency (1 connection) < 2× nginx's: non-streaming aigw +$a µs vs nginx +$n µs ($(awk -v a=$a -v n=$n 'BEGIN { if (n > 0) printf "%.2f×", a / n; else print "n/a" }')), streaming aigw +$as µs vs nginx +$ns µs ($(awk -v a=$as -v n=$ns 'BEGIN { if (n > 0) printf "%.2f×", a / n; else print "n/a" }')) — $(verdict "$(awk -v a=$a -v n=$n -v b=$as -v m=$ns 'BEGIN { print (a < 2 * n && b < 2 * m) ? 1 : 0 }')")"
  fi
  if has aigw.slow.completed; then
    local ok=0; [[ "${R[aigw.slow.completed]}" == "$SLOW_STREAMS" && "${R[aigw.slow.failed]}" == 0 ]] && ok=1
    echo "- $SLOW_STREAMS concurrent slow streams without errors: ${R[aigw.slow.completed]} completed, ${R[aigw.slow.failed]} failed (upstream saw ${R[aigw.slow.up_peak]} at once) — $(verdict $ok)"
    ok=0; (( ${R[aigw.slow.peak_kb]:-0} < 100 * 1024 )) && ok=1
    echo "- RSS < 100 MiB during that run: peak $(mib "${R[aigw.slow.peak_kb]}") — $(verdict $ok)"
  fi
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
  echo "- upstream: bench/fast_upstream ($UPSTREAM_THREADS thread, epoll); bodies: bench/bodies/; nginx: 1 worker, upstream keep-alive, proxy_buffering off"
  echo
  echo "## Non-streaming chat completion"
  echo
  perf_table json json1
  echo
  echo "## Streaming chat completion (upstream: 10 content chunks + usage chunk + [DONE] per answer; req/s = whole streams)"
  echo
  perf_table sse sse1
  echo
  echo "## $SLOW_STREAMS concurrent slow streams ($PACED_EVENTS events, $PACED_DELAY_MS ms apart; connections opened $( ((${SLOW_RAMP_PER_S%.*} > 0)) && echo "at $SLOW_RAMP_PER_S/s" || echo "all at once"))"
  echo
  echo "| target | completed | failed | errors (connect/io/http/error event/no [DONE]/timeout) | upstream concurrent peak | connect p99 | first event p50 | first event p99 | stream p50 | stream p99 | peak RSS | peak threads | peak RSS whole run |"
  echo "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for tgt in "${RAN[@]}"; do
    has "$tgt.slow.completed" || continue
    printf '| %s | %s | %s | %s/%s/%s/%s/%s/%s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s | %s | %s |\n' "$tgt" \
      "${R[$tgt.slow.completed]}" "${R[$tgt.slow.failed]}" "${R[$tgt.slow.connect_errors]}" "${R[$tgt.slow.io_errors]}" \
      "${R[$tgt.slow.http_errors]}" "${R[$tgt.slow.error_streams]}" "${R[$tgt.slow.no_done]}" "${R[$tgt.slow.timeouts]}" \
      "${R[$tgt.slow.up_peak]}" "${R[$tgt.slow.connect_p99_ms]}" "${R[$tgt.slow.first_event_p50_ms]}" \
      "${R[$tgt.slow.first_event_p99_ms]}" "${R[$tgt.slow.total_p50_ms]}" "${R[$tgt.slow.total_p99_ms]}" \
      "$(mib "${R[$tgt.slow.peak_kb]}")" "${R[$tgt.slow.threads_max]}" "$(mib "${R[$tgt.life_hwm_kb]:-}")"
  done
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
  echo "reset before the slow-streams run; *whole run* = VmHWM over the target's life. Raw logs: bench/runs/$NAME/."
} >"$REPORT"

echo
cat "$REPORT"
echo
log "report: $REPORT"
((${#FAILURES[@]})) && exit 1
exit 0

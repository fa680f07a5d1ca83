#!/usr/bin/env bash
# End-to-end: the official openai npm SDK as the client, aigw in the middle, fake_provider as
# the upstream, all on loopback.
#
#   tests/e2e/run.sh AIGW_BINARY FAKE_PROVIDER_BINARY
#
# Without node/npm, or when the SDK cannot be installed, it prints "SKIP: ..." and exits 0: a
# missing toolchain or registry is not a gateway bug. Once the SDK is there, any failure fails.
# Set AIGW_E2E_KEEP=1 to keep the work directory (config, logs) for inspection.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -ne 2 ]]; then
  echo "usage: $0 AIGW_BINARY FAKE_PROVIDER_BINARY" >&2
  exit 2
fi
aigw="$1"
fake="$2"
for bin in "$aigw" "$fake"; do
  if [[ ! -x "$bin" ]]; then
    echo "FAIL: $bin is not an executable" >&2
    exit 1
  fi
done

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node and npm are needed for the openai SDK e2e test"
  exit 0
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  echo "SKIP: node $(node --version) is too old for the openai SDK (needs >= 18)"
  exit 0
fi
if [[ ! -f "$here/node_modules/openai/package.json" ]]; then
  # No lock file is committed (it would name the registry), so this resolves ^6 afresh.
  if ! (cd "$here" && npm install --no-package-lock --no-audit --no-fund --loglevel=error); then
    echo "SKIP: could not install the openai SDK (npm install failed)"
    exit 0
  fi
fi

work="$(mktemp -d /tmp/aigw-e2e-XXXXXX)"
pids=()

stop_all() {
  local pid deadline
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  # Both servers stop on SIGTERM within milliseconds; SIGKILL only for a hung one.
  deadline=$((SECONDS + 5))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
}

cleanup() {
  local rc=$?
  stop_all
  if [[ "${AIGW_E2E_KEEP:-}" == 1 ]]; then
    echo "work directory kept: $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_logs() {
  local log
  for log in "$work"/*.log; do
    [[ -f "$log" ]] || continue
    echo "----- $(basename "$log") (last 40 lines) -----"
    tail -n 40 "$log"
  done
}

# A free loopback port, as the kernel hands it out (the small race until aigw binds it is fine
# for a test).
free_port() {
  node -e 'const s = require("net").createServer();
           s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Waits (bounded) until something accepts on 127.0.0.1:$1, giving up early if pid $2 exits.
wait_for_port() {
  local port="$1" pid="$2" deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

"$fake" --port 0 --port-file "$work/fake.port" >"$work/fake_provider.log" 2>&1 &
pids+=($!)
fake_pid=$!
deadline=$((SECONDS + 10))
while [[ ! -s "$work/fake.port" ]] && ((SECONDS < deadline)) && kill -0 "$fake_pid" 2>/dev/null; do
  sleep 0.05
done
if [[ ! -s "$work/fake.port" ]]; then
  echo "FAIL: fake_provider did not start"
  show_logs
  exit 1
fi
fake_port="$(cat "$work/fake.port")"

proxy_port="$(free_port)"
admin_port="$(free_port)"
while [[ "$admin_port" == "$proxy_port" ]]; do admin_port="$(free_port)"; done

cat >"$work/aigw.yaml" <<EOF
_format_version: "3.0"
services:
- name: fake
  url: http://127.0.0.1:${fake_port}
  routes:
  - name: sdk-chat
    paths: ["/sdk/v1/chat/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer fake-key"}
        model:
          provider: openai
          options: {upstream_url: "http://127.0.0.1:${fake_port}/v1/chat/completions"}
  - name: sdk-completions
    paths: ["/sdk/v1/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: Authorization, header_value: "Bearer fake-key"}
        model:
          provider: openai
          options: {upstream_url: "http://127.0.0.1:${fake_port}/v1/completions"}
  - name: sdk-embeddings
    paths: ["/sdk/v1/embeddings"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/embeddings
        auth: {header_name: Authorization, header_value: "Bearer fake-key"}
        model:
          provider: openai
          options: {upstream_url: "http://127.0.0.1:${fake_port}/v1/embeddings"}
EOF

mkdir -p "$work/data"
"$aigw" serve -c "$work/aigw.yaml" --listen "127.0.0.1:$proxy_port" \
  --admin-listen "127.0.0.1:$admin_port" --data-dir "$work/data" >"$work/aigw.log" 2>&1 &
pids+=($!)
aigw_pid=$!
if ! wait_for_port "$proxy_port" "$aigw_pid"; then
  if kill -0 "$aigw_pid" 2>/dev/null; then
    echo "FAIL: aigw did not listen on 127.0.0.1:$proxy_port within 10 s"
  else
    wait "$aigw_pid"
    echo "FAIL: aigw serve exited with status $? before listening on 127.0.0.1:$proxy_port"
  fi
  show_logs
  exit 1
fi

AIGW_BASE="http://127.0.0.1:$proxy_port/sdk/v1" \
  FAKE_BASE="http://127.0.0.1:$fake_port" \
  EXPECT_UPSTREAM_AUTH="Bearer fake-key" \
  node "$here/sdk_test.mjs"
rc=$?
if ((rc != 0)); then
  show_logs
  exit 1
fi

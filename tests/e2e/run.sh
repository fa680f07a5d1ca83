#!/usr/bin/env bash
# End-to-end: real client SDKs from npm (openai, @anthropic-ai/sdk, ai + @ai-sdk/openai; versions
# pinned in package.json), aigw in the middle, fake_provider as the upstream speaking OpenAI's,
# Anthropic's and Bedrock's wire formats, all on loopback. sdk_test.mjs covers chat
# completions; agents_test.mjs the Anthropic Messages API, the Responses API and the model list.
#
#   tests/e2e/run.sh AIGW_BINARY FAKE_PROVIDER_BINARY
#
# Exit codes: 0 passed, 1 failed, 2 usage, 77 skipped. It skips (ctest shows "Not Run", via
# SKIP_RETURN_CODE) when node/npm are missing or the SDK cannot be installed, since a missing
# toolchain is not a gateway bug; with AIGW_E2E_REQUIRED=1 (set by .ci/run, where
# `install.sh --test` installs node) each of those is a failure instead. Once the SDK is there,
# any failure fails.
# Set AIGW_E2E_KEEP=1 to keep the work directory (config, logs) for inspection.
set -uo pipefail

readonly SKIP=77
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

skip() {
  if [[ "${AIGW_E2E_REQUIRED:-}" == 1 ]]; then
    echo "FAIL: $* (AIGW_E2E_REQUIRED=1: this test must run here)"
    exit 1
  fi
  echo "SKIP: $*"
  exit "$SKIP"
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  skip "node and npm are needed for the openai SDK e2e test"
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  skip "node $(node --version) is too old for the openai SDK (needs >= 18)"
fi
# Every dependency at exactly its pinned version, or npm install runs.
stale="$(node -e '
  const path = require("path");
  const deps = require(path.join(process.argv[1], "package.json")).dependencies;
  for (const [name, version] of Object.entries(deps)) {
    let installed = "";
    try { installed = require(path.join(process.argv[1], "node_modules", name, "package.json")).version; } catch {}
    if (installed !== version) console.log(name + "@" + version);
  }' "$here")"
if [[ -n "$stale" ]]; then
  # No lock file is committed (it would name the registry); the versions are pinned exactly in
  # package.json instead.
  if ! (cd "$here" && npm install --no-package-lock --no-audit --no-fund --loglevel=error); then
    skip "could not install the pinned SDKs: $(echo $stale) (npm install failed)"
  fi
fi

work="$(mktemp -d /tmp/aigw-e2e-XXXXXX)"
pids=()

stop_all() {
  local pid deadline
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  # Both servers stop on SIGTERM within milliseconds; SIGKILL only for a hung one.
  deadline=$((SECONDS + 10))
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

# Waits (bounded) for a line matching $2 (an ERE with one group) in file $1 and prints the
# group; gives up at once if pid $3 exits (a server that died at start never prints it).
wait_for_line() {
  local file="$1" pattern="$2" pid="$3" deadline=$((SECONDS + 20)) line
  while ((SECONDS < deadline)); do
    line="$(grep -Eo "$pattern" "$file" 2>/dev/null | head -n 1)"
    if [[ -n "$line" ]]; then
      printf '%s\n' "$line"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

"$fake" --port 0 --port-file "$work/fake.port" >"$work/fake_provider.log" 2>&1 &
pids+=($!)
fake_pid=$!
if ! wait_for_line "$work/fake_provider.log" 'listening on 127\.0\.0\.1:[0-9]+' "$fake_pid" >/dev/null; then
  echo "FAIL: fake_provider did not start"
  show_logs
  exit 1
fi
fake_port="$(cat "$work/fake.port")"
fake_url="http://127.0.0.1:${fake_port}"

# One route per provider, none fixing the model: the SDK's model picks the fake's scenario
# (fake-truncate, fake-clean-close, fake-stream-error-throttling) where a test wants one.
cat >"$work/aigw.yaml" <<YAML
_format_version: "3.0"
services:
- name: fake
  url: ${fake_url}
  routes:
  - name: sdk-openai-chat
    paths: ["/sdk/openai/v1/chat/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer fake-key"}
        model:
          provider: openai
          options: {upstream_url: "${fake_url}/v1/chat/completions"}
  - name: sdk-openai-completions
    paths: ["/sdk/openai/v1/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: Authorization, header_value: "Bearer fake-key"}
        model:
          provider: openai
          options: {upstream_url: "${fake_url}/v1/completions"}
  - name: sdk-openai-embeddings
    paths: ["/sdk/openai/v1/embeddings"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/embeddings
        auth: {header_name: Authorization, header_value: "Bearer fake-key"}
        model:
          provider: openai
          options: {upstream_url: "${fake_url}/v1/embeddings"}
  - name: sdk-anthropic-chat
    paths: ["/sdk/anthropic/v1/chat/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-api-key, header_value: "fake-anthropic-key"}
        model:
          provider: anthropic
          options: {max_tokens: 256, upstream_url: "${fake_url}/v1/messages"}
  - name: agents-anthropic
    paths: ["/agents/anthropic"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: anthropic
        auth: {header_name: x-api-key, header_value: "fake-anthropic-key"}
        model:
          provider: anthropic
          options: {upstream_url: "${fake_url}/v1/messages"}
  - name: agents-claude-openai
    paths: ["/agents/claude-openai"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: anthropic
        auth: {header_name: Authorization, header_value: "Bearer fake-key"}
        model:
          provider: openai
          name: gpt-4o-mini
          options: {upstream_url: "${fake_url}/v1/chat/completions"}
  - name: agents-claude-pinned
    paths: ["/agents/claude-pinned"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: anthropic
        auth: {header_name: x-api-key, header_value: "fake-anthropic-key"}
        model:
          provider: anthropic
          name: claude-pinned
          options: {upstream_url: "${fake_url}/v1/messages"}
  - name: agents-gemini
    paths: ["/agents/gemini"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: gemini
        auth: {header_name: x-goog-api-key, header_value: "fake-gemini-key"}
        model:
          provider: gemini
          options: {upstream_url: "${fake_url}/v1beta/models"}
  - name: agents-responses-openai
    paths: ["/agents/responses-openai"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/responses
        auth: {header_name: Authorization, header_value: "Bearer fake-key"}
        model:
          provider: openai
          options: {upstream_url: "${fake_url}/v1/responses"}
  - name: agents-responses-anthropic
    paths: ["/agents/responses-anthropic"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/responses
        auth: {header_name: x-api-key, header_value: "fake-anthropic-key"}
        model:
          provider: anthropic
          options: {max_tokens: 256, upstream_url: "${fake_url}/v1/messages"}
  - name: sdk-bedrock-chat
    paths: ["/sdk/bedrock/v1/chat/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {aws_access_key_id: AKIDE2E, aws_secret_access_key: e2e-secret}
        model:
          provider: bedrock
          options: {upstream_url: "${fake_url}", bedrock: {aws_region: us-east-1}}
YAML

# Ports: the kernel picks them (port 0) and aigw reports them, so nothing can take them first.
mkdir -p "$work/data"
"$aigw" serve -c "$work/aigw.yaml" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --data-dir "$work/data" >"$work/aigw.log" 2>&1 &
pids+=($!)
aigw_pid=$!
if ! started="$(wait_for_line "$work/aigw.log" 'proxy on [^ ,]+:[0-9]+' "$aigw_pid")"; then
  if kill -0 "$aigw_pid" 2>/dev/null; then
    echo "FAIL: aigw reported no listening port within 20 s"
  else
    wait "$aigw_pid"
    echo "FAIL: aigw serve exited with status $? before listening"
  fi
  show_logs
  exit 1
fi
proxy_port="${started##*:}"

rc=0
for suite in sdk_test.mjs agents_test.mjs; do
  echo "# $suite"
  AIGW_ORIGIN="http://127.0.0.1:$proxy_port" FAKE_BASE="$fake_url" node "$here/$suite" || rc=1
done
if ((rc != 0)); then
  show_logs
  exit 1
fi

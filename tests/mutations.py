#!/usr/bin/env python3
"""The one-line mutations tests/README.md lists, applied one at a time: for each, the line is
changed, the target rebuilt, the catching test run (it must FAIL), and the file restored.

  python3 tests/mutations.py [--build DIR] [ID ...]     # all, or the named ones

Prints one JSON line per test run ("caught": true when that run failed) and exits 1 if any
mutation survived every run of it or could not be applied (a pattern that no longer matches means the code
moved: carry the mutation over to the new line). Needs a configured build (cmake -B build
-DAIGW_BUILD_TESTS=ON) with node for the e2e runs. Leaves the sources as it found them.
"""
import argparse, json, os, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ap = argparse.ArgumentParser()
ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
ap.add_argument('ids', nargs='*')
args = ap.parse_args()
BUILD = os.path.abspath(args.build)
IT = BUILD + '/tests/integration_tests'
E2E = ['bash', ROOT + '/tests/e2e/run.sh', BUILD + '/cli/aigw', BUILD + '/tests/fake_provider']
M = [
 ('body-auth-client-wins', 'gateway/plugins/ai_proxy.cpp',
  '!(auth.allow_override && ctx.body.contains(auth.param_name))', '!ctx.body.contains(auth.param_name)',
  'aigw', [IT, '-tc=auth: a body parameter*']),
 ('body-auth-override-ignored', 'gateway/plugins/ai_proxy.cpp',
  '!(auth.allow_override && ctx.body.contains(auth.param_name))', '!(false && ctx.body.contains(auth.param_name))',
  'aigw', [IT, '-tc=auth: a body parameter*']),
 ('client-null-not-missing', 'gateway/providers/common.cpp',
  'if (client_body.contains(client_key) && !client_body[client_key].is_null()) return;',
  'if (client_body.contains(client_key)) return;',
  'aigw', [IT, '-tc=options fill only*']),
 ('options-overwrite-client', 'gateway/providers/common.cpp',
  'if (client_body.contains(client_key) && !client_body[client_key].is_null()) return;',
  'if (false) return;',
  'aigw', [IT, '-tc=chat: translated request*']),
 ('client-header-key-wins', 'gateway/plugins/ai_proxy.cpp',
  '    if (auth.allow_override) {\n      if (auto client = headerValue(req, auth.header_name)',
  '    if (true) {\n      if (auto client = headerValue(req, auth.header_name)',
  'aigw', [[IT, '-tc=chat: translated request*'], E2E]),
 ('done-without-blank-line', 'gateway/formats/openai_chat.cpp',
  'pending_.append("data: [DONE]\\n\\n");', 'pending_.append("data: [DONE]\\n");',
  'aigw', [[IT, '-tc=streaming: SSE chunks*'], [IT, '-sf=*end_of_stream*']]),
 ('eos-openai', 'gateway/providers/openai_compat.cpp',
  'if (!done_)\n      return Status::error("upstream stream ended before [DONE]',
  'if (false)\n      return Status::error("upstream stream ended before [DONE]',
  'aigw', [[IT, '-tc=clean close before the end marker: openai*'], E2E]),
 ('eos-anthropic', 'gateway/providers/anthropic_stream.cpp',
  'if (!done_)\n      return Status::error(\n          "upstream anthropic stream ended before message_stop',
  'if (false)\n      return Status::error(\n          "upstream anthropic stream ended before message_stop',
  'aigw', [IT, '-tc=clean close before the end marker: anthropic*']),
 ('eos-gemini', 'gateway/providers/gemini_stream.cpp',
  'if (!saw_finish_ || !all_finished)', 'if (false && all_finished)',
  'aigw', [IT, '-tc=clean close before the end marker: gemini*']),
 ('eos-cohere-v2', 'gateway/providers/cohere_stream.cpp',
  'if (!done_)\n      return Status::error(\n          "upstream cohere stream ended before message-end',
  'if (false)\n      return Status::error(\n          "upstream cohere stream ended before message-end',
  'aigw', [IT, '-tc=clean close before the end marker: cohere v2*']),
 ('eos-cohere-v1', 'gateway/providers/cohere_v1.cpp',
  'if (!done_)\n      return Status::error(\n          "upstream cohere stream ended before stream-end',
  'if (false)\n      return Status::error(\n          "upstream cohere stream ended before stream-end',
  'aigw', [IT, '-tc=clean close before the end marker: cohere v1*']),
 ('eos-bedrock', 'gateway/providers/bedrock_stream.cpp',
  '    if (!stopped_)\n      return Status::error(', '    if (false)\n      return Status::error(',
  'aigw', [[IT, '-tc=clean close before the end marker: bedrock*'], E2E]),
 ('eos-ollama', 'gateway/providers/ollama.cpp',
  'if (!done_)\n      return Status::error("upstream stream ended before done:true',
  'if (false)\n      return Status::error("upstream stream ended before done:true',
  'aigw', [IT, '-tc=clean close before the end marker: ollama*']),
 ('eos-huggingface-tgi', 'gateway/providers/huggingface.cpp',
  'if (!done_)\n      return Status::error(\n          "upstream huggingface stream ended before the final event',
  'if (false)\n      return Status::error(\n          "upstream huggingface stream ended before the final event',
  'aigw', [IT, '-tc=clean close before the end marker: huggingface*']),
 ('exception-frames-ignored', 'gateway/proxy/aws_eventstream.cpp',
  'if (type == "exception") {', 'if (false) {',
  'aigw', [IT, '-tc=bedrock exception frames*']),
 ('message-crc-unchecked', 'gateway/proxy/aws_eventstream.cpp',
  'if (crc32(message.substr(0, total - 4)) != readU32(p + total - 4))', 'if (false)',
  'aigw unit_proxy', [[IT, '-tc=a bedrock frame whose CRC*'], [BUILD + '/tests/unit_proxy']]),
 ('prelude-crc-unchecked', 'gateway/proxy/aws_eventstream.cpp',
  'if (crc32(std::string_view(p, 8)) != readU32(p + 8))', 'if (false)',
  'unit_proxy', [BUILD + '/tests/unit_proxy']),
 ('body-size-413-gone', 'gateway/plugins/ai_proxy.cpp',
  'if (max_body > 0 && static_cast<long long>(ctx.rawBody().size()) > max_body) {', 'if (false) {',
  'aigw', [IT, '-tc=bad client input*']),
 ('gemini-no-alt-sse', 'gateway/providers/gemini.cpp',
  'if (stream) url.append(', 'if (false) url.append(',
  'aigw', [IT, '-tc=clean close before the end marker: gemini*']),
 ('anthropic-version-dropped', 'gateway/providers/anthropic.cpp',
  'req.headers.push_back({"anthropic-version",', 'if (false) req.headers.push_back({"anthropic-version",',
  'aigw', [IT, '-sf=*anthropic_test*']),
 ('query-key-client-wins', 'gateway/plugins/ai_proxy.cpp',
  'if (auth.allow_override && req.has_param(auth.param_name.c_str()))', 'if (req.has_param(auth.param_name.c_str()))',
  'aigw', [IT, '-sf=*gemini_test*']),
 ('upstream-drop-not-an-error', 'gateway/proxy/ai_exchange.cpp',
  '    if (status_ && up_ && up_->error().kind != UpstreamFailure::None) {', '    if (false) {',
  'aigw', [IT, '-tc=a truncated upstream stream*']),
 ('admin-origin-unchecked', 'gateway/admin/access.cpp',
  '    if (!origin_allowed)\n      return refuse(403,', '    if (false)\n      return refuse(403,',
  'aigw', [IT, '-tc=issue #8 - a cross-site form POST*']),
 ('admin-host-unchecked', 'gateway/admin/access.cpp',
  'if (!(name == "localhost" || isIpLiteral(name) || listed))', 'if (false)',
  'aigw', [IT, '-tc=issue #8 - a cross-site form POST*']),
 ('admin-env-unlimited', 'gateway/admin/env_allow.cpp',
  'if (!allow.allows(name))', 'if (false)',
  'aigw', [IT, '-tc=*over the admin API is refused*']),
 ('metrics-models-unbounded', 'gateway/observability/metrics.cpp',
  'if (seen.size() >= kMaxModelsPerRoute) return "other";', 'if (false) return "other";',
  'aigw', [IT, '-tc=*invented model names*']),
 ('upstream-error-unmasked', 'gateway/proxy/redact.cpp',
  '  error.message = maskSecrets(std::move(error.message), secrets);', '',
  'aigw', [IT, '-tc=*echoes the key*']),
 ('nested-child-of-other-parent', 'gateway/admin/admin_api.cpp',
  'if (scope && refId(entity, scope->field) != scope->id) return notFound(res);', '',
  'aigw', [IT, "-tc=Kong's nested paths*"]),
 ('sync-diff-unmasked', 'cli/sync.cpp',
  'return o.no_mask ? text : config::maskValues(text, p.env_values);', 'return text;',
  'aigw', [IT, '-tc=seed 002*']),
 ('form-gap-allowed', 'gateway/admin/form.cpp',
  'const std::size_t next = node->size() + 1;', 'const std::size_t next = node->size() + 2;',
  'unit_admin', [BUILD + '/tests/unit_admin']),
 ('native-body-reserialised', 'gateway/providers/common.cpp',
  'if (edits.empty()) return std::string(call.raw_body);', 'if (edits.empty()) return json::dump(*call.body);',
  'aigw', [IT, '-tc=llm_format anthropic\\, native: the body reaches*']),
 ('native-stream-end-unchecked', 'gateway/formats/native.cpp',
  'ended_ = t == "message_stop" || t == "error";', 'ended_ = true;',
  'aigw', [IT, '-tc=llm_format anthropic\\, native: a stream cut short*']),
 ('hub-cache-control-dropped', 'gateway/providers/anthropic.cpp',
  'if (const Json& cc = field(from, "cache_control"); cc.is_object()) block["cache_control"] = cc;', '',
  'aigw', [IT, '-tc=OpenAI chat to Anthropic: cache_control*']),
 ('format-translates-hub-body', 'gateway/plugins/ai_proxy.cpp',
  'if (ctx.client_body) ctx.body = *ctx.client_body;', 'if (false) ctx.body = *ctx.client_body;',
  'aigw', [IT, '-tc=llm_format anthropic through ai-proxy-advanced*']),
 ('gemini-native-model-in-body', 'gateway/providers/gemini.cpp',
  'as_sent.model.clear();', '',
  'aigw', [IT, '-tc=llm_format gemini: native*']),
 ('bedrock-native-model-in-body', 'gateway/providers/bedrock.cpp',
  'as_sent.model.clear();', '',
  'aigw', [IT, '-tc=llm_format bedrock: native*']),
 ('cohere-native-not-spoken', 'gateway/providers/cohere.cpp',
  'return api == NativeApi::Cohere;', 'return false;',
  'aigw', [IT, '-tc=llm_format cohere: native*']),
 ('preserve-get-becomes-post', 'gateway/providers/common.cpp',
  'req.method = call.client_method.empty() ? "POST" : std::string(call.client_method);', 'req.method = "POST";',
  'aigw', [IT, '-tc=preserve: a GET stays a GET*']),
 ('cohere-usage-from-tokens', 'gateway/providers/cohere.cpp',
  'u.prompt_tokens = wire::integer(billed, "input_tokens", wire::integer(tokens, "input_tokens"));',
  'u.prompt_tokens = wire::integer(tokens, "input_tokens", wire::integer(billed, "input_tokens"));',
  'unit_providers', [BUILD + '/tests/unit_providers', '-tc=cohere*']),
 ('duplicate-content-length-accepted', 'gateway/proxy/net/http_server.cpp',
  '    if (content_lengths > 1) {', '    if (false) {',
  'aigw', [IT, '-tc=framing that could smuggle*']),
 ('unchunked-transfer-encoding-accepted', 'gateway/proxy/net/http_server.cpp',
  'if (msg.find(bhttp::field::transfer_encoding) != msg.end() && !head_parser_->chunked()) {',
  'if (false) {',
  'aigw', [IT, '-tc=framing that could smuggle*']),
 ('header-field-count-unbounded', 'gateway/proxy/net/http_server.cpp',
  '    if (fields > limits.max_header_fields) {', '    if (false) {',
  'aigw', [IT, '-tc=a request head over 32 KiB*']),
 ('head-deadline-restarts', 'gateway/proxy/net/http_server.cpp',
  '    watchdog_.arm(first ? accepted + std::chrono::milliseconds(limits.header_timeout_ms)',
  '    watchdog_.arm(first ? Clock::now() + std::chrono::hours(1)',
  'aigw', [IT, '-tc=a head not complete within*']),
 ('bad-request-retried', 'gateway/proxy/retry_policy.cpp',
  '  const bool matched = bit != 0 && (policy.criteria & bit) != 0;',
  '  const bool matched = fault.kind == AttemptFault::Kind::Status || (bit != 0 && (policy.criteria & bit) != 0);',
  'aigw', [IT, '-tc=ai-proxy-advanced: balancing*']),
 ('retry-after-ignored', 'gateway/proxy/balancer.cpp',
  '  if (report.retry_after_ms >= 0) {', '  if (false) {',
  'aigw', [IT, '-tc=ai-proxy-advanced: balancing*']),
 ('garbage-sse-passed-on', 'gateway/providers/openai_compat.cpp',
  '    } else if (!json::isObject(data)) {', '    } else if (false) {',
  'aigw', [IT, '-tc=fault table*']),
 ('service-answer-buffered', 'gateway/proxy/handler_service.cpp',
  '  if (responsePhaseNeeded(ctx, chain)) {', '  if (true) {',
  'aigw', [IT, '-tc=an answer streams through*']),
 ('service-cut-looks-complete', 'gateway/proxy/handler_service.cpp',
  '    exchange.abort();', '    co_await exchange.endStream();',
  'aigw', [IT, '-tc=a service that breaks off*']),
 ('service-hide-credentials-ignored', 'gateway/proxy/service_request.cpp',
  '    if (ctx.hide_credential && !ctx.credential_header.empty() &&', '    if (false &&',
  'aigw', [IT, '-tc=key-auth in front of a service*']),
 ('service-strip-path-ignored', 'gateway/proxy/service_request.cpp',
  '  if (!route.strip_path || matched == 0', '  if (true || matched == 0',
  'aigw', [IT, "-tc=Kong's path handling*"])
]
only = set(args.ids)
results = []
for mid, f, old, new, target, cmd in M:
    if only and mid not in only: continue
    path = f'{ROOT}/{f}'
    src = open(path).read()
    n = src.count(old)
    if n != 1:
        results.append({'id': mid, 'error': f'pattern found {n} times'}); print(results[-1], flush=True); continue
    try:
        open(path, 'w').write(src.replace(old, new))
        t = time.time()
        b = subprocess.run(['cmake', '--build', BUILD, '-j2', '--target', *target.split()], capture_output=True, text=True)
        if b.returncode != 0:
            results.append({'id': mid, 'error': 'build failed', 'log': b.stdout[-2000:] + b.stderr[-2000:]}); print(results[-1], flush=True); continue
        cmds = cmd if isinstance(cmd[0], list) else [cmd]
        for c in cmds:
            r = subprocess.run(c, capture_output=True, text=True, timeout=600, cwd=ROOT)
            out = r.stdout + r.stderr
            failing = [l for l in out.splitlines() if l.startswith('TEST CASE:') or l.startswith('not ok')]
            results.append({'id': mid, 'caught': r.returncode != 0, 'cmd': ' '.join(c[1:]) or c[0],
                            'failed_cases': failing[:6], 'summary': [l for l in out.splitlines() if 'test cases' in l or 'passed,' in l][-1:],
                            'secs': round(time.time() - t)})
            print(json.dumps(results[-1]), flush=True)
    finally:
        open(path, 'w').write(src)
# rebuild the unmutated targets
subprocess.run(['cmake', '--build', BUILD, '-j2', '--target', 'aigw', 'unit_proxy', 'unit_admin',
                'unit_providers'], capture_output=True)
# A mutation is caught when at least one of its test runs failed.
ids = {r['id'] for r in results}
survived = [i for i in ids if not any(r.get('caught') for r in results if r['id'] == i)]
print('survived or not applied: ' + (', '.join(sorted(set(survived))) or 'none'), flush=True)
sys.exit(1 if survived else 0)

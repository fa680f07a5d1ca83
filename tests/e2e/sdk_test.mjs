// The official openai SDK against aigw, through three provider wire formats: OpenAI
// (pass-through), Anthropic and Bedrock (translated both ways, streams included). If this
// passes, real client code works unchanged whichever provider is behind the route.
//
// Environment:
//   AIGW_ORIGIN  the gateway, e.g. http://127.0.0.1:8000 (required); the SDK's baseURL is
//                AIGW_ORIGIN/sdk/<provider>/v1 (routes written by run.sh)
//   FAKE_BASE    fake_provider's base URL (required): what reached upstream is checked there
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const origin = process.env.AIGW_ORIGIN;
const fakeBase = process.env.FAKE_BASE;
if (!origin || !fakeBase) {
  console.error('AIGW_ORIGIN and FAKE_BASE must be set (see run.sh)');
  process.exit(2);
}
const clientKey = 'sk-client-key-that-must-not-reach-upstream';

// No retries: the SDK would otherwise honour Retry-After on the 503 test and wait for it.
const clientFor = (provider) =>
  new OpenAI({
    baseURL: `${origin}/sdk/${provider}/v1`,
    apiKey: clientKey,
    maxRetries: 0,
    timeout: 20_000,
  });

// The model the SDK names for each provider (no route fixes it), and what the fake answers.
const providers = {
  openai: { model: 'gpt-4o-mini' },
  anthropic: { model: 'claude-3-5-haiku-latest' },
  bedrock: { model: 'anthropic.claude-3-haiku-20240307-v1:0' },
};

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function upstreamRequests() {
  const res = await fetch(`${fakeBase}/__fake/requests`);
  assert.equal(res.status, 200);
  return res.json();
}

const hello = [{ role: 'user', content: 'hello from the sdk' }];

// Reads a whole stream: text, finish_reason, tool calls (by index), chunk count.
async function drain(stream) {
  const out = { text: '', finish: null, chunks: 0, tools: new Map() };
  for await (const chunk of stream) {
    out.chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    const choice = chunk.choices[0];
    if (!choice) continue;
    out.text += choice.delta?.content ?? '';
    out.finish = choice.finish_reason ?? out.finish;
    for (const call of choice.delta?.tool_calls ?? []) {
      const seen = out.tools.get(call.index) ?? { id: '', name: '', args: '' };
      seen.id ||= call.id ?? '';
      seen.name ||= call.function?.name ?? '';
      seen.args += call.function?.arguments ?? '';
      out.tools.set(call.index, seen);
    }
  }
  return out;
}

// A stream the upstream breaks: the SDK must raise (the gateway's error event), after having
// delivered what came before.
async function expectStreamToRaise(client, model, messagePattern) {
  let chunks = 0;
  await assert.rejects(
    async () => {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'one two three four five six' }],
        stream: true,
      });
      for await (const chunk of stream) {
        if (chunk.choices?.length) chunks += 1;
      }
    },
    (err) => {
      assert.ok(err instanceof OpenAI.APIError, `not an APIError: ${err}`);
      assert.match(err.message, messagePattern);
      return true;
    },
  );
  assert.ok(chunks > 0, 'the SDK saw no chunk before the error');
}

for (const [provider, { model }] of Object.entries(providers)) {
  const client = clientFor(provider);
  let nonStreamAnswer;

  test(`${provider}: chat completion, non-stream`, async () => {
    const completion = await client.chat.completions.create({ model, messages: hello });
    const choice = completion.choices[0];
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, `Hello from fake ${provider}: hello from the sdk`);
    assert.equal(choice.finish_reason, 'stop');
    assert.equal(typeof completion.id, 'string');
    assert.equal(completion.object, 'chat.completion');
    assert.equal(typeof completion.usage.prompt_tokens, 'number');
    assert.equal(typeof completion.usage.completion_tokens, 'number');
    assert.equal(
      completion.usage.total_tokens,
      completion.usage.prompt_tokens + completion.usage.completion_tokens,
    );
    nonStreamAnswer = choice.message.content;
  });

  test(`${provider}: streaming, the deltas add up to the non-stream answer`, async () => {
    assert.ok(nonStreamAnswer, 'needs the non-stream test to have passed');
    const out = await drain(
      await client.chat.completions.create({ model, messages: hello, stream: true }),
    );
    assert.ok(out.chunks > 2, `expected several chunks, got ${out.chunks}`);
    assert.equal(out.text, nonStreamAnswer);
    assert.equal(out.finish, 'stop');
  });

  test(`${provider}: streaming with include_usage ends with a usage chunk`, async () => {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'count me' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage = null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    assert.ok(usage, 'no chunk carried usage');
    assert.equal(typeof usage.prompt_tokens, 'number');
    assert.equal(typeof usage.completion_tokens, 'number');
  });

  test(`${provider}: a field of the wrong type is a 400 naming it`, async () => {
    await assert.rejects(
      client.chat.completions.create({ model, messages: hello, max_tokens: 'many' }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `not a BadRequestError: ${err}`);
        assert.equal(err.status, 400);
        assert.equal(err.param, 'max_tokens');
        return true;
      },
    );
  });

  test(`${provider}: a stream dropped mid-way makes the SDK raise`, () =>
    expectStreamToRaise(client, 'fake-truncate', /upstream/));

  test(`${provider}: a stream closed cleanly before its end marker makes the SDK raise`, () =>
    expectStreamToRaise(client, 'fake-clean-close', /ended before/));
}

// ---- the translating providers: tools, and what they cannot honour ----

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather now',
      parameters: { type: 'object', properties: { query: { type: 'string' } } },
    },
  },
];
const askForTool = [{ role: 'user', content: 'please use tool for Paris' }];

for (const provider of ['anthropic', 'bedrock']) {
  const client = clientFor(provider);
  const { model } = providers[provider];

  test(`${provider}: a tool call round trip`, async () => {
    const first = await client.chat.completions.create({ model, messages: askForTool, tools });
    const choice = first.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'please use tool for Paris' });

    const second = await client.chat.completions.create({
      model,
      tools,
      messages: [
        ...askForTool,
        choice.message,
        { role: 'tool', tool_call_id: call.id, content: 'sunny, 21C' },
      ],
    });
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.match(second.choices[0].message.content, /sunny, 21C/);
  });

  test(`${provider}: a streamed tool call`, async () => {
    const out = await drain(
      await client.chat.completions.create({ model, messages: askForTool, tools, stream: true }),
    );
    assert.equal(out.finish, 'tool_calls');
    const call = out.tools.get(0);
    assert.ok(call, 'no tool call in the stream');
    assert.ok(call.id, 'the tool call has no id');
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.args), { query: 'please use tool for Paris' });
  });

  test(`${provider}: n > 1 is a 400 naming n`, async () => {
    await assert.rejects(client.chat.completions.create({ model, messages: hello, n: 2 }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `not a BadRequestError: ${err}`);
      assert.equal(err.param, 'n');
      return true;
    });
  });
}

test('bedrock: a throttlingException frame mid-stream makes the SDK raise', () =>
  expectStreamToRaise(clientFor('bedrock'), 'fake-stream-error-throttling', /throttlingException/));

test('anthropic: an error event mid-stream makes the SDK raise', () =>
  expectStreamToRaise(clientFor('anthropic'), 'fake-stream-error-throttling', /overloaded|throttling/));

// ---- the OpenAI pass-through: the other endpoints ----

const openai = clientFor('openai');

test('openai: completions (legacy)', async () => {
  const completion = await openai.completions.create({
    model: 'gpt-3.5-turbo-instruct',
    prompt: 'say something',
  });
  assert.equal(completion.choices[0].text, 'Hello from fake openai: say something');
});

test('openai: embeddings', async () => {
  // Without encoding_format the SDK asks for base64 and decodes it: the common case in the wild.
  const result = await openai.embeddings.create({
    model: 'text-embedding-3-small',
    input: 'embed me',
  });
  const embedding = result.data[0].embedding;
  assert.ok(Array.isArray(embedding), 'embedding is not an array');
  assert.ok(embedding.length > 0);
  for (const x of embedding) assert.equal(typeof x, 'number');

  const floats = await openai.embeddings.create({
    model: 'text-embedding-3-small',
    input: ['embed me', 'and me'],
    encoding_format: 'float',
  });
  assert.equal(floats.data.length, 2);
  assert.equal(floats.data[1].index, 1);
  floats.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - embedding[i]) < 1e-5));
});

test('openai: an upstream 503 reaches the SDK as an APIError with status 503', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model: 'fake-error-503', messages: hello }),
    (err) => {
      assert.ok(err instanceof OpenAI.APIError, `not an APIError: ${err}`);
      assert.equal(err.status, 503);
      assert.match(err.message, /fake upstream error 503/);
      assert.equal(err.headers?.get?.('retry-after'), '7');
      return true;
    },
  );
});

// ---- what reached the upstream ----

test('upstream got each provider its configured credential, never the client key', async () => {
  const requests = await upstreamRequests();
  const byPath = (pattern) => requests.filter((r) => pattern.test(r.path));
  const openaiCalls = byPath(/^\/v1\/chat\/completions$/);
  const anthropicCalls = byPath(/^\/v1\/messages$/);
  const bedrockCalls = byPath(/^\/model\/[^/]+\/converse(-stream)?$/);
  for (const [name, calls] of Object.entries({ openaiCalls, anthropicCalls, bedrockCalls }))
    assert.ok(calls.length > 0, `no ${name} reached the fake provider`);
  for (const r of openaiCalls) assert.equal(r.headers.authorization, 'Bearer fake-key');
  for (const r of anthropicCalls) {
    assert.equal(r.headers['x-api-key'], 'fake-anthropic-key');
    assert.equal(typeof r.headers['anthropic-version'], 'string');
    assert.equal(r.headers.authorization, undefined);
  }
  for (const r of bedrockCalls)
    assert.match(r.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDE2E\//);
  for (const r of requests)
    assert.ok(!JSON.stringify(r).includes(clientKey), `client key leaked upstream: ${r.path}`);
});

let passed = 0;
let failed = 0;
for (const { name, fn } of tests) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(err?.stack ?? err).split('\n').join('\n  ')}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

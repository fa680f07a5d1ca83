// The official openai SDK against aigw: if this passes, real client code works unchanged.
//
// Environment:
//   AIGW_BASE             the SDK's baseURL, e.g. http://127.0.0.1:8000/sdk/v1 (required)
//   FAKE_BASE             fake_provider's base URL; enables the checks on what reached upstream
//   EXPECT_UPSTREAM_AUTH  the Authorization header the gateway must send upstream
//
// Pointing AIGW_BASE at fake_provider's /v1 (without the other two) checks this script itself.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const base = process.env.AIGW_BASE;
if (!base) {
  console.error('AIGW_BASE is not set (e.g. http://127.0.0.1:8000/sdk/v1)');
  process.exit(2);
}
const fakeBase = process.env.FAKE_BASE;
const expectedAuth = process.env.EXPECT_UPSTREAM_AUTH;
const clientKey = 'sk-client-key-that-must-not-reach-upstream';

// No retries: the SDK would otherwise honour Retry-After on the 503 test and wait for it.
const client = new OpenAI({ baseURL: base, apiKey: clientKey, maxRetries: 0, timeout: 20_000 });

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function upstreamRequests() {
  const res = await fetch(`${fakeBase}/__fake/requests`);
  assert.equal(res.status, 200);
  return res.json();
}

let nonStreamAnswer;

test('chat completion, non-stream', async () => {
  const completion = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hello from the sdk' }],
  });
  const choice = completion.choices[0];
  assert.equal(choice.message.role, 'assistant');
  assert.match(choice.message.content, /Hello from fake/);
  assert.match(choice.message.content, /hello from the sdk/);
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

test('chat completion, streaming: the deltas add up to the non-stream answer', async () => {
  assert.ok(nonStreamAnswer, 'needs the non-stream test to have passed');
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hello from the sdk' }],
    stream: true,
  });
  let text = '';
  let chunks = 0;
  let finishReason = null;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta?.content ?? '';
    finishReason = choice.finish_reason ?? finishReason;
  }
  assert.ok(chunks > 2, `expected several chunks, got ${chunks}`);
  assert.equal(text, nonStreamAnswer);
  assert.equal(finishReason, 'stop');
});

test('chat completion, streaming with include_usage ends with a usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'count me' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(usage, 'no chunk carried usage');
  assert.equal(typeof usage.prompt_tokens, 'number');
  assert.equal(typeof usage.completion_tokens, 'number');
});

test('completions (legacy)', async () => {
  const completion = await client.completions.create({
    model: 'gpt-3.5-turbo-instruct',
    prompt: 'say something',
  });
  assert.match(completion.choices[0].text, /Hello from fake/);
});

test('embeddings', async () => {
  // Without encoding_format the SDK asks for base64 and decodes it: the common case in the wild.
  const result = await client.embeddings.create({
    model: 'text-embedding-3-small',
    input: 'embed me',
  });
  const embedding = result.data[0].embedding;
  assert.ok(Array.isArray(embedding), 'embedding is not an array');
  assert.ok(embedding.length > 0);
  for (const x of embedding) assert.equal(typeof x, 'number');

  const floats = await client.embeddings.create({
    model: 'text-embedding-3-small',
    input: ['embed me', 'and me'],
    encoding_format: 'float',
  });
  assert.equal(floats.data.length, 2);
  assert.equal(floats.data[1].index, 1);
  floats.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - embedding[i]) < 1e-5));
});

test('an upstream 503 reaches the SDK as an APIError with status 503', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'fake-error-503',
      messages: [{ role: 'user', content: 'fail please' }],
    }),
    (err) => {
      assert.ok(err instanceof OpenAI.APIError, `not an APIError: ${err}`);
      assert.equal(err.status, 503);
      assert.match(err.message, /fake upstream error 503/);
      assert.equal(err.headers?.get?.('retry-after'), '7');
      return true;
    },
  );
});

if (fakeBase && expectedAuth) {
  test('upstream got the configured credential, not the client key', async () => {
    const requests = await upstreamRequests();
    const chats = requests.filter((r) => r.path.endsWith('/chat/completions'));
    assert.ok(chats.length > 0, 'no chat request reached the fake provider');
    for (const r of chats) {
      assert.equal(r.headers.authorization, expectedAuth);
      assert.ok(!JSON.stringify(r.headers).includes(clientKey), 'client key leaked upstream');
    }
  });
}

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

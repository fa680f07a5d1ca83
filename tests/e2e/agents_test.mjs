// Agent-facing clients against aigw, each through two provider wire formats:
//   - the Anthropic SDK (what Claude Code is built on): messages.create, a streamed tool use,
//     count_tokens, against an Anthropic target (native pass-through) and an OpenAI target
//     (translated through the hub);
//   - the openai SDK's Responses API: responses.create streamed and not, with a function tool
//     round trip, against OpenAI (pass-through) and Anthropic (translated);
//   - the Vercel AI SDK's default provider (openai(model) speaks the Responses API):
//     generateText and streamText, and a tool loop;
//   - the Google Gen AI SDK (llm_format gemini, passed through to Gemini): generateContent and
//     generateContentStream;
//   - models.list() on the gateway.
//
// Environment (set by run.sh): AIGW_ORIGIN (the gateway), FAKE_BASE (fake_provider).
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { generateText, streamText, tool, stepCountIs } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { GoogleGenAI } from '@google/genai';
import { z } from 'zod';

const origin = process.env.AIGW_ORIGIN;
const fakeBase = process.env.FAKE_BASE;
if (!origin || !fakeBase) {
  console.error('AIGW_ORIGIN and FAKE_BASE must be set (see run.sh)');
  process.exit(2);
}
const clientKey = 'sk-client-key-that-must-not-reach-upstream';

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

// ---- the Anthropic SDK (Claude Code's client) ----

const anthropicTargets = {
  anthropic: { path: '/agents/anthropic', answer: 'Hello from fake anthropic' },
  openai: { path: '/agents/claude-openai', answer: 'Hello from fake openai' },
};
const weatherTool = {
  name: 'get_weather',
  description: 'Weather now',
  input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
};
const askForTool = [{ role: 'user', content: 'please use tool for Paris' }];

for (const [target, { path, answer }] of Object.entries(anthropicTargets)) {
  const claude = new Anthropic({
    baseURL: `${origin}${path}`,
    apiKey: clientKey,
    maxRetries: 0,
    timeout: 20_000,
  });

  test(`anthropic sdk -> ${target}: messages.create`, async () => {
    const msg = await claude.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hello from claude' }],
    });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, 'claude-sonnet-4-5');
    assert.equal(msg.content[0].type, 'text');
    assert.equal(msg.content[0].text, `${answer}: hello from claude`);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(typeof msg.usage.input_tokens, 'number');
    assert.ok(msg.usage.output_tokens > 0);
    if (target === 'anthropic') assert.equal(msg.usage.cache_read_input_tokens, 1000);
  });

  test(`anthropic sdk -> ${target}: a streamed tool use, then the tool result`, async () => {
    const stream = claude.messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      tools: [weatherTool],
      messages: askForTool,
    });
    let jsonPieces = 0;
    stream.on('inputJson', () => (jsonPieces += 1));
    const msg = await stream.finalMessage();
    assert.equal(msg.stop_reason, 'tool_use');
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(use, 'no tool_use block');
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { query: 'please use tool for Paris' });
    assert.ok(jsonPieces > 1, `the input came in ${jsonPieces} piece(s)`);
    assert.ok(msg.usage.output_tokens > 0);

    const second = await claude.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      tools: [weatherTool],
      messages: [
        ...askForTool,
        { role: 'assistant', content: msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 21C' }] },
      ],
    });
    assert.equal(second.stop_reason, 'end_turn');
    assert.match(second.content[0].text, /tool result sunny, 21C/);
  });

  test(`anthropic sdk -> ${target}: count_tokens (beta client, ?beta=true)`, async () => {
    const count = await claude.beta.messages.countTokens({
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'count these four words' }],
    });
    assert.equal(typeof count.input_tokens, 'number');
    assert.ok(count.input_tokens > 0);
  });
}

// ---- the openai SDK's Responses API ----

const responsesTargets = {
  openai: { path: '/agents/responses-openai/v1', answer: 'Hello from fake openai' },
  anthropic: { path: '/agents/responses-anthropic/v1', answer: 'Hello from fake anthropic' },
};
const functionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather now',
  parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  strict: false,
};

for (const [target, { path, answer }] of Object.entries(responsesTargets)) {
  const client = new OpenAI({ baseURL: `${origin}${path}`, apiKey: clientKey, maxRetries: 0 });

  test(`openai responses -> ${target}: create, and a function tool round trip`, async () => {
    const plain = await client.responses.create({ model: 'gpt-4.1-mini', input: 'hello there' });
    assert.equal(plain.object, 'response');
    assert.equal(plain.output_text, `${answer}: hello there`);
    assert.ok(plain.usage.total_tokens > 0);

    const first = await client.responses.create({
      model: 'gpt-4.1-mini',
      input: 'please use tool for Paris',
      tools: [functionTool],
    });
    const call = first.output.find((item) => item.type === 'function_call');
    assert.ok(call, 'no function_call item');
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), { query: 'please use tool for Paris' });
    const second = await client.responses.create({
      model: 'gpt-4.1-mini',
      tools: [functionTool],
      input: [
        { role: 'user', content: 'please use tool for Paris' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21C' },
      ],
    });
    assert.match(second.output_text, /tool result sunny, 21C/);
  });

  test(`openai responses -> ${target}: streamed, events in order`, async () => {
    const stream = await client.responses.create({
      model: 'gpt-4.1-mini',
      input: 'one two three',
      stream: true,
    });
    let text = '';
    let completed = null;
    const types = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    assert.equal(types[0], 'response.created');
    assert.equal(text, `${answer}: one two three`);
    assert.ok(completed, 'no response.completed');
    assert.ok(completed.usage.output_tokens > 0);

    // The SDK's stream helper checks that items and parts are announced before their deltas.
    const helper = client.responses.stream({
      model: 'gpt-4.1-mini',
      input: 'please use tool for Paris',
      tools: [functionTool],
    });
    const final = await helper.finalResponse();
    const call = final.output.find((item) => item.type === 'function_call');
    assert.deepEqual(JSON.parse(call.arguments), { query: 'please use tool for Paris' });
  });
}

// ---- the Vercel AI SDK, default OpenAI provider (the Responses API) ----

for (const [target, { path, answer }] of Object.entries(responsesTargets)) {
  const provider = createOpenAI({ baseURL: `${origin}${path}`, apiKey: clientKey });

  test(`ai sdk openai(model) -> ${target}: generateText and streamText`, async () => {
    const { text, usage } = await generateText({
      model: provider('gpt-4.1-mini'),
      prompt: 'hello there',
      maxRetries: 0,
    });
    assert.equal(text, `${answer}: hello there`);
    assert.ok(usage.outputTokens > 0);

    const result = streamText({ model: provider('gpt-4.1-mini'), prompt: 'one two', maxRetries: 0 });
    let streamed = '';
    for await (const piece of result.textStream) streamed += piece;
    assert.equal(streamed, `${answer}: one two`);
  });

  test(`ai sdk openai(model) -> ${target}: a tool loop`, async () => {
    const { text, steps } = await generateText({
      model: provider('gpt-4.1-mini'),
      prompt: 'please use tool for Paris',
      // A translated route keeps no responses, so the SDK must send whole items rather than
      // item_reference ids (README "Agents and SDKs"); against OpenAI either way works.
      providerOptions: target === 'openai' ? {} : { openai: { store: false } },
      tools: {
        get_weather: tool({
          description: 'Weather now',
          inputSchema: z.object({ query: z.string() }),
          execute: async ({ query }) => `sunny in ${query.split(' ').pop()}`,
        }),
      },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    assert.ok(steps.length >= 2, `only ${steps.length} step(s)`);
    assert.match(text, /tool result .*sunny in Paris/);
  });
}

// ---- the Google Gen AI SDK (llm_format gemini) ----

const gemini = new GoogleGenAI({
  apiKey: clientKey,
  httpOptions: { baseUrl: `${origin}/agents/gemini`, timeout: 20_000 },
});

test('google genai sdk -> gemini: generateContent', async () => {
  const r = await gemini.models.generateContent({
    model: 'gemini-2.5-flash',
    contents: 'hello from gemini',
    config: { maxOutputTokens: 64 },
  });
  assert.equal(r.text, 'Hello from fake gemini: hello from gemini');
  assert.ok(r.usageMetadata.promptTokenCount > 0);
});

test('google genai sdk -> gemini: generateContentStream', async () => {
  const stream = await gemini.models.generateContentStream({
    model: 'gemini-2.5-flash',
    contents: 'hello from gemini',
  });
  let text = '';
  let last;
  for await (const chunk of stream) {
    text += chunk.text ?? '';
    last = chunk;
  }
  assert.equal(text, 'Hello from fake gemini: hello from gemini');
  assert.ok(last.candidates[0].finishReason, 'no finishReason on the last chunk');
});

// ---- the model list ----

test('openai sdk: models.list() lists the gateway models', async () => {
  const client = new OpenAI({ baseURL: `${origin}/v1`, apiKey: clientKey, maxRetries: 0 });
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.ok(ids.includes('gpt-4o-mini'), `models: ${ids}`);
  assert.ok(ids.includes('claude-pinned'), `models: ${ids}`);
});

test('upstream never saw the client key', async () => {
  const res = await fetch(`${fakeBase}/__fake/requests`);
  const requests = await res.json();
  assert.ok(requests.length > 0);
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

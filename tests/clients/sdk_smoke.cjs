// The official JS SDK against `labkit serve`: create, stream, countTokens, models and batches.
// Run by tests/test_real_clients.py as `node sdk_smoke.cjs <clients dir> <base url>`; prints one JSON
// object with what each call returned, which the test checks.
const path = require("path");
const [clients, baseURL] = process.argv.slice(2);
const { Anthropic } = require(path.join(clients, "node_modules", "@anthropic-ai", "sdk"));

async function main() {
  const client = new Anthropic({ apiKey: "sk-labkit-any-key", baseURL, maxRetries: 0 });
  const ask = { model: "claude-haiku-5-5", max_tokens: 200,
                messages: [{ role: "user", content: "Explain decoherence for listeners." }] };
  const out = {};
  const message = await client.messages.create(ask);
  out.create = { id: message.id, stop: message.stop_reason, text: message.content[0].text, usage: message.usage };
  const stream = client.messages.stream(ask);
  let deltas = 0;
  stream.on("text", () => { deltas += 1; });
  const final = await stream.finalMessage();
  out.stream = { deltas, text: final.content[0].text, usage: final.usage };
  out.countTokens = await client.messages.countTokens({ model: ask.model, messages: ask.messages });
  const models = [];
  for await (const model of client.models.list({ limit: 2 })) models.push(model.id);
  out.models = models;
  out.model = await client.models.retrieve("claude-haiku-5-5");
  const batch = await client.messages.batches.create({
    requests: [0, 1].map((i) => ({ custom_id: `r${i}`, params: { ...ask, messages: [{ role: "user", content: `Topic ${i}: chaos theory.` }] } })),
  });
  out.batch = { id: batch.id, status: batch.processing_status, counts: batch.request_counts };
  console.log(JSON.stringify(out));
}

main().catch((error) => { console.error(String(error && error.stack || error)); process.exit(1); });

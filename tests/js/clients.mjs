// The real JavaScript clients, driven by the Python tests and the benchmark.
//
//   node tests/js/clients.mjs < jobs.json > results.json
//
// stdin: a JSON list of jobs; stdout: a JSON list of results, one per job, in order.
// A job is {"client": "ag-ui" | "ai-sdk", "url": ..., "messages": [...], ...}. With
// "body" (the SSE text of a recorded response) the job runs offline: the client's own
// `fetch` is replaced by one answering with that body, so the same code path runs
// (HTTP parsing, SSE parsing, schema checks, ordering rules, message rebuilding).
//
// AG-UI: @ag-ui/client's HttpAgent.runAgent, whose pipeline validates every event
// against @ag-ui/core's schemas and runs verifyEvents (every ordering rule), then
// rebuilds the conversation (agent.messages). AI SDK: ai's DefaultChatTransport (which
// POSTs {id, messages, trigger, messageId} as useChat does and parses the response with
// parseJsonEventStream and the UI message chunk schema), then readUIMessageStream
// rebuilds the assistant message; every snapshot is kept so a test can see how it
// streamed. Console warnings of either client (dropped or stripped fields) are
// reported: a clean stream has none.

import { HttpAgent } from "@ag-ui/client";
import { DefaultChatTransport, readUIMessageStream } from "ai";

const warnings = [];
for (const level of ["warn", "error"]) {
  console[level] = (...args) => warnings.push(args.map(String).join(" "));
}

const offlineFetch = (body, headers) => async () =>
  new Response(body, { status: 200, headers: { "content-type": "text/event-stream", ...headers } });

// The job's fetch: the network, or the recorded body; either way the response's status
// and headers are kept for the result.
function recording(job, seen) {
  return async (url, init) => {
    const response =
      job.body !== undefined
        ? await offlineFetch(job.body, job.headers ?? {})()
        : await fetch(url, init);
    seen.status = response.status;
    seen.headers = Object.fromEntries(response.headers.entries());
    return response;
  };
}

async function runAgUi(job) {
  const seen = { status: null, headers: {} };
  const agent = new HttpAgent({
    url: job.url ?? "http://offline.invalid/agui",
    threadId: job.threadId ?? "thread-1",
    initialMessages: job.messages ?? [],
    fetch: recording(job, seen),
  });
  const events = [];
  let error = null;
  try {
    await agent.runAgent(
      { runId: job.runId ?? "run-1" },
      { onEvent: ({ event }) => void events.push(event) },
    );
  } catch (caught) {
    error = String(caught?.message ?? caught);
  }
  return { ok: error === null, error, ...seen, events, messages: agent.messages };
}

async function runAiSdk(job) {
  const seen = { status: null, headers: {} };
  const transport = new DefaultChatTransport({
    api: job.url ?? "http://offline.invalid/api/chat",
    fetch: recording(job, seen),
  });
  const chunks = [];
  const snapshots = [];
  const errors = [];
  let error = null;
  let message = null;
  try {
    const stream = await transport.sendMessages({
      chatId: job.chatId ?? "chat-1",
      messages: job.messages ?? [],
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: undefined,
    });
    const tapped = stream.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          chunks.push(chunk);
          controller.enqueue(chunk);
        },
      }),
    );
    for await (const snapshot of readUIMessageStream({
      stream: tapped,
      // Every error reaches onError: an `error` chunk as a plain Error, a chunk the client
      // cannot apply as an AI_* error (named, so the tests can tell them apart).
      onError: (caught) => void errors.push(`${caught?.name ?? "Error"}: ${caught?.message ?? caught}`),
    })) {
      message = snapshot;
      snapshots.push(structuredClone(snapshot));
    }
  } catch (caught) {
    error = String(caught?.message ?? caught);
  }
  return { ok: error === null, error, errors, ...seen, chunks, snapshots, message };
}

const input = await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (part) => (text += part));
  process.stdin.on("end", () => resolve(text));
});
const results = [];
for (const job of JSON.parse(input)) {
  warnings.length = 0;
  const result = job.client === "ag-ui" ? await runAgUi(job) : await runAiSdk(job);
  results.push({ ...result, warnings: [...warnings] });
}
process.stdout.write(JSON.stringify(results));

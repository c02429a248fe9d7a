// A test service of LaunchDarkly's sse-contract-tests protocol (PROTOCOL.md §7),
// written to that spec, around the Node `eventsource` package (the same install
// as sse_clients/eventsource_node). `pulsecheck host sse --service URL` drives it.
//
//   node service.cjs PORT [CAPABILITY,CAPABILITY,...]
//
// Prints `listening on http://127.0.0.1:PORT (eventsource VERSION)` when ready.
// Endpoints: GET / (capabilities), POST / (create a stream: streamUrl, callbackUrl,
// tag, headers, lastEventId), POST /streams/N (commands: listen, restart),
// DELETE /streams/N, DELETE / (quit). Each stream reports to callbackUrl/1, /2, …,
// one callback at a time, in order.
"use strict";

const http = require("node:http");
const { EventSource } = require("eventsource");
const { version } = require("eventsource/package.json");

const port = Number(process.argv[2] || 0);
const capabilities = (process.argv[3] ?? "event-type-listeners,headers,last-event-id,restart")
  .split(",")
  .filter(Boolean);
const MAX_BODY = 64 * 1024;

const streams = new Map();
let nextStream = 1;

function post(url, message) {
  return new Promise((resolve) => {
    const body = JSON.stringify(message);
    const request = http.request(
      url,
      { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on("end", resolve);
      },
    );
    request.on("error", resolve);
    request.end(body);
  });
}

class Stream {
  constructor(options) {
    this.callbackUrl = options.callbackUrl.replace(/\/$/, "");
    this.counter = 0;
    this.queue = Promise.resolve();
    this.types = new Set(["message"]);
    this.closed = false;
    this.options = options;
    this.open();
  }

  report(message) {
    if (this.closed) return;
    this.counter += 1;
    const url = `${this.callbackUrl}/${this.counter}`;
    this.queue = this.queue.then(() => post(url, message));
  }

  listen(type) {
    if (this.types.has(type)) return;
    this.types.add(type);
    this.source.addEventListener(type, this.onEvent);
  }

  open() {
    const { headers = {}, lastEventId } = this.options;
    const extra = { ...headers };
    if (capabilities.includes("last-event-id") && lastEventId) extra["last-event-id"] = lastEventId;
    const init = Object.keys(extra).length
      ? { fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, ...extra } }) }
      : undefined;
    this.source = new EventSource(this.options.streamUrl, init);
    this.onEvent = (event) =>
      this.report({ kind: "event", event: { type: event.type, data: event.data, id: event.lastEventId } });
    for (const type of this.types) this.source.addEventListener(type, this.onEvent);
    this.source.addEventListener("error", (event) =>
      this.report({ kind: "error", error: event.message || "error" }),
    );
  }

  restart() {
    this.source.close();
    this.open();
  }

  close() {
    this.closed = true;
    this.source.close();
  }
}

function answer(response, status, body, headers = {}) {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(status, { "Content-Length": Buffer.byteLength(text), ...headers });
  response.end(text);
}

function readJson(request) {
  return new Promise((resolve) => {
    let size = 0;
    const chunks = [];
    request.on("data", (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    request.on("end", () => {
      if (size > MAX_BODY) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
      } catch {
        resolve(undefined);
      }
    });
  });
}

const server = http.createServer(async (request, response) => {
  const path = new URL(request.url, "http://x").pathname;
  if (path === "/" && request.method === "GET") {
    return answer(response, 200, { name: "pulsecheck-interop-eventsource", capabilities });
  }
  if (path === "/" && request.method === "DELETE") {
    answer(response, 204);
    return server.close(() => process.exit(0));
  }
  if (path === "/" && request.method === "POST") {
    const options = await readJson(request);
    if (!options || typeof options.streamUrl !== "string" || typeof options.callbackUrl !== "string") {
      return answer(response, 400, "streamUrl and callbackUrl are required\n");
    }
    const id = nextStream++;
    streams.set(id, new Stream(options));
    return answer(response, 201, undefined, { Location: `/streams/${id}` });
  }
  const match = /^\/streams\/(\d+)$/.exec(path);
  const stream = match && streams.get(Number(match[1]));
  if (!stream) return answer(response, 404, "no such stream\n");
  if (request.method === "DELETE") {
    stream.close();
    streams.delete(Number(match[1]));
    return answer(response, 204);
  }
  if (request.method === "POST") {
    const command = await readJson(request);
    if (command?.command === "listen" && typeof command.listen?.type === "string") {
      stream.listen(command.listen.type);
      return answer(response, 204);
    }
    if (command?.command === "restart" && capabilities.includes("restart")) {
      stream.restart();
      return answer(response, 204);
    }
    return answer(response, 400, "unknown command\n");
  }
  return answer(response, 405, "method not allowed\n");
});

server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/ (eventsource ${version})`);
});

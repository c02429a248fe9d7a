// An SSE endpoint written with better-sse on Express 5, the way the library's
// README and its examples/channels server show it: each request becomes a
// session (createSession, with the library's defaults: `retry: 2000` sent first,
// an empty comment as keep-alive every 10 s, and a random UUID id on every
// event), registered on a channel that broadcasts a counter once a second.
//
// better-sse reads Last-Event-ID into `session.lastId` but replays nothing, and
// its docs show no replay pattern, so this app does not replay either.
//
// Usage: node server.cjs [PORT]   (default: $PORT, else 0 = any free port)
// Prints `listening on http://127.0.0.1:PORT/sse (better-sse X, express Y)` once it
// accepts connections: the versions actually loaded.
// Needs NODE_PATH pointing at the node_modules that setup.sh installed.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const express = require("express");
const { createSession, createChannel } = require("better-sse");

const ticker = createChannel();
let count = 0;
setInterval(() => {
	ticker.broadcast(count++, "tick");
}, 1000);

const app = express();

app.get("/sse", async (req, res) => {
	const session = await createSession(req, res);
	ticker.register(session);
});

// The version in a package's package.json (better-sse does not export that file).
function installedVersion(name) {
	let dir = path.dirname(require.resolve(name));
	while (!fs.existsSync(path.join(dir, "package.json"))) {
		if (dir === path.dirname(dir)) return "unknown";
		dir = path.dirname(dir);
	}
	return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
}

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const server = app.listen(port, "127.0.0.1", (error) => {
	if (error) {
		console.error(`cannot listen: ${error.message}`);
		process.exit(1);
	}
	const versions = ["better-sse", "express"]
		.map((name) => `${name} ${installedVersion(name)}`)
		.join(", ");
	console.log(`listening on http://127.0.0.1:${server.address().port}/sse (${versions})`);
});

// A WebSocket echo server written with ws, the way the library's README shows
// it: the "Simple server" example (`new WebSocketServer({ port })`, an `error`
// listener on each socket) with the README's message handler sending every
// message back as it came, text as text and binary as binary
// (`ws.send(data, { binary: isBinary })`). Everything else is the library's
// default: no permessage-deflate on the server side, 100 MiB messages at most,
// no subprotocol selection, no pings of its own.
//
// With --deflate, permessage-deflate is enabled (`perMessageDeflate: true`,
// ws's defaults for it: context takeover both ways, 15-bit windows, messages
// under 1 KiB sent uncompressed), as the ws README shows for compression.
//
// Usage: node server.cjs [PORT] [--deflate]   (default: $PORT, else 0 = any free port)
// Prints `listening on ws://127.0.0.1:PORT/ (ws X)` once it accepts
// connections: the version actually loaded.
// Needs NODE_PATH pointing at the node_modules that setup.sh installed.
"use strict";

const { WebSocketServer } = require("ws");
const wsVersion = require("ws/package.json").version;

const args = process.argv.slice(2);
const perMessageDeflate = args.includes("--deflate");
const portArg = args.find((a) => a !== "--deflate");
const port = Number(portArg ?? process.env.PORT ?? 0);
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate });

wss.on("connection", function connection(ws) {
	ws.on("error", console.error);

	ws.on("message", function message(data, isBinary) {
		ws.send(data, { binary: isBinary });
	});
});

wss.on("error", (error) => {
	console.error(`cannot listen: ${error.message}`);
	process.exit(1);
});

wss.on("listening", () => {
	const versions = `ws ${wsVersion}`;
	console.log(`listening on ws://127.0.0.1:${wss.address().port}/ (${versions})`);
});

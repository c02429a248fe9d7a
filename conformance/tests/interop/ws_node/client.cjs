// A WebSocket echo client written with ws, as its Autobahn client script is
// (test/autobahn.js): connect, send every message back as it came (text as
// text, binary as binary), until the connection closes. permessage-deflate is
// offered, as ws clients do by default (`permessage-deflate;
// client_max_window_bits`); everything else is the default (messages under
// 1 KiB are sent uncompressed: ws's `threshold`).
//
// Usage: node client.cjs BASE_URL CASE [CASE ...]
// Plays BASE_URL/CASE for every CASE, up to 8 at once; prints `ws X` first,
// then `done CASE` as each connection ends.
// Needs NODE_PATH pointing at the node_modules that setup.sh installed.
"use strict";

const WebSocket = require("ws");
const wsVersion = require("ws/package.json").version;

const [base, ...cases] = process.argv.slice(2);

function play(testCase) {
	return new Promise((resolve) => {
		const ws = new WebSocket(`${base}/${testCase}`, {
			perMessageDeflate: true,
			maxPayload: 64 * 1024 * 1024,
		});
		ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
		ws.on("error", () => {});
		ws.on("close", () => {
			console.log(`done ${testCase}`);
			resolve();
		});
	});
}

async function main() {
	console.log(`ws ${wsVersion}`);
	const queue = [...cases];
	const workers = Array.from({ length: 8 }, async () => {
		while (queue.length > 0) {
			await play(queue.shift());
		}
	});
	await Promise.all(workers);
}

main();

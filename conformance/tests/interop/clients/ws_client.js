// The Autobahn client loop, written with ws the way the library's own
// test/autobahn.js drives Autobahn's fuzzingserver: ask for the case count,
// run every case sending each message back as it came (text as text, binary as
// binary: `ws.send(data, { binary: isBinary })`), then ask for the reports.
// Everything else is ws's default (permessage-deflate offered, 100 MiB messages
// at most). An error on a case is printed and the loop goes on with the next
// case once the connection has closed.
//
// Usage: node ws_client.js
// Reads the host's base URL from $PULSECHECK_URL (as `pulsecheck host ws -- CMD`
// sets it; default ws://127.0.0.1:9001) and the agent name from
// $PULSECHECK_AGENT (default "ws"). Needs NODE_PATH pointing at the
// node_modules that setup.sh installed.
"use strict";

const WebSocket = require("ws");
const wsVersion = require("ws/package.json").version;

const base = (process.env.PULSECHECK_URL || "ws://127.0.0.1:9001").replace(/\/+$/, "");
const agent = process.env.PULSECHECK_AGENT || "ws";
const agentQuery = encodeURIComponent(agent);

console.log(`ws ${wsVersion} as agent ${JSON.stringify(agent)} against ${base}`);

function caseCount() {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${base}/getCaseCount`);
		let count = null;
		ws.on("message", (data) => {
			count = Number.parseInt(data.toString(), 10);
		});
		ws.on("error", reject);
		ws.on("close", () => {
			if (Number.isInteger(count)) resolve(count);
			else reject(new Error("/getCaseCount sent no count"));
		});
	});
}

function runCase(number) {
	return new Promise((resolve) => {
		const ws = new WebSocket(`${base}/runCase?case=${number}&agent=${agentQuery}`);
		ws.on("message", (data, isBinary) => {
			ws.send(data, { binary: isBinary });
		});
		ws.on("error", (error) => {
			console.log(`case ${number}: ${error.message}`);
		});
		ws.on("close", () => resolve());
	});
}

function updateReports() {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${base}/updateReports?agent=${agentQuery}`);
		ws.on("error", reject);
		ws.on("close", () => resolve());
	});
}

async function main() {
	const total = await caseCount();
	for (let number = 1; number <= total; number++) {
		await runCase(number);
	}
	console.log(`ran ${total} cases`);
	await updateReports();
}

main().catch((error) => {
	console.error(`ws_client: ${error.message}`);
	process.exit(1);
});

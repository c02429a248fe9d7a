// A pulsecheck `host sse` driver for the Node `eventsource` package (npm).
//
// Opens one EventSource on PULSECHECK_URL and lets the library do everything
// else: reconnection, retry, Last-Event-ID, redirects, statuses. Prints each
// event it dispatches, and each error, as one JSON line (the driver contract,
// pulsecheck::host::sse::driver), and runs until the host ends it.
//
// An EventSource dispatches an event only to listeners of its type, and there
// is no "every type" listener: the driver listens for the types the suite's
// cases send (conformance/src/host/sse/cases.rs: message, ping, e).
"use strict";

const { EventSource } = require("eventsource");

const TYPES = ["message", "ping", "e"];

const url = process.env.PULSECHECK_URL;
if (!url) {
  process.stderr.write("PULSECHECK_URL is not set: run me under pulsecheck host sse\n");
  process.exit(2);
}

// Pipes are written synchronously by Node on Linux: nothing is lost when the
// host ends the process.
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const source = new EventSource(url);
for (const type of TYPES) {
  source.addEventListener(type, (event) =>
    print({ kind: "event", type: event.type, data: event.data, last_event_id: event.lastEventId }),
  );
}
source.addEventListener("error", (event) => {
  const closed = source.readyState === source.CLOSED ? " (closed)" : " (reconnecting)";
  print({ kind: "error", error: `${event.message || "error"}${event.code ? ` [${event.code}]` : ""}${closed}` });
});

// Stay alive after the library gives up: the host decides when the case is over.
setInterval(() => {}, 1 << 30);

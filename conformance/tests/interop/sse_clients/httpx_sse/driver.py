"""A pulsecheck `host sse` driver for httpx-sse (PyPI), on httpx.

httpx-sse parses a stream and checks its Content-Type; it does not reconnect,
and neither does any other Python SSE client that sits on an HTTP library. Its
README leaves reconnection to the caller, with the event's `id` and `retry`.
So this driver does the one thing the library leaves to every user, the way
WHATWG HTML §9.2.3 says: when a stream ends or the connection fails, wait the
reconnection time (3 s, or the last `retry` the library reported) and connect
again with `Last-Event-ID` set to the `id` of the last event the library
yielded, when that is not empty. Everything else is the library's, used as its
README shows (`httpx.Client()` with its defaults, `connect_sse`, `iter_sse`):
the request headers, the parsing, the `id` and `retry` it reports, and the end
of the stream for good when it raises `SSEError` (a response that is not
`text/event-stream`: which is how the statuses 204/404/500/503 reach a caller,
since httpx-sse does not look at the status).

Prints each event the library yields, and each error, as one JSON line (the
driver contract, pulsecheck::host::sse::driver); runs until the host ends it.
"""

import json
import os
import sys
import time

import httpx
from httpx_sse import SSEError, connect_sse

DEFAULT_RECONNECTION_MS = 3000


def emit(line):
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main():
    url = os.environ.get("PULSECHECK_URL")
    if not url:
        sys.stderr.write("PULSECHECK_URL is not set: run me under pulsecheck host sse\n")
        return 2
    last_event_id = ""
    reconnection_ms = DEFAULT_RECONNECTION_MS
    while True:
        # UTF-8, as WHATWG HTML §9.2.4 says (httpx encodes a str value as ASCII
        # and raises on anything else).
        headers = {"Last-Event-ID": last_event_id.encode("utf-8")} if last_event_id else {}
        try:
            with httpx.Client() as client:
                with connect_sse(client, "GET", url, headers=headers) as source:
                    for sse in source.iter_sse():
                        if sse.retry is not None:
                            reconnection_ms = sse.retry
                        last_event_id = sse.id
                        emit(
                            {
                                "kind": "event",
                                "type": sse.event,
                                "data": sse.data,
                                "last_event_id": sse.id,
                            }
                        )
        except SSEError as e:
            # The library says this response is no event stream: stop for good.
            emit({"kind": "error", "error": f"SSEError: {e} (not reconnecting)"})
            while True:
                time.sleep(3600)
        except (httpx.HTTPError, UnicodeError) as e:
            emit({"kind": "error", "error": f"{type(e).__name__}: {e} (reconnecting)"})
        time.sleep(max(reconnection_ms, 0) / 1000)


if __name__ == "__main__":
    sys.exit(main())

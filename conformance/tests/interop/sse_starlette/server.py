"""An SSE endpoint written with sse-starlette and served by uvicorn, the way the
library's README and examples/01_basic_sse.py show it: an async generator that
yields dicts (id, event, data; retry on the first event) to an EventSourceResponse
with its default keep-alive ping (a comment every 15 s).

Neither sse-starlette nor its documentation resumes a stream from Last-Event-ID,
so this app does not either: every connection counts from 1 again.

Usage: server.py [--port N]   (default: $PORT, else 0 = any free port)
Prints `listening on http://127.0.0.1:PORT/events (sse-starlette X, starlette Y,
uvicorn Z)` once uvicorn accepts connections: the versions actually loaded.
"""

import argparse
import asyncio
import os
import sys
from importlib.metadata import version

import uvicorn
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route


async def ticks(request: Request):
    """An endless stream of numbered events, one every half second."""
    count = 0
    while True:
        count += 1
        event = {"id": str(count), "event": "tick", "data": f"tick {count}"}
        if count == 1:
            event["retry"] = 3000  # ask clients to reconnect after 3 s
        yield event
        await asyncio.sleep(0.5)


async def events(request: Request) -> EventSourceResponse:
    return EventSourceResponse(ticks(request))


app = Starlette(routes=[Route("/events", events)])


async def main(port: int) -> int:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            print("uvicorn did not start", file=sys.stderr)
            return 1
        await asyncio.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("sse-starlette", "starlette", "uvicorn")
    )
    print(f"listening on http://127.0.0.1:{bound}/events ({versions})", flush=True)
    await serving
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")))
    sys.exit(asyncio.run(main(parser.parse_args().port)))

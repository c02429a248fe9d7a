"""A WebSocket echo server written with websockets, the way the library's README
shows it (its asyncio API): `serve(echo, host, port)` with a handler that sends
every message back, `async for message in websocket: await websocket.send(message)`.
Everything else is the library's default: permessage-deflate offered to clients
that ask for it, a ping every 20 s, 1 MiB messages at most, no subprotocols.

Usage: server.py [--port N]   (default: $PORT, else 0 = any free port)
Prints `listening on ws://127.0.0.1:PORT/ (websockets X)` once the
server accepts connections: the version actually loaded.
"""

import argparse
import asyncio
import os
import sys
from importlib.metadata import version

from websockets.asyncio.server import serve


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


async def main(port: int) -> int:
    server = await serve(echo, "127.0.0.1", port)
    bound = server.sockets[0].getsockname()[1]
    versions = f"websockets {version('websockets')}"
    print(f"listening on ws://127.0.0.1:{bound}/ ({versions})", flush=True)
    await server.serve_forever()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")))
    sys.exit(asyncio.run(main(parser.parse_args().port)))

"""A WebSocket echo client written with websockets, as its Autobahn client
script is (compliance/asyncio/client.py): connect, send every message back as
it came, until the connection closes; `max_size=2**25` as there. Everything
else is the library's default, permessage-deflate offered included
(`permessage-deflate; client_max_window_bits`).

Usage: client.py BASE_URL CASE [CASE ...]
Plays BASE_URL/CASE for every CASE, up to 8 at once; prints
`websockets X` first, then `done CASE` as each connection ends.
"""

import asyncio
import sys
from importlib.metadata import version

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException


async def echo(url: str) -> None:
    try:
        async with connect(url, max_size=2**25) as websocket:
            async for message in websocket:
                await websocket.send(message)
    except (WebSocketException, OSError):
        pass


async def main(base: str, cases: list[str]) -> int:
    print(f"websockets {version('websockets')}", flush=True)
    slots = asyncio.Semaphore(8)

    async def one(case: str) -> None:
        async with slots:
            await echo(f"{base}/{case}")
            print(f"done {case}", flush=True)

    await asyncio.gather(*(one(case) for case in cases))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2:])))

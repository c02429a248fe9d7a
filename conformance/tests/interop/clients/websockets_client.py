"""The Autobahn client loop, written with websockets' asyncio client the way the
library's own compliance client drives Autobahn's fuzzingserver: ask for the
case count, run every case echoing each message as it came (text as text,
binary as binary) with messages of up to 2**25 bytes, then ask for the reports.
A case that ends in an error is reported on stdout and the loop goes on.

Usage: websockets_client.py
Reads the host's base URL from $PULSECHECK_URL (as `pulsecheck host ws -- CMD`
sets it; default ws://127.0.0.1:9001) and the agent name from
$PULSECHECK_AGENT (default "websockets").

$WEBSOCKETS_CLIENT_CLOSE_TIMEOUT (seconds) replaces websockets' default
close_timeout (10 s) when set. The interop test sets it to 1: in the four
cases where websockets refuses a message of more than 4096 fragments it stops
reading (its frame queue is full) before it sends its Close 1009, so it never
sees the host's TCP close and waits out close_timeout each time (see
conformance/tests/interop/README.md). The verdicts are the same either way.
"""

import asyncio
import json
import os
import sys
from importlib.metadata import version
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

BASE = os.environ.get("PULSECHECK_URL", "ws://127.0.0.1:9001").rstrip("/")
AGENT = os.environ.get("PULSECHECK_AGENT") or "websockets"
# The largest message a case sends is 16 MiB (group 9); 2**25 leaves room.
MAX_SIZE = 2**25
# None: websockets' default.
CLOSE_TIMEOUT = (
    float(os.environ["WEBSOCKETS_CLIENT_CLOSE_TIMEOUT"])
    if os.environ.get("WEBSOCKETS_CLIENT_CLOSE_TIMEOUT")
    else None
)


def url(path: str) -> str:
    return f"{BASE}{path}"


async def case_count() -> int:
    async with connect(url("/getCaseCount")) as ws:
        return int(json.loads(await ws.recv()))


async def run_case(number: int) -> None:
    options = {"max_size": MAX_SIZE}
    if CLOSE_TIMEOUT is not None:
        options["close_timeout"] = CLOSE_TIMEOUT
    async with connect(url(f"/runCase?case={number}&agent={quote(AGENT)}"), **options) as ws:
        try:
            async for message in ws:
                await ws.send(message)
        except WebSocketException:
            # The case ended the connection in a way websockets calls an
            # error (a protocol violation it detected, say): the host grades it.
            pass


async def update_reports() -> None:
    async with connect(url(f"/updateReports?agent={quote(AGENT)}"), open_timeout=60):
        pass


async def main() -> int:
    print(f"websockets {version('websockets')} as agent {AGENT!r} against {BASE}", flush=True)
    total = await case_count()
    failed = 0
    for number in range(1, total + 1):
        try:
            await run_case(number)
        except (WebSocketException, OSError) as e:
            failed += 1
            print(f"case {number}/{total}: {type(e).__name__}: {e}", flush=True)
    print(f"ran {total} cases ({failed} ended in an error on the client's side)", flush=True)
    await update_reports()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

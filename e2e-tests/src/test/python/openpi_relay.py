"""A robot's openpi client, driven line by line from a test.

Speaks openpi's WebSocket policy protocol exactly as openpi_client.WebsocketClientPolicy does
(packages/openpi-client/src/openpi_client/websocket_client_policy.py): connects with compression
off and no size limit, sends an optional "Authorization: Api-Key <key>" header, reads the server's
metadata first, then per observation sends one binary message packed by openpi's own
msgpack_numpy.Packer and reads one reply, a text reply being the server's error. Debian's
python3-websockets (10.x) has no websockets.sync client, so the same calls go through its asyncio
client; the frames are the same.

stdin, one JSON object per line: {"image_b64", "height", "width", "state": [..], "prompt"} with
the image as raw RGB8 rows (height x width x 3). stdout, one JSON object per line: first
{"metadata": {...}}, then per observation {"actions": [[..], ..], "server_timing": {..}} or
{"error": "<the server's text>"}.

Usage: python3 openpi_relay.py ws://HOST:PORT [API_KEY]
"""

import asyncio
import base64
import json
import sys

import numpy as np
import websockets

from openpi_client import msgpack_numpy


def _plain(value):
    """Replies as JSON: arrays as nested lists, bytes keys as text."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {(k.decode() if isinstance(k, bytes) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def _write(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main(uri, api_key):
    headers = {"Authorization": f"Api-Key {api_key}"} if api_key else None
    packer = msgpack_numpy.Packer()
    async with websockets.connect(uri, compression=None, max_size=None, extra_headers=headers) as ws:
        metadata = msgpack_numpy.unpackb(await ws.recv())
        _write({"metadata": _plain(metadata)})
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            request = json.loads(line)
            pixels = np.frombuffer(base64.b64decode(request["image_b64"]), dtype=np.uint8)
            obs = {
                "observation/image": pixels.reshape(request["height"], request["width"], 3),
                "observation/state": np.asarray(request["state"], dtype=np.float32),
                "prompt": request["prompt"],
            }
            # WebsocketClientPolicy.infer
            await ws.send(packer.pack(obs))
            response = await ws.recv()
            if isinstance(response, str):
                _write({"error": response})
                continue
            reply = msgpack_numpy.unpackb(response)
            actions = reply["actions"]
            if not isinstance(actions, np.ndarray):
                _write({"error": f"actions is a {type(actions).__name__}, not a NumPy array"})
                continue
            _write({"actions": actions.astype(np.float64).tolist(), "dtype": actions.dtype.str,
                    "server_timing": _plain(reply.get("server_timing", {}))})


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))

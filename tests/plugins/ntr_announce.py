"""An old-style announce plugin for Sopel, as station bots ran before the hub's own relay.

It knows nothing of cursors, acks, `?since=` or shows: it opens the hub's WebSocket, sends the
seed plugins' first-message `subscribe` with its token, posts every `announce` frame's
`message` to its channel, and reconnects a second after any error. The hub's cursor for its
token is what makes it resume without losing or repeating a line.

Settings come from the environment (the test sets them): NTR_HUB_WS (ws://host:port/ws/announce),
NTR_TOKEN and NTR_CHANNEL.
"""

import json
import os
import threading
import time

import websocket
from sopel import plugin  # noqa: F401  (a Sopel plugin module; nothing else is needed here)


def setup(bot):
    thread = threading.Thread(target=_follow, args=(bot,), daemon=True)
    thread.start()


def _follow(bot):
    url = os.environ["NTR_HUB_WS"]
    token = os.environ["NTR_TOKEN"]
    channel = os.environ["NTR_CHANNEL"]
    while channel not in bot.channels:
        time.sleep(0.1)
    while True:
        try:
            ws = websocket.create_connection(url, timeout=30)
            ws.send(json.dumps({"type": "subscribe", "token": token}))
            while True:
                frame = json.loads(ws.recv())
                if frame.get("type") == "announce":
                    bot.say(frame["message"], channel)
        except Exception:  # a closed socket, a hub that is down: try again shortly
            time.sleep(1)

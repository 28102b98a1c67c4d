"""The webhook benchmark's baseline: what a LINE developer writes first with line-bot-sdk.

A minimal Flask app whose one route verifies the signature and parses the events with the
SDK's `WebhookHandler` (the documented sample), handling them with a no-op: nothing stored,
nothing enqueued. benchmarks/webhook.py runs it under gunicorn with the same worker count as
the Django app.

    LINE_CHANNEL_SECRET=... gunicorn -w 2 benchmarks.webhook_baseline_flask:app
"""

import os

from flask import Flask, abort, request
from linebot.v3 import WebhookHandler
from linebot.v3.exceptions import InvalidSignatureError

app = Flask(__name__)
handler = WebhookHandler(os.environ["LINE_CHANNEL_SECRET"])


@handler.default()
def _any_event(event: object) -> None:
    """The sample's handlers reply; a baseline that only receives does nothing."""


@app.post("/callback")
def callback() -> str:
    signature = request.headers.get("X-Line-Signature", "")
    body = request.get_data(as_text=True)
    try:
        handler.handle(body, signature)
    except InvalidSignatureError:
        abort(400)
    return "OK"

"""The HTTP status an ASGI app answered, for the middlewares that observe requests (metrics, access log, traces)."""

from __future__ import annotations

from starlette.types import Message, Send


class ResponseStatus:
    """Wraps `send`; `code` is the status of the response started through it."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.code = 500  # if the app raises before responding, the server answers 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.code = int(message["status"])
        await self.send(message)

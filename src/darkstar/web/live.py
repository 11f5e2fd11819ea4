"""WebSocket ``/api/v1/live``: status after every slot, schedule and job events."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from darkstar.service.runtime import Runtime
from darkstar.service.views import status_view

router = APIRouter(tags=["live"])


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    """Send the status at once, then every event the runtime publishes, as JSON text."""
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    queue = runtime.subscribe()
    try:
        first = await asyncio.to_thread(status_view, runtime)
        await websocket.send_text(json.dumps({"type": "status", "data": first}))
        receiver = asyncio.create_task(_drain(websocket))
        while not receiver.done():
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_text(getter.result())
            else:
                getter.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        runtime.unsubscribe(queue)
        with contextlib.suppress(RuntimeError):
            await websocket.close()


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until the client goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()

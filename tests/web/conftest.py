"""A test client on a real server made the way production makes it (quiet access log)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from web.app import runner_options

Client = TestClient[web.Request, web.Application]


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[Client]:
    server = TestServer(app)
    await server.start_server(**runner_options())
    async with TestClient(server) as client:
        yield client

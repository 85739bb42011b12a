"""A FastAPI app whose lifespan is its boot: `python examples/fastapi_app.py`.

The health probes (`/livez`, `/readyz`, `/startupz`) are mounted beside the
app's own routes; a handler reaches a phase's value through `resources`.
`serve_asgi` listens before the boot starts, answers the probes while it runs,
and hands every request to the app at READY. Under plain `uvicorn
examples.fastapi_app:app` the boot runs in the lifespan startup instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request

from orchestrator import Boot
from orchestrator.asgi import health_routes, lifespan, resources, serve_asgi

boot = Boot("fastapi-app")


@boot.phase(description="Settings read once at start")
def settings() -> dict[str, str]:
    return {"greeting": "hello"}


@boot.phase(timeout=5, description="The database connection, closed at stop")
async def database(settings: dict[str, str]) -> AsyncIterator[str]:
    yield "db-connection"


smd = lifespan(boot, deadline=30)
app = FastAPI(lifespan=smd, routes=health_routes())


@app.get("/hello")
async def hello(request: Request) -> dict[str, Any]:
    values = resources(request)
    return {"greeting": values["settings"]["greeting"], "database": values["database"]}


if __name__ == "__main__":
    raise SystemExit(serve_asgi(app, smd, host="127.0.0.1", port=8000, drain_grace=5))

"""A critical service that keeps stopping: its restarts are spent and the boot stops in order."""

from collections.abc import AsyncIterator

from orchestrator import Boot, PhaseContext, Retry

boot = Boot("cli-spent-service")


@boot.phase()
async def broker() -> AsyncIterator[str]:
    yield "amqp://broker"


@boot.service(restart=Retry(attempts=2, delay=0.01))
async def consumer(broker: str, ctx: PhaseContext) -> None:
    ctx.started()
    raise ConnectionResetError("broker closed the channel")

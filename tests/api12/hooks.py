"""Real `@hookimpl` functions; the runtime is what startup returns."""

from __future__ import annotations

from nebula.api import Check, CheckResult, PluginContext, Status, hookimpl

CLOSED: list[Runtime] = []


class Runtime:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting
        self.reads = 0

    async def aclose(self) -> None:
        CLOSED.append(self)


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Runtime:
    return Runtime(ctx.config["greeting"])


@hookimpl
def nebula_checks(runtime: Runtime) -> list[Check]:
    async def greet() -> CheckResult:
        runtime.reads += 1
        return CheckResult(Status.OK, f"{runtime.greeting} #{runtime.reads}")

    return [Check("greet", greet)]

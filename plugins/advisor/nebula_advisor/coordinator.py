"""The advisor's runtime: one pass every `interval` (single-flight, the last kept) that the
check, the panel, the tool and the digest all read."""

from __future__ import annotations

from nebula.api import PluginContext
from nebula.helpers.coordinator import Coordinator
from nebula_advisor.advice import Suggestion, advise


class Advisor:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.passes: Coordinator[list[Suggestion]] = Coordinator(
            lambda: advise(ctx), max_age=ctx.config["interval"], name="advisor",
            log=ctx.log)

    async def suggestions(self, fresh: bool = False) -> list[Suggestion]:
        return await (self.passes.refresh() if fresh else self.passes.get())

    async def digest(self) -> None:
        found = await self.suggestions(fresh=True)
        warnings = [s for s in found if s.severity == "warning"]
        lines = [f"- {s.title}: {s.gain}" for s in found[:10]]
        summary = (f"{len(found)} suggestions, {len(warnings)} to act on soon"
                   if found else "Nothing to suggest this week")
        await self.ctx.emit("digest", {"summary": summary, "text": "\n".join(lines),
                                       "suggestions": len(found), "warnings": len(warnings)})

    async def aclose(self) -> None:
        await self.passes.aclose()

"""A deploy as steps, each with its undo: run in order with progress; when one fails, the
ones done are undone in reverse, so a failed deploy leaves nothing behind. What a step
found already there (a volume or secret kept from an earlier removal of the same app) it
did not make, and its undo leaves it.

A step's `do` returns whether it made something its `undo` must take back."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nebula.api import report_progress


class DeployFailed(Exception):
    """A step failed; every step done before it was undone (`undo_failures` says which
    undo did not complete)."""

    def __init__(self, step: str, reason: str, undone: list[str],
                 undo_failures: list[str], seconds: float) -> None:
        self.step, self.reason = step, reason
        self.undone, self.undo_failures = undone, undo_failures
        message = (f"{step} failed: {reason}; rolled back in {seconds:.1f} s: "
                   f"{', '.join(undone) or 'nothing'}")
        if undo_failures:
            message += f"; COULD NOT UNDO: {'; '.join(undo_failures)}"
        super().__init__(message)


@dataclass(frozen=True)
class Step:
    title: str
    do: Callable[[], Awaitable[bool]]
    undo: Callable[[], Awaitable[None]]


async def run(steps: list[Step]) -> list[str]:
    """Run every step; the titles of those done. On a failure, undo and raise."""
    done: list[Step] = []
    for index, step in enumerate(steps):
        report_progress(index / len(steps), step.title)
        try:
            made = await step.do()
        except Exception as exc:
            started = time.monotonic()
            undone, failures = await _undo(done)
            raise DeployFailed(step.title, str(exc) or type(exc).__name__, undone,
                               failures, time.monotonic() - started) from None
        except BaseException:
            await _undo(done)  # cancelled (timeout, shutdown): still leave nothing
            raise
        if made:
            done.append(step)
    report_progress(1.0, "done")
    return [s.title for s in steps]


async def _undo(done: list[Step]) -> tuple[list[str], list[str]]:
    undone, failures = [], []
    for step in reversed(done):
        report_progress(None, f"undoing: {step.title}")
        try:
            await step.undo()
        except Exception as exc:
            failures.append(f"{step.title}: {exc}")
        else:
            undone.append(step.title)
    return undone, failures

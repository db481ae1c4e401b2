"""A hooks module with a misspelt hook name: pluggy must refuse it."""

from nebula.api import Check, hookimpl


@hookimpl
def nebula_chekcs() -> list[Check]:
    return []

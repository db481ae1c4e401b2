"""The settings plugin's hooks: its pages (nothing runs until an admin opens one)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    from nebula.surfaces import Endpoint, WebPage


@hookimpl
def nebula_web_pages() -> Iterable[WebPage | Endpoint]:
    from nebula.builtins.settings.pages import pages

    return pages()

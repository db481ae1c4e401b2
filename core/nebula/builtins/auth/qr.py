"""The TOTP setup link as a QR code: an inline SVG drawn by segno.

Error correction level M and the standard four-module quiet zone; the SVG carries no style
attribute or element (the panel's Content-Security-Policy refuses inline style), only
presentation attributes, and is labelled for screen readers."""

from __future__ import annotations

from html import escape

import segno

QUIET = 4  # modules of light margin the standard asks for


def svg(text: str, label: str) -> str:
    """An SVG image of the QR code of `text`: dark modules on a light square, sized by
    the stylesheet (`.qr`)."""
    drawn = segno.make(text, error="m", micro=False).svg_inline(
        svgclass="qr", lineclass=None, omitsize=True, border=QUIET, dark="#000",
        light="#fff")
    return drawn.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)

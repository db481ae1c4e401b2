"""The QR codes on the TOTP setup page decode to what they encode, across the sizes a setup
link can need (read back by zbarimg from Chromium's rendering of the SVG), and the SVG is
one the panel's Content-Security-Policy lets through and a screen reader can name."""

from __future__ import annotations

import re

import pytest

from nebula.builtins.auth.qr import svg
from tests.web.conftest import decode_qr

SETUP_LINK = ("otpauth://totp/Nebula%20Command:evin?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
              "&issuer=Nebula%20Command")


@pytest.mark.parametrize("text", ["hi", SETUP_LINK, "0123456789" * 6, "x" * 200,
                                  SETUP_LINK + "&x=" + "y" * 300])
def test_a_drawn_qr_code_decodes_to_its_text(browser, text):
    page = browser.new_page()
    try:
        page.set_content(f'<body style="margin:0"><div style="width:300px">{svg(text, "q")}'
                         "</div></body>")
        assert decode_qr(page.locator("svg")) == text
    finally:
        page.close()


def test_the_svg_has_no_inline_style_and_carries_its_label():
    drawn = svg(SETUP_LINK, 'QR code of the "setup" link')
    assert drawn.startswith('<svg role="img" aria-label="QR code of the &quot;setup&quot; '
                            'link" ')
    assert "style" not in drawn and "<script" not in drawn
    # Sized by the stylesheet, not by the drawing: no width or height of its own.
    assert 'class="qr"' in drawn and not re.search(r"<svg[^>]* (width|height)=", drawn)

"""The QR codes we draw decode to what they encode, across the versions a setup link can
need (read back by zbarimg from Chromium's rendering of the SVG)."""

from __future__ import annotations

import pytest

from nebula.web.qr import MAX_VERSION, TooLong, matrix, svg
from tests.web.conftest import decode_qr


@pytest.mark.parametrize("text", ["hi", "otpauth://totp/Nebula%20Command:evin?secret="
                                  "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Nebula%20Command",
                                  "0123456789" * 6, "x" * 200])
def test_a_drawn_qr_code_decodes_to_its_text(browser, text):
    page = browser.new_page()
    try:
        page.set_content(f'<body style="margin:0"><div style="width:300px">{svg(text, "q")}'
                         "</div></body>")
        assert decode_qr(page.locator("svg")) == text
    finally:
        page.close()


def test_sizes_grow_with_the_text_and_stop_at_the_last_version():
    assert len(matrix("hi")) == 21  # version 1
    assert len(matrix("x" * 200)) == 4 * MAX_VERSION + 17
    with pytest.raises(TooLong):
        matrix("x" * 300)

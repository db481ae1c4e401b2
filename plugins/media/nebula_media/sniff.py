"""What a file is, from its first bytes (filetype's magic numbers), not from its name.

A file is taken only when its content is of a kind the library takes and the kind its name
promises: a `.mkv` must hold video (any container: Plex reads them all), and an executable
(ELF, PE, a `#!` script) is refused whatever its name. Subtitles are text: no NUL bytes, and
valid UTF-8 (or Latin-1 without control characters) in the first bytes.
"""

from __future__ import annotations

HEAD = 8192   # filetype needs at most 8 KiB; also enough to tell text from binary

EXTENSIONS = {
    "video": {"mkv", "mp4", "m4v", "mov", "avi", "wmv", "mpg", "mpeg", "webm", "flv", "3gp"},
    "audio": {"mp3", "flac", "m4a", "aac", "ogg", "oga", "opus", "wav", "aiff", "mid"},
    "image": {"jpg", "jpeg", "png", "gif", "webp", "tif", "tiff", "bmp", "heic", "avif"},
    "subtitle": {"srt", "ass", "ssa", "vtt", "sub"},
}
EXECUTABLE = {"application/x-executable", "application/x-msdownload",
              "application/x-sharedlib", "application/wasm"}


class Refused(ValueError):
    pass


def kind_of_name(name: str) -> str | None:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return next((kind for kind, exts in EXTENSIONS.items() if ext in exts), None)


def check(name: str, head: bytes, kinds: list[str]) -> str:
    """The file's media type, or `Refused` saying why it is not taken."""
    promised = kind_of_name(name)
    if promised is None or promised not in kinds:
        allowed = ", ".join(sorted(e for k in kinds for e in EXTENSIONS[k]))
        raise Refused(f"{name!r}: this library takes {' and '.join(kinds)} files ({allowed})")
    import filetype  # its ~60 matcher classes load with the first upload, not at start

    guess = filetype.guess(head)
    if head.startswith(b"#!") or (guess is not None and guess.mime in EXECUTABLE):
        what = guess.mime if guess is not None else "a script (#!)"
        raise Refused(f"{name!r} holds executable content ({what}), not {promised}")
    if promised == "subtitle":
        return _text(name, head)
    if guess is None:
        raise Refused(f"{name!r}: its content is no {promised} format we recognise")
    if not guess.mime.startswith(promised + "/"):
        raise Refused(f"{name!r} is named as {promised} but holds {guess.mime}")
    return str(guess.mime)


def _text(name: str, head: bytes) -> str:
    if b"\x00" in head:
        raise Refused(f"{name!r}: a subtitle file is text, this holds binary data")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The cut at HEAD may split a character: only an error before the end counts.
        if exc.start < len(head) - 3:
            text = head.decode("latin-1")
            if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
                raise Refused(f"{name!r}: a subtitle file is text, this is not") from None
    return "text/plain"

"""File and folder names a client sends, refused unless they are plain names.

Nothing is "cleaned up" into something the sender did not write: a name with a path
separator, `..`, NUL or another control character is refused with the reason, so what lands
in the library is exactly what was asked for, inside the library.
"""

from __future__ import annotations

MAX_BYTES = 255   # a name in ext4, XFS, Btrfs, and SMB shares


class BadName(ValueError):
    pass


def file_name(name: str, what: str = "name") -> str:
    if not name:
        raise BadName(f"{what} is empty")
    if "\x00" in name:
        raise BadName(f"{what} contains a NUL byte")
    if "/" in name or "\\" in name:
        raise BadName(f"{what} {name!r} is a path; give a plain name (folders go in "
                      "`folder`)")
    if name in (".", ".."):
        raise BadName(f"{what} {name!r} is not a name")
    if name.startswith("."):
        raise BadName(f"{what} {name!r} starts with a dot (hidden, and how partial files "
                      "are named)")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadName(f"{what} {name!r} contains a control character")
    if name != name.strip():
        raise BadName(f"{what} {name!r} starts or ends with a space")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise BadName(f"{what} is longer than {MAX_BYTES} bytes")
    return name


def folder(path: str) -> list[str]:
    """A folder inside a library as its parts ("Sintel (2010)/Extras"), each a plain name."""
    if not path:
        return []
    if "\x00" in path:
        raise BadName("folder contains a NUL byte")
    return [file_name(part, "folder part") for part in path.strip("/").split("/")]

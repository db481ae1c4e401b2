"""Code lines of the core, the built-in plugins and the helpers (issue 16's "minimal core").

A code line holds at least one token that is not a comment or a docstring; blank lines,
comments and docstrings do not count (pygount counts the same way, within a few lines).

    .venv/bin/python bench/core_size.py [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import tokenize
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core" / "nebula"
# Parts of the `nebula` package that are not the core proper: plugins shipped with it,
# the plugin authors' library, the pytest plugin and the scaffold's templates.
PARTS = {"builtins": CORE / "builtins", "helpers": CORE / "helpers"}
NOT_CORE = {CORE / "testing.py", CORE / "scaffold"}


def code_lines(path: Path) -> int:
    lines: set[int] = set()
    previous = tokenize.NEWLINE
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for token in tokens:
        kind = token.type
        docstring = kind == tokenize.STRING and previous in (
            tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL)
        if kind not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                        tokenize.DEDENT, tokenize.ENDMARKER) and not docstring:
            lines.update(range(token.start[0], token.end[0] + 1))
        if kind not in (tokenize.COMMENT, tokenize.NL):
            previous = kind
    return len(lines)


def inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def measure() -> dict[str, int]:
    totals = {"core": 0, **dict.fromkeys(PARTS, 0), "testing and scaffold": 0}
    for path in sorted(CORE.rglob("*.py")):
        part = next((name for name, folder in PARTS.items() if inside(path, folder)), None)
        if part is None and any(inside(path, other) for other in NOT_CORE):
            part = "testing and scaffold"
        totals[part or "core"] += code_lines(path)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    totals = measure()
    if parser.parse_args().json:
        print(json.dumps(totals))
        return
    for name, lines in totals.items():
        print(f"{name:22} {lines:6}")


if __name__ == "__main__":
    main()

"""Claude Code's project-folder encoding.

Claude Code stores a session under ``projects/<encoded cwd>/``, where the encoding replaces
every character that is not an ASCII letter or digit with ``-`` (one for one, no collapsing).
It cannot be decoded reliably: the real project path comes from the ``cwd`` field of the lines.
"""

from __future__ import annotations

import re

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def encode_project_path(path: str) -> str:
    """``/home/me/my_app`` -> ``-home-me-my-app``, as Claude Code names the project folder."""
    return _NOT_ALNUM.sub("-", path)

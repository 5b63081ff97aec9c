"""session-archive: a searchable, versioned archive of Claude Code and Codex CLI sessions.

The library (everything but ``cli`` and ``render``) returns data and never prints.
"""

__version__ = "0.1.0"

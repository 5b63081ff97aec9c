"""Shell completion for bash, zsh and fish: ``archive completion show|install``.

The shell scripts call ``archive __complete WORD…`` (the words typed after ``archive``, the
last one being completed) and offer the lines it prints: commands, options, profile names, and
session ids and /rename names read straight from the catalog. That call answers from the
command table and one read-only SQLite query, and imports no Whoosh, so a Tab is fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .common import app, guard, say

completion_app = typer.Typer(
    name="completion", help="Tab completion for bash, zsh and fish: commands, options, "
    "profiles, session ids and names.", no_args_is_help=True, add_completion=False,
    rich_markup_mode=None,
)

app.add_typer(completion_app, name="completion")

SHELLS = ("bash", "zsh", "fish")
# Options whose value is a profile name; commands whose argument is a session.
PROFILE_OPTIONS = {"--profile", "--from", "--to"}
SESSION_COMMANDS = {"versions", "cat", "show", "diff", "context", "export", "restore", "resume"}

BASH = r"""# archive: bash completion (from `archive completion show bash`)
_archive_complete() {
    local IFS=$'\n'
    COMPREPLY=($(archive __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null | cut -f1))
    if [ ${#COMPREPLY[@]} -eq 0 ]; then
        COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
    fi
}
complete -o filenames -F _archive_complete archive
"""

ZSH = r"""#compdef archive
# archive: zsh completion (from `archive completion show zsh`)
_archive() {
    local -a lines values
    lines=("${(@f)$(archive __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    local line
    for line in $lines; do
        [[ -n $line ]] && values+=("${line%%$'\t'*}:${line#*$'\t'}")
    done
    if (( ${#values} )); then
        _describe 'archive' values
    else
        _files
    fi
}
if (( $+functions[compdef] )); then
    compdef _archive archive
else
    autoload -Uz compinit && compinit && compdef _archive archive
fi
"""

FISH = r"""# archive: fish completion (from `archive completion show fish`)
function __archive_complete
    set -l words (commandline -opc) (commandline -ct)
    archive __complete $words[2..-1] 2>/dev/null
end
complete -c archive -f -a '(__archive_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def install_path(shell: str, home: Path) -> tuple[Path, Path | None, str | None]:
    """Where the script goes, and the rc file and line that load it (None: the shell finds
    it on its own)."""
    if shell == "bash":
        data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local/share")
        return data / "bash-completion/completions/archive", None, None
    if shell == "fish":
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        return config / "fish/completions/archive.fish", None, None
    script = home / ".zfunc/archive-completion.zsh"
    return script, home / ".zshrc", f"source {script}  # archive completion"


def _check_shell(shell: str | None) -> str:
    if shell is None:
        shell = Path(os.environ.get("SHELL", "")).name
    if shell not in SHELLS:
        raise UsageError(f"no completion for shell {shell or '(unknown)'!r}",
                         hint="give --shell bash, zsh or fish")
    return shell


@completion_app.command("show")
@guard
def show_script(shell: Annotated[str, typer.Argument(help="bash, zsh or fish.")]):
    """Print the completion script of SHELL (to source or save where the shell reads it).

    Example: archive completion show zsh > ~/.zfunc/_archive
    """
    typer.echo(SCRIPTS[_check_shell(shell)], nl=False)


@completion_app.command("install")
@guard
def install(
    shell: Annotated[str | None, typer.Option(
        "--shell", help="bash, zsh or fish [default: from $SHELL].")] = None,
):
    """Install Tab completion for your shell, in one step (a new shell picks it up).

    bash: ~/.local/share/bash-completion/completions/archive; fish:
    ~/.config/fish/completions/archive.fish; zsh: ~/.zfunc/archive-completion.zsh, sourced
    from ~/.zshrc (one line, added once).

    Example: archive completion install --shell zsh
    """
    shell = _check_shell(shell)
    script, rc, line = install_path(shell, Path.home())
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPTS[shell])
    say(f"wrote {script}")
    if rc is not None and line is not None:
        held = rc.read_text(errors="replace") if rc.exists() else ""
        if line not in held:
            with rc.open("a") as f:
                f.write(("" if held.endswith("\n") or not held else "\n") + line + "\n")
            say(f"added to {rc}: {line}")
    say(f"open a new {shell} to use it")


# -- answering a Tab ---------------------------------------------------------------------------


def _catalog(archive_dir: str | None):
    import sqlite3

    from ..catalog import CATALOG_FILE
    from ..config import resolve_archive_dir

    path = resolve_archive_dir(archive_dir) / CATALOG_FILE
    if not path.is_file():
        return None
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return None


def _sessions(prefix: str, archive_dir: str | None) -> list[str]:
    """Session ids starting with ``prefix`` and /rename names starting with it (any case),
    newest first, with the title as the description."""
    import sqlite3

    db = _catalog(archive_dir)
    if db is None:
        return []
    try:
        rows = db.execute(
            "SELECT f.session_id, m.custom_title, m.title FROM files f "
            "LEFT JOIN session_meta m ON m.file_id = f.id WHERE f.kind = 'session' "
            "AND (f.session_id LIKE ? ESCAPE '\\' OR m.custom_title LIKE ? ESCAPE '\\') "
            "ORDER BY m.ended DESC LIMIT 200",
            (_like(prefix), _like(prefix)),
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    out: list[str] = []
    for sid, name, title in rows:
        value = sid if sid.startswith(prefix) else name
        if value and value not in {o.split("\t")[0] for o in out}:
            out.append(f"{value}\t{_one_line(name or title or '')}")
    return out


def _profiles(prefix: str, archive_dir: str | None) -> list[str]:
    import sqlite3

    db = _catalog(archive_dir)
    if db is None:
        return []
    try:
        rows = db.execute("SELECT DISTINCT profile FROM files ORDER BY 1").fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    return [p for (p,) in rows if p.startswith(prefix)]


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _one_line(text: str) -> str:
    from ..outward import outward

    return outward(" ".join(text.split())[:70], terminal=True)


def complete(words: list[str]) -> list[str]:
    """The candidates for the last of ``words`` (what follows ``archive`` on the line)."""
    from typer.main import get_command

    words = words or [""]
    current = words[-1]
    group = get_command(app)
    if len(words) == 1:
        return [f"{name}\t{cmd.get_short_help_str(70)}" for name, cmd in group.commands.items()
                if name.startswith(current) and not cmd.hidden]
    cmd = group.commands.get(words[0])
    rest = words[1:]
    if hasattr(cmd, "commands"):  # a group: schedule, completion
        if len(rest) == 1:
            return [f"{n}\t{c.get_short_help_str(70)}" for n, c in cmd.commands.items()
                    if n.startswith(current)]
        cmd = cmd.commands.get(rest[0])
        rest = rest[1:]
    if cmd is None:
        return []
    archive_dir = next((rest[i + 1] for i, w in enumerate(rest[:-1]) if w == "--archive-dir"),
                       None)
    previous = rest[-2] if len(rest) > 1 else None
    options = {name: p for p in cmd.params if p.param_type_name == "option"
               for name in [*p.opts, *p.secondary_opts]}
    if previous in options and not options[previous].is_flag:
        param = options[previous]
        if previous in PROFILE_OPTIONS:
            return _profiles(current, archive_dir)
        choices = getattr(param.type, "choices", None)
        if choices:
            return [str(getattr(c, "value", c)) for c in choices
                    if str(getattr(c, "value", c)).startswith(current)]
        return []  # a path, a number, a date: the shell's own completion
    if current.startswith("-"):
        return [f"{name}\t{(p.help or '').split('.')[0]}" for name, p in options.items()
                if name.startswith(current) and name.startswith("--")] + (
            ["--help\tShow the help and exit."] if "--help".startswith(current) else [])
    if words[0] in SESSION_COMMANDS:
        return _sessions(current, archive_dir)
    return []


def run(words: list[str]) -> int:
    """``archive __complete WORD…``: print the candidates, one a line (value, tab,
    description); never fails loudly (a Tab must not print errors into the prompt)."""
    try:
        for line in complete(words):
            print(line)
    except Exception:  # noqa: BLE001 - a broken completion must not break the shell
        return 1
    return 0


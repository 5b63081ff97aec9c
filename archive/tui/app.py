"""The picker: search as you type, preview the matching turn, choose how to go back in.

The app only chooses; it writes nothing but a hand-off document asked for with its key. It
returns a :class:`Choice` (or None on Escape) and the caller resumes it once the terminal is
given back. Searches and session loads run in worker threads; each query carries a generation
number and an answer for an older one is dropped, so typing never waits for the index and the
list never shows the results of a query no longer in the box.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from rich.console import Group
from rich.markdown import Markdown
from rich.rule import Rule
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Label, Static

from ..errors import ArchiveError
from ..filters import SearchFilters
from ..resume import Choice
from ..roots import Root
from ..sources import by_agent
from .source import Row, Source, clean


def _when(iso: str | None) -> str:
    from ..render import local_time

    return local_time(iso)


def _tokens(n: int | None, estimated: bool) -> str:
    from ..render import tokens

    return tokens(n, estimated)


WIDE = 110  # columns from which the results list shows the project and the time of day


class ProjectScreen(ModalScreen[str | None]):
    """Asks where to run a session whose project directory does not exist here."""

    BINDINGS = [Binding("escape", "cancel", "Back")]
    DEFAULT_CSS = """
    ProjectScreen { align: center middle; }
    ProjectScreen > Vertical { width: 90%; height: auto; border: round $accent;
                               background: $surface; padding: 0 1; }
    """

    def __init__(self, missing: str | None):
        super().__init__()
        self.missing = missing

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"{clean(self.missing) or 'The project'} does not exist here. "
                             "Run it in (an absolute path):"))
            yield Input(value=os.getcwd(), id="project-path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit(event.value)

    def submit(self, value: str) -> None:
        path = value.strip()
        if not path.startswith("/") or not os.path.isdir(path):
            self.app.notify(f"not a directory here: {clean(path)}", severity="error")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickerApp(App[Choice | None]):
    TITLE = "archive resume"
    CSS = """
    #query { border: none; height: 1; padding: 0 1; background: $boost; }
    #results { height: 40%; min-height: 4; }
    #status { height: 1; padding: 0 1; background: $panel; }
    #preview-box { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("enter", "resume", "Resume", priority=True),
        Binding("ctrl+t", "profile", "Profile"),
        Binding("ctrl+f", "fork", "Fork at turn"),
        Binding("ctrl+o", "handoff", "Hand-off"),
        Binding("ctrl+r", "read", "Read all"),
        Binding("pageup", "turn(-1)", "Turn -", show=False, priority=True),
        Binding("pagedown", "turn(1)", "Turn +", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("escape", "quit_picker", "Quit", priority=True),
    ]
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        archive_dir: Path,
        roots: list[Root],
        *,
        query: str = "",
        filters: SearchFilters | None = None,
        to: str | None = None,
        project: str | None = None,
    ):
        super().__init__()
        self.source = Source(archive_dir, filters)
        self.profiles = [r.profile for r in roots if r.exists]
        self.initial_query = query
        self.fixed_to = to  # --to: the target for every row until changed with its key
        self.project = project  # --project: where to run, whatever the session says
        self.rows: list[Row] = []
        self.target: str | None = to
        self.turn: int | None = None  # the turn previewed (and forked from)
        self.session_data: dict | None = None
        self.preview_plain = ""  # what the preview shows, as text (for tests)
        self.status_plain = ""
        self.generation = 0  # of the newest query typed
        self.shown_generation = -1  # of the rows on screen
        self._search_lock = threading.Lock()
        self._preview_generation = 0
        self._columns_for = 0  # the width the list's columns were laid out for

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Input(value=self.initial_query, placeholder="search: words, \"phrases\", "
                    "field:term — empty lists recent sessions", id="query")
        table = DataTable(id="results", cursor_type="row", zebra_stripes=True)
        table.can_focus = False
        yield table
        yield Static(id="status")
        with VerticalScroll(id="preview-box"):
            yield Static(id="preview")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self._search(self.initial_query)

    # -- searching ------------------------------------------------------------------------

    def on_resize(self) -> None:
        if self.rows and self.size.width != self._columns_for:
            self.show_rows(self.shown_generation, self.rows)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "query":
            self._search(event.value)

    def _search(self, query: str) -> None:
        self.generation += 1
        self.run_search(query, self.generation)

    @work(thread=True, group="search")
    def run_search(self, query: str, generation: int) -> None:
        # One search at a time (the index searcher is shared); a query overtaken by newer
        # typing while it waited is skipped, and its answer would be dropped anyway.
        with self._search_lock:
            if generation != self.generation:
                return
            try:
                rows = self.source.rows(query)
                error = None
            except ArchiveError as exc:
                rows, error = [], str(exc)
        self.call_from_thread(self.show_rows, generation, rows, error)

    def show_rows(self, generation: int, rows: list[Row], error: str | None = None) -> None:
        if generation != self.generation:
            return  # a stale answer: newer typing is on its way
        self.shown_generation = generation
        self.rows = rows
        table = self.query_one("#results", DataTable)
        # Each column is padded by one cell on both sides; the title takes what is left. Below
        # WIDE the project column goes (the preview names it) and dates lose their time.
        width = max(self.size.width, 60)
        wide = width >= WIDE
        if width != self._columns_for:
            self._columns_for = width
            table.clear(columns=True)
            fixed = [("", 1), ("session", 8), ("profiles", 14 if wide else 12)]
            if wide:
                fixed.append(("project", 20))
            fixed += [("last active" if wide else "active", 16 if wide else 10), ("ctx", 5)]
            title_w = max(10, width - 3 - sum(w + 2 for _, w in fixed) - 2)
            for label, w in [*fixed[:2], ("name / title", title_w), *fixed[2:]]:
                table.add_column(label, width=w)
        else:
            table.clear()
        for i, r in enumerate(rows):
            cells = [
                "†" if r.gone else "",
                r.session_id[:8],
                Text(r.title or "(untitled)", overflow="ellipsis", no_wrap=True),
                Text(",".join(r.profiles), overflow="ellipsis", no_wrap=True),
            ]
            if wide:
                cells.append(Text(_short(r.project, 20), no_wrap=True))
            when = _when(r.ended)
            cells += [when if wide else when[:10],
                      _tokens(r.context_tokens, r.context_estimated)]
            table.add_row(*cells, key=str(i))
        if error:
            self.set_status(Text(f"error: {clean(error)}", style="bold red"))
            self.show_preview(None)
        elif not rows:
            self.set_status(Text("no session matches"))
            self.show_preview(None)
        else:
            table.move_cursor(row=0)
            self.select(0)

    # -- selection and preview ------------------------------------------------------------

    @property
    def current(self) -> Row | None:
        if not self.rows:
            return None
        row = self.query_one("#results", DataTable).cursor_row
        return self.rows[min(max(row, 0), len(self.rows) - 1)]

    def select(self, index: int) -> None:
        row = self.rows[index]
        self.target = self.fixed_to or row.profile
        self.turn = row.turn
        self.session_data = None
        self._preview_generation += 1
        self.load_preview(row, self._preview_generation)
        self.update_status()

    @work(thread=True, group="preview")
    def load_preview(self, row: Row, generation: int) -> None:
        try:
            data = self.source.session(row.session_id, row.profile)
        except ArchiveError as exc:
            data = {"error": str(exc)}
        self.call_from_thread(self._preview_loaded, row, generation, data)

    def _preview_loaded(self, row: Row, generation: int, data: dict) -> None:
        if generation != self._preview_generation:
            return  # the cursor moved on
        if "error" in data:
            self.set_status(Text(f"error: {clean(data['error'])}", style="bold red"))
            return
        self.session_data = data
        if self.turn is None and data["turns"]:
            self.turn = data["turns"][-1]["turn"]
        self.show_preview(row)
        self.update_status()

    def show_preview(self, row: Row | None) -> None:
        preview = self.query_one("#preview", Static)
        data = self.session_data
        if row is None or data is None:
            self.preview_plain = ""
            preview.update("")
            return
        parts: list = []
        plain: list[str] = []

        def line(text: str, style: str = "") -> None:
            parts.append(Text(text, style=style))
            plain.append(text)

        line(data["custom_title"] or data["title"] or "(untitled)", "bold")
        line(f"{data['session_id']} · {', '.join(row.profiles)} · {data['project'] or '-'}"
             f"{' · deleted at the source' if data['gone_from_source'] else ''}", "dim")
        turn = next((t for t in data["turns"] if t["turn"] == self.turn), None)
        if turn is not None:
            parts.append(Rule(Text(f"turn {turn['turn']} of {data['turn_count']} · "
                                   f"{_when(turn['timestamp'])}"), align="left"))
            plain.append(f"turn {turn['turn']} of {data['turn_count']}")
            line(f"> {turn['prompt'] or ''}", "bold cyan")
            calls = turn["tool_calls"]
            for step in turn["steps"]:
                if "text" in step:
                    parts.append(Markdown(step["text"]))
                    plain.append(step["text"])
                else:
                    call = calls[step["tool_call"]]
                    line(f"  {'✗' if call['is_error'] else '→'} {call['name']} "
                         f"{call['key_argument']}", "dim")
        if row.snippet:
            plain.append(row.snippet)
        self.preview_plain = "\n".join(plain)
        preview.update(Group(*parts))
        self.query_one("#preview-box", VerticalScroll).scroll_home(animate=False)

    def set_status(self, text: Text) -> None:
        self.status_plain = text.plain
        self.query_one("#status", Static).update(text)

    def update_status(self) -> None:
        row = self.current
        if row is None:
            return
        count = len(self.rows)
        bits = [f"{count} session{'s' if count != 1 else ''}", f"resume in: {self.target}"]
        if self.turn is not None and self.session_data:
            bits.append(f"turn {self.turn}/{self.session_data['turn_count']}")
        if self.project:
            bits.append(f"run in: {clean(self.project)}")
        self.set_status(Text(" · ".join(bits)))

    # -- keys -----------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        if not self.rows:
            return
        table = self.query_one("#results", DataTable)
        index = min(max(table.cursor_row + delta, 0), len(self.rows) - 1)
        if index != table.cursor_row:
            table.move_cursor(row=index)
            self.select(index)

    def action_turn(self, delta: int) -> None:
        data, row = self.session_data, self.current
        if not data or not data["turns"] or row is None:
            return
        numbers = [t["turn"] for t in data["turns"]]
        at = numbers.index(self.turn) if self.turn in numbers else len(numbers) - 1
        self.turn = numbers[min(max(at + delta, 0), len(numbers) - 1)]
        self.show_preview(row)
        self.update_status()

    def action_profile(self) -> None:
        if not self.profiles or self.current is None:
            return
        at = self.profiles.index(self.target) if self.target in self.profiles else -1
        self.target = self.profiles[(at + 1) % len(self.profiles)]
        self.fixed_to = self.target
        self.update_status()

    def action_resume(self) -> None:
        if isinstance(self.screen, ProjectScreen):
            self.screen.submit(self.screen.query_one(Input).value)
            return
        self._choose(turns=None)

    def action_fork(self) -> None:
        if self.turn is None or self.session_data is None:
            self.notify("no turn to fork from yet", severity="warning")
            return
        row = self.current
        why = by_agent(row.agent).no_fork if row is not None else None
        if why:  # restore would refuse the fork: say why instead of failing after exit
            self.notify(f"no fork: {why}", severity="warning")
            return
        self._choose(turns=self.turn)

    def _choose(self, turns: int | None) -> None:
        row = self.current
        if row is None or self.target is None:
            return
        choice = Choice(row.session_id, self.target, turns=turns, new_id=turns is not None,
                        project=self.project)
        where = (self.session_data or {}).get("project") or row.project
        if choice.project is None and (where is None or not os.path.isdir(where)):
            def answered(path: str | None) -> None:
                if path:
                    choice.project = path
                    self.exit(choice)

            self.push_screen(ProjectScreen(where), answered)
            return
        self.exit(choice)

    def action_handoff(self) -> None:
        row = self.current
        if row is None:
            return
        from ..errors import TargetExists
        from ..export import export_session, write_export

        path = Path.cwd() / f"{row.session_id[:8]}-handoff.md"
        try:
            doc = export_session(self.source.loaded(row.session_id, row.profile), "md")
            write_export(path, doc.text)
        except TargetExists:
            self.notify(f"{path.name} already exists here", severity="warning")
            return
        except ArchiveError as exc:
            self.notify(clean(str(exc)), severity="error")
            return
        self.notify(f"wrote {path}")

    def action_read(self) -> None:
        row = self.current
        if row is None or self.session_data is None:
            return
        from rich.console import Console

        from ..render import show_session

        try:
            with self.suspend():
                console = Console()
                with console.pager(styles=True):
                    show_session(console, self.session_data)
        except Exception as exc:  # no terminal to give the pager (headless): say so
            self.notify(f"cannot open the pager here ({type(exc).__name__})", severity="error")

    def action_quit_picker(self) -> None:
        if isinstance(self.screen, ProjectScreen):
            self.screen.dismiss(None)
            return
        self.exit(None)


def _short(project: str | None, width: int) -> str:
    if not project:
        return "-"
    return project if len(project) <= width else "…" + project[-(width - 1):]

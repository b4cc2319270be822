"""Output of `aiospaces`: rich live tables on a terminal, plain lines otherwise, JSON lines with `--json`.

rich lives in the `cli` extra, so it is imported lazily and everything falls back to plain text without it.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

_MISSING = "-"


def _cell(value: object) -> str:
    if value is None:
        return _MISSING
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _json_value(value: object) -> object:
    """JSON for what `json` cannot write itself: timestamps in ISO 8601, anything else as its text."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _have_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Output:
    """Where every command writes. Exactly one of three modes:

    - JSON (`--json`): one JSON object per line on stdout, nothing else on stdout;
    - rich: stdout is a terminal and rich is installed — tables that update in place, progress bars;
    - plain: aligned text tables and one line per event (pipes, CI logs).

    Errors always go to stderr as one line.
    """

    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        fancy: bool | None = None,
    ) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.json_mode = json_mode
        if fancy is None:
            fancy = not json_mode and isatty(self.stdout) and _have_rich()
        self.fancy = fancy and not json_mode
        self._console: Any = None

    # --- low level ----------------------------------------------------------------------------------------

    @property
    def console(self) -> Any:
        """The rich console (only in fancy mode)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stdout)
        return self._console

    def emit(self, event: str, **fields: object) -> None:
        """Write one JSON event line (JSON mode only; ignored otherwise)."""
        if self.json_mode:
            record = {"event": event, **fields}
            self.stdout.write(json.dumps(record, default=_json_value) + "\n")
            self.stdout.flush()

    def line(self, text: str = "") -> None:
        """Write a human line (not in JSON mode)."""
        if self.json_mode:
            return
        if self.fancy:
            self.console.print(text, markup=False, highlight=False)
        else:
            self.stdout.write(text + "\n")
            self.stdout.flush()

    def error(self, text: str) -> None:
        """Write one error line on stderr."""
        self.stderr.write(f"aiospaces: error: {text}\n")
        self.stderr.flush()

    def note(self, text: str) -> None:
        """Write an informational line on stderr (e.g. a log tail), whatever the mode."""
        self.stderr.write(text + "\n")
        self.stderr.flush()

    # --- tables -------------------------------------------------------------------------------------------

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None
    ) -> None:
        """Print a table once (not in JSON mode)."""
        if self.json_mode:
            return
        if self.fancy:
            columns, rows, below = _details_below(columns, rows, self.console.width)
            if _table_width(columns, rows, folded=8) > self.console.width:
                # Still too narrow with every other column folded: one block per row, each cell named, so
                # that no column is dropped and no id is cut.
                width = self.console.width
                below = [line for row in rows for line in _block(columns, row, width)] + below
            else:
                compact = _table_width(columns, rows) + len(columns) + 1 > self.console.width
                self.console.print(_rich_table(columns, rows, title=title, compact=compact))
            for line in below:
                self.console.print(line, markup=False, highlight=False)
            return
        if title:
            self.stdout.write(title + "\n")
        self.stdout.write(format_plain_table(columns, rows))
        self.stdout.flush()

    @contextmanager
    def live_table(self, columns: Sequence[str], *, title: str | None = None) -> Iterator[LiveTable]:
        """A table keyed by its first column that updates in place on a terminal; elsewhere each update is
        printed as one plain line (JSON mode: nothing, the command emits its own events)."""
        live = LiveTable(self, columns, title=title)
        if self.fancy:
            from rich.live import Live

            with Live(
                live.renderable(), console=self.console, refresh_per_second=8, transient=False
            ) as handle:
                live._live = handle
                try:
                    yield live
                finally:
                    handle.update(live.renderable(), refresh=True)
                    live._live = None
        else:
            yield live

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[Progress]:
        """A progress bar on a terminal; nothing elsewhere."""
        bar = Progress()
        if self.fancy and total > 0:
            from rich.progress import Progress as RichProgress

            with RichProgress(console=self.console, transient=True) as rich_progress:
                task = rich_progress.add_task(description, total=total)
                bar._advance = lambda: rich_progress.advance(task)
                yield bar
        else:
            yield bar


class Progress:
    """Handle of `Output.progress`: call `advance()` once per finished item."""

    def __init__(self) -> None:
        self._advance: Any = None

    def advance(self) -> None:
        """Count one more finished item."""
        if self._advance is not None:
            self._advance()


class LiveTable:
    """Handle of `Output.live_table`: `update(key, cells)` sets the row whose first cell is `key`."""

    def __init__(self, output: Output, columns: Sequence[str], *, title: str | None) -> None:
        self._output = output
        self.columns = list(columns)
        self.title = title
        self.rows: dict[str, list[object]] = {}
        self._live: Any = None

    def renderable(self) -> Any:
        """The rich renderable of the current rows (fancy mode only)."""
        return _rich_table(
            self.columns, [[key, *cells] for key, cells in self.rows.items()], title=self.title
        )

    def update(self, key: str, cells: Sequence[object], *, line: str | None = None) -> None:
        """Set the row for `key`; in plain mode print `line` (or the row) instead of redrawing."""
        self.rows[key] = list(cells)
        if self._output.json_mode:
            return
        if self._live is not None:
            self._live.update(self.renderable())
        elif not self._output.fancy:
            text = line if line is not None else "  ".join(_cell(c) for c in [key, *cells])
            self._output.line(text)


def isatty(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (False for streams that cannot tell, or are closed)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _table_width(
    columns: Sequence[str], rows: Sequence[Sequence[object]], *, folded: int | None = None
) -> int:
    """The width of the rich table of `_rich_table` (`folded`: the width its foldable columns shrink to)."""
    width = 0
    for index, column in enumerate(columns):
        widest = max([len(column)] + [len(_cell(row[index])) for row in rows if index < len(row)])
        if folded is not None and index != 0 and column not in _WHOLE_COLUMNS:
            widest = min(widest, folded)
        width += widest + 2
    return width


def _block(columns: Sequence[str], row: Sequence[object], width: int) -> list[str]:
    """A table row as a block: the key alone on its line, then `column value` pairs, never split across
    lines."""
    lines = [_cell(row[0])]
    current = ""
    for column, value in zip(columns[1:], row[1:], strict=False):
        pair = f"{column} {_cell(value)}"
        if current and len(current) + 2 + len(pair) > width:
            lines.append(current)
            current = ""
        current = f"{current}  {pair}" if current else f"  {pair}"
    return [*lines, current] if current else lines


def _details_below(
    columns: Sequence[str], rows: Sequence[Sequence[object]], width: int
) -> tuple[Sequence[str], Sequence[Sequence[object]], list[str]]:
    """On a terminal too narrow for the whole table, its `detail` column as lines below it (`id: detail`), so
    that the other columns keep their room; otherwise the table unchanged and no lines."""
    if "detail" not in columns:
        return columns, rows, []
    if _table_width(columns, rows) <= width:
        return columns, rows, []
    at = list(columns).index("detail")
    below = [f"{row[0]}: {row[at]}" for row in rows if row[at]]
    kept = [column for i, column in enumerate(columns) if i != at]
    return kept, [[c for i, c in enumerate(row) if i != at] for row in rows], below


def _rich_table(
    columns: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None, compact: bool = False
) -> Any:
    from rich import box
    from rich.table import Table

    # `compact`: light rules between columns (not boxes), two characters per column instead of three, which
    # on an 80-column terminal is the room a stage name needs.
    table = (
        Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))
        if compact
        else Table(title=title)
    )
    cells = [[_cell(c) for c in row] for row in rows]
    for index, column in enumerate(columns):
        if index == 0 or column in _WHOLE_COLUMNS:
            # Ids and flavors are what a reader copies into the next command: never cut to `demo-user/…`.
            # The other columns (details, messages) wrap instead, on a narrow terminal.
            widest = max((len(row[index]) for row in cells if index < len(row)), default=0)
            table.add_column(column, no_wrap=True, min_width=max(widest, len(column)))
        else:
            widest = max((len(row[index]) for row in cells if index < len(row)), default=0)
            table.add_column(column, overflow="fold", min_width=min(max(widest, len(column)), 8))
    for row in cells:
        table.add_row(*row)
    return table


# Columns whose values are identifiers (kept whole in rich tables); the first column, the key, always is.
_WHOLE_COLUMNS = frozenset({"Space", "result", "hardware", "requested", "key"})


def format_plain_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a header line; one line per row."""
    cells = [[str(c) for c in columns]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"

"""`switchboard import` and `switchboard export`: the directory in bulk, with a progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from switchboard.bulk import BATCH_SIZE
from switchboard.cli.common import DataDir, command_settings, err, open_database, upgrade_schema

FILES_HELP = (
    "One or more: CSV files named after their kind (tenants.csv, domains.csv, groups.csv, departments.csv, "
    'users.csv, service_users.csv) or JSON Lines files (.jsonl, a "kind" in each record).'
)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeRemainingColumn(),
        console=err,
    )


def _rate(progress: Progress, task: TaskID, started: float) -> Callable[[int], None]:
    def advance(rows: int) -> None:
        done = progress.tasks[task].completed + rows
        elapsed = max(time.monotonic() - started, 1e-6)
        progress.update(task, advance=rows, rate=f"{done / elapsed:,.0f}")

    return advance


def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help=FILES_HELP,
            exists=True,
            dir_okay=False,
        ),
    ],
    check_only: Annotated[bool, typer.Option("--check-only", help="Check every row, write nothing.")] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10_000, metavar="ROWS", help="Rows per transaction.")
    ] = BATCH_SIZE,
    data_dir: DataDir = None,
) -> None:
    """Import (upsert) directory objects: every row is checked first, then written in batches; an
    interrupted import resumes where it stopped when run again on the same files."""
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.bulk.importer import Importer, Outcome, count_rows
    from switchboard.errors import BadRequest

    settings = command_settings(data_dir)
    upgrade_schema(settings)
    db = open_database(settings)
    try:
        total = count_rows(files)
        with _bar() as progress:
            task = progress.add_task("Checking", total=total, rate="0")
            importer = Importer(db, CLI_PRINCIPAL, batch_size, _rate(progress, task, time.monotonic()))
            checked = importer.check(files, None if check_only else settings.data_dir / "imports")
            if checked.problem_count or check_only:
                progress.stop()
                _report("Checked", checked)
                raise typer.Exit(1 if checked.problem_count else 0)
            task = progress.add_task("Importing", total=total, rate="0")
            importer = Importer(db, CLI_PRINCIPAL, batch_size, _rate(progress, task, time.monotonic()))
            loaded: Outcome = importer.load(files, settings.data_dir / "imports", checked.validated)
        _report("Imported", loaded)
        if loaded.stopped:
            raise typer.Exit(1)
    except BadRequest as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    finally:
        db.engine.dispose()


def _report(verb: str, outcome: object) -> None:
    from switchboard.bulk.importer import Outcome

    assert isinstance(outcome, Outcome)
    err.print(
        f"{verb} {outcome.rows:,} rows: {outcome.created:,} created, {outcome.updated:,} updated, "
        f"{outcome.unchanged:,} unchanged"
        + (f", {outcome.skipped:,} already imported by an interrupted run" if outcome.skipped else "")
        + (f"; {outcome.problem_count:,} refused:" if outcome.problem_count else ".")
    )
    for problem in outcome.problems:
        err.print(f"  {problem}", markup=False, highlight=False)
    if outcome.problem_count > len(outcome.problems):
        err.print(f"  ... and {outcome.problem_count - len(outcome.problems):,} more")
    if outcome.stopped:
        err.print("Stopped: the batch with the refused row was not written; fix it and run again to resume.")


def export_command(
    target: Annotated[
        Path,
        typer.Argument(metavar="TARGET", help="A directory (CSV: one file per kind) or a .jsonl file."),
    ],
    data_dir: DataDir = None,
) -> None:
    """Export the directory in the formats `switchboard import` reads (round trip: export, then
    import into an empty database, gives the same directory)."""
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.bulk.exporter import export
    from switchboard.bulk.formats import JSON_LINES, Writer

    settings = command_settings(data_dir)
    db = open_database(settings)
    writer = Writer(target, csv_files=target.suffix.lower() not in JSON_LINES)
    try:
        with _bar() as progress:
            task = progress.add_task("Exporting", total=None, rate="0")
            written = export(db, CLI_PRINCIPAL, writer, _rate(progress, task, time.monotonic()))
    finally:
        writer.close()
        db.engine.dispose()
    err.print(f"Exported {written:,} objects to {target}.")

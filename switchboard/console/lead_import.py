"""The console's lead import: a CSV of Noojee lead rows, checked before anything is written, then
written through the API's lead service while the page streams each batch's progress."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

# Noojee's row shape is the format: the template's fields by name plus these system columns.
from switchboard.contact_centre.lead_rows import noojee_row
from switchboard.contact_centre.leads import CampaignContext, LeadInput, Outcome, RowResult
from switchboard.errors import SwitchboardError

log = logging.getLogger(__name__)

SYSTEM_COLUMNS = ("njExternalLeadId", "njPriority", "njCallBackDate", "njDisposition")
# Zip (xlsx, ods) and OLE (xls) containers: a workbook saved as is rather than as CSV.
_WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
_DELIMITERS = (",", ";", "\t")  # spreadsheets in some locales write ';'; tab-separated exports

REASONS = {
    Outcome.LEAD_NOT_FOUND: "no such lead",
    Outcome.NO_PHONE_FIELDS: "no phone number",
    Outcome.EXCEPTION: "not written: its batch failed",
    Outcome.DNC: "on the do-not-call list",
    Outcome.DUPLICATE: "number already in the campaign",
    Outcome.INVALID_DISPOSITION: "unknown disposition",
    Outcome.DISPOSITION_NOT_SET_AND_NO_CHANGE: "no disposition to keep",
    Outcome.NO_CHANGE_ON_INSERT: "<No Change> in a new lead",
    Outcome.TOO_MANY_CONCURRENT_REQUESTS: "too many imports at once",
    Outcome.DUPLICATE_EXTERNAL_ID: "njExternalLeadId already used",
    Outcome.INVALID_VALUE: "invalid value",
}


class FileRefused(Exception):
    """The file as a whole cannot be imported; the message is shown next to the file field."""


@dataclass(frozen=True, slots=True)
class LeadFile:
    rows: list[LeadInput]
    lines: list[int]  # the line of the file each row starts on (the header is line 1)


def _header(cells: list[str], ctx: CampaignContext, update: bool) -> list[str]:
    """The header's column names, or FileRefused saying what is wrong with them."""
    names = [cell.strip() for cell in cells]
    known = {name.lower() for name in ctx.fields} | {name.lower() for name in SYSTEM_COLUMNS}
    columns = ", ".join([d["name"] for d in ctx.fields.values()] + list(SYSTEM_COLUMNS))
    if "" in names:
        raise FileRefused(f"Column {names.index('') + 1} of the header row has no name.")
    repeated = [name for name, count in Counter(n.lower() for n in names).items() if count > 1]
    if repeated:
        raise FileRefused(f"The header row names {repeated[0]!r} twice.")
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        raise FileRefused(
            f"The header row names {', '.join(map(repr, unknown))}, which the campaign's template does "
            f"not have. The columns may be: {columns}."
        )
    phones = [name for name in ctx.phone_fields if name.lower() in {n.lower() for n in names}]
    if not phones and not update:
        needed = ", ".join(ctx.phone_fields) or "none: add a phone field to the template first"
        raise FileRefused(f"The file has no phone column; a lead needs at least one of: {needed}.")
    if update and "njexternalleadid" not in {n.lower() for n in names}:
        raise FileRefused("Updates find each lead by njExternalLeadId: the file needs that column.")
    return names


def read_lead_file(binary: IO[bytes], ctx: CampaignContext, update: bool, max_rows: int) -> LeadFile:
    """Every row as the lead service takes it (a row that cannot be read is its own rejection,
    with its line); FileRefused when the file is not a CSV of this template's leads."""
    start = binary.read(8)
    binary.seek(0)
    if not start:
        raise FileRefused("The file is empty: choose a CSV file with a header row and one lead per row.")
    if start.startswith(_WORKBOOK_SIGNATURES):
        raise FileRefused(
            "This is a spreadsheet workbook, not a CSV file: save it as “CSV UTF-8 (comma delimited)” "
            "and choose that file."
        )
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused("The file is UTF-16 text: save it as “CSV UTF-8” and choose that file.")
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")  # utf-8-sig: drops a BOM
    try:
        return _rows(text, ctx, update, max_rows)
    except UnicodeDecodeError:
        raise FileRefused(
            "The file is not UTF-8 text (is it a CSV file?): save it as “CSV UTF-8” and choose that file."
        ) from None
    except csv.Error as exc:
        raise FileRefused(f"The file is not a readable CSV file: {exc}.") from None
    finally:
        text.detach()  # the upload closes its own file


def _rows(text: io.TextIOWrapper, ctx: CampaignContext, update: bool, max_rows: int) -> LeadFile:
    first_line = text.readline()
    text.seek(0)
    delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(text, delimiter=delimiter)
    header = next(reader, [])
    if not any(cell.strip() for cell in header):
        raise FileRefused("The first line is empty: it must be the header row, naming the columns.")
    names = _header(header, ctx, update)
    rows: list[LeadInput] = []
    lines: list[int] = []
    previous_end = reader.line_num
    for cells in reader:
        line, previous_end = previous_end + 1, reader.line_num  # a quoted value may span lines
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if any("\x00" in cell for cell in cells):
            raise FileRefused(f"Line {line} has a NUL character: this is not a text file.")
        if len(rows) == max_rows:
            raise FileRefused(f"The file has more than {max_rows:,} leads: split it into smaller files.")
        if len(cells) == len(names):
            rows.append(noojee_row(dict(zip(names, cells, strict=True)), update))
        else:
            problem = f"{len(cells)} values, but the header row has {len(names)} columns"
            rows.append(LeadInput(rejected=(Outcome.INVALID_VALUE, problem)))
        lines.append(line)
    if not rows:
        raise FileRefused("The file has a header row but no leads.")
    return LeadFile(rows, lines)


# -- running an import -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    written: int


@dataclass(frozen=True, slots=True)
class FailedRow:
    line: int
    external_id: str | None
    code: int
    reason: str
    detail: str


Write = Callable[[Callable[[list[RowResult]], None]], list[RowResult]]
_FINISHED = object()  # the end of the queue of batches


@dataclass
class ImportRun:
    """One import, in a thread of its own from `start()`: it finishes (and is audited) even when
    the browser leaves at once; `progress()` follows it batch by batch for the streamed page."""

    write: Write  # writes every row, telling its callback about each committed batch
    lead_file: LeadFile
    results: list[RowResult] = field(default_factory=list)
    error: str | None = None
    _batches: queue.SimpleQueue[Any] = field(default_factory=queue.SimpleQueue)
    _worker: threading.Thread | None = None

    @property
    def total(self) -> int:
        return len(self.lead_file.rows)

    def start(self) -> ImportRun:
        self._worker = threading.Thread(target=self._run, name="lead-import", daemon=True)
        self._worker.start()
        return self

    def progress(self) -> Iterator[Progress]:
        done = written = 0
        while (batch := self._batches.get()) is not _FINISHED:
            done += len(batch)
            written += sum(1 for result in batch if result.outcome is Outcome.OK)
            yield Progress(done, self.total, written)
        if self._worker is not None:
            self._worker.join()

    def _run(self) -> None:
        try:
            self.results = self.write(self._batches.put)
        except SwitchboardError as error:  # nothing was written (busy, or the campaign went away)
            self.error = error.detail
        except Exception:
            log.exception("lead import failed")
            self.error = "The import stopped on an internal error; the rows counted above were saved."
        finally:
            self._batches.put(_FINISHED)

    @property
    def written(self) -> int:
        return sum(1 for result in self.results if result.outcome is Outcome.OK)

    @property
    def failed(self) -> list[FailedRow]:
        lines = self.lead_file.lines
        return [
            FailedRow(lines[r.index], r.external_id, int(r.outcome), REASONS[r.outcome], r.detail)
            for r in self.results
            if r.outcome is not Outcome.OK
        ]

    @property
    def reasons(self) -> list[tuple[str, int]]:
        """How many rows failed for each reason, the most frequent first."""
        return Counter(REASONS[r.outcome] for r in self.results if r.outcome is not Outcome.OK).most_common()


def example_csv(ctx: CampaignContext) -> str:
    """A header row and one lead for the campaign's template: what the import page shows."""
    samples = {"phone": "+61 3 9000 0001", "number": "42", "date": "2026-01-31", "email": "jane@example.com"}
    fields = [d for d in ctx.fields.values() if d["name"] not in ctx.phone_fields[1:]]  # one number
    header = [d["name"] for d in fields] + ["njExternalLeadId", "njPriority"]
    row = [samples["phone"] if d.get("phone") else samples.get(d["type"], "Jane") for d in fields]
    row += ["crm-1001", "10"]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, row])
    return out.getvalue()

"""The console's lead import: a CSV of Noojee lead rows, checked before anything is written, then
written through the API's lead service (lead_imports) while a page of its own shows the progress."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass
from typing import IO

# Noojee's row shape is the format: the template's fields by name plus these system columns.
from switchboard.contact_centre.lead_rows import noojee_row
from switchboard.contact_centre.leads import CampaignContext, LeadInput, Outcome
from switchboard.contact_centre.models import LeadImportRun

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


# -- an import's page -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailedRow:
    line: int
    external_id: str | None
    code: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class RunView:
    """What the import's page shows of a run (lead_imports keeps it in the database)."""

    status: str  # running, done, stopped or interrupted
    file_name: str
    updating: bool
    total: int
    done: int
    written: int
    message: str | None
    failed: list[FailedRow]

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def reasons(self) -> list[tuple[str, int]]:
        """How many rows failed for each reason, the most frequent first."""
        return Counter(row.reason for row in self.failed).most_common()


def run_view(run: LeadImportRun, status: str) -> RunView:
    failed = [
        FailedRow(line, external_id, code, REASONS[Outcome(code)], detail)
        for line, external_id, code, detail in run.failed
    ]
    counts = (run.rows_total, run.rows_done, run.rows_written)
    return RunView(status, run.file_name, run.updating, *counts, run.message, failed)


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

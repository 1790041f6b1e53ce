"""Noojee's lead row (the template's fields by name plus nj* system fields) as the lead service takes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchboard.contact_centre.leads import ABSENT, KEEP, LeadInput, Outcome, callback_in_range

_NO_CHANGE = "<no change>"
_CALLBACK_FORMAT = "%Y/%m/%d %H:%M"


def noojee_row(raw: dict[str, Any], update: bool) -> LeadInput:
    """Noojee's row: template fields by name plus the system fields njExternalLeadId,
    njCallBackDate (yyyy/MM/dd HH:mm, contact-hours zone), njPriority and njDisposition;
    '<No Change>' leaves a value alone (updates only)."""
    row = LeadInput()
    for key, value in raw.items():
        keep = isinstance(value, str) and value.strip().lower() == _NO_CHANGE
        text = "" if value is None else str(value).strip()
        name = key.lower()
        try:
            if name == "njexternalleadid":
                if keep or len(text) > 100:
                    raise ValueError("must be the lead's reference, at most 100 characters")
                row.external_id = text or None
            elif name == "njcallbackdate":
                row.callback_at = KEEP if keep else _callback_date(text) if text else None
            elif name == "njpriority":
                row.priority = KEEP if keep else int(text) if text else ABSENT
            elif name == "njdisposition":
                row.disposition = KEEP if keep else text or None
            elif name.startswith("nj"):
                raise ValueError("is not a system field Switchboard supports")
            else:
                row.fields[key] = KEEP if keep else value
        except ValueError as exc:
            row.rejected = (Outcome.INVALID_VALUE, f"{key}: {exc}")
            return row
    if update and row.external_id is None:
        row.rejected = (Outcome.LEAD_NOT_FOUND, "njExternalLeadId is needed to find the lead")
    return row


def _callback_date(text: str) -> datetime:
    try:
        written = datetime.strptime(text, _CALLBACK_FORMAT)
    except ValueError:
        raise ValueError("expected yyyy/MM/dd HH:mm") from None
    return callback_in_range(written, _CALLBACK_FORMAT)

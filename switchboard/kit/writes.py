"""What services' writes share: the fields a PATCH changes, stored JSON, and a clash as a 409."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from switchboard.errors import Conflict
from switchboard.kit.schemas import Schema


def changed_fields(changes: Schema, clearable: frozenset[str] = frozenset()) -> set[str]:
    """The fields a PATCH body changes: those sent, less those sent as null (which means "unchanged"),
    except the `clearable` ones, where null clears."""
    return {
        name for name in changes.model_fields_set if name in clearable or getattr(changes, name) is not None
    }


def flush_or_conflict(session: Session, conflict: str) -> None:
    # A concurrent writer may win the race the existence checks looked for: same answer, 409.
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


def stored_json(value: Any) -> Any:
    """Nested schema values are stored as their wire (camelCase) JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, list):
        return [stored_json(item) for item in value]
    return value

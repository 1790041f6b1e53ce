"""A refused console form, shown again: what was typed (never a password), and each problem in
words next to the field it is about, whichever layer found it (the schema, a service, the page)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from switchboard.console.sessions import SignedIn
from switchboard.errors import BadRequest, SwitchboardError

# Refusals about what was typed: the form comes back (anything else is a refusal page, as in the API).
FORM_STATUSES = frozenset({400, 409, 422})
# Inputs never sent back to the browser: the form's token, and whatever holds a password.
_NEVER_SHOWN = re.compile(r"^csrf$|password", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Input:
    """A form's input as the page names it. `part`: what one item of a list input is called
    ("line" for a textarea of one entry a line, "entry" for a comma-separated one)."""

    name: str
    label: str
    part: str = "entry"


# The API's field names (as a 400's `errors` give them: `ipAllowlist`, `expiresAt`) and the page's own
# (`expires_on`), each to the input that holds it.
Fields = Mapping[str, Input]


@dataclass(frozen=True, slots=True)
class Filled:
    """A form as it comes back: `form` names which of the page's forms; `errors` maps an input to
    its problem in words ("" is the form as a whole)."""

    form: str = ""
    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    status: int = 200  # the refusal's: a page may offer a way past a conflict (409)

    def of(self, form: str) -> Filled:
        """This, for the form named; a blank form for the page's other forms."""
        return self if form == self.form else BLANK

    @property
    def sent(self) -> bool:
        return bool(self.form)

    def value(self, name: str, default: Any = "") -> Any:
        """What was typed, or (a fresh form) the default."""
        return self.values.get(name, "") if self.sent else default

    def checked(self, name: str, default: bool) -> bool:
        return name in self.values if self.sent else default

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @property
    def problem(self) -> str | None:
        return self.errors.get("")

    def id_of(self, name: str) -> str:
        """An element id for an input's message (form names may hold any character)."""
        return "err-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.form}-{name}")


BLANK = Filled()


@dataclass(frozen=True, slots=True)
class ShowAgain:
    """How a form comes back: its name on the page, its inputs, and the page drawn with it."""

    form: str
    fields: Fields
    page: Callable[[SignedIn, Filled], Response]
    conflict: str = ""  # the field a conflict (409: "name taken") is about, if the form has one


def _in_words(api_field: str, reason: str, fields: Fields) -> tuple[str, str]:
    """('ipAllowlist.0', "'300.1.1.1' is not ...") -> ('allow', "Allowed from, entry 1: '300.1.1.1' ...")."""
    head, *rest = api_field.split(".") if api_field else [""]
    target = fields.get(head)
    if target is None:
        return "", reason[:1].upper() + reason[1:]
    where = "".join(f", {target.part} {int(part) + 1}" for part in rest if part.isdigit())
    return target.name, f"{target.label}{where}: {reason}"


def refused_form(again: ShowAgain, sent: Mapping[str, str], error: SwitchboardError) -> Filled:
    """The form again after `error`: every problem it names, in words, at its input."""
    values = {name: value for name, value in sent.items() if not _NEVER_SHOWN.search(name)}
    about = again.conflict if error.status == 409 else ""
    problems = error.errors or [{"field": about, "reason": error.detail}]
    fields = again.fields
    errors: dict[str, str] = {}
    for problem in problems:
        name, words = _in_words(problem.get("field", ""), problem.get("reason", error.detail), fields)
        errors[name] = f"{errors[name]} {words}" if name in errors else words
    return Filled(again.form, values, errors, error.status)


# -- a schema's errors in words -----------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count} {noun if count == 1 else plural}"


def _reason(err: Mapping[str, Any]) -> str:
    """Pydantic's message as an operator reads it (its `type` and limits, not its wording)."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "required"
    # A list's length counts entries; a string's (a password's too) characters.
    unit = "entry" if isinstance(err.get("input"), list | tuple) else "character"
    if kind == "too_short" and unit == "entry" and ctx.get("min_length") == 1:
        return "choose at least one"
    if kind in ("string_too_short", "too_short"):
        return f"at least {_plural(ctx['min_length'], unit)}"
    if kind in ("string_too_long", "too_long"):
        return f"at most {_plural(ctx['max_length'], unit)}"
    if kind == "string_pattern_mismatch":
        return "has characters that are not allowed here"
    if kind == "literal_error":
        return f"choose one of {ctx.get('expected', '')}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "a whole number"
    if kind in ("greater_than_equal", "greater_than"):
        return f"at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"at most {ctx.get('le', ctx.get('lt'))}"
    if kind.startswith(("datetime", "date")):
        return "a date such as 2027-01-31"
    if kind == "extra_forbidden":
        return "not a field of this form"
    message = str(err.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def schema_problem(exc: ValidationError) -> BadRequest:
    """Every error of a schema checked from a form, each at its field, in words."""
    errors = [{"field": ".".join(map(str, err["loc"])), "reason": _reason(err)} for err in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['reason']}" if e["field"] else e["reason"] for e in errors)
    return BadRequest(detail or "invalid form", errors=errors)

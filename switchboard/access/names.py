"""Tenant namespaces for account usernames and default-domain ids (the rule: policy.may_give_name)."""

from __future__ import annotations

from collections.abc import Collection
from functools import cached_property

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import QueryableAttribute, Session

from switchboard.access.models import Account
from switchboard.access.policy import Naming, may_give_name
from switchboard.access.principal import Principal
from switchboard.db.in_lists import chunks, one_of
from switchboard.directory.models import ServiceUser, Tenant, User
from switchboard.errors import BadRequest
from switchboard.kit.criteria import escape_like


def namespace_of(name: str) -> tuple[str | None, str]:
    """(lower-cased part before the last ".", the part after it); (None, name) without a ".".
    The last dot, so that a name is in one namespace at most whatever tenant ids (dotted ones
    included) exist: `acme.x.bob` is in `acme.x`'s, never in `acme`'s."""
    head, dot, local = name.rpartition(".")
    return (head.lower(), local) if dot else (None, name)


def _in_namespace(column: QueryableAttribute[str], space: str, suffix: str) -> ColumnElement[bool]:
    """`column` (lower-cased) is `<space>.<name><suffix>` with no "." in <name>."""
    head, tail = escape_like(space), escape_like(suffix)
    return and_(column.like(f"{head}.%{tail}", escape="\\"), ~column.like(f"{head}.%.%{tail}", escape="\\"))


def namespace_in_use(session: Session, tenant_key: str, default_domain: str) -> bool:
    """Are names of tenant `tenant_key`'s namespace held already (by accounts, or by ids in the
    default domain)? A new tenant's namespace must hold nothing but what it will create."""
    suffix = f"@{default_domain}"
    return bool(
        session.scalar(
            select(
                exists().where(_in_namespace(Account.username_key, tenant_key, ""))
                | exists().where(_in_namespace(User.user_key, tenant_key, suffix))
                | exists().where(_in_namespace(ServiceUser.service_user_key, tenant_key, suffix))
            )
        )
    )


class Namespaces:
    """The namespace rule for one request or one batch: each namespace's tenant is read once."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self._session = session
        self._principal = principal
        self._tenants: dict[str, int | None] = {}  # namespace -> the tenant whose id it is

    @cached_property
    def _own_id(self) -> str | None:
        """The id of the tenant the principal is bound to (None: a system principal)."""
        pk = self._principal.tenant_pk
        own = self._session.get(Tenant, pk) if pk is not None else None
        return own.tenant_id if own is not None else None

    def preload(self, names: Collection[str]) -> None:
        """Read the tenants of many names' namespaces in a few queries (a batch's rows)."""
        wanted = {space for name in names if (space := namespace_of(name)[0])} - self._tenants.keys()
        self._load(wanted)

    def check(
        self, field: str, name: str, owner_tenant_pk: int | None, suffix: str = "", hint: str = ""
    ) -> None:
        """400 unless the principal may give `name` to an object of `owner_tenant_pk` (None: a
        system account). The answer depends on the name's form and the tenants, never on whether
        the name is taken: it comes before any uniqueness check. `suffix` completes the name in
        the message (`@<default domain>` for ids), `hint` is said after the rule."""
        space, local = namespace_of(name)
        decision = may_give_name(
            self._principal,
            self._own_id,
            Naming(space, local, self._tenant_of(space), owner_tenant_pk, suffix),
        )
        if not decision.allowed:
            raise BadRequest.field(field, f"{decision.rule}; {hint}" if hint else decision.rule)

    def _tenant_of(self, space: str | None) -> int | None:
        if space is None:
            return None
        if self._principal.tenant_pk is not None:
            # Inside a tenant only its own namespace is open: no other tenant is looked up, so
            # nothing about one can show in the answer (nor in its timing).
            own = (self._own_id or "").lower()
            return self._principal.tenant_pk if space == own else None
        if space not in self._tenants:
            self._load({space})
        return self._tenants[space]

    def _load(self, spaces: Collection[str]) -> None:
        if self._principal.tenant_pk is not None:
            return  # a tenant's principal never needs another tenant (_tenant_of)
        for chunk in chunks(spaces):
            self._tenants.update(dict.fromkeys(chunk))
            rows = self._session.execute(
                select(Tenant.tenant_key, Tenant.pk).where(one_of(self._session, Tenant.tenant_key, chunk))
            )
            self._tenants.update({key: pk for key, pk in rows})

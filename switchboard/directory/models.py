"""Directory tables. Ids are kept as given and matched through a lower-cased key column."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base, JSONType, TZDateTime, key_string, utcnow

ID_LENGTH = 80  # local@domain ids
NAME_LENGTH = 80
EXTERNAL_ID_LENGTH = 255  # an APIO client's own references (externalId1..4), kept as given


class ExternalIds:
    """externalId1..4: four references of another system's (APIO's), stored and matched as given."""

    external_id1: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_LENGTH))
    external_id2: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_LENGTH))
    external_id3: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_LENGTH))
    external_id4: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_LENGTH))


class Reseller(Base):
    """APIO's reseller: owns tenants; its administrators (accounts of role reseller_admin) see and
    manage those tenants only."""

    __tablename__ = "resellers"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_key: Mapped[str] = mapped_column(key_string(NAME_LENGTH), unique=True)
    external_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Tenant(ExternalIds, Base):
    __tablename__ = "tenants"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The reseller owning the tenant (APIO's resellerId); a reseller's deletion leaves it unowned.
    reseller_pk: Mapped[int | None] = mapped_column(
        ForeignKey("resellers.pk", ondelete="SET NULL"), index=True, default=None
    )
    tenant_id: Mapped[str] = mapped_column(String(30))
    tenant_key: Mapped[str] = mapped_column(key_string(30), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    default_domain: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    support_email: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    use_custom_routing_profile: Mapped[bool] = mapped_column(Boolean, default=False)
    use_tenant_languages: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    address_information: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Who sees campaign templates that have no team: "admins" (default) or "everyone".
    teamless_templates_visible_to: Mapped[str] = mapped_column(
        String(10), default="admins", server_default="admins"
    )
    # IANA name; "" is UTC. Noojee's replies give date-times in it (its clients expect local time).
    time_zone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # Noojee methods accept GET for this tenant's principals: None follows the system setting.
    noojee_accept_get: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("type IN ('ServiceProvider', 'Enterprise')", name="type"),
        CheckConstraint("teamless_templates_visible_to IN ('admins', 'everyone')", name="teamless"),
    )


class Domain(Base):
    """A domain assigned by a system admin to one tenant; its users' ids live under it."""

    __tablename__ = "domains"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_key: Mapped[str] = mapped_column(key_string(NAME_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Group(ExternalIds, Base):
    __tablename__ = "groups"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(String(30))
    group_key: Mapped[str] = mapped_column(key_string(30))
    group_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    default_domain: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    user_limit: Mapped[int] = mapped_column(Integer, default=100)
    # Maintained in the same statement that admits a user, so the limit holds under concurrency.
    user_count: Mapped[int] = mapped_column(Integer, default=0)
    cli_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    cli_phone_number: Mapped[str] = mapped_column(String(30), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="")
    location_dialing_code: Mapped[str] = mapped_column(String(20), default="")
    contact: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    address_information: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_pk", "group_key"),
        CheckConstraint("user_count >= 0 AND user_count <= user_limit", name="user_limit"),
    )


class Department(Base):
    """A department of a tenant (group_pk NULL) or of a group; full_path_name is kept derived."""

    __tablename__ = "departments"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    group_pk: Mapped[int | None] = mapped_column(ForeignKey("groups.pk", ondelete="CASCADE"))
    # group_pk or 0: NULLs never collide in a unique index, so uniqueness is over this column.
    scope_pk: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_key: Mapped[str] = mapped_column(key_string(NAME_LENGTH))
    # NO ACTION (checked at statement end) so cascades from a tenant or group delete pass;
    # deleting a department that still has children is refused by the service with a 409.
    parent_pk: Mapped[int | None] = mapped_column(ForeignKey("departments.pk"), index=True)
    full_path_name: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("tenant_pk", "scope_pk", "name_key"),)


class User(ExternalIds, Base):
    """An end user. devices and trunking are stored and returned here, never by search objects."""

    __tablename__ = "users"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    group_pk: Mapped[int] = mapped_column(ForeignKey("groups.pk", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    user_key: Mapped[str] = mapped_column(key_string(ID_LENGTH), unique=True)
    last_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    first_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    cli_last_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    cli_first_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    phone_number: Mapped[str] = mapped_column(String(30), default="")
    extension: Mapped[str] = mapped_column(String(20), default="")
    cli_phone_number: Mapped[str] = mapped_column(String(30), default="")
    department_pk: Mapped[int | None] = mapped_column(
        ForeignKey("departments.pk", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(40), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    pager_phone_number: Mapped[str] = mapped_column(String(30), default="")
    mobile_phone_number: Mapped[str] = mapped_column(String(30), default="")
    email_address: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    yahoo_id: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    address_location: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    address: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    network_class_of_service: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    devices: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    trunk_addressing: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_users_group_pk_user_key", "group_pk", "user_key"),
        Index("ix_users_tenant_pk_extension", "tenant_pk", "extension"),
    )


SERVICE_KINDS = ("ivr", "call_center", "hunt_group", "route_point")


class ServiceUser(Base):
    """A service user (IVR, call centre, hunt group, route point) and its service instance profile."""

    __tablename__ = "service_users"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    group_pk: Mapped[int] = mapped_column(ForeignKey("groups.pk", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    service_user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    service_user_key: Mapped[str] = mapped_column(key_string(ID_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    calling_line_id_last_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    calling_line_id_first_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    phone_number: Mapped[str] = mapped_column(String(30), default="")
    extension: Mapped[str] = mapped_column(String(20), default="")
    department_pk: Mapped[int | None] = mapped_column(
        ForeignKey("departments.pk", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(40), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="")
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Kind-specific settings: call centre type, hunt group policy, IVR type, ...
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('ivr', 'call_center', 'hunt_group', 'route_point')", name="kind"),
        Index("ix_service_users_group_pk_kind_key", "group_pk", "kind", "service_user_key"),
        Index("ix_service_users_tenant_pk_extension", "tenant_pk", "extension"),
    )

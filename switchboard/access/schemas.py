"""Shapes of accounts, API keys and login."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints

from switchboard.directory.schemas import ObjectId, ResellerName, UserIdInput
from switchboard.kit.schemas import Schema

Username = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@\-]*$")
]
Password = Annotated[SecretStr, Field(min_length=12, max_length=256)]
RoleName = Literal["system", "reseller_admin", "tenant_admin", "group_admin", "user"]
DisplayName = Annotated[str, StringConstraints(max_length=80)]
Email = Annotated[str, StringConstraints(max_length=80)]
Cidr = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AccountCreate(Schema):
    username: Username = Field(
        description="Unique system-wide. Made by a principal of a tenant (its administrators, its keys): "
        "<tenantId>.<name>, no '.' in <name>. A username <T>.<name> is given to tenant T's accounts only."
    )
    password: Password
    display_name: DisplayName = ""
    email: Email = ""
    role: RoleName
    tenant_id: ObjectId | None = None
    group_id: ObjectId | None = None
    reseller_id: ResellerName | None = Field(
        default=None, description="A reseller admin's reseller (made by the system only)."
    )
    linked_user_id: UserIdInput | None = Field(
        default=None, description="A directory end user of the account's tenant (gives it an extension)."
    )
    enabled: bool = True


class ResellerAdminCreate(Schema):
    """A reseller admin, made under its reseller's path (role and reseller come from it)."""

    username: Username
    password: Password
    display_name: DisplayName = ""
    email: Email = ""
    enabled: bool = True


class AccountUpdate(Schema):
    """Partial update of AccountCreate: only the fields sent are changed."""

    password: Password | None = None
    display_name: DisplayName | None = None
    email: Email | None = None
    role: RoleName | None = None
    tenant_id: ObjectId | None = None
    group_id: ObjectId | None = None
    linked_user_id: UserIdInput | None = None
    enabled: bool | None = None


class AccountOut(Schema):
    username: str
    display_name: str
    email: str
    role: RoleName
    tenant_id: str | None
    group_id: str | None
    reseller_id: str | None = None
    linked_user_id: str | None
    extension: str | None
    enabled: bool
    created_at: datetime


# The areas a user key may reach (Noojee's rules: campaign-related endpoints); a key may be narrowed to some.
KeyScope = Literal["campaigns", "calls", "recordings"]
KEY_SCOPES: tuple[KeyScope, ...] = ("campaigns", "calls", "recordings")
KeyName = Annotated[str, StringConstraints(min_length=1, max_length=80)]
KeyAllowlist = Annotated[list[Cidr], Field(max_length=50)]
KeyScopes = Annotated[
    list[KeyScope],
    Field(
        min_length=1, description="What the key reaches: campaigns, calls, recordings (default: all three)."
    ),
]


class ApiKeyCreate(Schema):
    name: KeyName
    expires_at: datetime | None = None
    ip_allowlist: KeyAllowlist = Field(default_factory=list)
    scopes: KeyScopes = Field(default_factory=lambda: list(KEY_SCOPES))


class ApiKeyUpdate(Schema):
    """The fields sent change; `expiresAt: null` removes the expiry."""

    name: KeyName | None = None
    expires_at: datetime | None = None
    ip_allowlist: KeyAllowlist | None = None
    scopes: KeyScopes | None = None


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    ip_allowlist: list[str]
    scopes: list[KeyScope]
    restricted_by: RoleName | None = Field(
        description="The role of whoever, other than the owner, set the scopes, allowlist and expiry: "
        "they bind the owner, who may narrow them but not widen them (null: the owner set them)."
    )
    revoked: bool
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, never again.")


class LoginBody(Schema):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=256)]


class ApioLoginBody(Schema):
    """APIO's login body; its deprecated provide_basic_profile is accepted and ignored."""

    model_config = {"alias_generator": None}
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=256)]
    provide_basic_profile: bool | None = None


class ApioIds(Schema):
    """Only the ids the account has: a system account has none, a tenant admin its tenant's."""

    model_config = {"alias_generator": None}
    tenant_id: str | None = None
    group_id: str | None = None
    user_id: str | None = Field(default=None, description="The end user the account is linked to.")


class ApioProfile(Schema):
    model_config = {"alias_generator": None}
    user_level: Literal[0, 8, 12, 16] = Field(
        description="0 end user, 8 group admin, 12 tenant admin, 16 system (APIO's 4, department "
        "admin, is no role of Switchboard's)."
    )
    is_first_login: bool = Field(description="Always false: no password change is asked at first sign-in.")


class ApioLoginOut(Schema):
    model_config = {"alias_generator": None}
    ids: ApioIds
    profile: ApioProfile


class LoginOut(Schema):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 -- the scheme name, not a secret
    expires_at: datetime


# A rotation's overlap: the previous key keeps working this long (0: it stops at once).
MAX_TENANT_KEY_GRACE_SECONDS = 7 * 24 * 3600


class TenantKeyCreate(Schema):
    name: KeyName
    expires_at: datetime | None = None
    ip_allowlist: KeyAllowlist | None = None


class TenantKeyUpdate(Schema):
    """The fields sent change; `expiresAt: null` removes the expiry."""

    name: KeyName | None = None
    expires_at: datetime | None = None
    ip_allowlist: KeyAllowlist | None = None


class TenantKeyRotate(Schema):
    grace_seconds: int = Field(
        default=3600,
        ge=0,
        le=MAX_TENANT_KEY_GRACE_SECONDS,
        description="How long the current key keeps working (0 to 7 days; default 1 hour).",
    )


class TenantKeyOut(Schema):
    key_id: int
    tenant_id: str
    name: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    ip_allowlist: list[str]
    revoked: bool
    revoked_at: datetime | None


class TenantKeyCreated(TenantKeyOut):
    key: str = Field(description="The key itself: shown this once, never again.")

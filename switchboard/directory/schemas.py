"""Request and response shapes of the directory, with APIO's camelCase names."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, StringConstraints

from switchboard.kit.schemas import Schema

ObjectId = Annotated[
    str, StringConstraints(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]
Text = Annotated[str, StringConstraints(max_length=80)]
ResellerName = Annotated[
    str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
]
Phone = Annotated[str, StringConstraints(max_length=30, pattern=r"^(\+?[0-9]{0,29})$")]
Extension = Annotated[str, StringConstraints(max_length=20, pattern=r"^([0-9]{0,20})$")]
DepartmentName = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\\/]+$")]
RequiredText = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Language = Annotated[str, StringConstraints(max_length=40)]
TimeZone = Annotated[str, StringConstraints(max_length=64)]


def _zone_or_utc(name: str) -> str:
    """'' (UTC) or a zone the IANA database knows."""
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "is not an IANA time zone name (e.g. Australia/Sydney), nor '' for UTC"
            ) from None
    return name


ZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_zone_or_utc)]
DialingCode = Annotated[str, StringConstraints(max_length=20)]
ExternalId = Annotated[str, StringConstraints(max_length=255)]
UserLimit = Annotated[int, Field(ge=0, le=1_000_000)]
TemplateVisibility = Literal["admins", "everyone"]
# local@domain, or a bare local part that gets DEFAULT_DOMAIN appended.
UserIdInput = Annotated[
    str,
    StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._+\-]+(@[A-Za-z0-9.\-]+)?$"),
]
# The namespace rule (access.names), as the OpenAPI document states it.
ID_FORMS = (
    "local@domain, or a bare local part that gets DEFAULT_DOMAIN. Unique system-wide. In the default "
    "domain, an id made by a principal of a tenant (its administrators, its keys) takes the form "
    "<tenantId>.<name> (no '.' in <name>), and <T>.<name> is given to tenant T's objects only; the "
    "tenant's own domains take any local part."
)


class AddressInformation(Schema):
    address_line1: Text = ""
    address_line2: Text = ""
    city: Text = ""
    state: Text = ""
    state_display_name: Text = ""
    postal_code: Annotated[str, StringConstraints(max_length=20)] = ""
    country: Text = ""


class Contact(Schema):
    contact_name: Text = ""
    contact_number: Phone = ""
    contact_email: Text = ""


class TenantCreate(Schema):
    tenant_id: ObjectId
    type: Literal["ServiceProvider", "Enterprise"]
    name: Text = ""
    default_domain: Text = ""
    support_email: Text = ""
    use_custom_routing_profile: bool = False
    use_tenant_languages: bool = False
    contact: Contact = Field(default_factory=Contact)
    address_information: AddressInformation = Field(default_factory=AddressInformation)
    teamless_templates_visible_to: TemplateVisibility = Field(
        default="admins", description="Who sees campaign templates that have no team."
    )
    time_zone: ZoneName = Field(default="", description="IANA zone of Noojee replies' date-times; '' is UTC.")
    noojee_accept_get: bool | None = Field(
        default=None,
        description="Noojee methods accept GET for this tenant's keys; null follows the system setting.",
    )
    external_id1: ExternalId | None = None
    external_id2: ExternalId | None = None
    external_id3: ExternalId | None = None
    external_id4: ExternalId | None = None
    reseller_id: ResellerName | None = Field(
        default=None,
        description="The reseller owning the tenant (APIO's resellerId): set by the system; a tenant made "
        "by a reseller admin is its reseller's.",
    )


class TenantUpdate(Schema):
    """Partial update of TenantCreate: only the fields sent are changed."""

    name: Text | None = None
    default_domain: Text | None = None
    support_email: Text | None = None
    use_custom_routing_profile: bool | None = None
    use_tenant_languages: bool | None = None
    contact: Contact | None = None
    address_information: AddressInformation | None = None
    teamless_templates_visible_to: TemplateVisibility | None = None
    time_zone: ZoneName | None = None
    noojee_accept_get: bool | None = Field(default=None, description="null: follow the system setting.")
    external_id1: ExternalId | None = Field(default=None, description="null clears it.")
    external_id2: ExternalId | None = Field(default=None, description="null clears it.")
    external_id3: ExternalId | None = Field(default=None, description="null clears it.")
    external_id4: ExternalId | None = Field(default=None, description="null clears it.")
    reseller_id: ResellerName | None = Field(
        default=None, description="System only: the reseller owning the tenant; null clears it."
    )


class ResellerCreate(Schema):
    name: ResellerName
    external_name: Text = ""


class ResellerUpdate(Schema):
    external_name: Text | None = None


class ResellerOut(Schema):
    name: str
    external_name: str


class TenantOut(TenantCreate):
    model_config = {"extra": "ignore"}


class DomainCreate(Schema):
    domain: Annotated[str, StringConstraints(min_length=1, max_length=80)]


class DomainOut(Schema):
    domain: str
    tenant_id: str


class GroupCreate(Schema):
    group_id: ObjectId
    group_name: Text = ""
    default_domain: Text = ""
    user_limit: UserLimit = 100
    cli_name: Text = ""
    cli_phone_number: Phone = ""
    time_zone: TimeZone = ""
    location_dialing_code: DialingCode = ""
    contact: Contact = Field(default_factory=Contact)
    address_information: AddressInformation = Field(default_factory=AddressInformation)
    external_id1: ExternalId | None = None
    external_id2: ExternalId | None = None
    external_id3: ExternalId | None = None
    external_id4: ExternalId | None = None


class GroupUpdate(Schema):
    """Partial update of GroupCreate: only the fields sent are changed."""

    group_name: Text | None = None
    default_domain: Text | None = None
    user_limit: UserLimit | None = None
    cli_name: Text | None = None
    cli_phone_number: Phone | None = None
    time_zone: TimeZone | None = None
    location_dialing_code: DialingCode | None = None
    contact: Contact | None = None
    address_information: AddressInformation | None = None
    external_id1: ExternalId | None = Field(default=None, description="null clears it.")
    external_id2: ExternalId | None = Field(default=None, description="null clears it.")
    external_id3: ExternalId | None = Field(default=None, description="null clears it.")
    external_id4: ExternalId | None = Field(default=None, description="null clears it.")


class GroupOut(GroupCreate):
    model_config = {"extra": "ignore"}
    tenant_id: str
    user_count: int


class DepartmentCreate(Schema):
    name: DepartmentName
    parent: DepartmentName | None = Field(
        default=None,
        description="Name of the parent department: one of the same group, or of the tenant.",
    )


class DepartmentUpdate(Schema):
    """Partial update of DepartmentCreate: only the fields sent are changed."""

    name: DepartmentName | None = None
    parent: DepartmentName | None = None


class DepartmentOut(Schema):
    tenant_id: str
    group_id: str | None
    name: str
    parent: str | None
    full_path_name: str


class DepartmentRef(Schema):
    """A department by name: of the given group, or of the tenant when groupId is absent."""

    department_name: DepartmentName
    group_id: ObjectId | None = None


class DepartmentView(Schema):
    tenant_id: str
    group_id: str | None
    department_name: str
    full_path_name: str


class Device(Schema):
    device_name: Text
    device_type: Text = ""
    line_port: Text = ""
    mac_address: Annotated[str, StringConstraints(max_length=17)] = ""


class TrunkAddressing(Schema):
    trunk_group_name: Text = ""
    enterprise_trunk_name: Text = ""
    alternate_trunk_identity: Text = ""
    physical_location: Text = ""


Devices = Annotated[list[Device], Field(max_length=20)]


class UserCreate(Schema):
    user_id: UserIdInput = Field(description=ID_FORMS)
    last_name: RequiredText
    first_name: RequiredText
    cli_last_name: Text = ""
    cli_first_name: Text = ""
    phone_number: Phone = ""
    extension: Extension = ""
    cli_phone_number: Phone = ""
    department: DepartmentRef | None = None
    language: Language = ""
    time_zone: TimeZone = ""
    title: Text = ""
    pager_phone_number: Phone = ""
    mobile_phone_number: Phone = ""
    email_address: Text = ""
    yahoo_id: Text = ""
    address_location: Text = ""
    address: AddressInformation = Field(default_factory=AddressInformation)
    network_class_of_service: Text = ""
    devices: Devices = Field(default_factory=list)
    trunk_addressing: TrunkAddressing | None = None
    external_id1: ExternalId | None = None
    external_id2: ExternalId | None = None
    external_id3: ExternalId | None = None
    external_id4: ExternalId | None = None


class UserUpdate(Schema):
    """Partial update of UserCreate: only the fields sent are changed."""

    last_name: RequiredText | None = None
    first_name: RequiredText | None = None
    cli_last_name: Text | None = None
    cli_first_name: Text | None = None
    phone_number: Phone | None = None
    extension: Extension | None = None
    cli_phone_number: Phone | None = None
    department: DepartmentRef | None = None
    language: Language | None = None
    time_zone: TimeZone | None = None
    title: Text | None = None
    pager_phone_number: Phone | None = None
    mobile_phone_number: Phone | None = None
    email_address: Text | None = None
    yahoo_id: Text | None = None
    address_location: Text | None = None
    address: AddressInformation | None = None
    network_class_of_service: Text | None = None
    devices: Devices | None = None
    trunk_addressing: TrunkAddressing | None = None
    external_id1: ExternalId | None = Field(default=None, description="null clears it.")
    external_id2: ExternalId | None = Field(default=None, description="null clears it.")
    external_id3: ExternalId | None = Field(default=None, description="null clears it.")
    external_id4: ExternalId | None = Field(default=None, description="null clears it.")


class UserOut(UserCreate):
    model_config = {"extra": "ignore"}
    tenant_id: str
    group_id: str
    department: DepartmentView | None = None  # type: ignore[assignment]


ServiceKind = Literal["ivr", "call_center", "hunt_group", "route_point"]
HuntPolicy = Literal["Circular", "Regular", "Simultaneous", "Uniform", "Weighted"]


class ServiceInstanceProfile(Schema):
    name: RequiredText
    calling_line_id_last_name: Text = ""
    calling_line_id_first_name: Text = ""
    phone_number: Phone = ""
    extension: Extension = ""
    department: DepartmentRef | None = None
    language: Language = ""
    time_zone: TimeZone = ""
    aliases: Annotated[list[Text], Field(max_length=10)] = Field(default_factory=list)


class ServiceInstanceProfileOut(ServiceInstanceProfile):
    model_config = {"extra": "ignore"}
    department: DepartmentView | None = None  # type: ignore[assignment]


IvrType = Literal["Basic", "Standard"]
CallCenterType = Literal["Basic", "Standard", "Premium"]
QueueLength = Annotated[int, Field(ge=0, le=525)]
RingCount = Annotated[int, Field(ge=1, le=20)]


class IvrSettings(Schema):
    type: IvrType = "Basic"


class CallCenterSettings(Schema):
    type: CallCenterType = "Basic"
    policy: HuntPolicy = "Circular"
    queue_length: QueueLength = 10


class HuntGroupSettings(Schema):
    policy: HuntPolicy = "Circular"
    hunt_after_no_answer: bool = False
    no_answer_number_of_rings: RingCount = 5


class RoutePointSettings(Schema):
    queue_length: QueueLength = 10


KIND_SETTINGS: dict[str, type[Schema]] = {
    "ivr": IvrSettings,
    "call_center": CallCenterSettings,
    "hunt_group": HuntGroupSettings,
    "route_point": RoutePointSettings,
}

# URL segment -> stored kind
KIND_PATHS: dict[str, str] = {
    "ivrs": "ivr",
    "call_centers": "call_center",
    "hunt_groups": "hunt_group",
    "route_points": "route_point",
}


# A service user's bodies: these common fields, then its kind's settings (a kind's classes list its
# settings first among their bases, so that pydantic orders the common fields first). The create and
# output classes have no docstring: it would become a description the OpenAPI document never had.
class ServiceCreate(Schema):
    service_user_id: UserIdInput = Field(description=ID_FORMS)
    service_instance_profile: ServiceInstanceProfile


class ServiceUpdate(Schema):
    service_instance_profile: ServiceInstanceProfile | None = None


class ServiceOut(Schema):
    service_user_id: str
    tenant_id: str
    group_id: str
    service_instance_profile: ServiceInstanceProfileOut


class IvrCreate(IvrSettings, ServiceCreate):
    pass


class IvrUpdate(ServiceUpdate):
    """Partial update of IvrCreate: only the fields sent are changed."""

    type: IvrType | None = None


class IvrOut(IvrSettings, ServiceOut):
    pass


class CallCenterCreate(CallCenterSettings, ServiceCreate):
    pass


class CallCenterUpdate(ServiceUpdate):
    """Partial update of CallCenterCreate: only the fields sent are changed."""

    type: CallCenterType | None = None
    policy: HuntPolicy | None = None
    queue_length: QueueLength | None = None


class CallCenterOut(CallCenterSettings, ServiceOut):
    pass


class HuntGroupCreate(HuntGroupSettings, ServiceCreate):
    pass


class HuntGroupUpdate(ServiceUpdate):
    """Partial update of HuntGroupCreate: only the fields sent are changed."""

    policy: HuntPolicy | None = None
    hunt_after_no_answer: bool | None = None
    no_answer_number_of_rings: RingCount | None = None


class HuntGroupOut(HuntGroupSettings, ServiceOut):
    pass


class RoutePointCreate(RoutePointSettings, ServiceCreate):
    pass


class RoutePointUpdate(ServiceUpdate):
    """Partial update of RoutePointCreate: only the fields sent are changed."""

    queue_length: QueueLength | None = None


class RoutePointOut(RoutePointSettings, ServiceOut):
    pass


# Create, update and output schema per kind.
SERVICE_MODELS: dict[str, tuple[type[ServiceCreate], type[ServiceUpdate], type[ServiceOut]]] = {
    "ivr": (IvrCreate, IvrUpdate, IvrOut),
    "call_center": (CallCenterCreate, CallCenterUpdate, CallCenterOut),
    "hunt_group": (HuntGroupCreate, HuntGroupUpdate, HuntGroupOut),
    "route_point": (RoutePointCreate, RoutePointUpdate, RoutePointOut),
}

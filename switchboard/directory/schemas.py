"""Request and response shapes of the directory, with the seed's camelCase names."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from switchboard.kit.schemas import Schema, constrained_type, partial_of

ObjectId = Annotated[
    str, StringConstraints(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]
Text = Annotated[str, StringConstraints(max_length=80)]
Phone = Annotated[str, StringConstraints(max_length=30, pattern=r"^(\+?[0-9]{0,29})$")]
Extension = Annotated[str, StringConstraints(max_length=20, pattern=r"^([0-9]{0,20})$")]
DepartmentName = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\\/]+$")]
# local@domain, or a bare local part that gets DEFAULT_DOMAIN appended.
UserIdInput = Annotated[
    str,
    StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._+\-]+(@[A-Za-z0-9.\-]+)?$"),
]


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
    teamless_templates_visible_to: Literal["admins", "everyone"] = Field(
        default="admins", description="Who sees campaign templates that have no team."
    )


TenantUpdate = partial_of(TenantCreate, "TenantUpdate", exclude=("tenant_id", "type"))


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
    user_limit: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    cli_name: Text = ""
    cli_phone_number: Phone = ""
    time_zone: Annotated[str, StringConstraints(max_length=64)] = ""
    location_dialing_code: Annotated[str, StringConstraints(max_length=20)] = ""
    contact: Contact = Field(default_factory=Contact)
    address_information: AddressInformation = Field(default_factory=AddressInformation)


GroupUpdate = partial_of(GroupCreate, "GroupUpdate", exclude=("group_id",))


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


DepartmentUpdate = partial_of(DepartmentCreate, "DepartmentUpdate")


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


class UserCreate(Schema):
    user_id: UserIdInput
    last_name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    first_name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    cli_last_name: Text = ""
    cli_first_name: Text = ""
    phone_number: Phone = ""
    extension: Extension = ""
    cli_phone_number: Phone = ""
    department: DepartmentRef | None = None
    language: Annotated[str, StringConstraints(max_length=40)] = ""
    time_zone: Annotated[str, StringConstraints(max_length=64)] = ""
    title: Text = ""
    pager_phone_number: Phone = ""
    mobile_phone_number: Phone = ""
    email_address: Text = ""
    yahoo_id: Text = ""
    address_location: Text = ""
    address: AddressInformation = Field(default_factory=AddressInformation)
    network_class_of_service: Text = ""
    devices: Annotated[list[Device], Field(max_length=20)] = Field(default_factory=list)
    trunk_addressing: TrunkAddressing | None = None


UserUpdate = partial_of(UserCreate, "UserUpdate", exclude=("user_id",))


class UserOut(UserCreate):
    model_config = {"extra": "ignore"}
    tenant_id: str
    group_id: str
    department: DepartmentView | None = None  # type: ignore[assignment]


ServiceKind = Literal["ivr", "call_center", "hunt_group", "route_point"]
HuntPolicy = Literal["Circular", "Regular", "Simultaneous", "Uniform", "Weighted"]


class ServiceInstanceProfile(Schema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    calling_line_id_last_name: Text = ""
    calling_line_id_first_name: Text = ""
    phone_number: Phone = ""
    extension: Extension = ""
    department: DepartmentRef | None = None
    language: Annotated[str, StringConstraints(max_length=40)] = ""
    time_zone: Annotated[str, StringConstraints(max_length=64)] = ""
    aliases: Annotated[list[Text], Field(max_length=10)] = Field(default_factory=list)


class ServiceInstanceProfileOut(ServiceInstanceProfile):
    model_config = {"extra": "ignore"}
    department: DepartmentView | None = None  # type: ignore[assignment]


class IvrSettings(Schema):
    type: Literal["Basic", "Standard"] = "Basic"


class CallCenterSettings(Schema):
    type: Literal["Basic", "Standard", "Premium"] = "Basic"
    policy: HuntPolicy = "Circular"
    queue_length: Annotated[int, Field(ge=0, le=525)] = 10


class HuntGroupSettings(Schema):
    policy: HuntPolicy = "Circular"
    hunt_after_no_answer: bool = False
    no_answer_number_of_rings: Annotated[int, Field(ge=1, le=20)] = 5


class RoutePointSettings(Schema):
    queue_length: Annotated[int, Field(ge=0, le=525)] = 10


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


def _service_models() -> dict[str, tuple[type[Schema], type[Schema], type[Schema]]]:
    """Create, update and output schema per kind: the common profile plus the kind's settings."""
    from pydantic import create_model

    models: dict[str, tuple[type[Schema], type[Schema], type[Schema]]] = {}
    for kind, settings_model in KIND_SETTINGS.items():
        title = "".join(part.title() for part in kind.split("_"))
        extra = {
            name: (constrained_type(info), info.default) for name, info in settings_model.model_fields.items()
        }
        create_fields: dict[str, Any] = {
            "service_user_id": (UserIdInput, ...),
            "service_instance_profile": (ServiceInstanceProfile, ...),
            **extra,
        }
        create = create_model(f"{title}Create", __base__=Schema, **create_fields)
        update = partial_of(create, f"{title}Update", exclude=("service_user_id",))
        out_fields: dict[str, Any] = {
            "service_user_id": (str, ...),
            "tenant_id": (str, ...),
            "group_id": (str, ...),
            "service_instance_profile": (ServiceInstanceProfileOut, ...),
            **extra,
        }
        out = create_model(f"{title}Out", __base__=Schema, **out_fields)
        models[kind] = (create, update, out)
    return models


SERVICE_MODELS = _service_models()

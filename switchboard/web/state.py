"""The app's services, built once by create_app: one typed object on app.state, reached from a
request by services_of() (and the database by database_of()), so mypy and a reader can follow
a request to what it uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:  # the services sit in the layers above this one; only their types are needed here
    from switchboard.access.credentials import CredentialResolver
    from switchboard.access.login import LoginService
    from switchboard.audit.log import AuditLog
    from switchboard.calls.control import CallControl
    from switchboard.contact_centre.lead_writer import LeadWriter
    from switchboard.db.engine import Database
    from switchboard.events.delivery import EventWorker
    from switchboard.events.signing import SecretBox
    from switchboard.events.subscribe import Subscriptions
    from switchboard.noojee.campaign_list import CampaignLists
    from switchboard.noojee.get_method import AcceptGet
    from switchboard.settings import Settings
    from switchboard.system.store import SettingsCache
    from switchboard.web.observability import Metrics


@dataclass(slots=True)
class AppServices:
    settings: Settings
    db: Database
    metrics: Metrics
    settings_cache: SettingsCache
    credentials: CredentialResolver
    login: LoginService
    audit: AuditLog
    calls: CallControl
    subscriptions: Subscriptions
    secret_box: SecretBox
    event_worker: EventWorker | None  # None where this process does not deliver webhooks
    campaign_list: CampaignLists
    noojee_get: AcceptGet
    lead_writer: LeadWriter


def services_of(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


def database_of(request: Request) -> Database:
    """The app's Database, for routes."""
    return services_of(request).db

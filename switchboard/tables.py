"""Every table module, imported so that Base.metadata is complete (for Alembic and tests)."""

from switchboard.access import models as access_models
from switchboard.audit import models as audit_models
from switchboard.bulk import models as import_job_models
from switchboard.calls import models as call_models
from switchboard.contact_centre import models as contact_centre_models
from switchboard.db.base import Base
from switchboard.directory import models as directory_models
from switchboard.events import models as event_models
from switchboard.signals import models as signal_models
from switchboard.system import models as system_models
from switchboard.web import idempotency as idempotency_models

__all__ = [
    "Base",
    "access_models",
    "audit_models",
    "call_models",
    "contact_centre_models",
    "directory_models",
    "event_models",
    "idempotency_models",
    "import_job_models",
    "signal_models",
    "system_models",
]

"""Every model imported in one place, so Alembic and tests see the whole schema."""

from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Operator, OperatorSession
from dispatch.calls.models import Call, CallEntry
from dispatch.db.base import Base
from dispatch.elders.models import Contact, Device, Elder, HealthRecord
from dispatch.ingest.models import DeviceEvent
from dispatch.notify.models import SmsMessage
from dispatch.offers.models import Job, Offer
from dispatch.providers.models import Provider, ProviderStaff

metadata = Base.metadata

__all__ = [
    "AuditEntry",
    "Call",
    "CallEntry",
    "Contact",
    "Device",
    "DeviceEvent",
    "Elder",
    "HealthRecord",
    "Job",
    "Offer",
    "Operator",
    "OperatorSession",
    "Provider",
    "ProviderStaff",
    "SmsMessage",
    "metadata",
]

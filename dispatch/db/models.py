"""Every model imported in one place, so Alembic and tests see the whole schema."""

from dispatch.alerts.models import Alert
from dispatch.assessments.models import Assessment
from dispatch.audit.models import AuditEntry
from dispatch.auth.models import ConsoleTicket, Operator, OperatorSession
from dispatch.calls.models import Call, CallEntry
from dispatch.carecalls.models import CareCall
from dispatch.complaints.models import Complaint
from dispatch.db.base import Base
from dispatch.elders.models import Contact, Device, Elder, HealthRecord
from dispatch.evidence.models import ServiceEvidence
from dispatch.followups.models import FollowUp
from dispatch.ingest.models import DeviceEvent
from dispatch.ledger.models import LedgerBalance, LedgerEntry, LedgerTxn
from dispatch.notify.models import SmsMessage
from dispatch.offers.models import Job, Offer
from dispatch.orders.models import RecurringPlan, ServiceOrder
from dispatch.payments.models import Payment, PlatformNotification, Refund
from dispatch.payments.reconcile import Reconciliation
from dispatch.providers.models import Provider, ProviderStaff
from dispatch.settlement.models import Settlement
from dispatch.voice.models import AgentPresence, CallbackTask, PhoneCall, Recording

metadata = Base.metadata

__all__ = [
    "AgentPresence",
    "Alert",
    "Assessment",
    "AuditEntry",
    "Call",
    "CallEntry",
    "CallbackTask",
    "CareCall",
    "Complaint",
    "ConsoleTicket",
    "Contact",
    "Device",
    "DeviceEvent",
    "Elder",
    "FollowUp",
    "HealthRecord",
    "Job",
    "LedgerBalance",
    "LedgerEntry",
    "LedgerTxn",
    "Offer",
    "Operator",
    "OperatorSession",
    "Payment",
    "PhoneCall",
    "PlatformNotification",
    "Provider",
    "ProviderStaff",
    "Reconciliation",
    "Recording",
    "RecurringPlan",
    "Refund",
    "ServiceEvidence",
    "ServiceOrder",
    "Settlement",
    "SmsMessage",
    "metadata",
]

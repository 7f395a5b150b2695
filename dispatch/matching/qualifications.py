"""Who may give hands-on care to a severely disabled elder: nursing and bathing for an elder assessed at
level 3 or worse (GB/T 42195-2022) go only to a provider holding the elder-care worker's certificate
(养老护理员证), itself or through an active member of its staff. DECIDED: the certificate is matched by its
name as providers and staff record it."""

from __future__ import annotations

from dispatch.catalog import ServiceType

CARE_CERTIFICATE = "养老护理员证"
HANDS_ON_CARE = frozenset({ServiceType.nursing, ServiceType.bathing})
SEVERE = 3


def required_for(service_type: ServiceType, ability_level: int) -> frozenset[str]:
    """The qualifications a provider needs to serve this elder with this service."""
    if service_type in HANDS_ON_CARE and ability_level >= SEVERE:
        return frozenset({CARE_CERTIFICATE})
    return frozenset()

"""Service evidence: check-in, check-out, items, photo and the elder's confirmation behind every paid service."""

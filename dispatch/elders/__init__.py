"""The registry of elders: identity, household, health record, contacts and devices."""

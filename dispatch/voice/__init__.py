"""The hotline: inbound and outbound voice calls, agents' states, recordings and service levels."""

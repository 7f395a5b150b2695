"""The event bus: one interface, an in-process implementation (embedded default) and a Redis one."""

"""The append-only audit log: who read or changed what, when and from where."""

"""Operators, their sessions, passwords and roles."""

"""Switchboard: a secure, multi-tenant API layer for hosted telephony and contact centres."""

__version__ = "0.1.0"

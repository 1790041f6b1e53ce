"""Principals, credentials and API keys."""

"""Helpers every domain shares: pagination, the schema base, the surfaces' URL prefixes, change tracking."""

"""Bulk directory import and export: CSV or JSON Lines, upserted through the directory services."""

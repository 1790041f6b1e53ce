"""Bulk directory import and export: CSV or JSON Lines, upserted through the directory services."""

# Rows per batch: large enough that the per-batch queries cost little per row, small enough that
# an interrupted load loses seconds, not minutes. (Here, not in importer.py: the CLI's option
# default needs it without importing the database layer.)
BATCH_SIZE = 2000

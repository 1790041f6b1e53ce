"""Storage: engines, the unit of work, raw-driver reads for hot paths, and migrations."""

"""The Noojee-compatible routes: thin adapters onto the same services as /api/v1."""

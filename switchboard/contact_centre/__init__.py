"""The contact centre: teams, campaign templates, campaigns and leads (Noojee vocabulary)."""

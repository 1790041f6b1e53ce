"""The URL prefix of the Noojee-compatible surface, for the layers that treat its requests apart
(credentials accept its apiKey parameter; errors there are answered in its envelope)."""

NOOJEE_PREFIX = "/servicemanager/rest/"

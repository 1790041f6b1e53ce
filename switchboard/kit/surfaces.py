"""The URL prefixes of the Noojee-compatible surface, for the layers that treat its requests apart
(credentials accept its apiKey parameter; errors there are answered in its envelope)."""

NOOJEE_PREFIX = "/servicemanager/rest/"
# Noojee's documentation also places RecordingAPI under /njadmin/rest/ (newer pages) and /rest/
# (older ones): requests there are Noojee requests too.
NOOJEE_PREFIXES = (NOOJEE_PREFIX, "/njadmin/rest/", "/rest/")

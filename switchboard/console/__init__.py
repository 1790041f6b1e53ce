"""The web console (/console/): server-rendered pages over the same services as the API."""

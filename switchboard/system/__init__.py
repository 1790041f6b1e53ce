"""System settings ("system variables"): DEFAULT_DOMAIN, the global key digests, ..."""

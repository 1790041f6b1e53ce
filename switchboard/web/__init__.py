"""The HTTP layer around the routes: one pure-ASGI middleware per concern, responses, error handlers."""

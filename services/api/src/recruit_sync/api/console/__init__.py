"""The web console: server-rendered pages (Jinja2) over the same typed RPC operations as the JSON API,
with htmx (2.0.11, vendored in ``static/`` with its licence) for the live parts. See ``pages``."""

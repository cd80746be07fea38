"""The web app and JSON API (FastAPI, Jinja2, htmx served from the package)."""

"""Prefect tasks: thin, idempotent wrappers of casework calls, notification sends and document renders."""

"""Prefect flows: the order of things and the waiting. No rule is decided here (rules live in models/)."""

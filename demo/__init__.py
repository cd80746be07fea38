"""The demo: a whole campaign on a fresh store, played through the real services and the case runner; the cast,
the script, and the generated roster it imports. Lives outside the interfaces and the service layer it drives."""

"""The `lostcontact` command: every action a committee takes, scriptably (see cli/REFERENCE.md)."""

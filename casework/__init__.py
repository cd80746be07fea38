"""The service layer: the only code that writes the case store. One function per user action, one transaction each."""

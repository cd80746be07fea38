"""The subcommands of `lostcontact`, one module per area; loaded on use by `cli.main.LazyGroup`."""

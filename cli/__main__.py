"""`python -m cli`: the `lostcontact` command."""
import sys

from cli.main import main

sys.exit(main())

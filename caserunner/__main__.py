"""`python -m caserunner`: one case runner process."""
from caserunner.runner import main

raise SystemExit(main())

"""`python -m skytrain`: the same entry point as the `skytrain` console script."""

from skytrain.cli import main

raise SystemExit(main())

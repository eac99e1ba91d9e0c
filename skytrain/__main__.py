from skytrain.cli import main

raise SystemExit(main())

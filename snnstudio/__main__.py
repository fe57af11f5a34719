from snnstudio.cli import main

raise SystemExit(main())

"""``python -m sandbox.generate OUTDIR --pods 5000 --nodes 500 --rbac 2000 --seed 1``."""

from sandbox.generate import main

raise SystemExit(main())

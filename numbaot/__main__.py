"""``python -m numbaot``: the same command as ``numbaot``."""
from .cli import main

raise SystemExit(main())

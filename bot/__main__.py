"""`python -m bot` is `otklik`."""

from bot.cli import main

raise SystemExit(main())

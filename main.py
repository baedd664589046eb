"""Gongkai 公开栏: ``python main.py`` opens the desktop app; ``python main.py --help`` lists commands."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())

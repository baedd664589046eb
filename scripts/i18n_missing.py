"""List the ``_()`` and ``N_()`` texts of the given source files that have no English translation
yet, as .po entries to fill in: ``python scripts/i18n_missing.py ui/main_window.py >> app/locale/en/x.po``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.i18n import _catalogue  # noqa: E402


def main(paths: list[str]) -> None:
    english = _catalogue("en")
    seen: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant)):
                text = node.args[0].value
                if text not in english and text not in seen:
                    seen.add(text)
                    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                    print(f'#: {path}:{node.lineno}\nmsgid "{escaped}"\nmsgstr ""\n')


if __name__ == "__main__":
    main(sys.argv[1:])

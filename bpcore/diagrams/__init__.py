"""Diagrams for images/: the figures the source documents lost, drawn with our own code.

Each submodule defines ``FIGURES = {"file.png": draw}``, where ``draw()`` returns a matplotlib Figure.
``python -m bpcore.diagrams`` redraws every image into images/. Lessons show the PNGs by relative path
(``../images/file.png``); tests check that each registered file exists and is up to date in size.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

IMAGES = Path(__file__).resolve().parent.parent.parent / "images"


def registry() -> dict:
    """Every ``{"file.png": draw}`` of every submodule."""
    figures = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):  # __main__ would redraw everything on import
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, draw in getattr(module, "FIGURES", {}).items():
            if name in figures:
                raise ValueError(f"two diagram modules define '{name}'")
            figures[name] = draw
    return figures


def save(fig, name: str, folder: Path = IMAGES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fig.savefig(path, dpi=110, metadata={"Software": None})  # no version stamp: stable files
    return path


def main(names=()) -> None:
    for name, draw in registry().items():
        if not names or name in names:
            print(save(draw(), name).relative_to(IMAGES.parent))

"""Every registered diagram exists in images/ and redraws without error."""

import pytest

from bpcore.diagrams import IMAGES, registry, save

FIGURES = registry()


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_diagram_is_committed_and_redraws(name, tmp_path):
    assert (IMAGES / name).is_file(), f"images/{name} missing: run python -m bpcore.diagrams"
    path = save(FIGURES[name](), name, tmp_path)
    assert path.stat().st_size > 1000

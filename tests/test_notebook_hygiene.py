"""What nbval does not check about the stored lessons: one clean run, in order, honest markers, images."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IMAGE_LINK = re.compile(r"\]\((\.\./images/[^)\s]+)\)|src=\"(\.\./images/[^\"]+)\"")


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_stored_as_one_clean_run(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3", "re-run with python -m bpcore.nbtools run"
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and source(c).strip()]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"execution counts {counts}: re-run the notebook"
    for i, c in enumerate(code):
        for out in c["outputs"]:
            assert out["output_type"] != "error", f"code cell {i} stored an error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), (
                f"code cell {i} stored stderr output (a warning?): {''.join(out['text'])[:200]}")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_only_explorers_and_progress_bars_hide_their_output(path):
    for i, c in enumerate(cells(path)):
        src = source(c)
        hidden = "nbval-ignore-output" in c.get("metadata", {}).get("tags", []) or "NBVAL_IGNORE_OUTPUT" in src
        assert "NBVAL_SKIP" not in src and "nbval-skip" not in c.get("metadata", {}).get("tags", []), (
            f"cell {i} is skipped by nbval: lessons run every cell")
        if hidden:
            assert re.search(r"Explorer|widgets|progress", src), (
                f"cell {i} hides its output from nbval but shows no widget: compare its results instead")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_markdown_images_exist_and_no_todo(path):
    for i, c in enumerate(cells(path)):
        if c["cell_type"] != "markdown":
            continue
        src = source(c)
        assert "TODO" not in src, f"markdown cell {i} says TODO"
        for link in IMAGE_LINK.findall(src):
            target = (path.parent / (link[0] or link[1])).resolve()
            assert target.is_file(), f"markdown cell {i} shows {link[0] or link[1]}, which does not exist"

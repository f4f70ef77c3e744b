"""Notebook tooling: re-execute the lessons in place so their stored outputs match bpcore.

    python -m bpcore.nbtools run                       # every notebook in notebooks/
    python -m bpcore.nbtools run notebooks/06_*.ipynb  # some of them
    python -m bpcore.nbtools portability               # nbval under several BLAS kernels and threads

Each notebook runs top to bottom in a fresh kernel from its own folder (so ``../images`` resolves as in
JupyterLab), with a fixed hash seed, no timing metadata, and a python3 kernelspec, so that the stored
file is the same on every machine and nbval (``pytest``) compares exactly what a student sees.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def lessons(paths=()) -> list[Path]:
    """The notebooks named in ``paths`` (files or globs), or every lesson in notebooks/."""
    if not paths:
        return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    found = []
    for p in paths:
        matches = sorted(Path().glob(p)) if any(c in p for c in "*?[") else [Path(p)]
        if not matches or not all(m.is_file() for m in matches):
            raise SystemExit(f"no notebook at '{p}'")
        found += matches
    return found


def _merge_streams(outputs):
    """Join consecutive prints to the same stream: how the kernel chunks them depends on timing."""
    merged = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if out.output_type == "stream" and prev is not None and prev.output_type == "stream" \
                and prev.name == out.name:
            prev.text += out.text
        else:
            merged.append(out)
    return merged


def _stable_widget_ids(text: str) -> str:
    """Rename the random widget model ids (uuid4 hex) to their order of first appearance.

    The widgets are created in the same order on every run, so the stored file is the same each time
    and a re-execution that changes no result shows no diff.
    """
    ids = {}
    return re.sub(r"\b[0-9a-f]{32}\b", lambda m: ids.setdefault(m.group(0), f"{len(ids) + 1:032x}"), text)


def execute(path: Path, timeout: int = 120) -> float:
    """Run ``path`` in a fresh python3 kernel and store it with its outputs; return seconds taken."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    os.environ["PYTHONHASHSEED"] = "0"
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nb.metadata.pop("widgets", None)  # live widget state varies run to run; a kernel redraws it anyway
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
    path.write_text(_stable_widget_ids(nbformat.writes(nb)) + "\n", encoding="utf-8")
    return time.perf_counter() - start


# What another machine computes: OpenBLAS picks a kernel for the CPU (and the environment may force one);
# kernels and thread counts differ in the last bits of every product. Each setting runs in its own
# process, since OpenBLAS reads these variables once, at load. A maintainer's check, never set in CI.
BLAS_SETTINGS = {
    "Sandybridge (AVX)": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "Haswell (AVX2)": {"OPENBLAS_CORETYPE": "Haswell"},
    "SkylakeX (AVX-512)": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "the CPU's own kernel": {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None},
    "one BLAS thread": {"OPENBLAS_NUM_THREADS": "1"},
}


def _has_avx512() -> bool:
    try:
        return " avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def portability(paths=()) -> int:
    """Run nbval over the lessons once per BLAS setting; print one result line each; 0 if all pass."""
    import subprocess

    targets = [str(p) for p in lessons(paths)]
    failed = 0
    for label, changes in BLAS_SETTINGS.items():
        if "SkylakeX" in label and not _has_avx512():
            print(f"{label:<24} skipped: this CPU has no AVX-512", flush=True)
            continue
        env = {k: v for k, v in os.environ.items() if k not in changes}
        env.update({k: v for k, v in changes.items() if v is not None})
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        failed += proc.returncode != 0
        print(f"{label:<24} {summary}", flush=True)
        if proc.returncode != 0:
            print("\n".join(line for line in proc.stdout.splitlines() if line.startswith("FAILED")))
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpcore.nbtools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="re-execute notebooks in place")
    run.add_argument("paths", nargs="*", help="notebooks or globs (default: all lessons)")
    run.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    port = sub.add_parser("portability", help="nbval over the lessons under each OpenBLAS kernel and one thread")
    port.add_argument("paths", nargs="*", help="notebooks or globs (default: all lessons)")
    args = parser.parse_args(argv)
    if args.command == "portability":
        return portability(args.paths)
    total = 0.0
    for path in lessons(args.paths):
        seconds = execute(path, args.timeout)
        total += seconds
        print(f"{path.name:<40} {seconds:6.1f} s", flush=True)
    print(f"{'total':<40} {total:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

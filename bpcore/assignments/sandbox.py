"""Start a student's kernel in a bubblewrap sandbox (or, without bwrap, as a plain separate process).

The sandbox sees a read-only whitelist of the machine (``/usr``, ``/etc``, Python's prefix, the
``bpcore`` package with its ``assignments/`` hidden under an empty tmpfs), a private ``/tmp``, and one
folder of its own, read-write, holding its copy of the notebook and the kernel's ipc sockets (ZMQ's
``ipc`` transport: the sandbox has no network at all). Its own PID, IPC, UTS and network namespaces
mean it cannot see or signal the grader or another submission, and it dies with the grader
(``--die-with-parent``). ``prlimit`` caps memory, processes, CPU time, file size and open files; when
the grader runs as root the kernel also drops to an unprivileged uid (root ignores the process limit).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import bpcore

PACKAGE = Path(bpcore.__file__).resolve().parent


@dataclass(frozen=True)
class Limits:
    memory: int = 3 << 30          # bytes of address space
    processes: int = 64
    cpu: int = 900                 # seconds of CPU time for the kernel and its children
    file_size: int = 64 << 20      # bytes of any one file written
    open_files: int = 256
    tmp_size: int = 256 << 20      # bytes of the private /tmp


@functools.lru_cache(maxsize=1)
def bwrap() -> str | None:
    """The path of a working ``bwrap``, else None (not installed, or user namespaces refused)."""
    path = shutil.which("bwrap")
    if not path:
        return None
    try:
        ok = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-pid", "--die-with-parent", "true"],
                            capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return path if ok else None


@functools.lru_cache(maxsize=1)
def version() -> str:
    try:
        return subprocess.run([bwrap(), "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError, TypeError):
        return "bwrap"


def _python_dirs() -> list[str]:
    import site

    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    with_user = site.getusersitepackages()
    if with_user and os.path.isdir(with_user):
        dirs.add(with_user)
    dirs = sorted(d for d in {str(Path(d).resolve()) for d in dirs} if os.path.isdir(d))
    return [d for d in dirs if not any(d != o and d.startswith(o + os.sep) for o in dirs)
            and not d.startswith(("/usr/", "/etc/"))]


def _parents_to_open(paths, bound) -> list[str]:
    """Folders bwrap creates on the way to a bind target (mode 0700 by default): opened to 0755."""
    out = []
    for p in paths:
        for parent in reversed(Path(p).parents):
            s = str(parent)
            if s == "/" or any(s == b or s.startswith(b + os.sep) for b in bound):
                continue
            if s not in out:
                out.append(s)
    return out


def argv(home: Path, limits: Limits, uid: int | None) -> list[str]:
    """The command that runs ``python -m ipykernel_launcher -f {connection_file}`` sandboxed."""
    args = [bwrap()]
    system = []
    for top in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
            system.append(top)
    # the private /tmp first: later binds override earlier ones, so a venv, the course or the submission's
    # folder that lives under /tmp (a CI checkout in /tmp/...) is bound on top of it, not hidden by it
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.tmp_size), "--perms", "1777", "--tmpfs", "/tmp"]
    pydirs = _python_dirs()
    for d in pydirs:
        args += ["--ro-bind", d, d]
    pkg = str(PACKAGE)
    args += ["--ro-bind", pkg, pkg, "--tmpfs", str(PACKAGE / "assignments"), "--bind", str(home), str(home)]
    for d in _parents_to_open([*pydirs, pkg, str(home)], system + pydirs + [pkg, str(home)]):
        args += ["--chmod", "0755", d]
    common = ["--die-with-parent", "--new-session", "--unsetenv", "JPY_PARENT_PID", "--chdir", str(home)]
    if uid is not None:  # as root: no user namespace, so that the kernel can drop to an unprivileged uid
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 *common, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                 "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--"]
    else:
        args += ["--unshare-all", *common, "--"]
    args += ["prlimit", f"--as={limits.memory}", f"--nproc={limits.processes}", f"--cpu={limits.cpu}",
             f"--fsize={limits.file_size}", f"--nofile={limits.open_files}", "--core=0", "--",
             sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return args


def kernelspec(folder: Path, home: Path, limits: Limits, uid: int | None) -> str:
    """Write a kernelspec for the sandboxed kernel under ``folder``; return its name."""
    spec = folder / "bpcore-sandbox"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": argv(home, limits, uid), "display_name": "sandboxed submission", "language": "python",
        "interrupt_mode": "message"}))  # SIGINT to bwrap does not reach the kernel: ask it over the wire
    return spec.name


def environment(home: Path) -> dict:
    """The whole environment of a student's kernel: nothing of the grader's (no tokens, no paths)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
        "PYTHONPATH": str(PACKAGE.parent), "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MPLCONFIGDIR": str(home / ".matplotlib"), "IPYTHONDIR": str(home / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(home / ".jupyter"), "JUPYTER_DATA_DIR": str(home / ".jupyter"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "TMPDIR": "/tmp", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def prepare_home(home: Path) -> None:
    """A fresh own folder, with matplotlib's font cache copied in (building it costs seconds)."""
    (home / ".matplotlib").mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib

        cache = Path(matplotlib.get_cachedir())
        for f in cache.glob("fontlist-*.json"):
            shutil.copy(f, home / ".matplotlib" / f.name)
    except Exception:
        pass


def sandbox_uid() -> int | None:
    """An unprivileged uid for the kernel when the grader is root (else None: bwrap maps the user)."""
    return 60000 + os.getpid() % 5000 if os.geteuid() == 0 else None


def hand_over(home: Path, uid: int | None) -> None:
    if uid is None:
        return
    for root, _dirs, files in os.walk(home):
        os.chown(root, uid, uid)
        for f in files:
            os.chown(os.path.join(root, f), uid, uid)

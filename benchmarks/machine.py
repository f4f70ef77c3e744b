"""What a benchmark ran on: the BLAS library, its kernel and threads, the load, and numpy's matmul peak.

OpenBLAS picks a kernel for the CPU at start-up, unless the environment forces one: ``OPENBLAS_CORETYPE``
names a kernel (e.g. ``Haswell`` on a CPU that has AVX-512, whose own kernel is ``SkylakeX``) and
``OPENBLAS_L2_SIZE`` overrides the cache size its blocking is tuned to. Some machines set both, and then
every matrix product runs slower than on a user's machine with the same CPU. The kernel in use is read
with ``threadpoolctl`` (a requirement of bpcore; torch is optional); the CPU's own kernel is read the same
way in a child process started without the two variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_PROBE = ("import json, numpy, threadpoolctl; "
          "print(json.dumps([i for i in threadpoolctl.threadpool_info() if i.get('user_api') == 'blas']))")


def blas_pools(env=None) -> list[dict] | None:
    """threadpoolctl's BLAS entries (library, version, ``architecture`` = kernel, threads), or None without
    threadpoolctl. With ``env``, asked of a fresh Python started with that environment."""
    if env is None:
        try:
            import numpy  # noqa: F401  (loads the BLAS library so threadpoolctl can see it)
            import threadpoolctl
        except ImportError:
            return None
        return [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout) if done.returncode == 0 else None


def own_kernel_env() -> dict:
    """This environment without the variables that force an OpenBLAS kernel."""
    return {k: v for k, v in os.environ.items() if k not in FORCING}


def rerun_command() -> str:
    """The command that runs this benchmark on the CPU's own kernel (the variables unset in it alone)."""
    unset = " ".join(f"-u {k}" for k in FORCING)
    return f"env {unset} python {' '.join(sys.orig_argv[1:])}"


def describe(torch_threads: int | None = None) -> list[str]:
    """Lines saying what the benchmark runs on, with a warning when the kernel is not the CPU's own."""
    import numpy as np

    lines = []
    pools = blas_pools()
    forced = {k: os.environ[k] for k in FORCING if k in os.environ}
    if pools is None:
        cfg = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        lines.append(f"numpy {np.__version__}, BLAS {cfg.get('name', '?')} {cfg.get('version', '')} "
                     f"(kernel and threads unknown: pip install threadpoolctl to see them)")
        own = None
    else:
        for pool in pools:
            lines.append(f"numpy {np.__version__}, BLAS {pool.get('internal_api')} {pool.get('version')}: "
                         f"kernel {pool.get('architecture', '?')}, {pool.get('num_threads')} threads")
        own = None
        if forced:
            other = blas_pools(own_kernel_env())
            own = other[0].get("architecture") if other else None
    if torch_threads is not None:
        import torch
        lines.append(f"torch {torch.__version__} (MKL/oneDNN), {torch_threads} threads")
    if forced:
        current = pools[0].get("architecture") if pools else None
        setting = ", ".join(f"{k}={v}" for k, v in forced.items())
        if own and current and own != current:
            what = f"forces the OpenBLAS kernel {current}; this CPU's own kernel is {own}"
        else:
            what = "overrides OpenBLAS's own choice for this CPU" + (f" (kernel {current})" if current else "")
        lines.append(f"WARNING: the environment sets {setting}, which {what}: numpy's matrix products run "
                     f"slower than on a user's machine with this CPU. To measure what a user gets, run "
                     f"(the variables unset in that command alone):\n    {rerun_command()}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append(f"1-minute load average {load:.1f} on {os.cpu_count()} CPUs (other work on the machine slows "
                 "every candidate; best-of times)")
    return lines


def matmul_peak(dtype, sizes=(1024, 2048), repeats: int = 5) -> float:
    """numpy's best matrix-product rate in GFLOP/s on square matrices of ``sizes`` (2·n³ per product)."""
    import numpy as np

    rng = np.random.default_rng(0)
    best = 0.0
    for n in sizes:
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        out = np.empty((n, n), dtype)
        np.matmul(a, b, out=out)
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = max(best, 2.0 * n**3 / (time.perf_counter() - start) / 1e9)
    return best

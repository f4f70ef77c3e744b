"""Explorer of lesson 04: gradient descent on an ill-conditioned quadratic, against one Newton step.

``f(x) = ½ xᵀ H x`` with ``H = R diag(λ_max, λ_max/κ) Rᵀ`` (``λ_max = 1``, rotated by 30°), minimum at 0.
Gradient descent multiplies the error along eigenvector i by ``1 - ε λ_i`` each step: it converges iff
``ε < 2/λ_max``, and at best by ``(κ-1)/(κ+1)`` per step; Newton's step ``-H⁻¹ g`` lands on 0 at once.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from bpcore.optim import gradient_descent, newton_step
from bpcore.plots import COLORS, GRADIENT, norm_curves
from bpcore.validate import check_scalar
from bpcore.widgets import Explorer

START = np.array([-1.6, 0.9])


def quadratic_hessian(kappa: float, angle: float = np.pi / 6, lam_max: float = 1.0) -> np.ndarray:
    """``H = R diag(λ_max, λ_max/κ) Rᵀ``: symmetric positive definite with condition number ``κ``."""
    check_scalar("kappa", kappa, low=1)
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    return R @ np.diag([lam_max, lam_max / kappa]) @ R.T


def compute(lr: float = 1.0, kappa: float = 10.0, n_steps: int = 40, *, grid: int = 80) -> dict:
    """Gradient-descent path and gradient norms from ``START``, the Newton step, and a contour grid."""
    check_scalar("lr", lr, low=0, low_open=True)
    check_scalar("n_steps", n_steps, low=1, integer=True)
    H = quadratic_hessian(kappa)
    lams = np.linalg.eigvalsh(H)
    path = gradient_descent(lambda x: H @ x, START, lr, n_steps)
    with np.errstate(over="ignore", invalid="ignore"):
        grad_norm = np.linalg.norm(path @ H, axis=1)  # H symmetric: ∇f(x_t) = H x_t
    newton = newton_step(START, H @ START, H)
    u = np.linspace(-2.0, 2.0, grid)
    U, V = np.meshgrid(u, u)
    P = np.stack([U, V], axis=-1)
    F = 0.5 * np.einsum("...i,ij,...j->...", P, H, P)
    return {"H": H, "lam_min": float(lams[0]), "lam_max": float(lams[-1]), "kappa": float(kappa),
            "lr": float(lr), "path": path, "grad_norm": grad_norm, "newton": newton,
            "rate": float(np.max(np.abs(1 - lr * lams))), "grid": (U, V, F)}


def draw(fig, result: dict) -> str:
    """Left: contours, the descent path and the Newton step; right: ‖∇f‖ against iteration."""
    ax_c, ax_n = fig.axes
    U, V, F = result["grid"]
    ax_c.contour(U, V, F, levels=np.geomspace(max(F.min(), 1e-4) + 1e-3, F.max(), 12), colors="#bbbbbb",
                 linewidths=0.8)
    path = result["path"]
    ok = np.all(np.isfinite(path), axis=1)
    ax_c.plot(path[ok, 0], path[ok, 1], "o-", ms=3, lw=1, color=COLORS[0],
              label=f"gradient descent, ε = {result['lr']:.2f}")
    ax_c.annotate("", xy=result["newton"], xytext=path[0], arrowprops=dict(arrowstyle="-|>", color=GRADIENT, lw=2))
    ax_c.plot(*result["newton"], "*", ms=12, color=GRADIENT, label="one Newton step")
    ax_c.set_xlim(-2, 2)
    ax_c.set_ylim(-2, 2)
    ax_c.set_aspect("equal")
    ax_c.set_xlabel("$x_1$")
    ax_c.set_ylabel("$x_2$")
    ax_c.set_title(f"$f = \\frac{{1}}{{2}} x^T H x$, condition number κ = {result['kappa']:.0f}")
    ax_c.legend(fontsize=8, loc="lower right")
    norm_curves(ax_n, np.arange(len(result["grad_norm"])), {"gradient descent": result["grad_norm"]},
                xlabel="iteration t", ylabel=r"$\|\nabla f(x_t)\|$",
                title=f"2/λ_max = {2 / result['lam_max']:.2f}")
    verdict = "converges" if result["rate"] < 1 else "diverges"
    return (f"ε = {result['lr']:.3f}, 2/λ_max = {2 / result['lam_max']:.3f}: {verdict} "
            f"(error factor per step max|1-ελ| = {result['rate']:.3f});  best ε = 2/(λ_min+λ_max) gives "
            f"{(result['kappa'] - 1) / (result['kappa'] + 1):.3f};  Newton: one step to the minimum")


def explorer() -> Explorer:
    """Step size ε and condition number κ of the quadratic."""
    controls = {
        "lr": widgets.FloatSlider(value=1.0, min=0.05, max=2.6, step=0.05, description="step ε"),
        "kappa": widgets.FloatLogSlider(value=10.0, base=10, min=0, max=2.5, step=0.1, description="κ"),
    }
    return Explorer(compute, draw, controls, width=10.5, height=4.2, ncols=2)

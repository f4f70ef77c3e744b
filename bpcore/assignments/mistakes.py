"""Known mistakes, lesson by lesson, that the grader recognises by their outputs.

Each :class:`Mistake` is the lesson's own solution cell with the mistake written in (``replace`` pairs of
exact text, applied in order). When an exercise fails, the grader re-runs the student's recorded calls
through each variant: the one that reproduces the student's outputs (where the reference does not) gives
its ``hint``. Mistakes the gradient check already names by itself (a transposed weight, an all-zero bias
gradient, a sign or constant factor) need no entry here: ``bpcore.gradcheck`` prints a hint for them.

If a lesson's solution text changes so that a ``replace`` no longer applies, ``variant_source`` raises
and tests/test_assignments.py fails, so this file is kept in step with the lessons.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    exercise: str          # "6.2"
    name: str              # short id, shown in the report
    hint: str              # what the student did, in their terms, and what to do instead
    replace: tuple         # ((old, new), ...) applied to the solution cell's source
    function: str = ""     # the function the variant redefines (default: the exercise's graded function)


class StaleMistake(ValueError):
    """A mistake's text no longer occurs in the lesson's solution cell."""


def variant_source(mistake: Mistake, solution_source: str) -> str:
    src = solution_source
    for old, new in mistake.replace:
        if old not in src:
            raise StaleMistake(f"mistake '{mistake.name}' of exercise {mistake.exercise}: text {old!r} "
                               "is not in the lesson's solution cell any more")
        src = src.replace(old, new)
    if src == solution_source:
        raise StaleMistake(f"mistake '{mistake.name}' of exercise {mistake.exercise} changes nothing")
    return src


# Keyed by lesson number. The fixture lesson (98, tests/fixtures/lesson98.py) documents the pattern.
MISTAKES: dict[int, list[Mistake]] = {
    9: [
        Mistake("9.1", "batch-mean-missing",
                "the loss is the MEAN cross-entropy over the batch: divide delta_z (softmax minus one-hot) by B",
                (("    delta_z /= B\n", ""),)),
        Mistake("9.1", "one-hot-not-subtracted",
                "delta_z is softmax(z) minus the one-hot label: subtract 1 at each example's true class",
                (("    delta_z[y, np.arange(B)] -= 1.0\n", ""),)),
    ],
    98: [
        Mistake("98.2", "sigmoid-derivative",
                "you used the sigmoid's derivative h(1 - h) where the layer is tanh: tanh' = 1 - h²",
                (("dout * (1 - h ** 2)", "dout * h * (1 - h)"),)),
        Mistake("98.1", "bias-not-summed-over-batch",
                "the bias gradient must add up the upstream gradient over the batch columns",
                (('dout.sum(axis=1, keepdims=True)', 'dout[:, :1]'),)),
    ],
    1: [
        Mistake("1.1", "derivative-at-wrong-point",
                "you evaluated f' at the new h after stepping; the chain rule needs f'(h_{k-1}), the input of "
                "each application: multiply by f_prime(h) before h = f(h)",
                (("derivative *= f_prime(h)\n        h = f(h)", "h = f(h)\n        derivative *= f_prime(h)"),)),
        Mistake("1.3", "missing-projection",
                "you kept only dy / ‖x‖ and dropped the term -y (yᵀ dy) / ‖x‖: y depends on x also through "
                "the norm, so every component of x gets a share of every dy",
                (("(dy - y * np.sum(y * dy, axis=0, keepdims=True)) / norm", "dy / norm"),)),
    ],
    2: [
        Mistake("2.1", "upstream-G-dropped",
                "you returned the local derivative σ(x) alone; a bprop returns G times the local derivative "
                "(G is the gradient arriving from the output)",
                (("return G * 0.5 * (1 + np.tanh(0.5 * x))", "return 0.5 * (1 + np.tanh(0.5 * x))"),)),
    ],
    3: [
        Mistake("3.1", "relu-derivative-missing",
                "you passed dh straight through the ReLU; units with a ≤ 0 pass no gradient: da = dh * (a > 0)",
                (("da = dh * (a > 0)", "da = dh"),)),
    ],
    4: [
        Mistake("4.1", "tanh-derivative",
                "you used tanh's derivative 1 - s² for the logistic unit; σ'(a) = σ(a)(1 - σ(a))",
                (("F.sigmoid_grad(w.T @ x + b)", "(1 - F.sigmoid(w.T @ x + b) ** 2)"),)),
    ],
    5: [
        Mistake("5.1", "one-tangent-missing",
                "you pushed forward only one input's tangent; the tangent of W h_prev is W_dot h_prev + W h_prev_dot",
                (("(W_dot @ h_prev + W @ h_prev_dot)", "(W_dot @ h_prev)"),)),
        Mistake("5.2", "tanh-derivative-missing",
                "you sent h_bar back without the factor 1 - h² of the tanh: a_bar = h_bar * (1 - h**2)",
                (("a_bar = h_bar * (1 - h**2)", "a_bar = h_bar"),)),
    ],
    6: [
        Mistake("6.1", "sigmoid-derivative",
                "you used the sigmoid's derivative h(1 - h); the RNN's nonlinearity is tanh: 1 - h²",
                (("da = dh_t * (1 - h_t ** 2)", "da = dh_t * h_t * (1 - h_t)"),)),
        Mistake("6.2", "dh-next-dropped",
                "each step got only its own dh_t: the gradient carried back from step t+1 (dh_next, here "
                "'carry') must be ADDED to it before the step's backward",
                (("(dh[t] + carry,", "(dh[t],"),)),
        Mistake("6.2", "own-dh-not-added",
                "only the last step received its dh_T; every earlier step must add its own dh_t to the gradient "
                "carried back (dh_next)",
                (("(dh[t] + carry,", "(dh[t] if t == T - 1 else carry,"),)),
    ],
    7: [
        Mistake("7.3", "dh-next-dropped",
                "dh_t got only W_qh^T do_t: the gradient carried back from step t+1 (W_hh^T dh_{t+1}) must be "
                "added to it",
                (("dh_t = W_qh.T @ do[t] + carry", "dh_t = W_qh.T @ do[t]"),)),
        Mistake("7.3", "W_hh-not-transposed",
                "going back through h_t = W_hh h_{t-1} multiplies by W_hh^T, not W_hh (a transposed weight)",
                (("carry = W_hh.T @ dh_t", "carry = W_hh @ dh_t"),)),
    ],
    8: [
        Mistake("8.1", "candidate-sigmoid-derivative",
                "you used the sigmoid's derivative for the candidate C̃; C̃ comes from a tanh: "
                "its derivative is 1 - C̃²",
                (('"c": delta_Ct * (1 - C_tilde**2)', '"c": delta_Ct * C_tilde * (1 - C_tilde)'),)),
        Mistake("8.1", "h-to-C-path-missing",
                "you forgot the path from h to C inside the step: δC gets δh · o · (1 - tanh²(C)) added to the "
                "δC arriving from the next step",
                (("delta_C = delta_C + delta_h * o * (1 - tanh_C**2)", "delta_C = delta_C"),)),
    ],
}


def for_lesson(number: int | None) -> list[Mistake]:
    return list(MISTAKES.get(number, [])) if number is not None else []

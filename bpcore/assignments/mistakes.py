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
    98: [
        Mistake("98.2", "sigmoid-derivative",
                "you used the sigmoid's derivative h(1 - h) where the layer is tanh: tanh' = 1 - h²",
                (("dout * (1 - h ** 2)", "dout * h * (1 - h)"),)),
        Mistake("98.1", "bias-not-summed-over-batch",
                "the bias gradient must add up the upstream gradient over the batch columns",
                (('dout.sum(axis=1, keepdims=True)', 'dout[:, :1]'),)),
    ],
}


def for_lesson(number: int | None) -> list[Mistake]:
    return list(MISTAKES.get(number, [])) if number is not None else []

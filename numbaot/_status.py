"""Solver status codes, their messages, and the warning raised when a solver did not converge.

Cores return a plain ``int`` status (Numba cannot return an enum cheaply); front-ends turn it into
:class:`Status` and call :func:`warn_status`.
"""
from __future__ import annotations

import enum
import warnings


class Status(enum.IntEnum):
    """How a solver ended. ``OPTIMAL`` is the only status that means the answer can be trusted as is."""

    OPTIMAL = 0
    MAX_ITER_REACHED = 1
    INFEASIBLE = 2
    UNBOUNDED = 3
    NUMERICAL_ERROR = 4

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.OPTIMAL: "solved to optimality",
    Status.MAX_ITER_REACHED: "stopped at max_iter before convergence; raise max_iter or loosen tol",
    Status.INFEASIBLE: "the problem has no feasible transport plan",
    Status.UNBOUNDED: "the objective is unbounded below",
    Status.NUMERICAL_ERROR: "NaN or inf appeared during the iterations; the result is not usable",
}


#: The codes as plain ints, for compiled code (an IntEnum member and an int do not unify in Numba's typing). Every
#: core takes its codes from here; ``CONTINUE`` is the cores' "keep iterating" (never a solver's final status).
OPTIMAL = int(Status.OPTIMAL)
MAX_ITER_REACHED = int(Status.MAX_ITER_REACHED)
INFEASIBLE = int(Status.INFEASIBLE)
UNBOUNDED = int(Status.UNBOUNDED)
NUMERICAL_ERROR = int(Status.NUMERICAL_ERROR)
CONTINUE = -1


class ConvergenceWarning(UserWarning):
    """A solver stopped without reaching its optimality or tolerance criterion."""


def warn_status(status: int, solver: str, detail: str = "", stacklevel: int = 3) -> Status:
    """Return ``Status(status)`` and emit a :class:`ConvergenceWarning` unless it is ``OPTIMAL``."""
    status = Status(int(status))
    if status is not Status.OPTIMAL:
        text = f"{solver}: {status.name}: {status.message}"
        if detail:
            text += f" ({detail})"
        warnings.warn(text, ConvergenceWarning, stacklevel=stacklevel)
    return status

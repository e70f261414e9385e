"""Run the checks in order, each timed and caught on its own, and format the one-screen report."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence

from vald_desktop.core.base.errors import ValdError
from vald_desktop.selftest import environment, pipeline
from vald_desktop.selftest.state import Check, CheckResult, SelfTest

EXIT_FAILED = 2  # as for every typed error of the CLI: a failed check ends in one "error:" line and exit 2


def default_checks() -> list[Check]:
    return [*environment.CHECKS, *pipeline.CHECKS]


def run_selftest(
    model: str | None = None,
    device: str | None = None,
    *,
    extra: Sequence[Check] = (),
    on_result: Callable[[CheckResult], None] | None = None,
    checks: Sequence[Check] | None = None,
) -> list[CheckResult]:
    """Every check (``checks``, default :func:`default_checks`, then ``extra``), in order; ``on_result`` sees
    each result as soon as it is known (a live report)."""
    state = SelfTest(model=model, device=device)
    results = []
    for name, check in [*(default_checks() if checks is None else checks), *extra]:
        result = _run_one(name, check, state)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _run_one(name: str, check: Callable[[SelfTest], str], state: SelfTest) -> CheckResult:
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            sentence = check(state)
            ok = True
        except ValdError as exc:
            sentence, ok = str(exc), False
        except Exception as exc:  # a self-test reports what broke instead of stopping
            sentence, ok = _one_line(f"{type(exc).__name__}: {exc}"), False
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if ok and notes:
        sentence = f"{sentence} (warning: {_one_line(notes[0])})"
    return CheckResult(name, ok, sentence, time.perf_counter() - t0)


def _one_line(text: str, limit: int = 240) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def format_line(r: CheckResult) -> str:
    return f"{'ok' if r.ok else 'FAILED':<7}{r.name:<16}{r.sentence} [{r.seconds:.1f} s]"


def header(how: str) -> str:
    return f"VALD-MD Desktop self-test ({how}); exit 0 only when every check passes"


def summary(results: Sequence[CheckResult]) -> str:
    total = sum(r.seconds for r in results)
    failed = [r.name for r in results if not r.ok]
    if not failed:
        return f"All {len(results)} checks passed in {total:.1f} s."
    return f"{len(failed)} of {len(results)} checks failed ({', '.join(failed)}) in {total:.1f} s."


def failure_sentence(results: Sequence[CheckResult]) -> str | None:
    """The one ``error:`` sentence for a failed self-test, or None when everything passed."""
    failed = [r.name for r in results if not r.ok]
    return f"The self-test failed: {', '.join(failed)}." if failed else None


def as_json(results: Sequence[CheckResult]) -> dict[str, object]:
    return {
        "ok": all(r.ok for r in results),
        "checks": [
            {"name": r.name, "ok": r.ok, "sentence": r.sentence, "seconds": round(r.seconds, 3)}
            for r in results
        ],
    }

"""Grading set-up for lab 01 (Context window optimisation) — instructor only.

Student kernels see the course read-only, so the sample project the lab loads must exist before any
kernel starts: `prepare` generates it for the grading seed (once per grader process). Trusted
contexts and hidden checks for this lab: add them here, following instructor/hidden/lab00.py.
"""

from labkit import context
from labkit.grading.hidden import Given


def prepare(given: Given) -> None:
    context.sample_project(seed=given.seed)

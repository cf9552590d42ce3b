"""The instructor's grader (never shipped in the student edition).

``python -m grading SUBMISSIONS --reference chapters --out grades/`` grades every
student's programming exercises with hidden tests in a sandbox; see
``chapters/instructors.md``.
"""

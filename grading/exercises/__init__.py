"""Hidden tests, one module per programming exercise (instructor-only; never shipped).

Each module defines ``EXERCISE``, an :class:`grading.registry.Exercise` whose ``id`` is
the exercise id in the notebooks' cell metadata. To add an exercise, add a module here
(see ``chapters/instructors.md``, "Adding hidden tests").
"""

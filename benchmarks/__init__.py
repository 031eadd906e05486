"""zanith's performance suite: every ``benchmarks/<name>.py`` with ``run() -> list[dict]`` is one benchmark.

Each row reports a ratio against a baseline measured in the same run (keys ``benchmark``,
``measured_s``, ``baseline``, ``baseline_s``, ``ratio``, ``goal``), never an absolute time judged on
another machine. Run them all with ``python -m benchmarks`` (or some: ``python -m benchmarks apply``).
"""

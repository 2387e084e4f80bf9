"""Hypothesis profiles for the property suite.

A failing example here is shrunk for up to a few minutes (every try builds a fresh store). To see
the first failure at once, unshrunk: ``pytest tests/property --hypothesis-profile=fast-fail``.
"""

from hypothesis import Phase, settings

settings.register_profile("fast-fail", phases=[Phase.explicit, Phase.reuse, Phase.generate])

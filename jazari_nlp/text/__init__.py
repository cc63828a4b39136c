"""The Moroccan text layer: language registry, normalization, script and language identification, Arabizi."""

__all__: list[str] = []

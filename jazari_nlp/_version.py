"""The package version, in a module of its own so that any layer can name it without importing the package's
``__init__`` (which imports the model wrappers). Example: ``from jazari_nlp._version import __version__``."""

__version__ = "0.1.0"

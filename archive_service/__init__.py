"""Electronic records preservation service: intake, validation, preservation, storage, retrieval."""

__version__ = "0.1.0"

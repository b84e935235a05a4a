"""simplextui: a private, end-to-end-encrypted messenger for the terminal."""

__version__ = "0.1.0"

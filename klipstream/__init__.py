"""klipstream: find the moments that matter in long livestreams."""

__version__ = "0.1.0"

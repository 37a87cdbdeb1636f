"""bringup: silicon bring-up and lab automation."""

__version__ = "0.1.0"

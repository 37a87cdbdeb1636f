"""The simulated lab: SCPI servers on loopback TCP, the chip's UART on a pty, one physics model."""

from bringup.simlab.lab import SimLab, run_foreground

__all__ = ["SimLab", "run_foreground"]

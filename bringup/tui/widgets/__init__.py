"""Widgets of the live screen, each showing one part of a LiveSnapshot."""

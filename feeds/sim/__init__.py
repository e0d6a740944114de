"""Synthetic floors: the seeded generator and its ground truth, the live simulator, the
demo floor (a hub and a simulator in one process)."""

"""The floor as a supervisor client sees it: hub messages folded into per-call state and
handed to a UI as immutable frames. Reads no clock; the caller passes wall time in."""

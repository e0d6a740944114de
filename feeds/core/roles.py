"""The roles of protocol v1's Authentication section and what each may ask the hub.

One table for both sides: the hub refuses a request beyond the role (`forbidden`),
and the board offers only what the role may do (a viewer's board is read-only).
"""

from __future__ import annotations

ROLES = ("producer", "viewer", "lead", "supervisor", "admin")
#: Who may send each subscriber request (subscribe itself: anyone on /subscribe).
REQUEST_ROLES = {
    "ack": frozenset({"lead", "supervisor", "admin"}),
    "snooze": frozenset({"lead", "supervisor", "admin"}),
    "note": frozenset({"lead", "supervisor", "admin"}),
    "history": frozenset({"lead", "supervisor", "admin"}),
    "action": frozenset({"supervisor", "admin"}),
}


def may(role: str | None, request: str) -> bool:
    """Whether `role` may send `request`; None (a hub without authentication) may
    send anything."""
    allowed = REQUEST_ROLES.get(request)
    return role is None or allowed is None or role in allowed


def needs(request: str) -> str:
    """The roles that may send `request`, in order: "lead or supervisor or admin"."""
    allowed = REQUEST_ROLES.get(request, frozenset(ROLES))
    return " or ".join(role for role in ROLES if role in allowed)

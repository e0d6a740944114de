"""Producers of real call data: call audio into protocol v1 messages, and gateways
that telephony platforms stream live calls to."""

"""The two ends of a connection to a hub: `publisher` (producers, reconnecting, paced) and
`subscriber` (supervisor clients, reconnecting, with a status stream)."""

"""The hub: producers publish, the hub detects once and keeps each flag's supervisor
state, subscribers watch; the SQLite store keeps what must survive a restart."""

"""floorwatch without its UI: everything that produces, carries and interprets call data.

Read the packages in the order the data flows:

- `feeds.core`   — the wire protocol, recordings, the detection engine and its rules
                   (pure functions of the messages; the hot modules compiled).
- `feeds.sim`    — producers of synthetic floors: the generator, `simulate`, the demo floor.
- `feeds.hub`    — the server: ingest, detection once, flags' supervisor state, fan-out,
                   the SQLite store.
- `feeds.client` — the two ends of a connection to a hub: publishing and subscribing.
- `feeds.floor`  — the floor as a supervisor client sees it, folded from hub messages
                   into immutable frames for a UI.

Nothing here imports textual (an import-linter contract, pyproject.toml).
"""

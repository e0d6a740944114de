"""Ways to reach the board from elsewhere: an SSH server (`ssh`), each session the TUI
in its own process on its own pseudo-terminal (`child`)."""

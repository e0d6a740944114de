"""The app's screens: board, call detail, alerts, coaching queue, agent summary, help."""

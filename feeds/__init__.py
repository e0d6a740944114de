"""floorwatch's core: protocol, recordings, detection, hub, producers, store, client.

Importing the package first settles which of its modules run compiled (see
feeds.compiled): never one built from older sources than the .py beside it.
"""

from feeds import compiled as _compiled  # noqa: F401 - installs the import rule

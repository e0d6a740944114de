"""The core: protocol, recordings, detection, replay. Pure functions of the messages.

Importing the package first settles which of its modules run compiled (see
feeds.core.compiled): never one built from other sources than the .py beside it.
"""

from feeds.core import compiled as _compiled  # noqa: F401 - installs the import rule

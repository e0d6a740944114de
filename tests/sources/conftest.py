"""Real speech for the audio tests: espeak-ng and sox (installed by `make tools`)."""

from __future__ import annotations

import pytest

from tests.speech import Speech, tools_present


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    if not tools_present():
        pytest.fail("espeak-ng and sox are needed: `make tools` installs them")
    return Speech(tmp_path_factory.mktemp("speech"))

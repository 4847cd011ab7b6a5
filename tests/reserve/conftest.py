from tests.letters.conftest import admin, lawyer  # noqa: F401 - the signed-in lawyer
from tests.mail.conftest import smtp  # noqa: F401 - the aiosmtpd fixture

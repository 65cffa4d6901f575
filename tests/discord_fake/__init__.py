"""A local fake Discord (REST + gateway) for end-to-end tests of the Discord front-end."""
from tests.discord_fake.payloads import (ALL_PERMISSIONS, MEMBER_PERMISSIONS, FakeGuild, FakeMember)
from tests.discord_fake.server import FakeDiscord, FakeInteraction, Recorded

__all__ = ["ALL_PERMISSIONS", "MEMBER_PERMISSIONS", "FakeDiscord", "FakeGuild", "FakeInteraction",
           "FakeMember", "Recorded"]

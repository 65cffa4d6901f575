"""Figment's bot: chat front-ends, the platform-neutral game core and the command line."""

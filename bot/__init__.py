"""Figment's bot: chat front-ends, the platform-neutral game core and the command line.

The top holds the core (app.py assembles it) and the features that are one module each (faces,
daily, hall, boards, chat settings); the quiz is quiz/, process plumbing ops/, and the front-ends
telegram_app/, discord_app/, web_app/ (they reach db/ only through the core).
"""

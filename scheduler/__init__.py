"""APScheduler jobs run inside the bot process, in the body's time zone."""

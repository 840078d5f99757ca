"""In-process Telegram Bot API emulator and its self-tests."""

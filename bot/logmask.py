"""Keeps the bot token out of every log line: Bot API URLs carry it (`/bot<token>/getMe`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final

#: What a Bot API token looks like (`123456789:AAE…`), wherever it appears: in a URL after
#: `/bot`, in an exception text, in a repr. Masked even when it is not the configured token.
TOKEN_RE: Final = re.compile(r"(?<![0-9])[0-9]{3,20}:[A-Za-z0-9_-]{20,}")
#: A token in a Bot API URL path, whatever its shape: `/bot<token>/method`.
URL_TOKEN_RE: Final = re.compile(r"/bot[^/\s:]*:[^/\s]+")
MASK: Final = "<hidden-token>"


class TokenMaskFilter(logging.Filter):
    """Replaces the configured token(s) and anything shaped like a token with a mask.

    Installed on handlers, so it sees every record that is written, whatever logger made it.
    The message is formatted here (arguments included) and the traceback rendered and masked
    in advance, because the formatter would otherwise print the exception text unmasked.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = URL_TOKEN_RE.sub("/bot" + MASK, text)
        return TOKEN_RE.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call: the handler reports it, as without the filter
        masked = self.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def install_token_filter(
    secrets: Iterable[str] = (), logger: logging.Logger | None = None
) -> TokenMaskFilter:
    """Add one masking filter to every handler of the logger (the root logger by default)."""
    target = logger or logging.getLogger()
    mask = TokenMaskFilter(secrets)
    for handler in target.handlers:
        for old in [f for f in handler.filters if isinstance(f, TokenMaskFilter)]:
            handler.removeFilter(old)
        handler.addFilter(mask)
    return mask

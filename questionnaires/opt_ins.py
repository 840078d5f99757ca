"""What a chat may ask to hear about: a value of the domain, shared by the bot and the stores."""

from __future__ import annotations

from typing import Final, Literal, get_args

#: "changes": what the body changed after feedback; "polls"/"staff_polls": new poll windows.
OptInTopic = Literal["changes", "polls", "staff_polls"]
OPT_IN_TOPICS: Final[frozenset[str]] = frozenset(get_args(OptInTopic))

"""Tables of the campaigns feature (registered on storage.models.Base)."""

from __future__ import annotations

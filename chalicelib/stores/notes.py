"""The demo API's notes (chalicelib/endpoints/demo_api.py):
NOTES#<sub> / NOTE#<created_at>#<id>, one Query per user."""

from __future__ import annotations

import dataclasses

from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import Table


@dataclasses.dataclass
class Note:
    """A note of the demo API, owned by one subject."""

    note_id: str
    sub: str
    text: str
    created_at: int


class NoteRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, note: Note) -> None:
        sk = f"NOTE#{note.created_at:012d}#{note.note_id}"  # sorts by time
        self.table.put(to_item(note, f"NOTES#{note.sub}", sk), if_absent=True)

    def list_for(self, sub: str, limit: int = 100) -> list[Note]:
        """The subject's newest notes first: one Query that reads at most `limit` of them."""
        items = self.table.query(f"NOTES#{sub}", "NOTE#", limit=limit, descending=True)
        return [n for i in items if (n := from_item(Note, i))]

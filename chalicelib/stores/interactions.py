"""Pending authorizations: INTERACTION#<id> / INTERACTION, with a ttl."""

from __future__ import annotations

from chalicelib.stores.models import Interaction
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import ConditionFailed, Item, Table


class InteractionRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, interaction: Interaction) -> None:
        item = to_item(
            interaction,
            f"INTERACTION#{interaction.interaction_id}",
            "INTERACTION",
            interaction.expires_at,
        )
        self.table.put(item, if_absent=True)

    def get(self, interaction_id: str) -> Interaction | None:
        item = self.table.get(f"INTERACTION#{interaction_id}", "INTERACTION")
        return from_item(Interaction, item)

    def update(self, interaction_id: str, values: Item) -> Interaction:
        item = self.table.update(f"INTERACTION#{interaction_id}", "INTERACTION", values)
        record = from_item(Interaction, item)
        assert record is not None
        return record

    def complete(self, interaction_id: str, by: str) -> Interaction | None:
        """Mark the interaction finished, once: None when it was finished already or is gone."""
        try:
            item = self.table.claim(
                f"INTERACTION#{interaction_id}", "INTERACTION", "completed_by", by
            )
        except ConditionFailed:
            return None
        return from_item(Interaction, item)

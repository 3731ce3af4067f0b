"""Pending authorizations: INTERACTION#<id> / INTERACTION, with a ttl."""

from __future__ import annotations

from chalicelib.stores.models import Interaction
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import (
    ConditionFailed,
    Item,
    Table,
    TransactionCanceled,
    Update,
)


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

    def use_challenge(self, interaction_id: str, challenge: str, fresh: str) -> bool:
        """Spend the passkey challenge, once (a conditional write that puts `fresh` in its
        place): False when it is not this interaction's current one (used, or never was)."""
        update = Update(
            f"INTERACTION#{interaction_id}",
            "INTERACTION",
            {"passkey_challenge": fresh},
            expect={"passkey_challenge": challenge},
        )
        try:
            self.table.transact([update])
        except TransactionCanceled:
            return False
        return True

    def complete(self, interaction_id: str, by: str) -> Interaction | None:
        """Mark the interaction finished, once: None when it was finished already or is gone."""
        try:
            item = self.table.claim(
                f"INTERACTION#{interaction_id}", "INTERACTION", "completed_by", by
            )
        except ConditionFailed:
            return None
        return from_item(Interaction, item)

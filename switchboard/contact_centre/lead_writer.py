"""The one way leads are written (native API, Noojee, the console's CSV import): limits, the gate, batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from switchboard.access.principal import Principal
from switchboard.contact_centre import leads
from switchboard.contact_centre.allocations import allocation_for_write, allocation_name
from switchboard.contact_centre.leads import CampaignContext, LeadInput, LeadWriteGate, Outcome, RowResult
from switchboard.db.engine import Database
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest


class LeadWriter:
    """Built once per app: every lead insert and update goes through `write`, so the row limit and
    the gate on concurrent writers hold whichever surface the rows came from."""

    def __init__(self, db: Database, gate: LeadWriteGate, max_rows: int, batch_size: int) -> None:
        self.db = db
        self.gate = gate
        self.max_rows = max_rows
        self.batch_size = batch_size

    def write(
        self,
        principal: Principal,
        tenant_id: str | None,
        campaign_id: int,
        rows: Sequence[LeadInput],
        write: leads.Batch,
        allow_duplicates: bool,
        template_id: int | None = None,
        on_batch: Callable[[list[RowResult]], None] | None = None,
        allocation: str | None = None,
    ) -> list[RowResult]:
        """One result per row, in order; each batch commits on its own (its events follow the
        commit). `on_batch` hears each committed batch's results. Inserted leads go to the
        campaign's allocation named `allocation` (its default one when None), created if new."""
        if len(rows) > self.max_rows:
            raise BadRequest(f"At most {self.max_rows} leads per request; send more requests.")
        name = allocation_name(allocation)
        resolved: list[int] = []  # the allocation's pk, looked up (or created) once per request

        def open_campaign(session: Session) -> CampaignContext:
            tenant = find_tenant(session, principal, tenant_id) if tenant_id is not None else None
            ctx = leads.campaign_context(session, principal, tenant, campaign_id, template_id, lock=True)
            if write is not leads.insert_batch:
                return ctx
            # Reused by later batches: they run only after this one committed (a failed batch
            # ends the request's writing).
            if not resolved:
                resolved.append(allocation_for_write(session, ctx.campaign.pk, name))
            return replace(ctx, allocation_pk=resolved[0])

        with self.gate:
            return leads.write_in_batches(
                self.db, open_campaign, rows, write, allow_duplicates, self.batch_size, on_batch
            )


def audit_object(campaign_id: int, write: leads.Batch, results: Sequence[RowResult]) -> str:
    """What the audit log records for a lead write: the campaign, the kind and rows written of all."""
    written = sum(1 for r in results if r.outcome is Outcome.OK)
    verb = "insert" if write is leads.insert_batch else "update"
    return f"leads:{campaign_id} {verb} {written}/{len(results)}"

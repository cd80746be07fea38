"""The case flow: one Prefect flow run per lost-contact member.

It walks the case as the store shows it: the four search stages (direct → personal network → inter-departmental →
other), then the investigation and the proposed disposition, then that disposition's approval chain level by level,
then the follow-ups (a correction period, a suspension's two years) and whatever they start. At every human step
it performs that step's side effects and suspends until the case runner resumes it; no process and no memory is
held while it waits. Where the case stands and what comes next is read from the store, which the rules of
`models/` wrote; the flow decides nothing itself.

Each resume re-executes the flow from the top (Prefect's suspend semantics): the first thing it does is read where
the case stands now, so a resume after several decisions, a repeated resume, or a replay after a crash all end on the
step the store shows, and every side effect is keyed in the store so none is repeated."""
from __future__ import annotations

from prefect import flow
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput

from models.position import pause_key
from tasks.case_tasks import file_papers, read_position, step_side_effects


class Advance(RunInput):
    """The input a waiting run declares: its schema is saved with every suspend (what the Prefect UI's resume form
    asks for). The case runner resumes a run without sending it: the flow reads where the case stands from the store."""

    event: str = "advance"
    outbox_ids: list[int] = []


# Parameters are not validated by Prefect (a pydantic model built per segment): the runner passes the case's own.
@flow(name="case", persist_result=True, log_prints=False, validate_parameters=False)
def case_flow(case_id: str, member_name: str = "") -> str:
    waited: set[str] = set()
    while True:
        position = read_position(case_id)
        step_side_effects(case_id, position.open_step_id)
        if position.finished:
            file_papers(case_id)
            return position.state.value
        suspend_flow_run(wait_for_input=Advance, key=_fresh_key(position.wait_key, waited), timeout=None)


def _fresh_key(wait_key: str, waited: set[str]) -> str:
    """A suspend key already used in this execution returns its stored input at once; a run resumed although the
    store did not move must wait again on a new key for the same position."""
    n = 0
    while pause_key(wait_key, n) in waited:
        n += 1
    waited.add(pause_key(wait_key, n))
    return pause_key(wait_key, n)

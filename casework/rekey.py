"""Key rotation for personal data at rest: re-encrypt every ID number and phone under the current key and recompute
the lookup hashes, in one transaction. Run after putting the new key in LOSTCONTACT_DATA_KEY (or its file) and the old
one in LOSTCONTACT_DATA_KEY_OLD; afterwards the old key can be retired (README, "Personal data keys").

    LOSTCONTACT_DATA_KEY=<new> LOSTCONTACT_DATA_KEY_OLD=<old> .venv/bin/python -m casework.rekey [--db URL]

Member ids are left as they are: cases and letters refer to them, and they reveal nothing without the old key."""
from __future__ import annotations

import argparse
import logging

from sqlalchemy import select, update

from models.protect import keys, lookup_hash
from models.store import Member, Person

from .db import Store

log = logging.getLogger("lostcontact.rekey")


def rekey(store: Store) -> dict[str, int]:
    """Re-encrypt under the current key (old rows are read with any configured key). Returns the counts."""
    members = people = 0
    with store.writing() as s:
        for member_id, id_number, phone in s.execute(select(Member.id, Member.id_number, Member.phone)).all():
            s.execute(update(Member).where(Member.id == member_id)
                      .values(id_number=id_number, phone=phone, id_hash=lookup_hash(id_number)))
            members += 1
        for person_id, phone in s.execute(select(Person.id, Person.phone)).all():
            s.execute(update(Person).where(Person.id == person_id).values(phone=phone))
            people += 1
        s.commit()
    log.info("personal data re-encrypted under key %s: %d members, %d people", keys().kid, members, people)
    return {"members": members, "people": people}


def main() -> None:
    parser = argparse.ArgumentParser(description="Re-encrypt personal data under the current data key")
    parser.add_argument("--db", help="database URL (default LOSTCONTACT_DB_URL or var/lostcontact.sqlite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = Store(args.db)
    try:
        print(rekey(store))
    finally:
        store.dispose()


if __name__ == "__main__":
    main()

"""The SQL of one statement query on the SQLite store.

Order. `stored` is strictly increasing in insert order, so the rowid `seq` of the
statements table orders statements exactly as (stored, id) does. Every index is keyed on
seq: an index on statements(verb) holds (verb, rowid) by itself, and the agent and
activity tables hold (key, seq). Narrow index rows mean fewer pages for each insert to
dirty (what a commit has to write), and ordered scans need no sort.

Plan. The most selective filter drives the query through its index in cursor order, so a
page costs about `limit` index steps whatever the store's size; the other filters are
point look-ups per candidate row. Time bounds and the public (stored, id) cursor are
turned into seq bounds with one indexed look-up each.
"""

from __future__ import annotations

import sqlite3

from portfolio.storage.base import StatementQuery

RECORD_COLUMNS = "s.id, s.stored, s.body, s.voided, s.voids, s.authority_client, s.seq, s.signature"


class SqlQuery:
    def __init__(self, query: StatementQuery) -> None:
        self.q = query
        self.f = query.filter
        self.desc = not query.ascending

    def run(self, con: sqlite3.Connection) -> list[tuple[object, ...]]:
        """Rows of RECORD_COLUMNS, at most limit + 1 (the extra one says there is more)."""
        fetch = self.q.limit + 1
        bounds = self._seq_bounds(con)
        if bounds is None:
            return []
        rows = con.execute(*self._direct(fetch, bounds)).fetchall()
        if self._has_matching_filter():
            referring = con.execute(*self._referring(fetch, bounds)).fetchall()
            if referring:
                merged = {int(r[6]): r for r in rows}
                merged.update({int(r[6]): r for r in referring})
                rows = [merged[k] for k in sorted(merged, reverse=self.desc)][:fetch]
        return rows

    def _has_matching_filter(self) -> bool:
        f = self.f
        return any((f.agent, f.verb, f.activity, f.registration))

    # -- bounds

    def _seq_bounds(self, con: sqlite3.Connection) -> tuple[int, int] | None:
        """(low, high): seq > low and seq <= high. None when nothing can match."""
        q = self.q
        low, high = 0, 2**62
        if q.since is not None:
            low = max(low, _last_seq_at_or_before(con, q.since))
        if q.until is not None:
            high = min(high, _last_seq_at_or_before(con, q.until))
        if q.after is not None:
            row = con.execute(
                "SELECT seq, stored FROM statements WHERE id = ?", (q.after.id,)
            ).fetchone()
            if row is not None and row[1] == q.after.stored:
                at = int(row[0])
            else:  # the cursor's statement is gone: place the cursor by its time alone
                at = _last_seq_at_or_before(con, q.after.stored)
                if self.desc:
                    at += 1
            if self.desc:
                high = min(high, at - 1)
            else:
                low = max(low, at)
        return (low, high) if low < high else None

    # -- the statements that match by their own fields

    def _direct(self, fetch: int, bounds: tuple[int, int]) -> tuple[str, list[object]]:
        f = self.f
        params: list[object] = []
        if f.registration is not None:
            driver, seq = "statements s", "s.seq"
            where = ["s.registration = ?"]
            params.append(f.registration)
            where += self._own_conditions(params, skip="registration", table="s")
        elif f.agent is not None:
            driver, seq = "statement_agents a JOIN statements s ON s.seq = a.seq", "a.seq"
            where = ["a.agent = ?" if f.related_agents else "a.agent = ? AND a.direct = 1"]
            params.append(f.agent)
            where += self._own_conditions(params, skip="agent", table="s")
        elif f.activity is not None:
            driver, seq = "statement_activities a JOIN statements s ON s.seq = a.seq", "a.seq"
            where = [
                "a.activity = ?" if f.related_activities else "a.activity = ? AND a.direct = 1"
            ]
            params.append(f.activity)
            where += self._own_conditions(params, skip="activity", table="s")
        else:
            driver, seq = "statements s", "s.seq"
            where = self._own_conditions(params, skip="", table="s")
        where += ["s.voided = 0", f"{seq} > ?", f"{seq} <= ?"]
        params += [bounds[0], bounds[1], fetch]
        direction = "DESC" if self.desc else "ASC"
        sql = (
            f"SELECT {RECORD_COLUMNS} FROM {driver} WHERE {' AND '.join(where)}"
            f" ORDER BY {seq} {direction} LIMIT ?"
        )
        return sql, params

    def _own_conditions(self, params: list[object], *, skip: str, table: str) -> list[str]:
        """Conditions on a statement's own fields, for the filters not driving the scan."""
        f = self.f
        t = table
        conditions: list[str] = []
        if f.registration is not None and skip != "registration":
            conditions.append(f"{t}.registration = ?")
            params.append(f.registration)
        if f.verb is not None:
            conditions.append(f"{t}.verb = ?")
            params.append(f.verb)
        if f.agent is not None and skip != "agent":
            direct = "" if f.related_agents else " AND x.direct = 1"
            conditions.append(
                f"EXISTS (SELECT 1 FROM statement_agents x WHERE x.agent = ?"
                f" AND x.seq = {t}.seq{direct})"
            )
            params.append(f.agent)
        if f.activity is not None and skip != "activity":
            direct = "" if f.related_activities else " AND y.direct = 1"
            conditions.append(
                f"EXISTS (SELECT 1 FROM statement_activities y WHERE y.activity = ?"
                f" AND y.seq = {t}.seq{direct})"
            )
            params.append(f.activity)
        if f.authority_client is not None and table == "s":
            conditions.append("s.authority_client = ?")
            params.append(f.authority_client)
        return conditions

    # -- the statements that match through the statement they target

    def _referring(self, fetch: int, bounds: tuple[int, int]) -> tuple[str, list[object]]:
        """Statements whose StatementRef target matches the filter, recursively.

        Communication 2.1.3 (Filter Conditions for StatementRefs). The work is bounded by
        the number of statements that target another statement, which is small. Voided
        targets still count (Communication 2.1.4.s1.b2).
        """
        params: list[object] = []
        own = self._own_conditions(params, skip="", table="t")
        target_match = " AND ".join(own) if own else "1"
        outer = ["s.voided = 0", "s.ref_target IS NOT NULL", "s.seq > ?", "s.seq <= ?"]
        if self.f.authority_client is not None:
            outer.append("s.authority_client = ?")
        direction = "DESC" if self.desc else "ASC"
        # CROSS JOIN fixes the join order (SQLite's documented hint): start from the few
        # statements that are targets, and from the few matched ids, never from a scan of
        # every statement the filter or the seq range allows.
        sql = f"""
            WITH RECURSIVE matched(id) AS (
                SELECT t.id
                FROM (SELECT DISTINCT ref_target AS id FROM statements
                      WHERE ref_target IS NOT NULL) targets
                CROSS JOIN statements t ON t.id = targets.id
                WHERE {target_match}
                UNION
                SELECT r.id FROM matched m CROSS JOIN statements r ON r.ref_target = m.id
            )
            SELECT {RECORD_COLUMNS} FROM matched m CROSS JOIN statements s ON s.id = m.id
            WHERE {" AND ".join(outer)}
            ORDER BY s.seq {direction} LIMIT ?"""
        params += [bounds[0], bounds[1]]
        if self.f.authority_client is not None:
            params.append(self.f.authority_client)
        params.append(fetch)
        return sql, params


def _last_seq_at_or_before(con: sqlite3.Connection, stored: str) -> int:
    """The seq of the last statement stored at or before `stored`; 0 when there is none."""
    row = con.execute(
        "SELECT seq FROM statements WHERE stored <= ? ORDER BY stored DESC LIMIT 1", (stored,)
    ).fetchone()
    return int(row[0]) if row else 0

"""The risk catalog: 6 levels, 21 reason codes, 7 gates and a default risk for each table-level op kind.

This module is the single source of truth for every code that appears in a plan, the ledger or
``zanith explain``; ``docs/risk.md`` is generated from it (``python -m zanith_core.risk.docs``) so the
documentation cannot drift. Each entry explains itself in terms of what PostgreSQL actually does: which
lock the statement takes and for how long, whether it rewrites or scans the table, whether it may run in
a transaction, whether data is lost and which clients break. The facts were checked against the
PostgreSQL documentation (ALTER TABLE, Explicit Locking, CREATE INDEX, ALTER TYPE, release notes 11/12)
and, where the tests can observe them, against a real server (``tests/risk/test_risk_catalog.py`` reads
``pg_locks`` and ``relfilenode``).

Default scores assume a typical production table of unknown size on PostgreSQL 12 or later; the
classifier (:mod:`zanith_core.risk`) adjusts them for the op's parameters, the table's live
statistics and the server version.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ops import CATALOG, Lock


@dataclass(frozen=True)
class Level:
    """A named band of scores; a step's level is the band its score falls in."""

    name: str
    low: int
    high: int
    explanation: str


@dataclass(frozen=True)
class Reason:
    """Why a step is risky (or why it is cheaper than usual): one stable code, one explanation."""

    code: str
    title: str
    explanation: str


@dataclass(frozen=True)
class Gate:
    """A check on the whole plan; an enforcing gate that fails refuses the plan, an advisory one warns."""

    name: str
    enforcing: bool
    title: str
    explanation: str


@dataclass(frozen=True)
class OpKind:
    """The default risk of one op kind: score, reasons and the table lock its default form takes.

    The lock mode is not repeated here: the op class declares it
    (:attr:`~zanith_core.ops.base.Operation.default_lock`); the entry only adds what the mode alone
    does not say — for how long, on which tables, what other forms take.
    """

    kind: str
    score: int
    reasons: tuple[str, ...]
    lock_note: str
    title: str
    explanation: str

    @property
    def lock(self) -> str:
        """The lock as ``zanith explain`` and docs/risk.md show it: the class's mode, then the note."""
        mode = CATALOG[self.kind].default_lock
        text = "none" if mode is Lock.NONE else mode.value
        return f"{text} ({self.lock_note})" if self.lock_note else text


LEVELS: tuple[Level, ...] = (
    Level(
        "safe",
        0,
        10,
        "Catalog-only change on objects no client uses yet, or a change PostgreSQL applies without a "
        "table lock that blocks anyone. Safe to run at any time.",
    ),
    Level(
        "low",
        11,
        25,
        "Takes a strong lock only for a catalog update (milliseconds), or does its heavy work without "
        "blocking reads and writes. Safe at any time as long as the step runs with a short lock_timeout, "
        "which zanith's runner always sets.",
    ),
    Level(
        "moderate",
        26,
        45,
        "Cheap for the database but visible to clients (a rename, a soft drop) or long-running without "
        "blocking traffic (a batched backfill, a concurrent index build). Deploy it together with the "
        "application change it belongs to.",
    ),
    Level(
        "high",
        46,
        65,
        "Holds a lock that blocks writes (or reads and writes) while PostgreSQL scans, rewrites or indexes "
        "the table: an outage proportional to the table's size. Use the zero-downtime form the reasons "
        "point to, or run it in a maintenance window.",
    ),
    Level(
        "critical",
        66,
        79,
        "A blocking rewrite or scan of a table that live statistics show is large, or SQL zanith could "
        "not analyse. Expect minutes of blocked traffic; never run it unreviewed.",
    ),
    Level(
        "destructive",
        80,
        100,
        "Deletes data that no reversal brings back (DROP TABLE, DROP COLUMN, TRUNCATE, DELETE without "
        "WHERE). Prefer the soft drop, which renames the object aside and keeps a recovery artifact.",
    ),
)


_REASONS: tuple[Reason, ...] = (
    Reason(
        "lock_brief",
        "takes a strong table lock, but only for a catalog update",
        "The statement takes ACCESS EXCLUSIVE (or SHARE ROW EXCLUSIVE) on the table but only updates the "
        "system catalogs, so it holds the lock for milliseconds. The danger is the wait: a lock request "
        "queues behind any running transaction that touched the table, and every later query queues "
        "behind the request. zanith's runner sets lock_timeout and retries with backoff, so the step "
        "gives up instead of stalling traffic.",
    ),
    Reason(
        "lock_blocks_reads",
        "holds ACCESS EXCLUSIVE while it works: blocks reads and writes",
        "ACCESS EXCLUSIVE conflicts with every other lock mode, including the ACCESS SHARE that a plain "
        "SELECT takes. PostgreSQL holds it until the transaction ends, so while the statement rewrites "
        "or scans the table nobody can read or write it: an outage as long as the work takes.",
    ),
    Reason(
        "lock_blocks_writes",
        "holds SHARE or SHARE ROW EXCLUSIVE while it works: blocks writes",
        "CREATE INDEX (without CONCURRENTLY) takes SHARE and a validated FOREIGN KEY takes SHARE ROW "
        "EXCLUSIVE; both conflict with the ROW EXCLUSIVE lock that INSERT, UPDATE and DELETE take. Reads "
        "continue, but every write to the table waits until the build or the scan is finished.",
    ),
    Reason(
        "table_rewrite",
        "rewrites the whole table and rebuilds its indexes",
        "PostgreSQL writes a new copy of every row into a new relation file and rebuilds every index, "
        "under ACCESS EXCLUSIVE, needing up to twice the table's disk space. This happens for a type "
        "change that is not binary-coercible, for ADD COLUMN with a volatile default, an identity or a "
        "stored generated column. The rewrite is not MVCC-safe: concurrent transactions using an older "
        "snapshot may see the table as empty.",
    ),
    Reason(
        "scan_under_lock",
        "scans the whole table while holding the lock",
        "To prove that existing rows satisfy a new NOT NULL, CHECK, PRIMARY KEY or FOREIGN KEY, "
        "PostgreSQL reads every row while it holds the statement's lock. The table is not rewritten, but "
        "the lock is held for as long as the scan takes. Adding the constraint NOT VALID and validating "
        "it in a separate step moves the scan under SHARE UPDATE EXCLUSIVE, which blocks neither reads "
        "nor writes.",
    ),
    Reason(
        "index_build",
        "builds an index over every row of the table",
        "Building a B-tree (or any) index reads the whole table and sorts it; CPU, I/O and WAL grow with "
        "the table's size. Without CONCURRENTLY the build holds a SHARE lock (writes wait); with "
        "CONCURRENTLY writes continue but the build takes two table scans and waits for older "
        "transactions.",
    ),
    Reason(
        "non_transactional",
        "cannot run inside a transaction block",
        "CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY and zanith's batched backfill commit as they "
        "go, so a failure cannot be rolled back: the runner records the step as running before it "
        "starts and cleans up on resume. CONCURRENTLY also waits for every transaction older than the "
        "statement, so one long-running transaction stalls it.",
    ),
    Reason(
        "invalid_on_failure",
        "a failure leaves an INVALID index behind",
        "If CREATE INDEX CONCURRENTLY fails (a duplicate for a unique index, a deadlock, a cancelled "
        "statement) PostgreSQL leaves the index in place marked INVALID: it is maintained on every write "
        "but never used by queries. It must be dropped before the build is retried; zanith's runner does "
        "this on resume.",
    ),
    Reason(
        "data_loss",
        "deletes data",
        "The statement removes rows or column values. DROP COLUMN only hides the column in the catalog "
        "(the space is reclaimed by later rewrites) but the values are unreachable immediately, and "
        "DROP TABLE and TRUNCATE remove the files at commit. Once committed, nothing inside PostgreSQL "
        "brings the data back; the soft-drop op kinds rename the object aside instead.",
    ),
    Reason(
        "breaks_old_readers",
        "clients still running the previous code fail to read",
        "Queries that name the old table or column (or rely on the old type or nullability) raise errors "
        "as soon as the step commits. Deploy the application code that no longer uses the old name "
        "first, or use the expand/contract pattern so both versions work during the rollout.",
    ),
    Reason(
        "breaks_old_writers",
        "clients still running the previous code fail to write",
        "INSERT and UPDATE statements written for the previous schema start failing: a new NOT NULL "
        "column without a default, a renamed column, a removed default or a removed unique constraint "
        "that an ON CONFLICT clause relied on. Ship the writers' change before the step.",
    ),
    Reason(
        "volatile_default",
        "the new column's default is volatile: evaluated once per row",
        "Since PostgreSQL 11, ADD COLUMN with a constant or stable default (0, 'x', now()) stores the "
        "value in the catalog and returns it for old rows without touching them. A volatile default "
        "(random(), gen_random_uuid(), clock_timestamp(), nextval()) must be computed for each existing "
        "row, so PostgreSQL rewrites the whole table under ACCESS EXCLUSIVE. Add the column without a "
        "default, set the default, then backfill in batches.",
    ),
    Reason(
        "backfill_required",
        "writes every existing row",
        "Existing rows get a value written, which creates a new row version for each (WAL volume, "
        "bloat, replication lag) and takes row locks. zanith's backfill op does this in keyset-paginated "
        "batches with a resumable checkpoint; a single UPDATE over the whole table does it in one long "
        "transaction that blocks concurrent updates of the same rows.",
    ),
    Reason(
        "validation_may_fail",
        "existing data may violate the new rule, so the step can fail",
        "PostgreSQL checks existing rows against the new constraint or type (NULLs for NOT NULL, "
        "duplicates for UNIQUE and PRIMARY KEY, orphans for FOREIGN KEY, failing casts for a type "
        "change). One bad row aborts the statement after the work done so far; clean the data (a "
        "backfill) before the step, and check on the shadow database with production-like data.",
    ),
    Reason(
        "irreversible",
        "no automatic reversal",
        "The op's reverse() declares that no other op undoes it (a raw-SQL step without reverse SQL, a "
        "type change whose way back is not known). Rolling the migration back needs a hand-written "
        "migration or a restore from backup. Data loss is a separate reason: a hard drop's reversal "
        "brings the object back empty.",
    ),
    Reason(
        "locks_referenced_table",
        "also locks the table the foreign key points at",
        "Adding a foreign key installs triggers on the referenced table too, so PostgreSQL takes SHARE "
        "ROW EXCLUSIVE on it (writes to the referenced, often hot, table wait); dropping one takes ACCESS "
        "EXCLUSIVE on both tables. With NOT VALID the lock is brief; validating later takes only ROW "
        "SHARE on the referenced table.",
    ),
    Reason(
        "each_partition",
        "repeats on every partition of a partitioned table",
        "An index, key or foreign key on a partitioned table is one per partition: the build or the scan "
        "runs on each partition in turn, under that partition's lock, and the parent is locked only to "
        "attach the pieces (ALTER INDEX ... ATTACH PARTITION, brief). Dropping a partitioned index takes "
        "ACCESS EXCLUSIVE on the parent and on every partition together.",
    ),
    Reason(
        "locks_parent",
        "also locks the partitioned parent",
        "Creating, detaching or attaching a partition takes a lock on its parent: ACCESS EXCLUSIVE for "
        "CREATE TABLE ... PARTITION OF and DETACH PARTITION, SHARE UPDATE EXCLUSIVE for ATTACH PARTITION, "
        "so every query on the whole partitioned table waits for it. When the parent has a DEFAULT "
        "partition, the default is scanned under that lock to prove none of its rows belongs to the new "
        "bounds.",
    ),
    Reason(
        "version_dependent",
        "the cost depends on the PostgreSQL version",
        "The score assumes PostgreSQL 12 or later (SET NOT NULL skips its scan when a valid CHECK "
        "(col IS NOT NULL) exists; ALTER TYPE ... ADD VALUE may run in a transaction block, though the "
        "new value is unusable until it commits; ALTER INDEX ... RENAME takes only SHARE UPDATE "
        "EXCLUSIVE). On an older server, or when the version is unknown, check the step by hand.",
    ),
    Reason(
        "unparseable_sql",
        "raw SQL that PostgreSQL's parser rejects",
        "zanith parses raw SQL with pglast, which embeds PostgreSQL's own parser. Text it cannot parse "
        "cannot be classified, so the step scores high instead of being waved through: fix the syntax "
        "or split the statement, and review it by hand.",
    ),
    Reason(
        "unclassified_sql",
        "raw SQL statement zanith has no rule for",
        "The statement parses but is none of the DDL or DML forms the catalog knows (a DO block, CREATE "
        "FUNCTION, GRANT, a procedure call ...). Its locks and cost are unknown, so it scores high until "
        "a reviewer looks at it; a plugin can teach zanith a rule for it.",
    ),
    Reason(
        "large_table",
        "live statistics show a large table",
        "The target's live statistics (pg_class.reltuples and its size on disk) put it at or above "
        "1,000,000 rows or 1 GiB, so work done under a lock (rewrite, scan, index build) takes long enough "
        "to matter. Scored from observation (zanith plan --observed), a table also counts as large when "
        "the step's work, timed on the shadow and scaled to the live rows, is estimated at a minute or more. "
        "The score is raised; a blocking rewrite of a large table also fails the large_table_rewrite gate.",
    ),
    Reason(
        "small_table",
        "the table is new in this plan or live statistics show it is small",
        "The target table was created earlier in the same plan (no client uses it, it holds no data) or "
        "its live statistics show fewer than 10,000 rows and under 64 MiB, so a rewrite, scan or index "
        "build under lock finishes in milliseconds (scored from observation, its estimated time must also be "
        "under a second). The score is lowered accordingly.",
    ),
)

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}


_GATES: tuple[Gate, ...] = (
    Gate(
        "budget",
        True,
        "every step scores at most the budget",
        "With a budget (--budget N, pytest --zanith-budget=N, budget in [tool.zanith]) any step whose "
        "score is above it refuses the whole plan before anything is written, and the refusal names "
        "each offending step with its reasons. Without a budget the gate passes.",
    ),
    Gate(
        "destructive",
        False,
        "no step deletes data",
        "Lists the steps carrying the data_loss reason. Advisory: a hard drop the author asked for is "
        "allowed, but every plan output shows it; combine with a budget below 80 to refuse them.",
    ),
    Gate(
        "irreversible",
        False,
        "every step has an automatic reversal",
        "Lists the steps whose op declares no reverse(). Advisory: rolling such a migration back needs a "
        "backup, which a reviewer should know before it runs.",
    ),
    Gate(
        "large_table_rewrite",
        True,
        "no blocking rewrite or scan of a large table",
        "Fails when live statistics show that a step rewrites or scans, under a lock that blocks "
        "traffic, a table at or above 1,000,000 rows or 1 GiB (or, scored from observation, one on which "
        "the work is estimated at a minute or more). Such a step is an outage measured in "
        "minutes; use the zero-downtime form (expand/contract, NOT VALID + VALIDATE, CONCURRENTLY). "
        "Without live statistics the gate passes and says so.",
    ),
    Gate(
        "stale_plan",
        True,
        "the target still has the schema the plan was made for",
        "A plan records the SHA-256 of the schema it was computed against (pre_state_hash). Before "
        "applying, check_fresh() compares it with the target's current schema: if someone changed the "
        "target in between, the scores may be wrong and the plan is refused; plan again.",
    ),
    Gate(
        "checksum",
        True,
        "no applied migration was edited",
        "Every applied migration's checksum is recorded in the ledger. When a migration file that the "
        "target already applied renders different SQL now, history and files disagree and the plan is "
        "refused, naming the migration. Without a target database the gate passes and says so.",
    ),
    Gate(
        "shadow_verified",
        True,
        "the migrations reached the declared schema on a shadow database",
        "Passes when zanith verify ran clean on a throwaway database, or when no verify result is "
        "given (the detail says it was not run). Fails when the shadow verify reported drift or an "
        "apply failure: applying would not reach the declared schema.",
    ),
)

GATES: dict[str, Gate] = {g.name: g for g in _GATES}


_OP_KINDS: tuple[OpKind, ...] = (
    OpKind(
        "create_table",
        2,
        (),
        "on the new table; SHARE ROW EXCLUSIVE on tables it references",
        "create a table",
        "CREATE TABLE locks only the new table, which no client uses yet. A FOREIGN KEY in the "
        "definition takes SHARE ROW EXCLUSIVE on each referenced table for the rest of the transaction "
        "(locks_referenced_table), which is brief. A new partition of a table in use (PARTITION OF) takes "
        "ACCESS EXCLUSIVE on its parent (score 20, locks_parent), and with a DEFAULT partition scans it "
        "under that lock (score 45).",
    ),
    OpKind(
        "drop_table",
        90,
        ("lock_brief", "data_loss", "breaks_old_readers", "breaks_old_writers"),
        "and on tables linked by foreign keys",
        "drop a table and its data",
        "DROP TABLE takes ACCESS EXCLUSIVE on the table and on the tables its foreign keys link to, then "
        "removes the files at commit: the rows are gone (the op's reversal recreates the table empty). "
        "Prefer soft_drop_table, which renames the table aside and keeps a recovery artifact. A "
        "partitioned table's partitions are dropped with it (recorded in the op); dropping a partition "
        "locks its parent too.",
    ),
    OpKind(
        "set_partition_bound",
        70,
        ("lock_blocks_reads", "scan_under_lock", "validation_may_fail", "locks_parent"),
        "on the partition and on its parent, for the attach's scan",
        "change a partition's bounds (detach, attach)",
        "PostgreSQL cannot alter a partition's bounds: the op detaches the partition and attaches it "
        "again with the new bounds in one transaction. The detach takes ACCESS EXCLUSIVE on the parent, "
        "which is held until commit; the attach scans the partition to prove every row fits the new "
        "bounds (skipped when a valid CHECK constraint proves it) and, with a DEFAULT partition, scans "
        "the default too. Every query on the partitioned table waits for the scans; it fails if a row "
        "does not fit.",
    ),
    OpKind(
        "soft_drop_table",
        30,
        ("lock_brief", "breaks_old_readers", "breaks_old_writers"),
        "brief: ALTER TABLE ... RENAME",
        "rename a table aside, keeping its data",
        "The table is renamed to a _zanith_ name (a catalog-only ALTER TABLE ... RENAME under a brief "
        "ACCESS EXCLUSIVE) and recorded as a recovery artifact; nothing is deleted until the artifact "
        "is purged. Clients that still use the old name fail.",
    ),
    OpKind(
        "restore_table",
        10,
        ("lock_brief",),
        "brief: ALTER TABLE ... RENAME",
        "bring a soft-dropped table back",
        "The reversal of soft_drop_table: the table is renamed from its _zanith_ name back to its own "
        "(a catalog-only rename under a brief ACCESS EXCLUSIVE), with every row it had.",
    ),
    OpKind(
        "rename_table",
        30,
        ("lock_brief", "breaks_old_readers", "breaks_old_writers"),
        "brief",
        "rename a table",
        "ALTER TABLE ... RENAME TO updates pg_class only; no data moves. Every query using the old name "
        "fails from the commit on, so deploy the readers and writers that use the new name first (or "
        "keep a view with the old name during the rollout).",
    ),
    OpKind(
        "add_column",
        10,
        ("lock_brief",),
        "brief unless the table is rewritten",
        "add a column",
        "ADD COLUMN without a default, or with a constant or stable default on PostgreSQL 11+, is a "
        "catalog change. A volatile default, an identity or serial column or a stored generated column "
        "rewrites the table (volatile_default, table_rewrite). NOT NULL without a default fails on a "
        "non-empty table and breaks writers that do not set the column.",
    ),
    OpKind(
        "drop_column",
        80,
        ("lock_brief", "data_loss", "breaks_old_readers"),
        "brief",
        "drop a column and its values",
        "DROP COLUMN marks the column dropped in pg_attribute; the values become unreachable at once "
        "(space is reclaimed by later rewrites) and dependent indexes and constraints go with it. The "
        "op's reversal adds the column back empty; nothing restores the values. Prefer soft_drop_column.",
    ),
    OpKind(
        "soft_drop_column",
        25,
        ("lock_brief", "breaks_old_readers"),
        "brief: RENAME COLUMN",
        "rename a column aside, keeping its values",
        "The column is renamed to a _zanith_ name (catalog only) and recorded as a recovery artifact, "
        "so its values stay restorable until the artifact is purged. Queries that still select the "
        "column fail; deploy the code that stopped using it first.",
    ),
    OpKind(
        "restore_column",
        10,
        ("lock_brief",),
        "brief: RENAME COLUMN",
        "bring a soft-dropped column back",
        "The reversal of soft_drop_column: the column is renamed from its _zanith_ name back to its own "
        "(catalog only), with every value it had.",
    ),
    OpKind(
        "rename_column",
        30,
        ("lock_brief", "breaks_old_readers", "breaks_old_writers"),
        "brief",
        "rename a column",
        "RENAME COLUMN updates pg_attribute only, but every query that names the old column fails after "
        "the commit. For a live application use expand/contract (new column, dual-write trigger, "
        "backfill, switch readers, soft-drop the old one).",
    ),
    OpKind(
        "set_storage_parameters",
        5,
        (),
        "brief, on the table or on the index's table",
        "set a table's or an index's storage parameters",
        "ALTER TABLE/INDEX ... RESET then SET (fillfactor, autovacuum_*, toast.*, deduplicate_items ...) "
        "updates the catalog only, under SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes "
        "(only VACUUM, ANALYZE and other schema changes wait). Nothing is rewritten: a new fillfactor "
        "applies to pages written from then on.",
    ),
    OpKind(
        "set_persistence",
        60,
        ("lock_blocks_reads", "table_rewrite"),
        "held for the rewrite",
        "switch a table between LOGGED and UNLOGGED",
        "ALTER TABLE ... SET LOGGED / SET UNLOGGED rewrites the table, its indexes and its owned sequences "
        "into new files under ACCESS EXCLUSIVE (SET LOGGED also writes the whole table to the WAL). "
        "An unlogged table is emptied after a crash and is not replicated. PostgreSQL refuses the switch "
        "while a foreign key links a logged and an unlogged table the wrong way round.",
    ),
    OpKind(
        "reorder_columns",
        70,
        ("lock_blocks_reads", "table_rewrite", "index_build", "breaks_old_writers"),
        "held for the copy, the index builds and the foreign key checks; brief on tables it references",
        "rebuild a table in another column order",
        "ALTER TABLE can only append columns, so a declared column order is reached by a rebuild: a new "
        "table in the declared order, every row copied under ACCESS EXCLUSIVE, the old table dropped and "
        "the new one renamed into place, then its keys, indexes, foreign keys, triggers, policies, "
        "comments and grants recreated. Reads and writes wait for the whole copy. Clients that insert "
        "without a column list or read by position see the new order. Foreign keys pointing at the "
        "table are dropped before and re-added after (their own steps); a view, function or column "
        "using the table's row type makes generate refuse. Set ignore_column_order to accept the order "
        "instead.",
    ),
    OpKind(
        "alter_column_type",
        60,
        ("lock_blocks_reads", "table_rewrite", "validation_may_fail"),
        "held for the rewrite",
        "change a column's type",
        "ALTER COLUMN ... TYPE rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE, and "
        "fails if a value does not convert. It is a catalog change when the old type is binary-coercible "
        "to the new one and USING does not change the values: varchar(n) to varchar(m >= n) or text, "
        "text to varchar, numeric(p,s) to numeric(p' >= p, s), a wider timestamp/time/interval "
        "precision, cidr to inet. int to bigint is not binary-coercible: it rewrites.",
    ),
    OpKind(
        "alter_identity",
        15,
        ("lock_brief", "breaks_old_writers"),
        "brief",
        "change a column's identity in place",
        "ADD GENERATED ... AS IDENTITY, DROP IDENTITY, SET GENERATED and SET <sequence option> change the "
        "catalog and the identity sequence only: no rewrite, no scan (adding one reads the column's largest "
        "value once, to move the new sequence past the rows). Writers feel it: ALWAYS refuses explicit "
        "values without OVERRIDING SYSTEM VALUE, and a dropped identity leaves INSERTs without a value.",
    ),
    OpKind(
        "set_not_null",
        50,
        ("lock_blocks_reads", "scan_under_lock", "validation_may_fail"),
        "held for the scan",
        "forbid NULLs in a column",
        "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE to prove there is no NULL. On "
        "PostgreSQL 12+ the scan is skipped when a valid CHECK (col IS NOT NULL) already exists, so the "
        "safe sequence is: add the check NOT VALID, validate it (no blocking lock), SET NOT NULL, drop "
        "the check.",
    ),
    OpKind(
        "drop_not_null",
        15,
        ("lock_brief", "breaks_old_readers"),
        "brief",
        "allow NULLs in a column",
        "DROP NOT NULL is a catalog change. Readers that assumed the column is never NULL may "
        "misbehave once NULLs appear.",
    ),
    OpKind(
        "set_default",
        10,
        ("lock_brief",),
        "brief",
        "set a column default",
        "SET DEFAULT only changes what future INSERTs get; existing rows are not touched, whatever "
        "the expression (a volatile default is evaluated per inserted row, not for old rows).",
    ),
    OpKind(
        "drop_default",
        15,
        ("lock_brief", "breaks_old_writers"),
        "brief",
        "remove a column default",
        "DROP DEFAULT is a catalog change, but INSERTs that omit the column now store NULL (or fail on "
        "a NOT NULL column).",
    ),
    OpKind(
        "add_index",
        50,
        ("lock_blocks_writes", "index_build"),
        "or SHARE UPDATE EXCLUSIVE with CONCURRENTLY",
        "build an index",
        "CREATE INDEX holds SHARE on the table for the whole build: reads continue, writes wait. With "
        "CONCURRENTLY it holds SHARE UPDATE EXCLUSIVE (blocks neither), scans twice, waits for older "
        "transactions, cannot run in a transaction block and leaves an INVALID index if it fails "
        "(score 25). A unique index fails on existing duplicates. PostgreSQL refuses CONCURRENTLY on a "
        "partitioned table: zanith creates the index ON ONLY the parent (SHARE for an instant), builds "
        "each partition's concurrently and attaches them, each partition locked in turn (each_partition).",
    ),
    OpKind(
        "drop_index",
        15,
        ("lock_brief",),
        "brief; SHARE UPDATE EXCLUSIVE with CONCURRENTLY",
        "drop an index",
        "DROP INDEX takes ACCESS EXCLUSIVE on the table for a catalog change; DROP INDEX CONCURRENTLY "
        "avoids it but cannot run in a transaction block. Queries that used the index get slower, "
        "which no lock table shows: check the plans. A partitioned table's index cannot be dropped "
        "concurrently: the drop locks the parent and every partition, briefly (score 20, each_partition).",
    ),
    OpKind(
        "rename_index",
        5,
        ("version_dependent",),
        "PostgreSQL 12+; ACCESS EXCLUSIVE before",
        "rename an index",
        "ALTER INDEX ... RENAME takes SHARE UPDATE EXCLUSIVE since PostgreSQL 12 and blocks neither "
        "reads nor writes; clients never name indexes (except in hints or ON CONFLICT ON CONSTRAINT).",
    ),
    OpKind(
        "add_primary_key",
        30,
        ("index_build", "non_transactional", "invalid_on_failure", "validation_may_fail"),
        "brief attach, after a concurrent build under SHARE UPDATE EXCLUSIVE",
        "add a primary key",
        "zanith builds the unique index CONCURRENTLY over columns that are already NOT NULL and attaches "
        "it with ADD CONSTRAINT ... PRIMARY KEY USING INDEX, so only the attach takes ACCESS EXCLUSIVE, "
        "briefly. A plain ADD PRIMARY KEY builds the index and checks NOT NULL under ACCESS EXCLUSIVE "
        "(score 60); attaching an index to nullable columns scans them under that lock to set NOT NULL. "
        "On a partitioned table each leaf partition gets its index concurrently and its key USING INDEX, "
        "then the parent's ADD PRIMARY KEY only attaches them (each_partition).",
    ),
    OpKind(
        "drop_primary_key",
        30,
        ("lock_brief", "breaks_old_writers"),
        "brief",
        "drop a primary key",
        "Dropping the constraint drops its index (a catalog change). Writers whose INSERT ... ON "
        "CONFLICT (pk) relied on it fail, and foreign keys referencing it must be dropped first.",
    ),
    OpKind(
        "add_foreign_key",
        55,
        ("lock_blocks_writes", "scan_under_lock", "locks_referenced_table", "validation_may_fail"),
        "on both tables, held for the validation scan",
        "add a foreign key",
        "ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on the referencing and the referenced table and "
        "checks every row while holding it: writes to both tables wait. With NOT VALID the lock is "
        "brief (score 20) and validate_constraint checks the rows later under SHARE UPDATE EXCLUSIVE. "
        "PostgreSQL refuses NOT VALID on a partitioned table: there every partition is checked "
        "(each_partition).",
    ),
    OpKind(
        "drop_foreign_key",
        20,
        ("lock_brief", "locks_referenced_table"),
        "on both tables, brief",
        "drop a foreign key",
        "Dropping a foreign key removes its triggers from both tables: a catalog change, but it takes "
        "ACCESS EXCLUSIVE on the referenced table as well, so it can queue behind (and then block) "
        "traffic on that table too.",
    ),
    OpKind(
        "add_unique",
        30,
        ("index_build", "non_transactional", "invalid_on_failure", "validation_may_fail"),
        "brief attach, after a concurrent build under SHARE UPDATE EXCLUSIVE",
        "add a unique constraint",
        "zanith builds the unique index CONCURRENTLY and attaches it with ADD CONSTRAINT ... UNIQUE "
        "USING INDEX, so only the catalog attach takes ACCESS EXCLUSIVE. Existing duplicates make the "
        "build fail and leave an INVALID index. A plain ADD UNIQUE builds the index under ACCESS "
        "EXCLUSIVE (score 60). On a partitioned table each leaf partition gets its index concurrently and "
        "its constraint USING INDEX, then the parent's ADD UNIQUE only attaches them (each_partition).",
    ),
    OpKind(
        "drop_unique",
        25,
        ("lock_brief", "breaks_old_writers"),
        "brief",
        "drop a unique constraint",
        "A catalog change that drops the backing index. Writers using ON CONFLICT on those columns fail "
        "with 'no unique or exclusion constraint matching the ON CONFLICT specification'.",
    ),
    OpKind(
        "add_check",
        15,
        ("lock_brief", "breaks_old_writers"),
        "brief with NOT VALID; held for the scan otherwise",
        "add a check constraint",
        "zanith adds checks NOT VALID: a catalog change under a brief ACCESS EXCLUSIVE that applies to "
        "new rows at once, followed by validate_constraint. A validated ADD CHECK scans the table under "
        "ACCESS EXCLUSIVE and fails on a violating row (score 50).",
    ),
    OpKind(
        "drop_check",
        10,
        ("lock_brief",),
        "brief",
        "drop a check constraint",
        "A catalog change; writes that the check used to reject are accepted afterwards.",
    ),
    OpKind(
        "add_exclusion",
        60,
        ("lock_blocks_reads", "index_build", "validation_may_fail"),
        "held for the index build and the check of every row",
        "add an exclusion constraint",
        "ADD CONSTRAINT ... EXCLUDE builds the constraint's index and checks every existing row against "
        "the others under ACCESS EXCLUSIVE: nobody reads or writes the table meanwhile, and one conflicting "
        "pair of rows makes it fail. There is no cheaper form: PostgreSQL can neither attach a concurrently "
        "built index to an exclusion constraint (USING INDEX is for unique and primary keys) nor add it NOT "
        "VALID. On a table that already holds traffic, plan it for a quiet moment.",
    ),
    OpKind(
        "drop_exclusion",
        25,
        ("lock_brief", "breaks_old_writers"),
        "brief",
        "drop an exclusion constraint",
        "A catalog change that drops the constraint's index. Rows the constraint used to reject are "
        "accepted afterwards, and writers whose INSERT ... ON CONFLICT ON CONSTRAINT named it fail.",
    ),
    OpKind(
        "validate_constraint",
        20,
        ("validation_may_fail",),
        "ROW SHARE on a foreign key's referenced table",
        "validate a NOT VALID constraint",
        "VALIDATE CONSTRAINT scans the table to check existing rows but holds only SHARE UPDATE "
        "EXCLUSIVE, which blocks neither reads nor writes (only other DDL and VACUUM). It fails if a "
        "row violates the constraint; the constraint then stays NOT VALID.",
    ),
    OpKind(
        "add_dual_write",
        15,
        ("lock_brief",),
        "brief: CREATE TRIGGER",
        "keep an old and a new column in step with a trigger",
        "The expand step of expand/contract: CREATE TRIGGER takes SHARE ROW EXCLUSIVE for a catalog "
        "change (writes wait briefly, reads do not), then every INSERT and UPDATE also fills the other "
        "column, which costs a little on each write.",
    ),
    OpKind(
        "drop_dual_write",
        20,
        ("lock_brief", "breaks_old_readers"),
        "brief: DROP TRIGGER",
        "remove a dual-write trigger",
        "The contract step: DROP TRIGGER takes ACCESS EXCLUSIVE for a catalog change. From then on the "
        "old column is no longer kept in step, so clients still reading it see stale values.",
    ),
    OpKind(
        "create_enum",
        0,
        (),
        "no table lock",
        "create an enum type",
        "CREATE TYPE ... AS ENUM adds catalog rows only; no table is locked.",
    ),
    OpKind(
        "add_enum_value",
        5,
        ("version_dependent",),
        "locks the type, no table",
        "add a value to an enum type",
        "ALTER TYPE ... ADD VALUE touches no table. Since PostgreSQL 12 it may run in a transaction "
        "block, but the new value cannot be used until that transaction commits; before 12 it could not "
        "run in a transaction block at all.",
    ),
    OpKind(
        "replace_enum",
        65,
        ("lock_blocks_reads", "table_rewrite", "validation_may_fail"),
        "on every table with a column of the type, held for each rewrite, all in one transaction",
        "remove or reorder an enum's values",
        "PostgreSQL can only add enum values. Removing or reordering them renames the old type aside, "
        "creates the new one (and the domains over it) under the old name, converts each column with "
        "ALTER COLUMN ... TYPE ... USING col::text::type (arrays through text[]) — a rewrite of each table and "
        "of its indexes under ACCESS EXCLUSIVE, held until the whole replacement commits — and drops the old "
        "type. A row holding a removed value fails the conversion and the whole step.",
    ),
    OpKind(
        "drop_enum",
        10,
        ("breaks_old_readers",),
        "no table lock",
        "drop an enum type",
        "DROP TYPE fails while a column still uses the type (zanith never adds CASCADE, which would "
        "drop those columns). Clients that cast to the type fail afterwards. Enum values themselves "
        "cannot be dropped in PostgreSQL: that takes a new type and a rewriting type change.",
    ),
    OpKind(
        "backfill",
        30,
        ("backfill_required", "non_transactional"),
        "plus row locks, one batch at a time",
        "fill existing rows in batches",
        "zanith's backfill updates rows in keyset-paginated batches (default 500), each batch its own "
        "transaction with its checkpoint, so concurrent traffic only waits for the rows of one batch "
        "and a crash resumes where it stopped. It writes a new version of every row: WAL, bloat and "
        "replication lag grow with the table.",
    ),
    OpKind(
        "raw_sql",
        60,
        ("unclassified_sql",),
        "assumed; in fact whatever its statements take",
        "hand-written SQL",
        "Raw SQL is parsed with PostgreSQL's own parser (pglast) and each statement is scored like the "
        "op kind it amounts to (ALTER TABLE subcommands, CREATE INDEX with or without CONCURRENTLY, "
        "constraints with or without NOT VALID, DROP, TRUNCATE, UPDATE or DELETE without WHERE ...); "
        "the step takes the highest statement score. This default applies only when there is no text.",
    ),
)

# -- the definition family: functions, aggregates, triggers, views, domains, types, sequences, policies,
# schemas, extensions, comments, grants, row-level security (rules: zanith_core.risk.definitions) ------

_NO_TABLE = "no table lock"

_DEFINITION_OP_KINDS: tuple[OpKind, ...] = (
    OpKind("create_function", 2, (), _NO_TABLE, "create a function or procedure",
           "CREATE FUNCTION adds catalog rows; nothing calls the function yet. A LANGUAGE sql body is "
           "parsed at creation, so the tables it names must exist (generate orders it after them)."),
    OpKind("replace_function", 5, (), _NO_TABLE, "replace a function's body or attributes",
           "CREATE OR REPLACE FUNCTION swaps the definition atomically: sessions pick the new body up on "
           "their next call, no table is locked. Postgres refuses it across a different return type or "
           "parameter names; zanith then drops and recreates the function with whatever uses it."),
    OpKind("drop_function", 30, ("breaks_old_readers", "breaks_old_writers"), _NO_TABLE,
           "drop a function or procedure",
           "DROP FUNCTION fails while a trigger, default, check, view, policy or aggregate uses the function "
           "(score 70: zanith never adds CASCADE, which would drop them silently). Once dropped, clients and "
           "code that call it fail; its reversal recreates it from the recorded definition."),
    OpKind("create_aggregate", 2, (), _NO_TABLE, "create an aggregate",
           "CREATE AGGREGATE adds catalog rows over existing functions; nothing uses it yet."),
    OpKind("replace_aggregate", 5, (), _NO_TABLE, "replace an aggregate's definition",
           "CREATE OR REPLACE AGGREGATE (PostgreSQL 12+) swaps the state and final functions atomically; "
           "no table is locked."),
    OpKind("drop_aggregate", 25, ("breaks_old_readers",), _NO_TABLE, "drop an aggregate",
           "DROP AGGREGATE fails while a view uses it; queries calling it fail afterwards."),
    OpKind("create_trigger", 15, ("lock_brief",), "brief", "create a trigger",
           "CREATE TRIGGER takes SHARE ROW EXCLUSIVE on the table for a catalog change: writes wait "
           "briefly, reads do not. From then on every matching write runs the trigger function, which "
           "costs a little on each write and may fail writes the function rejects."),
    OpKind("replace_trigger", 15, ("lock_brief",), "brief", "replace a trigger",
           "CREATE OR REPLACE TRIGGER (PostgreSQL 14+) swaps events, condition or function in one catalog "
           "change under SHARE ROW EXCLUSIVE; a constraint trigger is dropped and created in the same "
           "transaction instead."),
    OpKind("drop_trigger", 30, ("lock_brief", "breaks_old_writers"), "brief",
           "drop a trigger",
           "DROP TRIGGER takes ACCESS EXCLUSIVE for a catalog change. What the trigger maintained "
           "(updated_at, an audit row, a search vector) is no longer maintained for writes from then on."),
    OpKind("create_view", 2, (), "on the tables it reads", "create a view or materialized view",
           "CREATE VIEW stores the query; nothing runs. CREATE MATERIALIZED VIEW runs it and stores the rows "
           "(reading every row of its tables without blocking them) and builds its indexes (score 20)."),
    OpKind("replace_view", 20, ("lock_brief", "breaks_old_readers"), "on the view, brief",
           "recreate a view with a new definition",
           "The view is dropped and created in one transaction: readers wait on its ACCESS EXCLUSIVE lock "
           "instead of seeing it missing, and see the new columns afterwards. A materialized view runs its "
           "query again while the lock is held (score 50): readers wait for the whole refresh."),
    OpKind("drop_view", 30, ("lock_brief", "breaks_old_readers"), "on the view, brief",
           "drop a view or materialized view",
           "DROP VIEW fails while another view reads it (those are dropped first). Queries using it fail "
           "afterwards; a materialized view's stored rows are gone, but its reversal recomputes them."),
    OpKind("create_domain", 0, (), _NO_TABLE, "create a domain",
           "CREATE DOMAIN adds a type to the catalog; no column uses it yet, no table is touched."),
    OpKind("alter_domain", 5, (),
           "on each table using the domain while a new check or NOT NULL is checked; none otherwise",
           "change a domain's default, NOT NULL or checks",
           "Setting or dropping the default and dropping a check are catalog changes. Adding a validated "
           "check or NOT NULL checks every value of every column of the domain's type under a SHARE lock "
           "on each table (score 50: writes wait, the step fails on a violating value); added NOT VALID, "
           "the check applies to new values only."),
    OpKind("drop_domain", 10, ("breaks_old_readers",), _NO_TABLE, "drop a domain",
           "DROP DOMAIN fails while a column, another domain or a composite type uses it (zanith never "
           "adds CASCADE). Clients casting to it fail afterwards."),
    OpKind("create_type", 0, (), _NO_TABLE, "create a composite type",
           "CREATE TYPE ... AS (...) adds a type to the catalog; no column or function uses it yet."),
    OpKind("alter_type", 20, ("breaks_old_readers",), "on the composite type itself, no table",
           "add, drop or retype a composite type's attributes",
           "ALTER TYPE ... ADD / DROP / ALTER ATTRIBUTE changes the type in place; Postgres refuses to "
           "retype an attribute while a column uses the type. Clients reading a dropped attribute fail."),
    OpKind("drop_type", 10, ("breaks_old_readers",), _NO_TABLE, "drop a composite type",
           "DROP TYPE fails while a column, a function or another type uses it; clients casting to it fail."),
    OpKind("create_sequence", 0, (), _NO_TABLE, "create a standalone sequence",
           "CREATE SEQUENCE adds a one-row relation that no default or client uses yet."),
    OpKind("alter_sequence", 10, ("lock_brief",), "on the sequence, brief",
           "change a sequence's type, increment, bounds, cache or cycle",
           "ALTER SEQUENCE is a catalog change that waits for concurrent nextval() calls briefly; the "
           "current value is kept (zanith never restarts a sequence). A smaller maximum can make the next "
           "nextval() fail."),
    OpKind("drop_sequence", 40, ("lock_brief", "breaks_old_writers"), "on the sequence, brief",
           "drop a standalone sequence",
           "DROP SEQUENCE fails while a default uses it. Its current value is lost: the reversal recreates "
           "it at its START value, so ids it hands out again may collide with existing ones."),
    OpKind("create_policy", 15, ("lock_brief",), "brief", "create a row-level security policy",
           "CREATE POLICY takes ACCESS EXCLUSIVE on the table for a catalog change. With row-level security "
           "enabled, a permissive policy makes more rows visible and a restrictive one fewer, from the commit on."),
    OpKind("replace_policy", 25, ("lock_brief", "breaks_old_readers"), "brief",
           "replace a row-level security policy",
           "The policy is dropped and created in one transaction (ALTER POLICY cannot change its command "
           "or remove a clause): readers never see the table without it, but see the rows the new "
           "expression allows from the commit on."),
    OpKind("drop_policy", 35, ("lock_brief", "breaks_old_readers"), "brief",
           "drop a row-level security policy",
           "With row-level security enabled, the rows only this policy made visible disappear for every "
           "reader; dropping the last policy of such a table hides every row (score 60)."),
    OpKind("create_schema", 0, (), _NO_TABLE, "create a schema",
           "CREATE SCHEMA adds an empty namespace; nothing is locked and no client sees a difference."),
    OpKind("drop_schema", 10, ("breaks_old_readers",), _NO_TABLE, "drop an empty schema",
           "DROP SCHEMA without CASCADE fails unless every object in it was dropped first; clients whose "
           "search_path names it are unaffected, those naming objects in it were already broken."),
    OpKind("create_extension", 10, (), "no lock on user tables", "install an extension",
           "CREATE EXTENSION runs the extension's install script (types, functions, operators); the "
           "objects it creates belong to it and are never reported as drift."),
    OpKind("drop_extension", 40, ("breaks_old_readers", "breaks_old_writers"), "no lock on user tables",
           "uninstall an extension",
           "DROP EXTENSION without CASCADE fails while a column, index or function uses one of its objects; "
           "queries calling its functions fail afterwards."),
    OpKind("alter_view_options", 10, ("lock_brief",),
           "brief: a catalog update, no rewrite; SHARE UPDATE EXCLUSIVE for a materialized view's storage parameters",
           "change a view's options",
           "ALTER [MATERIALIZED] VIEW ... SET / RESET changes storage parameters or view options in the catalog; "
           "a materialized view keeps its rows, a view its dependents."),
    OpKind("create_collation", 0, (), _NO_TABLE, "create a collation",
           "CREATE COLLATION adds a catalog row; no data is read or written."),
    OpKind("drop_collation", 40, ("breaks_old_readers", "breaks_old_writers"), _NO_TABLE, "drop a collation",
           "DROP COLLATION fails while a column, domain or type uses it; queries naming it with COLLATE fail "
           "afterwards."),
    OpKind("create_text_search_dictionary", 0, (), _NO_TABLE, "create a text search dictionary",
           "CREATE TEXT SEARCH DICTIONARY adds a catalog row; no data is read or written."),
    OpKind("alter_text_search_dictionary", 30, ("breaks_old_readers",), _NO_TABLE,
           "change a text search dictionary's options",
           "New lexemes from the next call on: tsvectors already stored (generated columns, GIN indexes) keep "
           "the old ones until their rows are rewritten, so searches may miss them."),
    OpKind("drop_text_search_dictionary", 40, ("breaks_old_readers", "breaks_old_writers"), _NO_TABLE,
           "drop a text search dictionary",
           "DROP TEXT SEARCH DICTIONARY fails while a configuration maps to it; queries naming it fail afterwards."),
    OpKind("create_text_search_configuration", 0, (), _NO_TABLE, "create a text search configuration",
           "CREATE TEXT SEARCH CONFIGURATION and its mappings add catalog rows; no data is read or written."),
    OpKind("alter_text_search_configuration", 30, ("breaks_old_readers",), _NO_TABLE,
           "change a text search configuration's mappings",
           "New lexemes from the next call on: tsvectors already stored (generated columns, GIN indexes) keep "
           "the old ones until their rows are rewritten, so searches may miss them."),
    OpKind("drop_text_search_configuration", 40, ("breaks_old_readers", "breaks_old_writers"), _NO_TABLE,
           "drop a text search configuration",
           "DROP TEXT SEARCH CONFIGURATION fails while a column or index expression names it; queries naming it "
           "fail afterwards."),
    OpKind("update_extension", 20, (), "the update script's own statements; usually none on user tables",
           "update an extension",
           "ALTER EXTENSION ... UPDATE runs the extension's update scripts: its functions, operators and types "
           "change version; a script that alters a type its columns use may take locks on their tables."),
    OpKind("set_comment", 0, (), "on a table, column or view, brief; none on other objects", "set or remove a comment",
           "COMMENT ON changes documentation only; no client behaves differently."),
    OpKind("grant", 5, (), _NO_TABLE, "grant a privilege",
           "GRANT updates the object's access list; the grantee may use the object from the commit on."),
    OpKind("revoke", 30, ("breaks_old_readers", "breaks_old_writers"), _NO_TABLE, "revoke a privilege",
           "REVOKE updates the object's access list; sessions of the role lose access at their next "
           "statement, so an application still relying on the privilege fails."),
    OpKind("enable_rls", 45, ("lock_brief", "breaks_old_readers", "breaks_old_writers"), "brief",
           "enable row-level security on a table",
           "From the commit on, every role except the owner (and superusers, and roles with BYPASSRLS) sees "
           "only the rows a policy allows and may write only those: without any policy, none (score 70). "
           "Create the policies first (generate does) and test with the application's role."),
    OpKind("disable_rls", 25, ("lock_brief",), "brief", "disable row-level security",
           "A catalog change; from then on every role with the table privilege sees every row, whatever "
           "the policies say: a security change to review, not an availability risk."),
    OpKind("force_rls", 30, ("lock_brief", "breaks_old_readers"), "brief",
           "apply row-level security to the table's owner too",
           "FORCE ROW LEVEL SECURITY subjects the owner to the policies: an application connecting as the "
           "owner (common in small deployments) suddenly sees only what the policies allow — nothing "
           "without a policy (score 70)."),
    OpKind("no_force_rls", 15, ("lock_brief",), "brief", "exempt the owner from row-level security",
           "A catalog change under a brief ACCESS EXCLUSIVE; the table's owner sees every row again."),
)  # fmt: skip

#: The definition family's kinds (``docs/risk.md`` lists them apart from the table-level kinds).
DEFINITION_KIND_NAMES = frozenset(entry.kind for entry in _DEFINITION_OP_KINDS)

OP_KINDS: dict[str, OpKind] = {k.kind: k for k in (*_OP_KINDS, *_DEFINITION_OP_KINDS)}


def level_for(score: int) -> str:
    """The name of the level whose band holds ``score`` (clamped to 0-100)."""
    clamped = max(0, min(100, score))
    return next(level.name for level in LEVELS if level.low <= clamped <= level.high)


__all__ = [
    "DEFINITION_KIND_NAMES",
    "GATES",
    "LEVELS",
    "OP_KINDS",
    "REASONS",
    "Gate",
    "Level",
    "OpKind",
    "Reason",
    "level_for",
]

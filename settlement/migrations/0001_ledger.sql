-- zkmargin settlement ledger, schema version 1.
--
-- Written in the SQL that SQLite and PostgreSQL both accept: integers are BIGINT
-- (64-bit signed in both), digests and commitments TEXT (lowercase hex digests,
-- 0x-prefixed commitments), JSON documents TEXT. Amounts are quote atomic units
-- (1e-6 USD). Ids, times, balances and unsigned amounts (execution value, penalty,
-- fees, deficit) are checked to fit 0 ≤ x < 2^63 before they are written; the
-- execution value and fees are < 2^62 by the statement's encoder. Two columns are
-- signed: applied_liquidations.quote_delta (−2^63 < x < 2^62: −(value + penalty) for a
-- short close, value − penalty otherwise) and events.amount (|x| < 2^63; negative for
-- a deficit the fund paid).

-- One row: the operator key, the writer lock and the event-log head.
-- Every write transaction starts by bumping write_epoch, which serializes writers on
-- both databases (the row lock on PostgreSQL, the database write lock on SQLite).
CREATE TABLE ledger_meta (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    operator_key_sha256 TEXT,
    write_epoch BIGINT NOT NULL,
    next_event_seq BIGINT NOT NULL CHECK (next_event_seq >= 1),
    event_chain_head TEXT NOT NULL
);
INSERT INTO ledger_meta (id, operator_key_sha256, write_epoch, next_event_seq, event_chain_head)
VALUES (1, NULL, 0, 1, '0000000000000000000000000000000000000000000000000000000000000000');

-- Each account's current commitment; nonce counts the ledger updates of the account.
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY CHECK (id >= 0),
    commitment TEXT NOT NULL UNIQUE,
    nonce BIGINT NOT NULL CHECK (nonce >= 0),
    updated_at BIGINT NOT NULL
);

-- Applied liquidations, keyed on the statement digest (never on proof bytes).
CREATE TABLE applied_liquidations (
    statement_digest TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    old_commitment TEXT NOT NULL,
    new_commitment TEXT NOT NULL,
    action TEXT NOT NULL,
    terms TEXT NOT NULL,
    execution_value BIGINT NOT NULL CHECK (execution_value >= 0),
    penalty BIGINT NOT NULL CHECK (penalty >= 0),
    insurance_fee BIGINT NOT NULL CHECK (insurance_fee >= 0),
    liquidator_fee BIGINT NOT NULL CHECK (liquidator_fee >= 0),
    quote_delta BIGINT NOT NULL,
    deficit BIGINT NOT NULL CHECK (deficit >= 0),
    fund_paid BIGINT NOT NULL CHECK (fund_paid >= 0),
    socialized BIGINT NOT NULL CHECK (socialized >= 0),
    liquidator BIGINT NOT NULL CHECK (liquidator >= 0),
    risk_params_digest TEXT NOT NULL,
    report_digest TEXT NOT NULL,
    report_observed_at BIGINT NOT NULL,
    -- Which oracle committee accepted the report and which verifying key the proof
    -- verified under (the liquidation key's fingerprint: SHA-256 of the key file).
    oracle_config_digest TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    account_nonce BIGINT NOT NULL,
    applied_at BIGINT NOT NULL,
    CHECK (penalty = insurance_fee + liquidator_fee),
    CHECK (deficit = fund_paid + socialized)
);
CREATE INDEX applied_liquidations_by_account ON applied_liquidations (account_id);

-- What each liquidator is owed.
CREATE TABLE liquidator_credits (
    liquidator BIGINT PRIMARY KEY CHECK (liquidator >= 0),
    balance BIGINT NOT NULL CHECK (balance >= 0),
    updated_at BIGINT NOT NULL
);

-- The insurance fund: one row.
CREATE TABLE insurance_fund (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    balance BIGINT NOT NULL CHECK (balance >= 0),
    updated_at BIGINT NOT NULL
);
INSERT INTO insurance_fund (id, balance, updated_at) VALUES (1, 0, 0);

-- Deficits the fund could not pay, per liquidation.
CREATE TABLE socialized_losses (
    statement_digest TEXT PRIMARY KEY REFERENCES applied_liquidations (statement_digest),
    account_id BIGINT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    recorded_at BIGINT NOT NULL
);

-- The append-only event log. seq is gapless (assigned under the writer lock); each
-- event's hash chains it to the previous one, and ledger_meta.event_chain_head holds
-- the last hash, so an edited, removed or truncated log is detected.
CREATE TABLE events (
    seq BIGINT PRIMARY KEY CHECK (seq >= 1),
    kind TEXT NOT NULL,
    account_id BIGINT,
    liquidator BIGINT,
    statement_digest TEXT,
    amount BIGINT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_by_statement ON events (statement_digest);
CREATE INDEX events_by_account ON events (account_id);

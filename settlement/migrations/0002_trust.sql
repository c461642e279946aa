-- zkmargin settlement ledger, schema version 2: the pinned trust.
--
-- What the ledger accepts liquidations under, set by the operator (`ledger init`,
-- rotated with `ledger trust`): the liquidation verifying key's fingerprint (SHA-256
-- of the key file), the oracle committee's config digest and the accepted risk
-- parameters' digests (lowercase hex, sorted, comma-separated). A liquidation verified
-- under anything else is refused (`untrusted_verifier`), so whoever runs a settling
-- shell cannot swap in keys, a committee or parameters of their own. One row; none
-- until the operator pins (then every apply is refused as `trust_not_pinned`).
CREATE TABLE ledger_trust (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    key_fingerprint TEXT NOT NULL,
    oracle_config_digest TEXT NOT NULL,
    risk_params_digests TEXT NOT NULL,
    pinned_at BIGINT NOT NULL
);

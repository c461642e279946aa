// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.13;

import {MarginVerifierLib} from "./generated/MarginVerifier.sol";
import {LiquidationVerifierLib} from "./generated/LiquidationVerifier.sol";

/// @title zkmargin settlement: the SQL ledger's liquidation rules on the EVM
/// @notice Holds each account's current commitment (replaced by the operator for trades
/// and deposits), the oracle committee, the risk parameters and the verifying keys
/// (inlined: the generated libraries). A signed price report is posted once per tick
/// (`postReport`); its prices are folded into both circuits' public-input points once
/// and cached, so `verifyMargin` and `liquidate` pay only for each proof's own inputs.
/// `liquidate` applies a verified transition exactly as `settlement/src/apply.rs` does:
/// replay key = statement digest, stale commitment refused, liquidator and insurance
/// fund credited, a deficit paid by the fund and the rest recorded as socialized loss,
/// one event per movement. Balances are accounting credits in quote units: the
/// contract holds and moves no ether (no payable function).
/// Storage is laid out so that a liquidation writes exactly one fresh slot, its replay
/// key: the account record is keyed by account id and rewritten in place, a
/// liquidator's credit lives in the (never zero) slot of its registration, and the
/// fund's balance and the socialized losses share one slot.
/// @dev Errors carry the codes of `SettleError::code` and `OracleError::code` (in the
/// comment of each). Every state-changing function checks, then writes, and makes no
/// external call at all (the verifiers are inlined; precompiles only).
contract ZkMarginSettlement {
    // ------------------------------------------------------------------ errors

    /// `replay`: this statement was already applied (also with a re-randomized proof).
    error Replay(bytes32 statementDigest);
    /// `stale_commitment`: the old commitment is no account's current one.
    error StaleCommitment(uint256 commitment);
    /// `stale_report`: the account was already liquidated at a newer report.
    error StaleReport(uint64 accountId, uint64 observedAt, uint64 newest);
    /// `unknown_account`.
    error UnknownAccount(uint64 accountId);
    /// `account_exists`.
    error AccountExists(uint64 accountId);
    /// `unknown_liquidator`: no liquidator registered with this id (register once with
    /// `registerLiquidator`; the contract's own code, the SQL ledger needs none).
    error UnknownLiquidator(uint64 liquidator);
    /// `liquidator_exists`: this liquidator id is already registered.
    error LiquidatorExists(uint64 liquidator);
    /// `liquidator_key_rejected`: only a liquidator's payout address may hand it over.
    error LiquidatorKeyRejected(uint64 liquidator, address caller);
    /// `operator_key_rejected`: an operator call from another address.
    error OperatorKeyRejected(address caller);
    /// `zero_deposit`.
    error ZeroDeposit();
    /// `balance_overflow`: a credit or the fund would exceed 2^63 - 1.
    error Overflow();
    /// `untrusted_verifier`: deployed with a key fingerprint other than the inlined key's.
    error UntrustedVerifier(bytes32 given, bytes32 inlined);
    /// `oracle_invalid_config`: quorum not in 1..=signers, or a zero maximum age.
    error InvalidOracleConfig(uint256 signers, uint256 quorum, uint64 maxAgeSecs);
    /// `oracle_invalid_config`: a committee member that is the zero address or listed twice.
    error InvalidSigner(address signer);
    /// `invalid_argument`: `what` names the argument (an insurance share above 10^6
    /// ppm, a zero payout address).
    error InvalidArgument(bytes32 what);
    /// `oracle_invalid_report`: the report bytes are not a valid canonical report.
    error InvalidReport(uint256 offset);
    /// `oracle_malformed_signature`: s is not in the low half (BIP 62), or r, s are 0.
    error MalformedSignature(address signer);
    /// `oracle_unknown_signer`.
    error UnknownSigner(address signer);
    /// `oracle_duplicate_signer`.
    error DuplicateSigner(address signer);
    /// `oracle_bad_signature`.
    error BadSignature(address signer);
    /// `oracle_quorum_not_met`.
    error QuorumNotMet(uint256 valid, uint256 required);
    /// `oracle_report_from_future`.
    error ReportFromFuture(uint64 observedAt, uint64 now);
    /// `oracle_report_expired`.
    error ReportExpired(uint64 expiresAt, uint64 now);
    /// `oracle_stale_report`.
    error ReportStale(uint64 ageSecs, uint64 maxAgeSecs);
    /// `missing_price`: the report has no positive price for a slot the parameters use.
    error MissingPrice(uint256 slot);
    /// `unknown_report`: no report with this id was posted.
    error UnknownReport(bytes32 reportId);
    /// `report_posted`: this report was already posted.
    error ReportPosted(bytes32 reportId);
    /// `statement_mismatch`: the statement's shared inputs are not the report's prices
    /// and the deployed parameters.
    error StatementMismatch();

    // ------------------------------------------------------------------ events
    // One per movement, as `settlement/src/events.rs` logs them.

    /// `account_registered`.
    event AccountRegistered(uint64 indexed accountId, uint256 commitment);
    /// `commitment_replaced`.
    event CommitmentReplaced(uint64 indexed accountId, uint256 oldCommitment, uint256 newCommitment, uint64 nonce);
    /// `liquidation_applied` (amount: the penalty).
    event LiquidationApplied(
        uint64 indexed accountId,
        uint64 indexed liquidator,
        bytes32 indexed statementDigest,
        uint256 oldCommitment,
        uint256 newCommitment,
        uint64 nonce,
        uint64 penalty,
        uint64 deficit,
        bytes32 reportId
    );
    /// `liquidator_credited`.
    event LiquidatorCredited(uint64 indexed accountId, uint64 indexed liquidator, bytes32 indexed statementDigest, uint64 amount, uint64 balance);
    /// `insurance_fee`.
    event InsuranceFee(uint64 indexed accountId, bytes32 indexed statementDigest, uint64 amount, uint64 balance);
    /// `fund_deposit`.
    event FundDeposit(uint64 amount, uint64 balance);
    /// A liquidator id was registered, or its payout address changed (no SQL-ledger
    /// twin: the ledger credits any id).
    event LiquidatorRegistered(uint64 indexed liquidator, address payout);
    /// `deficit_covered` (the amount leaves the fund).
    event DeficitCovered(uint64 indexed accountId, bytes32 indexed statementDigest, uint64 amount, uint64 deficit, uint64 balance);
    /// `loss_socialized`.
    event LossSocialized(uint64 indexed accountId, bytes32 indexed statementDigest, uint64 amount, uint64 deficit);
    /// A report was posted and its prices folded (no SQL-ledger twin: the ledger takes
    /// the report inside each bundle).
    event ReportAccepted(bytes32 indexed reportId, uint64 observedAt, uint64 expiresAt);

    // ------------------------------------------------------------------ configuration

    /// The operator: registers accounts, replaces commitments, funds the insurance fund.
    address public immutable operator;
    /// SHA-256 of the verifying key files (the inlined keys').
    bytes32 public constant MARGIN_KEY_FINGERPRINT = MarginVerifierLib.KEY_FINGERPRINT;
    bytes32 public constant LIQUIDATION_KEY_FINGERPRINT = LiquidationVerifierLib.KEY_FINGERPRINT;
    /// `OracleConfig::digest` and `RiskParams::digest` of the deployed configuration.
    bytes32 public immutable oracleConfigDigest;
    bytes32 public immutable riskParamsDigest;
    /// Distinct committee signatures required; report age and clock-skew limits.
    uint256 public immutable quorum;
    uint64 public immutable maxAgeSecs;
    uint64 public immutable maxFutureSkewSecs;
    /// Share of each penalty credited to the insurance fund, ppm.
    uint64 public immutable insuranceSharePpm;
    /// Bit i set: price slot i (tokens 0..8, markets 8..16) must have a price.
    uint256 public immutable usedSlots;
    /// IC_0 + the margin weights' terms; IC_0 + the liquidation parameters' terms.
    uint256 private immutable MARGIN_BASE_X;
    uint256 private immutable MARGIN_BASE_Y;
    uint256 private immutable LIQUIDATION_BASE_X;
    uint256 private immutable LIQUIDATION_BASE_Y;
    /// The 29 liquidation parameter inputs (24 weights, then 5 rules), for the
    /// statement digest: in code, not storage (no SLOAD per liquidation).
    uint256 private immutable P0;
    uint256 private immutable P1;
    uint256 private immutable P2;
    uint256 private immutable P3;
    uint256 private immutable P4;
    uint256 private immutable P5;
    uint256 private immutable P6;
    uint256 private immutable P7;
    uint256 private immutable P8;
    uint256 private immutable P9;
    uint256 private immutable P10;
    uint256 private immutable P11;
    uint256 private immutable P12;
    uint256 private immutable P13;
    uint256 private immutable P14;
    uint256 private immutable P15;
    uint256 private immutable P16;
    uint256 private immutable P17;
    uint256 private immutable P18;
    uint256 private immutable P19;
    uint256 private immutable P20;
    uint256 private immutable P21;
    uint256 private immutable P22;
    uint256 private immutable P23;
    uint256 private immutable P24;
    uint256 private immutable P25;
    uint256 private immutable P26;
    uint256 private immutable P27;
    uint256 private immutable P28;

    /// Committee members.
    mapping(address => bool) public isSigner;
    /// Feed id (left-aligned, zero-padded) → bit mask of the price slots it feeds.
    mapping(bytes32 => uint256) public feedSlots;

    // ------------------------------------------------------------------ state

    /// One posted report: its times and its prices' tag (the first 128 bits of the
    /// keccak256 of its 16 slot prices) in one slot, then both folded points.
    struct Tick {
        uint64 observedAt;
        uint64 expiresAt;
        uint128 pricesTag;
        uint256 marginX;
        uint256 marginY;
        uint256 liquidationX;
        uint256 liquidationY;
    }

    /// Posted reports by id (the report's SHA-256 digest).
    mapping(bytes32 => Tick) public ticks;
    /// An account: its current commitment (one slot), then its nonce (commitment
    /// replacements so far), the newest report time it was liquidated at and the
    /// registered flag (one slot, never zero once registered). A liquidation rewrites
    /// both in place: no fresh slot.
    struct Account {
        uint256 commitment;
        uint64 nonce;
        uint64 liquidatedAt;
        bool registered;
    }

    /// A liquidator: who its credits belong to and its credit, quote units (one slot,
    /// never zero once registered, so a credit is never a fresh-slot write).
    struct Liquidator {
        address payout;
        uint64 credit;
    }

    /// Accounts by id. Keyed by id, not commitment: the commitment binds the account id
    /// (and the liquidation circuit keeps the id), so two accounts' commitments differ.
    mapping(uint64 => Account) public accounts;
    /// Applied statement digests: the replay keys.
    mapping(bytes32 => bool) public applied;
    /// Registered liquidators by id (the id the liquidation proof binds).
    mapping(uint64 => Liquidator) public liquidators;
    /// The insurance fund's balance and the socialized losses recorded, quote units
    /// (one slot).
    uint64 public fundBalance;
    uint64 public socializedLoss;

    uint256 private constant PPM = 1_000_000;
    /// secp256k1 group order / 2: the largest low-S value.
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    bytes32 private constant REPORT_DOMAIN = "zkmargin/price-report/v1";
    uint256 private constant REPORT_VERSION = 1;
    int32 private constant PRICE_EXPONENT = -9;

    /// A committee signature: the signer's address (of its secp256k1 key) and (r, s);
    /// the recovery id is found by trying both.
    struct Signature {
        address signer;
        bytes32 r;
        bytes32 s;
    }

    /// Deployment configuration.
    struct Config {
        address operator;
        bytes32 marginKeyFingerprint;
        bytes32 liquidationKeyFingerprint;
        bytes32 oracleConfigDigest;
        address[] signers;
        uint256 quorum;
        uint64 maxAgeSecs;
        uint64 maxFutureSkewSecs;
        bytes32 riskParamsDigest;
        /// Feed id per price slot, left-aligned and zero-padded; 0 for an unused slot.
        bytes32[16] feeds;
        /// The margin statement's 24 weight inputs.
        uint256[24] weights;
        /// The liquidation statement's 5 rule inputs.
        uint256[5] rules;
        uint64 insuranceSharePpm;
    }

    constructor(Config memory c) {
        if (c.marginKeyFingerprint != MarginVerifierLib.KEY_FINGERPRINT) {
            revert UntrustedVerifier(c.marginKeyFingerprint, MarginVerifierLib.KEY_FINGERPRINT);
        }
        if (c.liquidationKeyFingerprint != LiquidationVerifierLib.KEY_FINGERPRINT) {
            revert UntrustedVerifier(c.liquidationKeyFingerprint, LiquidationVerifierLib.KEY_FINGERPRINT);
        }
        if (c.quorum < 1 || c.quorum > c.signers.length || c.maxAgeSecs == 0) {
            revert InvalidOracleConfig(c.signers.length, c.quorum, c.maxAgeSecs);
        }
        if (c.insuranceSharePpm > PPM) revert InvalidArgument("insuranceSharePpm");
        operator = c.operator;
        oracleConfigDigest = c.oracleConfigDigest;
        riskParamsDigest = c.riskParamsDigest;
        quorum = c.quorum;
        maxAgeSecs = c.maxAgeSecs;
        maxFutureSkewSecs = c.maxFutureSkewSecs;
        insuranceSharePpm = c.insuranceSharePpm;
        for (uint256 i = 0; i < c.signers.length; i++) {
            if (c.signers[i] == address(0) || isSigner[c.signers[i]]) revert InvalidSigner(c.signers[i]);
            isSigner[c.signers[i]] = true;
        }
        uint256 used;
        for (uint256 i = 0; i < 16; i++) {
            if (c.feeds[i] != bytes32(0)) {
                used |= 1 << i;
                feedSlots[c.feeds[i]] |= 1 << i;
            }
        }
        usedSlots = used;
        (uint256 cx, uint256 cy) = MarginVerifierLib.constantTerm();
        (MARGIN_BASE_X, MARGIN_BASE_Y) = MarginVerifierLib.foldWeights(c.weights, cx, cy);
        uint256[29] memory params;
        for (uint256 i = 0; i < 24; i++) {
            params[i] = c.weights[i];
        }
        for (uint256 i = 0; i < 5; i++) {
            params[24 + i] = c.rules[i];
        }
        P0 = params[0];
        P1 = params[1];
        P2 = params[2];
        P3 = params[3];
        P4 = params[4];
        P5 = params[5];
        P6 = params[6];
        P7 = params[7];
        P8 = params[8];
        P9 = params[9];
        P10 = params[10];
        P11 = params[11];
        P12 = params[12];
        P13 = params[13];
        P14 = params[14];
        P15 = params[15];
        P16 = params[16];
        P17 = params[17];
        P18 = params[18];
        P19 = params[19];
        P20 = params[20];
        P21 = params[21];
        P22 = params[22];
        P23 = params[23];
        P24 = params[24];
        P25 = params[25];
        P26 = params[26];
        P27 = params[27];
        P28 = params[28];
        (cx, cy) = LiquidationVerifierLib.constantTerm();
        (LIQUIDATION_BASE_X, LIQUIDATION_BASE_Y) = LiquidationVerifierLib.foldParams(params, cx, cy);
    }

    modifier onlyOperator() {
        if (msg.sender != operator) revert OperatorKeyRejected(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ oracle

    /// Posts a signed report: `report` is its canonical encoding (`PriceReport::
    /// canonical_bytes`), whose SHA-256 digest the committee signed and which is the
    /// report's id. Checks, in the oracle crate's order: the encoding; every signer a
    /// committee member, none twice, every signature valid; the quorum; freshness
    /// against `block.timestamp`; a positive price for every used slot. Then folds the
    /// prices into both circuits' points once and caches them.
    function postReport(bytes calldata report, Signature[] calldata signatures) external returns (bytes32 reportId) {
        reportId = sha256(report);
        if (ticks[reportId].expiresAt != 0) revert ReportPosted(reportId);
        (uint64 observedAt, uint64 expiresAt, uint256[16] memory prices) = _parse(report);

        for (uint256 i = 0; i < signatures.length; i++) {
            Signature calldata s = signatures[i];
            if (uint256(s.s) > HALF_N || s.s == 0 || s.r == 0) revert MalformedSignature(s.signer);
        }
        for (uint256 i = 0; i < signatures.length; i++) {
            if (!isSigner[signatures[i].signer]) revert UnknownSigner(signatures[i].signer);
        }
        for (uint256 i = 1; i < signatures.length; i++) {
            for (uint256 j = 0; j < i; j++) {
                if (signatures[i].signer == signatures[j].signer) revert DuplicateSigner(signatures[i].signer);
            }
        }
        for (uint256 i = 0; i < signatures.length; i++) {
            Signature calldata s = signatures[i];
            address a = ecrecover(reportId, 27, s.r, s.s);
            if (a != s.signer) a = ecrecover(reportId, 28, s.r, s.s);
            if (a != s.signer) revert BadSignature(s.signer);
        }
        if (signatures.length < quorum) revert QuorumNotMet(signatures.length, quorum);
        if (observedAt > block.timestamp + maxFutureSkewSecs) {
            revert ReportFromFuture(observedAt, uint64(block.timestamp));
        }
        _checkFresh(observedAt, expiresAt);

        uint256 used = usedSlots;
        for (uint256 i = 0; i < 16; i++) {
            if (used & (1 << i) != 0 && prices[i] == 0) revert MissingPrice(i);
        }
        Tick storage t = ticks[reportId];
        (t.observedAt, t.expiresAt, t.pricesTag) = (observedAt, expiresAt, _pricesTag(prices));
        (t.marginX, t.marginY) = MarginVerifierLib.foldPrices(prices, MARGIN_BASE_X, MARGIN_BASE_Y);
        (t.liquidationX, t.liquidationY) =
            LiquidationVerifierLib.foldPrices(prices, LIQUIDATION_BASE_X, LIQUIDATION_BASE_Y);
        emit ReportAccepted(reportId, observedAt, expiresAt);
    }

    /// The usable window: `now < expiresAt` and `now - observedAt <= maxAgeSecs`.
    function _checkFresh(uint64 observedAt, uint64 expiresAt) private view {
        if (block.timestamp >= expiresAt) revert ReportExpired(expiresAt, uint64(block.timestamp));
        uint256 age = block.timestamp > observedAt ? block.timestamp - observedAt : 0;
        if (age > maxAgeSecs) revert ReportStale(uint64(age), maxAgeSecs);
    }

    /// Decodes a canonical report (`PriceReport::canonical_bytes`, validated as
    /// `PriceReport::validate` does) into its times and the price of each slot (0 for
    /// slots no feed of the report is configured for).
    function _parse(bytes calldata r)
        private
        view
        returns (uint64 observedAt, uint64 expiresAt, uint256[16] memory prices)
    {
        // u8 len || domain || version u32 || exponent i32 || observed u64 || expires u64 || count u16
        if (r.length < 51 || uint8(r[0]) != 24 || bytes24(r[1:25]) != bytes24(REPORT_DOMAIN)) revert InvalidReport(0);
        if (uint32(bytes4(r[25:29])) != REPORT_VERSION) revert InvalidReport(25);
        if (int32(uint32(bytes4(r[29:33]))) != PRICE_EXPONENT) revert InvalidReport(29);
        observedAt = uint64(bytes8(r[33:41]));
        expiresAt = uint64(bytes8(r[41:49]));
        if (expiresAt <= observedAt) revert InvalidReport(41);
        uint256 count = uint16(bytes2(r[49:51]));
        if (count == 0 || count > 64) revert InvalidReport(49);
        uint256 off = 51;
        uint256 previous;
        for (uint256 i = 0; i < count; i++) {
            if (off >= r.length) revert InvalidReport(off);
            uint256 len = uint8(r[off]);
            if (len == 0 || len > 32 || off + 1 + len + 24 > r.length) revert InvalidReport(off);
            // Left-aligned, zero-padded: ids are printable ASCII (no zero byte), so the
            // word order is the byte order of the ids, and strictly ascending words
            // mean strictly ascending, distinct ids.
            bytes32 id = bytes32(r[off + 1:off + 1 + len]);
            if (!_printable(uint256(id), len)) revert InvalidReport(off);
            if (uint256(id) <= previous) revert InvalidReport(off);
            previous = uint256(id);
            off += 1 + len;
            uint256 price = uint64(bytes8(r[off:off + 8]));
            uint256 bid = uint64(bytes8(r[off + 8:off + 16]));
            uint256 ask = uint64(bytes8(r[off + 16:off + 24]));
            if (bid == 0 || bid > price || price > ask) revert InvalidReport(off);
            off += 24;
            uint256 slots = feedSlots[id];
            while (slots != 0) {
                uint256 slot = _lowestBit(slots);
                prices[slot] = price;
                slots &= slots - 1;
            }
        }
        if (off != r.length) revert InvalidReport(off);
    }

    /// Whether the first `len` (1..=32) bytes of `w` are printable ASCII, 0x21..=0x7e,
    /// as the oracle crate requires of feed ids: all bytes at once (SWAR). With every
    /// byte below 0x80, adding 0x5f to each sets its top bit iff it is ≥ 0x21, adding
    /// 0x01 iff it is ≥ 0x7f, and no byte carries into the next (0x7f + 0x5f < 0x100).
    function _printable(uint256 w, uint256 len) private pure returns (bool) {
        uint256 high = 0x8080808080808080808080808080808080808080808080808080808080808080;
        uint256 idHigh = high & ~(type(uint256).max >> (8 * len));
        if (w & high != 0) return false;
        unchecked {
            return (w + 0x5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f) & idHigh == idHigh
                && (w + 0x0101010101010101010101010101010101010101010101010101010101010101) & idHigh == 0;
        }
    }

    function _lowestBit(uint256 x) private pure returns (uint256 i) {
        while (x & 1 == 0) {
            x >>= 1;
            i++;
        }
    }

    function _tick(bytes32 reportId) private view returns (Tick storage t) {
        t = ticks[reportId];
        if (t.expiresAt == 0) revert UnknownReport(reportId);
        _checkFresh(t.observedAt, t.expiresAt);
    }

    // ------------------------------------------------------------------ verification

    /// Verifies a margin proof: "the account inside `commitment` has `status` (0
    /// meets, 1 breaches) at threshold `tau` (ppm) at report `reportId`'s prices under
    /// the deployed weights". Reverts unless the proof verifies and the report is fresh;
    /// returns nothing. It does not say whether `commitment` is current: see `isCurrent`.
    function verifyMargin(uint256 commitment, uint256 status, uint256 tau, bytes32 reportId, uint256[8] calldata proof)
        external
        view
    {
        Tick storage t = _tick(reportId);
        MarginVerifierLib.verifyFolded(proof, [commitment, status, tau], t.marginX, t.marginY);
    }

    /// Whether `commitment` is account `accountId`'s current commitment.
    function isCurrent(uint64 accountId, uint256 commitment) external view returns (bool) {
        Account storage a = accounts[accountId];
        return a.registered && a.commitment == commitment;
    }

    /// Liquidator `liquidator`'s credit, quote units (0 if unregistered).
    function liquidatorCredit(uint64 liquidator) external view returns (uint64) {
        return liquidators[liquidator].credit;
    }

    // ------------------------------------------------------------------ liquidation

    /// Applies a liquidation of account `accountId`. `statement` is the 4 per-proof
    /// public inputs (old and new commitment, action word, money word) and `prices` the
    /// 16 price inputs of `LiquidationPublic::to_field_elements`, which must be report
    /// `reportId`'s; the other 29 inputs are the deployed parameters. The statement
    /// digest (the replay key) is `LiquidationPublic::digest` of those 49 inputs. As
    /// `apply.rs`: the statement digest must be new, the old commitment the account's
    /// current one, the report not older than the account's last liquidation, the
    /// liquidator (the proof's) registered; the proof must verify; then the account
    /// moves to the new commitment (nonce + 1), the liquidator and the fund are
    /// credited (insurance fee = penalty * insuranceSharePpm / 1e6, the rest to the
    /// liquidator), a deficit is paid by the fund as far as its balance goes and the
    /// rest recorded as socialized loss. `accountId` is not a statement input (the
    /// commitment hides it): a wrong one names an account whose commitment is not the
    /// statement's, and reverts `StaleCommitment`.
    function liquidate(
        uint64 accountId,
        uint256[4] calldata statement,
        uint256[16] calldata prices,
        bytes32 reportId,
        uint256[8] calldata proof
    ) external {
        // Checks.
        Tick storage t = _tick(reportId);
        if (_pricesTag(prices) != t.pricesTag) revert StatementMismatch();
        bytes32 digest =
            sha256(abi.encodePacked(uint8(33), "zkmargin/liquidation-statement/v2", statement, prices, _params()));
        if (applied[digest]) revert Replay(digest);
        Account storage a = accounts[accountId];
        if (!a.registered) revert UnknownAccount(accountId);
        if (a.commitment != statement[0]) revert StaleCommitment(statement[0]);
        uint64 observedAt = t.observedAt;
        if (a.liquidatedAt > observedAt) revert StaleReport(accountId, observedAt, a.liquidatedAt);
        // The words are range-checked by the circuit: a verified proof's fields fit.
        uint64 liquidatorId = uint64(statement[2] >> 69);
        Liquidator storage l = liquidators[liquidatorId];
        if (l.payout == address(0)) revert UnknownLiquidator(liquidatorId);
        LiquidationVerifierLib.verifyFolded(
            proof, [statement[0], statement[1], statement[2], statement[3]], t.liquidationX, t.liquidationY
        );
        Movement memory m = _terms(statement[3], l.credit);
        (m.accountId, m.liquidator, m.nonce) = (accountId, liquidatorId, a.nonce + 1);

        // Effects: no external call anywhere (precompiles only). One fresh slot (the
        // replay key); the account, the credit and the fund are rewritten in place.
        applied[digest] = true;
        (a.commitment, a.nonce, a.liquidatedAt) = (statement[1], m.nonce, observedAt);
        l.credit = m.credit;
        (fundBalance, socializedLoss) = (m.fundAfter, m.lossAfter);
        _log(m, digest, statement[0], statement[1], reportId);
    }

    /// What a liquidation moves, as `apply.rs` computes it.
    struct Movement {
        uint64 accountId;
        uint64 liquidator;
        uint64 nonce;
        uint64 penalty;
        uint64 deficit;
        uint64 insuranceFee;
        uint64 liquidatorFee;
        uint64 credit;
        uint64 fundAfterFee;
        uint64 fundPaid;
        uint64 socialized;
        uint64 fundAfter;
        uint64 lossAfter;
    }

    /// The money a verified statement's money word moves, given the liquidator's
    /// credit: fees first, then the deficit out of the fund (this fee included).
    function _terms(uint256 moneyWord, uint64 creditBefore) private view returns (Movement memory m) {
        // The money word is range-checked by the circuit: a verified proof's fields fit.
        m.penalty = uint64((moneyWord >> 62) & ((1 << 62) - 1));
        m.deficit = uint64(moneyWord >> 124);
        uint256 fee = (uint256(m.penalty) * insuranceSharePpm) / PPM;
        m.insuranceFee = uint64(fee < m.penalty ? fee : m.penalty);
        m.liquidatorFee = m.penalty - m.insuranceFee;
        uint256 credit = uint256(creditBefore) + m.liquidatorFee;
        uint256 fundAfterFee = uint256(fundBalance) + m.insuranceFee;
        if (credit >= 1 << 63 || fundAfterFee >= 1 << 63) revert Overflow();
        m.credit = uint64(credit);
        m.fundAfterFee = uint64(fundAfterFee);
        m.fundPaid = m.deficit < m.fundAfterFee ? m.deficit : m.fundAfterFee;
        m.socialized = m.deficit - m.fundPaid;
        m.fundAfter = m.fundAfterFee - m.fundPaid;
        uint256 lossAfter = uint256(socializedLoss) + m.socialized;
        if (lossAfter >= 1 << 63) revert Overflow();
        m.lossAfter = uint64(lossAfter);
    }

    function _log(Movement memory m, bytes32 digest, uint256 oldC, uint256 newC, bytes32 reportId) private {
        emit LiquidationApplied(m.accountId, m.liquidator, digest, oldC, newC, m.nonce, m.penalty, m.deficit, reportId);
        emit LiquidatorCredited(m.accountId, m.liquidator, digest, m.liquidatorFee, m.credit);
        emit InsuranceFee(m.accountId, digest, m.insuranceFee, m.fundAfterFee);
        if (m.fundPaid > 0) emit DeficitCovered(m.accountId, digest, m.fundPaid, m.deficit, m.fundAfter);
        if (m.socialized > 0) emit LossSocialized(m.accountId, digest, m.socialized, m.deficit);
    }

    /// The first 128 bits of keccak256 of the 16 price inputs.
    function _pricesTag(uint256[16] memory prices) private pure returns (uint128) {
        return uint128(uint256(keccak256(abi.encodePacked(prices))) >> 128);
    }

    /// The 29 parameter inputs (liquidation statement inputs 20..49).
    function _params() private view returns (uint256[29] memory p) {
        p[0] = P0;
        p[1] = P1;
        p[2] = P2;
        p[3] = P3;
        p[4] = P4;
        p[5] = P5;
        p[6] = P6;
        p[7] = P7;
        p[8] = P8;
        p[9] = P9;
        p[10] = P10;
        p[11] = P11;
        p[12] = P12;
        p[13] = P13;
        p[14] = P14;
        p[15] = P15;
        p[16] = P16;
        p[17] = P17;
        p[18] = P18;
        p[19] = P19;
        p[20] = P20;
        p[21] = P21;
        p[22] = P22;
        p[23] = P23;
        p[24] = P24;
        p[25] = P25;
        p[26] = P26;
        p[27] = P27;
        p[28] = P28;
    }

    // ------------------------------------------------------------------ operator

    /// Registers account `accountId` at `commitment` (a commitment to an account of
    /// that id: the operator's word, as in the SQL ledger).
    function registerAccount(uint64 accountId, uint256 commitment) external onlyOperator {
        Account storage a = accounts[accountId];
        if (a.registered) revert AccountExists(accountId);
        (a.commitment, a.registered) = (commitment, true);
        emit AccountRegistered(accountId, commitment);
    }

    /// Replaces account `accountId`'s commitment `expected` (a trade, a deposit):
    /// nonce + 1. `StaleCommitment` if `expected` is not its current one.
    function replaceCommitment(uint64 accountId, uint256 expected, uint256 commitment) external onlyOperator {
        Account storage a = accounts[accountId];
        if (!a.registered) revert UnknownAccount(accountId);
        if (a.commitment != expected) revert StaleCommitment(expected);
        uint64 nonce = a.nonce + 1;
        (a.commitment, a.nonce) = (commitment, nonce);
        emit CommitmentReplaced(accountId, expected, commitment, nonce);
    }

    /// Registers liquidator id `liquidator`, whose credits belong to `payout`; the
    /// operator only. Ids are the venue's (the liquidation proof names one), so a
    /// self-registration would let anyone squat an id the venue assigned and take its
    /// credits; an operator that refuses to register a liquidator only withholds
    /// liquidations, which it can already do (docs/ONCHAIN.md, trust assumptions).
    function registerLiquidator(uint64 liquidator, address payout) external onlyOperator {
        if (payout == address(0)) revert InvalidArgument("payout");
        Liquidator storage l = liquidators[liquidator];
        if (l.payout != address(0)) revert LiquidatorExists(liquidator);
        l.payout = payout;
        emit LiquidatorRegistered(liquidator, payout);
    }

    /// Hands liquidator `liquidator` (its credit included) to `payout`; only its
    /// current payout address may.
    function transferLiquidator(uint64 liquidator, address payout) external {
        Liquidator storage l = liquidators[liquidator];
        if (l.payout == address(0)) revert UnknownLiquidator(liquidator);
        if (msg.sender != l.payout) revert LiquidatorKeyRejected(liquidator, msg.sender);
        if (payout == address(0)) revert InvalidArgument("payout");
        l.payout = payout;
        emit LiquidatorRegistered(liquidator, payout);
    }

    /// Capitalizes the insurance fund by `amount` quote units (an accounting credit).
    function fundDeposit(uint64 amount) external onlyOperator {
        if (amount == 0) revert ZeroDeposit();
        uint256 balance = uint256(fundBalance) + amount;
        if (balance >= 1 << 63) revert Overflow();
        fundBalance = uint64(balance);
        emit FundDeposit(amount, uint64(balance));
    }
}

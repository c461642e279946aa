//! Calldata of `ZkMarginSettlement` (evm/contracts/ZkMarginSettlement.sol): its
//! constructor from the oracle configuration and risk parameters, `postReport` from a
//! signed report, `verifyMargin` and `liquidate` from statements and proofs, the
//! operator calls, and its revert reasons with the codes of `SettleError` and
//! `OracleError`.

use ark_bn254::Fr;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use zkmargin_circuits::{
    LiquidationPublic, LiquidationRules, LiquidationTerms, MarginPublic, MarginWeights, Prices,
    RiskParams, TOKENS,
};
use zkmargin_oracle::{OracleConfig, SignedReport, SignerId};
use zkmargin_verifier::bundle::{ProofBundle, Statement, BUNDLE_VERSION};

use crate::{
    abi::{keccak256, selector},
    encode::{input_words, proof_words, Word},
    margin::{bundle_proof, margin_public, MarginCalldataError},
};

/// An ABI value: what [`encode`] lays out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// One static word (`uint256`, `bytes32`, `address`, `uint64`, …).
    Word(Word),
    /// A static tuple or fixed-size array: its members inline.
    Static(Vec<Token>),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// A dynamic array `T[]`.
    Array(Vec<Token>),
    /// A tuple with a dynamic member.
    Tuple(Vec<Token>),
}

impl Token {
    fn is_dynamic(&self) -> bool {
        match self {
            Token::Word(_) => false,
            Token::Static(members) => members.iter().any(Token::is_dynamic),
            Token::Bytes(_) | Token::Array(_) | Token::Tuple(_) => true,
        }
    }

    fn head_len(&self) -> usize {
        match self {
            Token::Word(_) => 32,
            Token::Static(m) if !self.is_dynamic() => m.iter().map(Token::head_len).sum(),
            _ => 32,
        }
    }
}

/// Words of `n` as a static array token.
pub fn words(ws: &[Word]) -> Token {
    Token::Static(ws.iter().copied().map(Token::Word).collect())
}

/// The ABI encoding of a sequence of values (a function's arguments).
pub fn encode(tokens: &[Token]) -> Vec<u8> {
    let head_len: usize = tokens.iter().map(Token::head_len).sum();
    let mut head = Vec::with_capacity(head_len);
    let mut tail = Vec::new();
    for t in tokens {
        if t.is_dynamic() {
            head.extend_from_slice(&Word::from_u64((head_len + tail.len()) as u64).0);
            tail.extend(encode_dynamic(t));
        } else {
            encode_static(t, &mut head);
        }
    }
    head.extend(tail);
    head
}

fn encode_static(t: &Token, out: &mut Vec<u8>) {
    match t {
        Token::Word(w) => out.extend_from_slice(&w.0),
        Token::Static(m) => m.iter().for_each(|t| encode_static(t, out)),
        _ => unreachable!("dynamic tokens are encoded in the tail"),
    }
}

fn encode_dynamic(t: &Token) -> Vec<u8> {
    match t {
        Token::Bytes(b) => {
            let mut out = Word::from_u64(b.len() as u64).0.to_vec();
            out.extend_from_slice(b);
            out.resize(32 + b.len().div_ceil(32) * 32, 0);
            out
        }
        Token::Array(items) => {
            let mut out = Word::from_u64(items.len() as u64).0.to_vec();
            out.extend(encode(items));
            out
        }
        Token::Tuple(m) | Token::Static(m) => encode(m),
        Token::Word(_) => unreachable!("a word is static"),
    }
}

/// Calldata: `signature`'s selector and the encoded arguments.
pub fn call(signature: &str, args: &[Token]) -> Vec<u8> {
    let mut out = selector(signature).to_vec();
    out.extend(encode(args));
    out
}

/// A 20-byte address as a word.
pub fn address_word(address: &[u8; 20]) -> Word {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(address);
    Word(w)
}

/// The Ethereum address of a committee member: the last 20 bytes of the Keccak-256
/// of its uncompressed public key (what `ecrecover` returns).
pub fn signer_address(signer: &SignerId) -> [u8; 20] {
    let key = k256::PublicKey::from_sec1_bytes(signer.as_bytes())
        .expect("a SignerId is a valid compressed secp256k1 point");
    let point = key.to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    out
}

/// A feed id as the contract keys it: left-aligned and zero-padded to 32 bytes.
pub fn feed_word(feed_id: &str) -> Word {
    let mut w = [0u8; 32];
    let b = feed_id.as_bytes();
    w[..b.len().min(32)].copy_from_slice(&b[..b.len().min(32)]);
    Word(w)
}

/// Why a deployment configuration could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettlementError {
    /// A key fingerprint is not 64 hex digits.
    #[error("key fingerprint {0:?} is not 64 hex digits")]
    Fingerprint(String),
    /// A signature of the report is not 128 hex digits.
    #[error("signature of {signer} is not 64 bytes of hex")]
    Signature {
        /// The signer, hex.
        signer: String,
    },
    /// The parameters have more slots than the contract.
    #[error("the risk parameters use more price slots than the contract's 16")]
    TooManySlots,
}

/// What `ZkMarginSettlement` is deployed with.
#[derive(Debug, Clone)]
pub struct SettlementConfig {
    /// The operator's address.
    pub operator: [u8; 20],
    /// SHA-256 of the margin verifying key file (hex).
    pub margin_key_fingerprint: String,
    /// SHA-256 of the liquidation verifying key file (hex).
    pub liquidation_key_fingerprint: String,
    /// The oracle committee, quorum and freshness limits.
    pub oracle: OracleConfig,
    /// The risk parameters.
    pub params: RiskParams,
}

fn fingerprint_word(fp: &str) -> Result<Word, SettlementError> {
    let bytes = hex::decode(fp).map_err(|_| SettlementError::Fingerprint(fp.to_owned()))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| SettlementError::Fingerprint(fp.to_owned()))?;
    Ok(Word(arr))
}

/// The feed id of each of the 16 price slots (tokens, then markets; `None` unused).
pub fn slot_feeds(params: &RiskParams) -> Result<Vec<Option<String>>, SettlementError> {
    let mut slots = vec![None; 16];
    if params.tokens.len() > TOKENS || params.markets.len() > 16 - TOKENS {
        return Err(SettlementError::TooManySlots);
    }
    for (i, t) in params.tokens.iter().enumerate() {
        slots[i] = Some(t.feed_id.clone());
    }
    for (j, m) in params.markets.iter().enumerate() {
        slots[TOKENS + j] = Some(m.feed_id.clone());
    }
    Ok(slots)
}

/// The 24 weight inputs of the margin statement under `params`.
pub fn weight_words(weights: &MarginWeights) -> Vec<Word> {
    let shared = MarginPublic::shared_field_elements(&Prices::default(), weights);
    input_words(&shared[MarginPublic::WEIGHTS - MarginPublic::PRICES..])
}

/// The 5 rule inputs of the liquidation statement under `params`.
pub fn rule_words(params: &RiskParams) -> Vec<Word> {
    let shared = LiquidationPublic::shared_field_elements(
        &Prices::default(),
        &params.weights(),
        &LiquidationRules::from(params),
    );
    input_words(&shared[LiquidationPublic::CLOSE_FACTOR - LiquidationPublic::PRICES..])
}

impl SettlementConfig {
    /// The constructor's ABI-encoded argument (`Config`), to append to the creation code.
    ///
    /// # Errors
    /// [`SettlementError::Fingerprint`], [`SettlementError::TooManySlots`].
    pub fn constructor_args(&self) -> Result<Vec<u8>, SettlementError> {
        let w = Token::Word;
        let u = |v: u64| Token::Word(Word::from_u64(v));
        let signers = self
            .oracle
            .signers
            .iter()
            .map(|s| w(address_word(&signer_address(s))))
            .collect();
        let feeds: Vec<Word> = slot_feeds(&self.params)?
            .iter()
            .map(|f| f.as_deref().map(feed_word).unwrap_or(Word::ZERO))
            .collect();
        let config = Token::Tuple(vec![
            w(address_word(&self.operator)),
            w(fingerprint_word(&self.margin_key_fingerprint)?),
            w(fingerprint_word(&self.liquidation_key_fingerprint)?),
            w(Word(self.oracle.digest())),
            Token::Array(signers),
            u(u64::from(self.oracle.quorum)),
            u(self.oracle.max_age_secs),
            u(self.oracle.max_future_skew_secs),
            w(Word(self.params.digest())),
            words(&feeds),
            words(&weight_words(&self.params.weights())),
            words(&rule_words(&self.params)),
            u(u64::from(self.params.liquidation.insurance_share_ppm)),
        ]);
        Ok(encode(&[config]))
    }
}

/// `postReport(bytes,(address,bytes32,bytes32)[])` for a signed report: its canonical
/// encoding and each signature as (signer address, r, s), in the report's order.
///
/// # Errors
/// [`SettlementError::Signature`] for a signature that is not 64 bytes of hex.
pub fn post_report(signed: &SignedReport) -> Result<Vec<u8>, SettlementError> {
    let mut sigs = Vec::new();
    for s in &signed.signatures {
        let bytes = hex::decode(&s.signature)
            .ok()
            .filter(|b| b.len() == 64)
            .ok_or_else(|| SettlementError::Signature {
                signer: hex::encode(s.signer.as_bytes()),
            })?;
        let mut r = [0u8; 32];
        let mut sv = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        sv.copy_from_slice(&bytes[32..]);
        sigs.push(Token::Static(vec![
            Token::Word(address_word(&signer_address(&s.signer))),
            Token::Word(Word(r)),
            Token::Word(Word(sv)),
        ]));
    }
    Ok(call(
        POST_REPORT,
        &[
            Token::Bytes(signed.report.canonical_bytes()),
            Token::Array(sigs),
        ],
    ))
}

/// `postReport`'s signature.
pub const POST_REPORT: &str = "postReport(bytes,(address,bytes32,bytes32)[])";
/// `verifyMargin`'s signature.
pub const VERIFY_MARGIN: &str = "verifyMargin(uint256,uint256,uint256,bytes32,uint256[8])";
/// `liquidate`'s signature.
pub const LIQUIDATE: &str = "liquidate(uint64,uint256[4],uint256[16],bytes32,uint256[8])";

/// `verifyMargin(commitment, status, tau, reportId, proof)`.
pub fn verify_margin(public: &MarginPublic, report_id: [u8; 32], proof: &[Word; 8]) -> Vec<u8> {
    let inputs = input_words(&public.to_field_elements()[..MarginPublic::PER_PROOF_INPUTS]);
    let mut args: Vec<Token> = inputs.into_iter().map(Token::Word).collect();
    args.push(Token::Word(Word(report_id)));
    args.push(words(proof));
    call(VERIFY_MARGIN, &args)
}

/// `liquidate(accountId, statement, prices, reportId, proof)` from the statement's 49
/// inputs as words (any words: the contract checks them): the 4 per-proof inputs and
/// the 16 prices are sent, the 29 parameter inputs are the contract's own. The
/// account id is not a statement input (the commitment hides it): it comes from the
/// account's owner or from the contract's events of the old commitment.
///
/// # Panics
/// If `inputs` has fewer than 20 words.
pub fn liquidate_words(
    account_id: u64,
    inputs: &[Word],
    report_id: [u8; 32],
    proof: &[Word; 8],
) -> Vec<u8> {
    let (per_proof, prices) = (
        &inputs[..LiquidationPublic::PER_PROOF_INPUTS],
        &inputs[LiquidationPublic::PRICES..LiquidationPublic::WEIGHTS],
    );
    call(
        LIQUIDATE,
        &[
            Token::Word(Word::from_u64(account_id)),
            words(per_proof),
            words(prices),
            Token::Word(Word(report_id)),
            words(proof),
        ],
    )
}

/// `liquidate` of account `account_id` for a liquidation statement.
pub fn liquidate(
    account_id: u64,
    public: &LiquidationPublic,
    report_id: [u8; 32],
    proof: &[Word; 8],
) -> Vec<u8> {
    let fields: Vec<Fr> = public.to_field_elements().to_vec();
    liquidate_words(account_id, &input_words(&fields), report_id, proof)
}

/// `registerLiquidator(liquidator, payout)`: by the operator only.
pub fn register_liquidator(liquidator: u64, payout: &[u8; 20]) -> Vec<u8> {
    call(
        "registerLiquidator(uint64,address)",
        &[
            Token::Word(Word::from_u64(liquidator)),
            Token::Word(address_word(payout)),
        ],
    )
}

/// `transferLiquidator(liquidator, payout)`: by the liquidator's current payout address.
pub fn transfer_liquidator(liquidator: u64, payout: &[u8; 20]) -> Vec<u8> {
    call(
        "transferLiquidator(uint64,address)",
        &[
            Token::Word(Word::from_u64(liquidator)),
            Token::Word(address_word(payout)),
        ],
    )
}

/// `registerAccount(accountId, commitment)`.
pub fn register_account(account_id: u64, commitment: &Word) -> Vec<u8> {
    call(
        "registerAccount(uint64,uint256)",
        &[
            Token::Word(Word::from_u64(account_id)),
            Token::Word(*commitment),
        ],
    )
}

/// `replaceCommitment(accountId, expected, commitment)`.
pub fn replace_commitment(account_id: u64, expected: &Word, commitment: &Word) -> Vec<u8> {
    call(
        "replaceCommitment(uint64,uint256,uint256)",
        &[
            Token::Word(Word::from_u64(account_id)),
            Token::Word(*expected),
            Token::Word(*commitment),
        ],
    )
}

/// `fundDeposit(amount)`.
pub fn fund_deposit(amount: u64) -> Vec<u8> {
    call(
        "fundDeposit(uint64)",
        &[Token::Word(Word::from_u64(amount))],
    )
}

/// The settlement-contract calls for one proof bundle: `postReport` for its report,
/// then `verifyMargin` (margin bundle) or `liquidate` (transition bundle).
/// Serializes with words and calldata as `0x` hex.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BundleCalldata {
    /// `verifyMargin` or `liquidate`.
    pub function: &'static str,
    /// The report's id in the contract: its SHA-256 digest.
    pub report_id: Word,
    /// `postReport(report, signatures)` (skip it if the report is already posted).
    #[serde(serialize_with = "hex_0x")]
    pub post_report: Vec<u8>,
    /// The `verifyMargin` or `liquidate` call.
    #[serde(serialize_with = "hex_0x")]
    pub call: Vec<u8>,
    /// For a liquidation, the statement digest: the contract's replay key.
    pub statement_digest: Option<Word>,
}

fn hex_0x<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("0x{}", hex::encode(bytes)))
}

/// The liquidation statement of a transition bundle under `params`: the bundle's
/// fields, prices from its report as `params` maps feeds to slots, weights and rules
/// from `params`. Neither the signatures nor the proof are checked here.
///
/// # Errors
/// [`MarginCalldataError::WrongStatement`] for a margin bundle,
/// [`MarginCalldataError::ParamsMismatch`], [`MarginCalldataError::MissingPrice`].
pub fn liquidation_public(
    bundle: &ProofBundle,
    params: &RiskParams,
) -> Result<LiquidationPublic, MarginCalldataError> {
    let s = match &bundle.statement {
        Statement::Liquidation(s) => s,
        other => return Err(MarginCalldataError::WrongStatement(other.circuit_id())),
    };
    let digest = params.digest();
    if s.risk_params_digest != digest {
        return Err(MarginCalldataError::ParamsMismatch {
            bundle: hex::encode(s.risk_params_digest),
            given: hex::encode(digest),
        });
    }
    let prices = Prices::from_feeds(params, |feed| bundle.report.report.price(feed))
        .map_err(|e| MarginCalldataError::MissingPrice(e.feed_id))?;
    Ok(LiquidationPublic {
        old_commitment: s.old_commitment,
        new_commitment: s.new_commitment,
        liquidator: s.liquidator,
        action: s.action,
        terms: s.terms,
        deficit: s.deficit,
        prices,
        weights: params.weights(),
        rules: LiquidationRules::from(params),
    })
}

/// The settlement calls of `bundle` under `params` (see [`BundleCalldata`]);
/// `account_id` is the liquidated account's id, which a liquidation bundle does not
/// carry (the commitment hides it) and `liquidate` takes.
///
/// What the calls do not carry is checked here, as `zkmargin_verifier` checks it, so
/// that a bundle the verifier refuses for it is refused here too: the format version,
/// the risk parameters' digest, and a liquidation's terms (recomputed from the action,
/// the report's prices and `params`: the contract recomputes the fee split and takes
/// only V, P and the deficit from the proof). The key fingerprint is a label: the
/// contract verifies against its inlined key whatever the bundle names
/// (docs/ONCHAIN.md, "Bundles and calldata").
///
/// # Errors
/// [`BundleError::Statement`] for the statement errors of [`margin_public`] and
/// [`liquidation_public`] and an undecodable proof; [`BundleError::Signature`] for a
/// malformed report signature; [`BundleError::AccountIdRequired`] for a liquidation
/// bundle without `account_id`; [`BundleError::Version`], [`BundleError::InvalidAction`],
/// [`BundleError::TermsMismatch`].
pub fn bundle_calldata(
    bundle: &ProofBundle,
    params: &RiskParams,
    account_id: Option<u64>,
) -> Result<BundleCalldata, BundleError> {
    if bundle.version != BUNDLE_VERSION {
        return Err(BundleError::Version(bundle.version));
    }
    let report_id = bundle.report.report.digest();
    let proof = proof_words(&bundle_proof(bundle)?);
    let (function, call, statement_digest) = match &bundle.statement {
        Statement::Margin(_) => {
            let public = margin_public(bundle, params)?;
            (
                "verifyMargin",
                verify_margin(&public, report_id, &proof),
                None,
            )
        }
        Statement::Liquidation(_) => {
            let public = liquidation_public(bundle, params)?;
            let terms = LiquidationTerms::of(&public.action, &public.prices, params)
                .map_err(|e| BundleError::InvalidAction(e.to_string()))?;
            if terms != public.terms {
                return Err(BundleError::TermsMismatch);
            }
            let account_id = account_id.ok_or(BundleError::AccountIdRequired)?;
            (
                "liquidate",
                liquidate(account_id, &public, report_id, &proof),
                Some(Word(public.digest())),
            )
        }
    };
    Ok(BundleCalldata {
        function,
        report_id: Word(report_id),
        post_report: post_report(&bundle.report)?,
        call,
        statement_digest,
    })
}

/// Why a bundle's settlement calldata could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The statement or the proof.
    #[error(transparent)]
    Statement(#[from] MarginCalldataError),
    /// A report signature.
    #[error(transparent)]
    Signature(#[from] SettlementError),
    /// A liquidation bundle and no account id: `liquidate` takes the liquidated
    /// account's id, which the bundle does not carry.
    #[error("a liquidation bundle does not carry the liquidated account's id (its commitment hides it): give the account id (from the account, or from the contract's events of the old commitment)")]
    AccountIdRequired,
    /// A bundle format version other than [`BUNDLE_VERSION`].
    #[error("bundle format version {0}, expected {BUNDLE_VERSION}")]
    Version(u32),
    /// The liquidation's action names no slot of the parameters, or its terms overflow.
    #[error("invalid liquidation action: {0}")]
    InvalidAction(String),
    /// The liquidation's terms are not those of its action at the report's prices.
    #[error("the liquidation's terms are not those of its action at the report's prices under the risk parameters")]
    TermsMismatch,
}

/// Every custom error of the contract: its Solidity signature and its code (the
/// `SettleError::code` / `OracleError::code` it mirrors, or the contract's own).
pub const SETTLEMENT_ERRORS: &[(&str, &str)] = &[
    ("Replay(bytes32)", "replay"),
    ("StaleCommitment(uint256)", "stale_commitment"),
    ("StaleReport(uint64,uint64,uint64)", "stale_report"),
    ("UnknownAccount(uint64)", "unknown_account"),
    ("AccountExists(uint64)", "account_exists"),
    ("UnknownLiquidator(uint64)", "unknown_liquidator"),
    ("LiquidatorExists(uint64)", "liquidator_exists"),
    (
        "LiquidatorKeyRejected(uint64,address)",
        "liquidator_key_rejected",
    ),
    ("OperatorKeyRejected(address)", "operator_key_rejected"),
    ("ZeroDeposit()", "zero_deposit"),
    ("Overflow()", "balance_overflow"),
    ("UntrustedVerifier(bytes32,bytes32)", "untrusted_verifier"),
    (
        "InvalidOracleConfig(uint256,uint256,uint64)",
        "oracle_invalid_config",
    ),
    ("InvalidSigner(address)", "oracle_invalid_config"),
    ("InvalidArgument(bytes32)", "invalid_argument"),
    ("InvalidReport(uint256)", "oracle_invalid_report"),
    ("MalformedSignature(address)", "oracle_malformed_signature"),
    ("UnknownSigner(address)", "oracle_unknown_signer"),
    ("DuplicateSigner(address)", "oracle_duplicate_signer"),
    ("BadSignature(address)", "oracle_bad_signature"),
    ("QuorumNotMet(uint256,uint256)", "oracle_quorum_not_met"),
    (
        "ReportFromFuture(uint64,uint64)",
        "oracle_report_from_future",
    ),
    ("ReportExpired(uint64,uint64)", "oracle_report_expired"),
    ("ReportStale(uint64,uint64)", "oracle_stale_report"),
    ("MissingPrice(uint256)", "missing_price"),
    ("UnknownReport(bytes32)", "unknown_report"),
    ("ReportPosted(bytes32)", "report_posted"),
    ("StatementMismatch()", "statement_mismatch"),
    // The inlined verifier libraries' errors.
    ("PublicInputNotInField()", "public_input_not_in_field"),
    ("ProofInvalid()", "proof_invalid"),
    ("FoldInvalid()", "fold_invalid"),
];

/// The code of a settlement revert (see [`SETTLEMENT_ERRORS`]), or `None` for revert
/// data of no known error (out of gas, a `require` message).
pub fn revert_code(data: &[u8]) -> Option<&'static str> {
    if data.len() < 4 {
        return None;
    }
    SETTLEMENT_ERRORS
        .iter()
        .find(|(sig, _)| data[..4] == selector(sig))
        .map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_arguments_are_laid_out_as_the_abi_says() {
        // f(bytes, (uint256,uint256)[]) with b"ab" and one pair (1, 2).
        let data = encode(&[
            Token::Bytes(b"ab".to_vec()),
            Token::Array(vec![Token::Static(vec![
                Token::Word(Word::from_u64(1)),
                Token::Word(Word::from_u64(2)),
            ])]),
        ]);
        let word = |k: usize| Word(data[32 * k..32 * k + 32].try_into().unwrap());
        assert_eq!(data.len(), 32 * 7);
        assert_eq!(word(0), Word::from_u64(0x40));
        assert_eq!(word(1), Word::from_u64(0x80));
        assert_eq!(word(2), Word::from_u64(2));
        assert_eq!(&data[96..98], b"ab");
        assert_eq!(word(4), Word::from_u64(1));
        assert_eq!(word(5), Word::from_u64(1));
        assert_eq!(word(6), Word::from_u64(2));
    }

    #[test]
    fn error_selectors_are_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for (sig, _) in SETTLEMENT_ERRORS {
            assert!(seen.insert(selector(sig)), "{sig}");
        }
    }
}

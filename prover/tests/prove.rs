//! Proving: both statuses, τ, and every refusal before any proving work.

mod common;

use std::sync::OnceLock;

use common::*;
use zkmargin_circuits::{Account, Commitment, Status};
use zkmargin_oracle::{development_committee, OracleConfig, OracleError};
use zkmargin_prover::{
    MarginProof, MarginProver, MarginRequest, OracleCheck, ProveError, DEFAULT_TAU_PPM,
};
use zkmargin_verifier::{ProofBundle, Statement};

fn prover() -> &'static MarginProver {
    static PROVER: OnceLock<MarginProver> = OnceLock::new();
    PROVER.get_or_init(|| MarginProver::load(dev_keys(), &mut |_| {}).unwrap())
}

fn request<'a>(
    account: &'a Account,
    report: &'a zkmargin_oracle::SignedReport,
    params: &'a zkmargin_circuits::RiskParams,
) -> MarginRequest<'a> {
    MarginRequest {
        account,
        params,
        report,
        tau_ppm: DEFAULT_TAU_PPM,
        expect: None,
        commitment: None,
        oracle: None,
    }
}

fn prove(r: &MarginRequest<'_>) -> Result<MarginProof, ProveError> {
    prover().prove(r, &mut rand::thread_rng())
}

fn margin(bundle: &ProofBundle) -> &zkmargin_verifier::MarginStatement {
    let Statement::Margin(s) = &bundle.statement else {
        unreachable!("a margin bundle")
    };
    s
}

#[test]
fn proves_the_true_status_of_each_account() {
    let (report, params) = (report(), params());
    for (account, status, usd) in [
        (healthy(), Status::Meets, 360),
        (breaching(), Status::Breaches, -640),
    ] {
        let proof = prove(&request(&account, &report, &params)).unwrap();
        let s = margin(&proof.bundle);
        assert_eq!(s.status, status);
        assert_eq!(s.commitment, Commitment::of(&account));
        assert_eq!(s.tau_ppm, DEFAULT_TAU_PPM);
        assert_eq!(s.risk_params_digest, params.digest());
        assert_eq!(proof.bundle.report, report);
        assert_eq!(proof.bundle.proof.len(), 256);
        assert_eq!(
            proof.health.excess_quote_units(DEFAULT_TAU_PPM).to_string(),
            (usd * 1_000_000i64).to_string()
        );
    }
}

#[test]
fn tau_moves_the_line() {
    // +360 USD of excess over a 1,710 USD requirement: meets up to τ ≈ 1.21.
    let (report, params, account) = (report(), params(), healthy());
    let mut r = request(&account, &report, &params);
    r.tau_ppm = 1_200_000;
    assert_eq!(margin(&prove(&r).unwrap().bundle).status, Status::Meets);
    r.tau_ppm = 1_250_000;
    let proof = prove(&r).unwrap();
    assert_eq!(margin(&proof.bundle).status, Status::Breaches);
    assert_eq!(margin(&proof.bundle).tau_ppm, 1_250_000);
}

#[test]
fn refuses_a_status_that_is_false() {
    let (report, params, account) = (report(), params(), breaching());
    let mut r = request(&account, &report, &params);
    r.expect = Some(Status::Meets);
    let e = prove(&r).unwrap_err();
    assert!(
        matches!(
            e,
            ProveError::StatusMismatch {
                expected: Status::Meets,
                actual: Status::Breaches,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("No proof of a false status can be made"),
        "{e}"
    );
    r.expect = Some(Status::Breaches);
    prove(&r).unwrap();
}

#[test]
fn refuses_an_account_that_is_not_the_committed_one() {
    let (report, params, account) = (report(), params(), healthy());
    let published = Commitment::of(&account);
    let mut changed = account.clone();
    changed.nonce += 1;
    let mut r = request(&changed, &report, &params);
    r.commitment = Some(published);
    let e = prove(&r).unwrap_err();
    assert!(
        matches!(e, ProveError::CommitmentMismatch { expected, .. } if expected == published),
        "{e}"
    );
    r.account = &account;
    prove(&r).unwrap();
}

#[test]
fn refuses_a_report_without_a_needed_price() {
    let params = params();
    let account = healthy();
    let without_doge: Vec<_> = prices()
        .into_iter()
        .filter(|(f, _)| *f != "DOGE/USD")
        .collect();
    let report = report_of(&without_doge);
    let e = prove(&request(&account, &report, &params)).unwrap_err();
    assert!(
        matches!(e, ProveError::MissingPrice { ref feed, .. } if feed == "DOGE/USD"),
        "{e}"
    );
    assert!(e.to_string().contains("DOGE-PERP"), "{e}");
}

#[test]
fn refuses_reports_the_oracle_config_rejects() {
    let (params, account) = (params(), healthy());
    let report = report();
    let (_, committee) = development_committee();

    // Fresh and 2 of 3 signed: accepted.
    let mut r = request(&account, &report, &params);
    r.oracle = Some(OracleCheck {
        config: &committee,
        now: NOW + 10,
    });
    prove(&r).unwrap();

    // Quorum 3: too few signatures.
    let strict = OracleConfig {
        quorum: 3,
        ..committee.clone()
    };
    r.oracle = Some(OracleCheck {
        config: &strict,
        now: NOW + 10,
    });
    let e = prove(&r).unwrap_err();
    assert!(
        matches!(
            e,
            ProveError::Oracle(OracleError::QuorumNotMet {
                valid: 2,
                required: 3
            })
        ),
        "{e}"
    );

    // Stale: older than max_age (300 s) — the report expires first at 60 s.
    let lenient = OracleConfig {
        max_age_secs: 30,
        ..committee.clone()
    };
    r.oracle = Some(OracleCheck {
        config: &lenient,
        now: NOW + 45,
    });
    let e = prove(&r).unwrap_err();
    assert!(
        matches!(e, ProveError::Oracle(OracleError::Stale { .. })),
        "{e}"
    );
    r.oracle = Some(OracleCheck {
        config: &committee,
        now: NOW + 60,
    });
    assert!(matches!(
        prove(&r).unwrap_err(),
        ProveError::Oracle(OracleError::Expired { .. })
    ));
}

#[test]
fn refuses_a_report_changed_after_signing_even_without_a_config() {
    let (params, account) = (params(), healthy());
    let mut report = report();
    report.report.feeds[2].price += 1; // ETH/USD
    report.report.feeds[2].ask += 1;
    let e = prove(&request(&account, &report, &params)).unwrap_err();
    assert!(
        matches!(e, ProveError::Oracle(OracleError::BadSignature(_))),
        "{e}"
    );

    let mut unsigned = crate::report();
    unsigned.signatures.clear();
    assert!(matches!(
        prove(&request(&account, &unsigned, &params)).unwrap_err(),
        ProveError::Unsigned
    ));
}

#[test]
fn refuses_balances_in_unused_slots_and_invalid_params() {
    let (report, mut params) = (report(), params());
    let mut account = healthy();
    account.tokens[7] = 1;
    let e = prove(&request(&account, &report, &params)).unwrap_err();
    assert!(matches!(e, ProveError::Account(_)), "{e}");

    let account = healthy();
    params.markets[0].maintenance_margin_ppm = 0;
    let e = prove(&request(&account, &report, &params)).unwrap_err();
    assert!(matches!(e, ProveError::Params(_)), "{e}");
}

//! The margin circuit against its native twin, forged witnesses, and boundaries.
//!
//! Each attack has its own generator and a comment saying why it must fail. An attack
//! test first checks that the untampered system is satisfied, so it cannot pass vacuously.

mod common;

use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::ConstraintSystem;
use common::{case_strategy, layout, sample_case, wide_case_strategy, Case, Synth};
use ethnum::I256;
use proptest::{prelude::*, strategy::ValueTree};
use zkmargin_circuits::{
    r1cs::{fr_from_i256, AccountVar, CommitmentVar, MarginCircuit, MarginPublicVar},
    Blinding, Commitment, Fr, MarginPublic, MarginWeights, Prices, Status, HEALTH_BOUND_BITS,
    MARKETS, PPM, TOKENS,
};

const TAU_ONE: u32 = PPM as u32;

fn flipped(s: Status) -> Status {
    match s {
        Status::Meets => Status::Breaches,
        Status::Breaches => Status::Meets,
    }
}

fn with_status(case: &Case, status: Status) -> MarginCircuit {
    let mut c = case.circuit();
    c.public.status = status;
    c
}

/// The gadgets compute exactly the native values (health and commitment).
fn assert_twins_agree(case: &Case) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let account = AccountVar::new_witness(cs.clone(), Some(&case.account)).unwrap();
    let public = MarginPublicVar::new_input(cs.clone(), &case.public()).unwrap();
    let h = account
        .health(&public.prices, &public.weights)
        .unwrap()
        .at(&public.tau)
        .unwrap();
    let native = case
        .account
        .health(&case.weights, &case.prices)
        .at(case.tau_ppm);
    assert_eq!(h.value().unwrap(), fr_from_i256(native));
    assert_eq!(
        CommitmentVar::of(&account).unwrap().value().unwrap(),
        Commitment::of(&case.account).0
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Native relation and circuit agree on random accounts, both statuses, random τ:
    /// the true status is provable, the false one is not.
    #[test]
    fn native_and_circuit_agree(case in case_strategy()) {
        assert_twins_agree(&case);
        let status = case.status();
        prop_assert!(Synth::new(with_status(&case, status)).satisfied());
        prop_assert!(!Synth::new(with_status(&case, flipped(status))).satisfied());
    }

    /// The same over every representable value (full-width balances, prices, weights, τ):
    /// the overflow budget holds, so there is no wrap for any input.
    #[test]
    fn native_and_circuit_agree_at_full_width(case in wide_case_strategy()) {
        assert_twins_agree(&case);
        let status = case.status();
        prop_assert!(Synth::new(with_status(&case, status)).satisfied());
        prop_assert!(!Synth::new(with_status(&case, flipped(status))).satisfied());
    }
}

#[test]
fn both_statuses_occur_in_the_generator() {
    // Guard for the property above: its generator must produce both statuses.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = [false; 2];
    for _ in 0..64 {
        let case = case_strategy().new_tree(&mut runner).unwrap().current();
        seen[case.status().bit() as usize] = true;
    }
    assert_eq!(seen, [true, true]);
}

// ---------------------------------------------------------------------------------
// Attacks. Strategies pick which slot/bit/delta to forge; every one must fail.
// ---------------------------------------------------------------------------------

/// Which signed slot: 0..8 tokens, 8 quote, 9..17 positions.
fn slot_bit(slot: usize, bit: usize) -> usize {
    match slot {
        s if s < TOKENS => layout::token_bit(s, bit),
        s if s == TOKENS => layout::quote_bit(bit),
        s => layout::position_bit(s - TOKENS - 1, bit),
    }
}

fn honest(case: &Case) -> Synth {
    let s = Synth::new(case.circuit());
    assert!(s.satisfied(), "the honest system must be satisfied");
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// wrong_status: the public status bit flipped. Fails: the sign of H(τ) is fixed by
    /// the committed witness, and `meets + breaches = 1` ties the bit to it.
    #[test]
    fn attack_wrong_status(case in case_strategy()) {
        honest(&case);
        prop_assert!(!Synth::new(with_status(&case, flipped(case.status()))).satisfied());
    }

    /// wrong_status by instance rewrite: also a non-bit value (2) in the status input.
    /// Fails: the status input is constrained to a bit and to `1 − meets`.
    #[test]
    fn attack_status_not_a_bit(case in case_strategy(), v in 2u64..1000) {
        let s = honest(&case);
        prop_assert!(!s.satisfied_after(|_, x| x[layout::input(1)] = Fr::from(v)));
    }

    /// tampered_balance: the witness changes one slot after the commitment was
    /// published. Fails: Poseidon of the witness no longer equals the commitment.
    #[test]
    fn attack_balance_changed_after_commitment(
        case in case_strategy(), slot in 0usize..17, delta in prop_oneof![-1000i64..0, 1i64..1000]
    ) {
        let published = case.public();
        let mut forged = case.clone();
        let v = match slot {
            s if s < TOKENS => &mut forged.account.tokens[s],
            s if s == TOKENS => &mut forged.account.quote,
            s => &mut forged.account.positions[s - TOKENS - 1],
        };
        *v = v.saturating_add(delta);
        let mut c = forged.circuit();
        c.public.commitment = published.commitment;
        prop_assert!(!Synth::new(c).satisfied());
    }

    /// wrong_blinding: the right balances under another blinding. Fails: the blinding
    /// is a Poseidon input of the commitment.
    #[test]
    fn attack_wrong_blinding(case in case_strategy(), b in 1u64..u64::MAX) {
        let published = case.public();
        let mut forged = case.clone();
        forged.account.blinding = Blinding(forged.account.blinding.0 + Fr::from(b));
        let mut c = forged.circuit();
        c.public.commitment = published.commitment;
        prop_assert!(!Synth::new(c).satisfied());
    }

    /// wrong_account: another account id or an old nonce with the same balances. Fails:
    /// id and nonce are Poseidon inputs of the commitment.
    #[test]
    fn attack_other_id_or_stale_nonce(case in case_strategy(), which in any::<bool>(), d in 1u64..10) {
        let published = case.public();
        let mut forged = case.clone();
        if which {
            forged.account.id = forged.account.id.wrapping_add(d);
        } else {
            forged.account.nonce = forged.account.nonce.wrapping_sub(d);
        }
        let mut c = forged.circuit();
        c.public.commitment = published.commitment;
        prop_assert!(!Synth::new(c).satisfied());
    }

    /// price_not_public: the prover computes with a price other than the public one
    /// (modelled as the public input changing under a fixed witness). Fails: `t·p` is
    /// a product constraint on the public input, so any other price breaks it when the
    /// slot holds a balance.
    #[test]
    fn attack_price_differs_from_public(case in case_strategy(), slot in 0usize..16, d in 1u64..1000) {
        let held = if slot < TOKENS { case.account.tokens[slot] } else { case.account.positions[slot - TOKENS] };
        prop_assume!(held != 0);
        let s = honest(&case);
        prop_assert!(!s.satisfied_after(|_, x| x[layout::input(3 + slot)] += Fr::from(d)));
    }

    /// tau_altered: τ changed under a fixed witness. Fails: τ multiplies the requirement
    /// in a product constraint; with any open position the product changes.
    #[test]
    fn attack_tau_altered(case in case_strategy(), d in 1u64..1000) {
        prop_assume!(case.account.positions.iter().any(|p| *p != 0));
        let s = honest(&case);
        prop_assert!(!s.satisfied_after(|_, x| x[layout::input(2)] += Fr::from(d)));
    }

    /// risk_params_mismatch: weights other than those of the published parameters
    /// (the verifier encodes the parameters behind the digest). Fails: the selected
    /// weight and the maintenance fraction enter product constraints.
    #[test]
    fn attack_weights_differ_from_params(case in case_strategy(), slot in 0usize..TOKENS, d in 1u64..1000) {
        prop_assume!(case.account.tokens[slot] != 0);
        // The weight that slot actually uses: asset for a deposit, liability for a borrow.
        let input = if case.account.tokens[slot] > 0 { 19 + slot } else { 27 + slot };
        let s = honest(&case);
        prop_assert!(!s.satisfied_after(|_, x| x[layout::input(input)] -= Fr::from(d)));
    }

    /// value_beyond_width: a bit of a slot set to a non-bit value, which would let the
    /// slot exceed 64 bits. Fails: every bit carries a booleanity constraint.
    #[test]
    fn attack_value_beyond_width(case in case_strategy(), slot in 0usize..17, bit in 0usize..64, v in 2u64..u64::MAX) {
        let s = honest(&case);
        prop_assert!(!s.satisfied_after(|w, _| w[slot_bit(slot, bit)] = Fr::from(v)));
    }

    /// negative_as_huge_field_element: a borrow re-encoded so that its offset keeps the
    /// committed value but its sign bit claims "deposit" (so the lower asset weight
    /// applies): bit 63 set and bit 0 lowered by 2^63, i.e. bit 0 = b₀ − 2^63 mod r,
    /// a huge field element. Fails: bit 0 is no longer boolean.
    #[test]
    fn attack_negative_as_huge_field_element(case in case_strategy(), slot in 0usize..TOKENS) {
        prop_assume!(case.account.tokens[slot] < 0);
        let s = honest(&case);
        let two63 = Fr::from(1u64 << 63);
        let forged = s.satisfied_after(|w, _| {
            w[slot_bit(slot, 63)] = Fr::from(1u64);
            w[slot_bit(slot, 0)] -= two63;
        });
        prop_assert!(!forged);
    }

    /// quote_or_position_sign_flipped: the sign bit of the quote or of a position flipped
    /// (a short presented as a long, a debt as cash). Fails: the value moves by 2^63 and
    /// the commitment no longer opens.
    #[test]
    fn attack_sign_flipped(case in case_strategy(), slot in TOKENS..17) {
        let s = honest(&case);
        let i = slot_bit(slot, 63);
        let flipped = Fr::from(1u64) - s.witness(i);
        prop_assert!(!s.satisfied_after(|w, _| w[i] = flipped));
    }

    /// requirement_sign_forged: the |pos·p| witness of a position replaced by −|pos·p|,
    /// so a position would lower the requirement. Fails: `(2b − 1)·n = |n|` is a
    /// product constraint with b the range-checked sign bit.
    #[test]
    fn attack_requirement_sign_forged(case in case_strategy(), j in 0usize..MARKETS) {
        prop_assume!(case.account.positions[j] != 0);
        let s = honest(&case);
        let n = I256::from(case.account.positions[j]) * I256::from(case.prices.markets[j]);
        let abs = fr_from_i256(n.abs());
        let idx = (0..s.cs.num_witness_variables()).find(|i| s.witness(*i) == abs);
        let idx = idx.expect("the |pos·p| witness exists");
        prop_assert!(!s.satisfied_after(|w, _| w[idx] = -abs));
    }

    /// comparison_forged: the top bit of the sign test of H(τ) flipped (claiming the
    /// other status) with the status input flipped to match. Fails: the bits must
    /// recompose H(τ) + 2^195, whose top bit is fixed by the sign of H(τ).
    #[test]
    fn attack_comparison_bit_forged(case in case_strategy()) {
        let s = honest(&case);
        let top = s.cs.num_witness_variables() - 1; // the comparison bits are allocated last
        let bit = s.witness(top);
        let forged = s.satisfied_after(|w, x| {
            w[top] = Fr::from(1u64) - bit;
            x[layout::input(1)] = bit;
        });
        prop_assert!(!forged);
    }
}

/// The witness layout the attacks rely on: checked against an honest assignment, so a
/// change of allocation order fails here instead of making the attacks vacuous.
#[test]
fn witness_layout_matches_allocation_order() {
    let case = sample_case();
    let s = honest(&case);
    let a = &case.account;
    assert_eq!(s.witness(layout::ID), Fr::from(a.id));
    assert_eq!(s.witness(layout::NONCE), Fr::from(a.nonce));
    assert_eq!(s.witness(layout::BLINDING), a.blinding.0);
    let bit = |v: i64, k: usize| Fr::from((zkmargin_circuits::commitment::offset(v) >> k) & 1);
    for k in 0..64 {
        assert_eq!(s.witness(layout::token_bit(1, k)), bit(a.tokens[1], k));
        assert_eq!(s.witness(layout::quote_bit(k)), bit(a.quote, k));
        assert_eq!(
            s.witness(layout::position_bit(7, k)),
            bit(a.positions[7], k)
        );
    }
    let inputs = case.public().to_field_elements();
    let instance = s.cs.instance_assignment().unwrap();
    assert_eq!(&instance[1..], &inputs[..]);
    // The last witness is the top bit of the sign test: 1 iff meets.
    let top = s.cs.num_witness_variables() - 1;
    assert_eq!(s.witness(top), Fr::from(case.status() == Status::Meets));
}

// ---------------------------------------------------------------------------------
// Boundaries.
// ---------------------------------------------------------------------------------

fn one_market_case(quote: i64, tau_ppm: u32) -> Case {
    // One long of 1 unit at price 10^9 (one quote unit) with mmf = 100 %:
    // equity = (quote + 1)·10^21, τ·requirement = τ·10^15 → at τ = 1: 10^21.
    let mut positions = [0; MARKETS];
    positions[0] = 1;
    let mut prices = Prices::default();
    prices.markets[0] = 1_000_000_000;
    let mut weights = MarginWeights::default();
    weights.maintenance_ppm[0] = PPM as u32;
    Case {
        account: zkmargin_circuits::Account {
            id: 1,
            nonce: 0,
            tokens: [0; TOKENS],
            quote,
            positions,
            blinding: Blinding(Fr::from(5u64)),
        },
        prices,
        weights,
        tau_ppm,
    }
}

fn assert_only(case: &Case, status: Status) {
    assert_eq!(case.status(), status);
    assert!(Synth::new(with_status(case, status)).satisfied());
    assert!(!Synth::new(with_status(case, flipped(status))).satisfied());
}

#[test]
fn equity_equal_to_requirement_meets_one_unit_less_breaches() {
    // H = 0 exactly: meets.
    let exact = one_market_case(0, TAU_ONE);
    assert_eq!(
        exact
            .account
            .health(&exact.weights, &exact.prices)
            .at(TAU_ONE),
        0
    );
    assert_only(&exact, Status::Meets);
    // One quote unit less: breaches.
    assert_only(&one_market_case(-1, TAU_ONE), Status::Breaches);
}

#[test]
fn tau_boundary_is_exact() {
    // The largest τ the sample account meets, and one ppm above it.
    let case = sample_case();
    let h = case.account.health(&case.weights, &case.prices);
    assert!(h.equity > 0 && h.requirement > 0);
    let tau_star = (h.equity / h.requirement).as_u32();
    let at = |tau_ppm| Case {
        tau_ppm,
        ..case.clone()
    };
    assert_only(&at(tau_star), Status::Meets);
    assert_only(&at(tau_star + 1), Status::Breaches);
}

#[test]
fn all_zero_account_meets_at_any_tau() {
    for tau in [0, 1, TAU_ONE, u32::MAX] {
        let mut case = one_market_case(0, tau);
        case.account.positions = [0; MARKETS];
        assert_only(&case, Status::Meets);
    }
}

#[test]
fn all_slots_at_maximum_width() {
    let max_prices = Prices {
        tokens: [u64::MAX; TOKENS],
        markets: [u64::MAX; MARKETS],
    };
    let max_weights = MarginWeights {
        asset_weight_ppm: [u32::MAX; TOKENS],
        liability_weight_ppm: [u32::MAX; TOKENS],
        maintenance_ppm: [u32::MAX; MARKETS],
    };
    for (v, status) in [(i64::MAX, Status::Meets), (i64::MIN, Status::Breaches)] {
        let mut case = one_market_case(v, u32::MAX);
        case.account.tokens = [v; TOKENS];
        case.account.positions = [v; MARKETS];
        case.prices = max_prices;
        case.weights = max_weights;
        if v > 0 {
            // All long at full width still breaches at τ = 2^32−1 with mmf = 2^32−1 ppm;
            // at τ = 0 it meets.
            case.tau_ppm = 0;
        }
        assert_twins_agree(&case);
        assert_only(&case, status);
        let h = case
            .account
            .health(&case.weights, &case.prices)
            .at(case.tau_ppm);
        assert!(h.unsigned_abs() < ethnum::U256::ONE << HEALTH_BOUND_BITS);
    }
}

#[test]
fn public_inputs_are_the_encoders() {
    // The instance the circuit allocates is exactly MarginPublic::to_field_elements.
    let case = sample_case();
    let public: MarginPublic = case.public();
    let s = honest(&case);
    let instance = s.cs.instance_assignment().unwrap();
    assert_eq!(
        instance.len(),
        1 + zkmargin_circuits::MARGIN_NUM_PUBLIC_INPUTS
    );
    assert_eq!(&instance[1..], &public.to_field_elements()[..]);
    // Every input is small except the commitment: the widths of the public-input table.
    for (k, x) in instance[2..].iter().enumerate() {
        assert!(x.into_bigint().num_bits() <= 64, "input {} too wide", k + 1);
    }
}

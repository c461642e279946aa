//! The margin statement and the one place that orders its public inputs.

use crate::{Commitment, Fr, MarginWeights, Prices, Status, MARKETS, TOKENS};

/// Circuit id and version of the margin statement, recorded in key manifests and bundles.
pub const MARGIN_CIRCUIT_ID: &str = "zkmargin.margin.v1";

/// R1CS constraints of the margin circuit: what a key manifest must list for it
/// (`circuits/tests/shape.rs` holds it equal to the synthesized circuit).
pub const MARGIN_CONSTRAINTS: usize = 1_796;

/// Public inputs of the margin circuit (the leading constant 1 not counted).
pub const MARGIN_NUM_PUBLIC_INPUTS: usize =
    MarginPublic::PER_PROOF_INPUTS + MarginPublic::SHARED_INPUTS;

/// The margin statement: "the state inside `commitment`, at `prices` under `weights`,
/// has `status` at threshold `tau_ppm`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginPublic {
    /// The account commitment the venue published.
    pub commitment: Commitment,
    /// Meets or breaches.
    pub status: Status,
    /// Threshold τ in ppm (1e6 is the maintenance line).
    pub tau_ppm: u32,
    /// Oracle prices per slot.
    pub prices: Prices,
    /// Risk weights per slot, from the risk parameters.
    pub weights: MarginWeights,
}

impl MarginPublic {
    /// Inputs that differ per proof: commitment, status, τ.
    pub const PER_PROOF_INPUTS: usize = 3;
    /// Inputs that are the same for every account at one price tick: 16 prices, then
    /// 24 weights.
    pub const SHARED_INPUTS: usize = TOKENS + MARKETS + 2 * TOKENS + MARKETS;

    /// Index of the commitment.
    pub const COMMITMENT: usize = 0;
    /// Index of the status bit.
    pub const STATUS: usize = 1;
    /// Index of τ.
    pub const TAU: usize = 2;
    /// First index of the prices (the shared inputs start here).
    pub const PRICES: usize = Self::PER_PROOF_INPUTS;
    /// First index of the weights.
    pub const WEIGHTS: usize = Self::PRICES + TOKENS + MARKETS;

    /// The public inputs in circuit order (`docs/STATEMENT.md`, table "Public inputs"):
    ///
    /// | index | input | width |
    /// |---|---|---|
    /// | 0 | commitment | field element |
    /// | 1 | status: 0 meets, 1 breaches | 1 bit |
    /// | 2 | τ, ppm | 32 bits |
    /// | 3..11 | token prices | 64 bits each |
    /// | 11..19 | market prices | 64 bits each |
    /// | 19..27 | asset weights, ppm | 32 bits each |
    /// | 27..35 | liability weights, ppm | 32 bits each |
    /// | 35..43 | maintenance margin fractions, ppm | 32 bits each |
    ///
    /// The first [`Self::PER_PROOF_INPUTS`] change per account; the rest are
    /// [`Self::shared_field_elements`], identical for all accounts at one price tick,
    /// which is what lets a verifier fold them once.
    pub fn to_field_elements(&self) -> [Fr; MARGIN_NUM_PUBLIC_INPUTS] {
        let Self {
            commitment,
            status,
            tau_ppm,
            prices,
            weights,
        } = self;
        let mut out = [Fr::from(0u64); MARGIN_NUM_PUBLIC_INPUTS];
        out[Self::COMMITMENT] = commitment.0;
        out[Self::STATUS] = Fr::from(status.bit());
        out[Self::TAU] = Fr::from(*tau_ppm);
        out[Self::PER_PROOF_INPUTS..]
            .copy_from_slice(&Self::shared_field_elements(prices, weights));
        out
    }

    /// Public inputs 3..43: prices, then weights, in slot order.
    pub fn shared_field_elements(
        prices: &Prices,
        weights: &MarginWeights,
    ) -> [Fr; Self::SHARED_INPUTS] {
        let Prices { tokens, markets } = prices;
        let MarginWeights {
            asset_weight_ppm,
            liability_weight_ppm,
            maintenance_ppm,
        } = weights;
        let mut out = [Fr::from(0u64); Self::SHARED_INPUTS];
        let values = tokens.iter().chain(markets).copied().map(Fr::from).chain(
            asset_weight_ppm
                .iter()
                .chain(liability_weight_ppm)
                .chain(maintenance_ppm)
                .map(|w| Fr::from(*w)),
        );
        for (slot, v) in out.iter_mut().zip(values) {
            *slot = v;
        }
        out
    }
}

//! One entry point for any bundle: the statement it carries picks the check.

use rayon::prelude::*;

use crate::{
    bundle::{ProofBundle, Statement},
    error::VerifyError,
    liquidation::VerifiedLiquidation,
    margin::Verdict,
    verifier::Verifier,
};

/// What a bundle proved, whichever statement it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// A margin statement: meets or breaches.
    Margin(Verdict),
    /// A liquidation statement.
    Liquidation(Box<VerifiedLiquidation>),
}

impl Verifier {
    /// Verifies any bundle: a margin bundle with [`Verifier::verify`], a liquidation
    /// bundle with [`Verifier::verify_liquidation`].
    ///
    /// # Errors
    /// The first failed check, as a [`VerifyError`].
    pub fn verify_any(&self, bundle: &ProofBundle) -> Result<Verified, VerifyError> {
        match bundle.statement {
            Statement::Margin(_) => self.verify(bundle).map(Verified::Margin),
            Statement::Liquidation(_) => self
                .verify_liquidation(bundle)
                .map(|l| Verified::Liquidation(Box::new(l))),
        }
    }

    /// Verifies many bundles of either kind; the result for bundle `i` is at index `i`
    /// and equals what [`Verifier::verify_any`] returns for it (up to the batch's
    /// `2^-128` per check). The margin bundles are verified together as one batch
    /// ([`Verifier::verify_batch`]); the liquidations each on their own, in parallel.
    pub fn verify_any_batch(&self, bundles: &[ProofBundle]) -> Vec<Result<Verified, VerifyError>> {
        let (margin, liquidation): (Vec<usize>, Vec<usize>) =
            (0..bundles.len()).partition(|&i| matches!(bundles[i].statement, Statement::Margin(_)));
        let mut out: Vec<Option<Result<Verified, VerifyError>>> = vec![None; bundles.len()];
        let margins: Vec<ProofBundle> = margin.iter().map(|&i| bundles[i].clone()).collect();
        for (i, r) in margin.into_iter().zip(self.verify_batch(&margins)) {
            out[i] = Some(r.map(Verified::Margin));
        }
        let liquidations: Vec<_> = liquidation
            .par_iter()
            .map(|&i| (i, self.verify_any(&bundles[i])))
            .collect();
        for (i, r) in liquidations {
            out[i] = Some(r);
        }
        out.into_iter()
            .map(|r| r.expect("every bundle is a margin or a liquidation bundle"))
            .collect()
    }
}

//! Which public inputs a proof brings itself and which are shared by many proofs.
//!
//! A Groth16 verifier computes `vk_x = IC_0 + Σ_i x_i·IC_{i+1}`, which is linear in
//! the inputs: the inputs every proof of one price tick shares (prices, weights, rule
//! constants) can be folded into a point once and cached, and each proof then adds
//! only its own inputs. An [`InputSplit`] names the two kinds: the per-proof inputs
//! (in the order a contract takes them) and one or more named groups of shared inputs,
//! each foldable on its own, so that a contract can fold a group that changes rarely
//! (the risk parameters) once at deployment and another (the prices) every tick.

use zkmargin_circuits::{
    LiquidationPublic, MarginPublic, LIQUIDATION_NUM_PUBLIC_INPUTS, MARGIN_NUM_PUBLIC_INPUTS,
    MARKETS, TOKENS,
};

/// One public input: its index in circuit order (the order of `to_field_elements`,
/// the constant 1 not counted) and a label for the generated documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Index in circuit order: the input multiplies `IC_{index+1}`.
    pub index: usize,
    /// What the input is, for the generated comments (no control characters, no `*/`).
    pub label: String,
}

/// A named group of shared inputs, folded by one generated function `fold{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedGroup {
    /// Solidity identifier suffix, e.g. `Prices` gives `foldPrices` (ASCII letters and
    /// digits, starting with an upper-case letter).
    pub name: String,
    /// The group's inputs, in the order the fold function takes them.
    pub inputs: Vec<Input>,
}

/// How one circuit's public inputs divide into per-proof inputs and shared groups.
/// Every input index appears exactly once ([`InputSplit::validate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSplit {
    /// Number of public inputs of the circuit (the constant 1 not counted).
    pub num_inputs: usize,
    /// The inputs each proof brings, in the order `verifyFolded` takes them.
    pub per_proof: Vec<Input>,
    /// The shared groups, in the order `foldShared` takes them (concatenated).
    pub shared: Vec<SharedGroup>,
}

/// Why an input split does not describe a circuit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// An index is not below the number of inputs.
    #[error("input index {index} is out of range: the circuit has {num_inputs} public inputs")]
    OutOfRange {
        /// The index.
        index: usize,
        /// The circuit's input count.
        num_inputs: usize,
    },
    /// An index is listed twice.
    #[error("input index {0} is listed more than once")]
    Duplicate(usize),
    /// An index is listed nowhere.
    #[error("input index {0} is neither per-proof nor in a shared group")]
    Missing(usize),
    /// No per-proof input: `verifyFolded` would take an empty array, which Solidity
    /// cannot declare, and a proof of a statement with no input of its own is one
    /// proof per tick, for which folding buys nothing.
    #[error("at least one input must be per-proof")]
    NoPerProofInput,
    /// A shared group has no input.
    #[error("shared group {0:?} has no input")]
    EmptyGroup(String),
    /// A group name is not usable as a Solidity identifier suffix, or is `Shared`
    /// (`foldShared` folds every group).
    #[error("shared group name {0:?} must be ASCII letters and digits starting with an upper-case letter, and not \"Shared\"")]
    BadGroupName(String),
    /// Two groups have the same name.
    #[error("two shared groups are named {0:?}")]
    DuplicateGroup(String),
    /// A label would break out of a Solidity comment.
    #[error("label {0:?} must be one line without control characters or `*/`")]
    BadLabel(String),
}

impl InputSplit {
    /// Checks that every index below `num_inputs` is listed exactly once, that there
    /// is a per-proof input, and that names and labels are safe to generate.
    ///
    /// # Errors
    /// The first [`SplitError`] found.
    pub fn validate(&self) -> Result<(), SplitError> {
        if self.per_proof.is_empty() {
            return Err(SplitError::NoPerProofInput);
        }
        let mut seen = vec![false; self.num_inputs];
        let all = self
            .per_proof
            .iter()
            .chain(self.shared.iter().flat_map(|g| &g.inputs));
        for input in all {
            let slot = seen.get_mut(input.index).ok_or(SplitError::OutOfRange {
                index: input.index,
                num_inputs: self.num_inputs,
            })?;
            if std::mem::replace(slot, true) {
                return Err(SplitError::Duplicate(input.index));
            }
            // Solidity ends a `//` comment at any of \n, \v, \f, \r, U+2028 and U+2029:
            // the rest of the label would be code. Control characters and both
            // separators are refused.
            let breaks = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
            if input.label.chars().any(breaks) || input.label.contains("*/") {
                return Err(SplitError::BadLabel(input.label.clone()));
            }
        }
        if let Some(missing) = seen.iter().position(|s| !s) {
            return Err(SplitError::Missing(missing));
        }
        for (i, group) in self.shared.iter().enumerate() {
            if !is_group_name(&group.name) {
                return Err(SplitError::BadGroupName(group.name.clone()));
            }
            if group.inputs.is_empty() {
                return Err(SplitError::EmptyGroup(group.name.clone()));
            }
            if self.shared[..i].iter().any(|g| g.name == group.name) {
                return Err(SplitError::DuplicateGroup(group.name.clone()));
            }
        }
        Ok(())
    }

    /// The shared inputs in `foldShared` order: every group's inputs, group by group.
    pub fn shared_inputs(&self) -> impl Iterator<Item = &Input> {
        self.shared.iter().flat_map(|g| &g.inputs)
    }

    /// Number of shared inputs.
    pub fn num_shared(&self) -> usize {
        self.shared.iter().map(|g| g.inputs.len()).sum()
    }
}

/// Inputs `first, first + 1, …` with the given labels.
fn numbered(first: usize, labels: impl IntoIterator<Item = String>) -> Vec<Input> {
    labels
        .into_iter()
        .enumerate()
        .map(|(k, label)| Input {
            index: first + k,
            label,
        })
        .collect()
}

fn is_group_name(name: &str) -> bool {
    // `fold{name}` must not be `foldShared`, which folds every group.
    if name == "Shared" {
        return false;
    }
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// The 16 price labels, token slots then market slots.
fn price_labels() -> impl Iterator<Item = String> {
    (0..TOKENS)
        .map(|i| format!("token price, slot {i}"))
        .chain((0..MARKETS).map(|i| format!("market price, slot {i}")))
}

/// The 24 weight labels: asset, liability, maintenance.
fn weight_labels() -> impl Iterator<Item = String> {
    (0..TOKENS)
        .map(|i| format!("asset weight, ppm, token slot {i}"))
        .chain((0..TOKENS).map(|i| format!("liability weight, ppm, token slot {i}")))
        .chain((0..MARKETS).map(|i| format!("maintenance margin fraction, ppm, market slot {i}")))
}

/// The margin statement's split (`MarginPublic::to_field_elements`): commitment,
/// status bit and τ per proof; the 16 prices (group `Prices`, every tick) and the 24
/// weights (group `Weights`, every change of risk parameters) shared.
pub fn margin_split() -> InputSplit {
    let per_proof_labels = ["commitment", "status: 0 meets, 1 breaches", "tau, ppm"];
    let prices = numbered(MarginPublic::PRICES, price_labels());
    let weights = numbered(MarginPublic::WEIGHTS, weight_labels());
    InputSplit {
        num_inputs: MARGIN_NUM_PUBLIC_INPUTS,
        per_proof: numbered(0, per_proof_labels.map(str::to_owned)),
        shared: vec![
            SharedGroup {
                name: "Prices".to_owned(),
                inputs: prices,
            },
            SharedGroup {
                name: "Weights".to_owned(),
                inputs: weights,
            },
        ],
    }
}

/// The liquidation statement's split (`LiquidationPublic::to_field_elements`,
/// `zkmargin.liquidation.v2`): old and new commitment, action word and money word per
/// proof; the 16 prices (group `Prices`, every tick) and the 24 weights with the five
/// liquidation rules (group `Params`, every change of risk parameters) shared.
pub fn liquidation_split() -> InputSplit {
    type L = LiquidationPublic;
    let per_proof_labels = [
        "old commitment",
        "new commitment",
        "action word: buys (1 bit), slot (4), amount (64), liquidator (64), from bit 0",
        "money word: execution value (62 bits), penalty (62), deficit (64), from bit 0",
    ];
    let rules = [
        "close factor, ppm",
        "dust notional times 10^9 (price units)",
        "deep-breach health ratio, ppm",
        "penalty, ppm",
        "target buffer, ppm",
    ];
    let prices = numbered(L::PRICES, price_labels());
    let mut params = numbered(L::WEIGHTS, weight_labels());
    params.extend(numbered(L::CLOSE_FACTOR, rules.map(str::to_owned)));
    InputSplit {
        num_inputs: LIQUIDATION_NUM_PUBLIC_INPUTS,
        per_proof: numbered(0, per_proof_labels.map(str::to_owned)),
        shared: vec![
            SharedGroup {
                name: "Prices".to_owned(),
                inputs: prices,
            },
            SharedGroup {
                name: "Params".to_owned(),
                inputs: params,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_split_covers_the_statement_in_order() {
        let split = margin_split();
        split.validate().unwrap();
        assert_eq!(split.num_inputs, 43);
        let per_proof: Vec<_> = split.per_proof.iter().map(|i| i.index).collect();
        assert_eq!(per_proof, [0, 1, 2]);
        let shared: Vec<_> = split.shared_inputs().map(|i| i.index).collect();
        assert_eq!(shared, (3..43).collect::<Vec<_>>());
        assert_eq!(split.shared[0].inputs.len(), 16);
        assert_eq!(split.shared[1].inputs.len(), 24);
    }

    #[test]
    fn liquidation_split_covers_the_statement_in_order() {
        let split = liquidation_split();
        split.validate().unwrap();
        assert_eq!(split.num_inputs, 49);
        let per_proof: Vec<_> = split.per_proof.iter().map(|i| i.index).collect();
        assert_eq!(per_proof, [0, 1, 2, 3]);
        let shared: Vec<_> = split.shared_inputs().map(|i| i.index).collect();
        assert_eq!(shared, (4..49).collect::<Vec<_>>());
        assert_eq!(split.shared[0].inputs.len(), 16);
        assert_eq!(split.shared[1].inputs.len(), 29);
        assert_eq!(
            split.shared[1].inputs[24].index,
            LiquidationPublic::CLOSE_FACTOR
        );
    }

    fn input(index: usize) -> Input {
        Input {
            index,
            label: format!("x{index}"),
        }
    }

    fn split(per_proof: &[usize], groups: &[(&str, &[usize])], n: usize) -> InputSplit {
        InputSplit {
            num_inputs: n,
            per_proof: per_proof.iter().copied().map(input).collect(),
            shared: groups
                .iter()
                .map(|(name, idx)| SharedGroup {
                    name: (*name).to_owned(),
                    inputs: idx.iter().copied().map(input).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn arbitrary_index_sets_are_accepted() {
        // Interleaved, out of order: a contract takes inputs in whatever order it likes.
        split(&[4, 0], &[("A", &[3, 1]), ("B", &[2])], 5)
            .validate()
            .unwrap();
        // No shared group at all is a plain verifier.
        split(&[0, 1], &[], 2).validate().unwrap();
    }

    #[test]
    fn every_malformed_split_is_named() {
        use SplitError::*;
        let cases: Vec<(InputSplit, SplitError)> = vec![
            (
                split(&[0, 5], &[], 2),
                OutOfRange {
                    index: 5,
                    num_inputs: 2,
                },
            ),
            (split(&[0], &[("A", &[0, 1])], 2), Duplicate(0)),
            (split(&[0], &[("A", &[2])], 3), Missing(1)),
            (split(&[], &[("A", &[0])], 1), NoPerProofInput),
            (split(&[0], &[("A", &[])], 1), EmptyGroup("A".into())),
            (split(&[0], &[("aB", &[1])], 2), BadGroupName("aB".into())),
            (split(&[0], &[("A-1", &[1])], 2), BadGroupName("A-1".into())),
            (
                split(&[0], &[("Shared", &[1])], 2),
                BadGroupName("Shared".into()),
            ),
            (
                split(&[0], &[("A", &[1]), ("A", &[2])], 3),
                DuplicateGroup("A".into()),
            ),
        ];
        for (s, expected) in cases {
            assert_eq!(s.validate(), Err(expected));
        }
        for label in ["a */ b", "a\nb", "a\rb", "a\u{85}b", "a\u{2028}b"] {
            let mut s = split(&[0], &[], 1);
            s.per_proof[0].label = label.into();
            assert_eq!(s.validate(), Err(BadLabel(label.into())), "{label:?}");
        }
    }
}

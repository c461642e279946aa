//! ABI calldata of the generated verifiers, and their revert reasons.
//!
//! Only the types the verifiers use are encoded: `uint256`, fixed arrays of it (static:
//! their words inline in the head) and `uint256[]` (dynamic: an offset in the head, then
//! length and elements in the tail), as the Solidity ABI specification lays them out.

use sha3::{Digest, Keccak256};

use crate::{
    encode::{DecodeError, Word},
    split::InputSplit,
};

/// Keccak-256 of `bytes`.
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// The 4-byte selector of a function or error signature such as `verifyProof(uint256[8],uint256[43])`.
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// One ABI argument.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// A `uint256` or a fixed-size `uint256[n]`: its words inline.
    Static(&'a [Word]),
    /// A dynamic `uint256[]`.
    Array(&'a [Word]),
}

/// Calldata: the selector of `signature`, then `args` ABI-encoded.
pub fn encode_call(signature: &str, args: &[Arg<'_>]) -> Vec<u8> {
    let head_words: usize = args
        .iter()
        .map(|a| match a {
            Arg::Static(w) => w.len(),
            Arg::Array(_) => 1,
        })
        .sum();
    let mut head = Vec::with_capacity(head_words);
    let mut tail: Vec<Word> = Vec::new();
    for arg in args {
        match arg {
            Arg::Static(words) => head.extend_from_slice(words),
            Arg::Array(words) => {
                // Offsets count bytes from the start of the arguments (after the selector).
                head.push(Word::from_u64(((head_words + tail.len()) * 32) as u64));
                tail.push(Word::from_u64(words.len() as u64));
                tail.extend_from_slice(words);
            }
        }
    }
    let mut out = Vec::with_capacity(4 + 32 * (head.len() + tail.len()));
    out.extend_from_slice(&selector(signature));
    for w in head.iter().chain(&tail) {
        out.extend_from_slice(&w.0);
    }
    out
}

/// Splits return data into words.
///
/// # Errors
/// [`DecodeError::Length`] if it is not exactly `n` words.
pub fn decode_words(what: &'static str, data: &[u8], n: usize) -> Result<Vec<Word>, DecodeError> {
    if data.len() != 32 * n {
        return Err(DecodeError::Length {
            what,
            expected: n,
            found: data.len() / 32,
        });
    }
    Ok(data
        .chunks_exact(32)
        .map(|c| {
            let mut w = [0u8; 32];
            w.copy_from_slice(c);
            Word(w)
        })
        .collect())
}

/// Signature of the error for a public input not below `r`.
pub const ERROR_INPUT_NOT_IN_FIELD: &str = "PublicInputNotInField()";
/// Signature of the error for a proof that does not verify.
pub const ERROR_PROOF_INVALID: &str = "ProofInvalid()";
/// Signature of the error for a fold whose base point is not on the curve.
pub const ERROR_FOLD_INVALID: &str = "FoldInvalid()";
/// Signature of the error for a wrong number of shared inputs.
pub const ERROR_SHARED_INPUT_COUNT: &str = "SharedInputCount(uint256,uint256)";

/// Why a generated verifier reverted, decoded from its revert data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifierRevert {
    /// `PublicInputNotInField()`: a public input is `≥ r`.
    PublicInputNotInField,
    /// `ProofInvalid()`: the proof does not verify (bad point, or the pairing fails).
    ProofInvalid,
    /// `FoldInvalid()`: a fold's base point is not a curve point.
    FoldInvalid,
    /// `SharedInputCount(given, expected)`.
    SharedInputCount {
        /// Inputs given.
        given: Word,
        /// Inputs expected.
        expected: Word,
    },
    /// Anything else (empty for out-of-gas or an invalid opcode).
    Other(Vec<u8>),
}

impl VerifierRevert {
    /// Decodes revert data by its selector.
    pub fn decode(data: &[u8]) -> Self {
        let sel = |sig: &str| data.len() >= 4 && data[..4] == selector(sig);
        if data.len() == 4 && sel(ERROR_INPUT_NOT_IN_FIELD) {
            return Self::PublicInputNotInField;
        }
        if data.len() == 4 && sel(ERROR_PROOF_INVALID) {
            return Self::ProofInvalid;
        }
        if data.len() == 4 && sel(ERROR_FOLD_INVALID) {
            return Self::FoldInvalid;
        }
        if sel(ERROR_SHARED_INPUT_COUNT) {
            if let Ok(w) = decode_words("SharedInputCount", &data[4..], 2) {
                return Self::SharedInputCount {
                    given: w[0],
                    expected: w[1],
                };
            }
        }
        Self::Other(data.to_vec())
    }
}

/// Why calldata could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalldataError {
    /// Wrong number of inputs for the function.
    #[error("{function} takes {expected} inputs, {found} given")]
    InputCount {
        /// The function.
        function: String,
        /// Inputs it takes.
        expected: usize,
        /// Inputs given.
        found: usize,
    },
    /// The split names no such shared group.
    #[error("no shared group named {0:?}")]
    UnknownGroup(String),
}

/// The function signatures and calldata of one generated verifier contract, from the
/// input split it was generated with.
#[derive(Debug, Clone)]
pub struct VerifierCalls {
    split: InputSplit,
}

impl VerifierCalls {
    /// The calls of the verifier generated with `split` (validate it first:
    /// [`InputSplit::validate`]).
    pub fn new(split: InputSplit) -> Self {
        Self { split }
    }

    /// The split.
    pub fn split(&self) -> &InputSplit {
        &self.split
    }

    /// `verifyProof(uint256[8],uint256[N])`.
    pub fn verify_proof_signature(&self) -> String {
        format!("verifyProof(uint256[8],uint256[{}])", self.split.num_inputs)
    }

    /// `verifyFolded(uint256[8],uint256[K],uint256[2])`.
    pub fn verify_folded_signature(&self) -> String {
        format!(
            "verifyFolded(uint256[8],uint256[{}],uint256[2])",
            self.split.per_proof.len()
        )
    }

    /// `foldShared(uint256[])`.
    pub fn fold_shared_signature(&self) -> &'static str {
        "foldShared(uint256[])"
    }

    /// `fold<Group>(uint256[L],uint256[2])`.
    ///
    /// # Errors
    /// [`CalldataError::UnknownGroup`].
    pub fn fold_group_signature(&self, group: &str) -> Result<String, CalldataError> {
        let g = self
            .split
            .shared
            .iter()
            .find(|g| g.name == group)
            .ok_or_else(|| CalldataError::UnknownGroup(group.to_owned()))?;
        Ok(format!(
            "fold{}(uint256[{}],uint256[2])",
            g.name,
            g.inputs.len()
        ))
    }

    fn check(function: &str, expected: usize, found: usize) -> Result<(), CalldataError> {
        if expected == found {
            Ok(())
        } else {
            Err(CalldataError::InputCount {
                function: function.to_owned(),
                expected,
                found,
            })
        }
    }

    /// Calldata of `verifyProof(proof, inputs)`, every public input in circuit order.
    ///
    /// # Errors
    /// [`CalldataError::InputCount`].
    pub fn verify_proof(
        &self,
        proof: &[Word; 8],
        inputs: &[Word],
    ) -> Result<Vec<u8>, CalldataError> {
        let sig = self.verify_proof_signature();
        Self::check(&sig, self.split.num_inputs, inputs.len())?;
        Ok(encode_call(
            &sig,
            &[Arg::Static(proof), Arg::Static(inputs)],
        ))
    }

    /// Calldata of `verifyFolded(proof, perProof, folded)`.
    ///
    /// # Errors
    /// [`CalldataError::InputCount`].
    pub fn verify_folded(
        &self,
        proof: &[Word; 8],
        per_proof: &[Word],
        folded: &[Word; 2],
    ) -> Result<Vec<u8>, CalldataError> {
        let sig = self.verify_folded_signature();
        Self::check(&sig, self.split.per_proof.len(), per_proof.len())?;
        Ok(encode_call(
            &sig,
            &[
                Arg::Static(proof),
                Arg::Static(per_proof),
                Arg::Static(folded),
            ],
        ))
    }

    /// Calldata of `foldShared(shared)`. Any length encodes (the contract checks it),
    /// so that tests can send the wrong one.
    pub fn fold_shared(&self, shared: &[Word]) -> Vec<u8> {
        encode_call(self.fold_shared_signature(), &[Arg::Array(shared)])
    }

    /// Calldata of `fold<Group>(values, base)`.
    ///
    /// # Errors
    /// [`CalldataError::UnknownGroup`], [`CalldataError::InputCount`].
    pub fn fold_group(
        &self,
        group: &str,
        values: &[Word],
        base: &[Word; 2],
    ) -> Result<Vec<u8>, CalldataError> {
        let sig = self.fold_group_signature(group)?;
        let expected = self
            .split
            .shared
            .iter()
            .find(|g| g.name == group)
            .map_or(0, |g| g.inputs.len());
        Self::check(&sig, expected, values.len())?;
        Ok(encode_call(&sig, &[Arg::Static(values), Arg::Static(base)]))
    }

    /// The per-proof inputs of a full input vector (circuit order), in `verifyFolded`
    /// order.
    ///
    /// # Errors
    /// [`CalldataError::InputCount`] if `inputs` is not the circuit's length.
    pub fn per_proof_inputs<T: Copy>(&self, inputs: &[T]) -> Result<Vec<T>, CalldataError> {
        Self::check("the circuit", self.split.num_inputs, inputs.len())?;
        Ok(self
            .split
            .per_proof
            .iter()
            .map(|i| inputs[i.index])
            .collect())
    }

    /// The shared inputs of a full input vector (circuit order), in `foldShared` order.
    ///
    /// # Errors
    /// [`CalldataError::InputCount`] if `inputs` is not the circuit's length.
    pub fn shared_inputs<T: Copy>(&self, inputs: &[T]) -> Result<Vec<T>, CalldataError> {
        Self::check("the circuit", self.split.num_inputs, inputs.len())?;
        Ok(self
            .split
            .shared_inputs()
            .map(|i| inputs[i.index])
            .collect())
    }

    /// One group's inputs of a full input vector, in `fold<Group>` order.
    ///
    /// # Errors
    /// [`CalldataError::UnknownGroup`], [`CalldataError::InputCount`].
    pub fn group_inputs<T: Copy>(
        &self,
        group: &str,
        inputs: &[T],
    ) -> Result<Vec<T>, CalldataError> {
        Self::check("the circuit", self.split.num_inputs, inputs.len())?;
        let g = self
            .split
            .shared
            .iter()
            .find(|g| g.name == group)
            .ok_or_else(|| CalldataError::UnknownGroup(group.to_owned()))?;
        Ok(g.inputs.iter().map(|i| inputs[i.index]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_known_values() {
        // transfer(address,uint256) is the best-known selector there is.
        assert_eq!(
            selector("transfer(address,uint256)"),
            [0xa9, 0x05, 0x9c, 0xbb]
        );
    }

    #[test]
    fn dynamic_arrays_go_to_the_tail() {
        let data = encode_call(
            "f(uint256,uint256[],uint256[2])",
            &[
                Arg::Static(&[Word::from_u64(7)]),
                Arg::Array(&[Word::from_u64(1), Word::from_u64(2)]),
                Arg::Static(&[Word::from_u64(8), Word::from_u64(9)]),
            ],
        );
        let words = decode_words("t", &data[4..], 7).unwrap();
        let expected = [7u64, 4 * 32, 8, 9, 2, 1, 2].map(Word::from_u64);
        assert_eq!(words, expected);
    }

    #[test]
    fn reverts_decode_by_selector() {
        assert_eq!(
            VerifierRevert::decode(&selector(ERROR_PROOF_INVALID)),
            VerifierRevert::ProofInvalid
        );
        assert_eq!(
            VerifierRevert::decode(&selector(ERROR_INPUT_NOT_IN_FIELD)),
            VerifierRevert::PublicInputNotInField
        );
        let mut data = selector(ERROR_SHARED_INPUT_COUNT).to_vec();
        data.extend_from_slice(&Word::from_u64(3).0);
        data.extend_from_slice(&Word::from_u64(40).0);
        assert_eq!(
            VerifierRevert::decode(&data),
            VerifierRevert::SharedInputCount {
                given: Word::from_u64(3),
                expected: Word::from_u64(40)
            }
        );
        assert_eq!(VerifierRevert::decode(&[]), VerifierRevert::Other(vec![]));
    }
}

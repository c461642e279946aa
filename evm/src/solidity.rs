//! The Solidity Groth16 verifier generator.
//!
//! One source file per circuit holds a `library <Name>Lib` of internal functions — the
//! verifier itself, which a settlement contract inlines — and a `contract <Name>` that
//! exposes them as external functions (for off-chain calls, tests, and contracts that
//! would rather call than inline).
//!
//! The check is `e(A, B) · e(C, −δ) · e(α, −β) · e(vk_x, −γ) = 1` with the BN254
//! precompiles (ecAdd 0x06, ecMul 0x07, pairing 0x08) at EIP-1108 prices: 150, 6,000 and
//! 45,000 + 34,000 per pair. `vk_x = IC_0 + Σ_i x_i·IC_{i+1}` is linear, so the
//! verifier is split the way [`InputSplit`] says:
//!
//! - `foldShared(shared)` → `IC_0 + Σ_shared x_i·IC_{i+1}`, and per group
//!   `fold<Group>(values, base)` → `base + Σ_group x_i·IC_{i+1}`: the shared inputs,
//!   folded once and kept by the caller;
//! - `verifyFolded(proof, perProof, folded)` adds only the per-proof inputs to `folded`
//!   and runs the pairing check;
//! - `verifyProof(proof, input)` takes every input per call, as gnark's and snarkjs's
//!   verifiers do: the comparison point.
//!
//! Every input is checked `< r` (no silent reduction: `x + r` is another input, and
//! ecMul would otherwise accept it as `x`); an input of 0 costs no precompile call and
//! an input of 1 one ecAdd (150 gas) instead of an ecMul and an ecAdd (6,150), which is
//! exact for every value, so status bits and empty slots are cheap without trusting the
//! circuit to constrain them. Every function reverts with a custom error on failure and
//! returns nothing on success: a caller cannot mistake a `false` for a pass.
//!
//! The code is unrolled with the key's points as constants (`PUSH32`): no storage or
//! code reads, no loop counters.

use ark_bn254::{Bn254, Fq, G1Affine, G2Affine};
use ark_ff::PrimeField;
use ark_groth16::VerifyingKey;

use crate::{
    encode::{g1_words, g2_words, Word},
    split::{Input, InputSplit, SplitError},
};

/// What the generated source says about where its key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractInfo {
    /// Name of the contract; the library is `<name>Lib`. ASCII letters and digits,
    /// starting with an upper-case letter.
    pub name: String,
    /// Circuit id and version, e.g. `zkmargin.margin.v1`.
    pub circuit_id: String,
    /// SHA-256 of the verifying key file, lowercase hex: the contract's
    /// `KEY_FINGERPRINT`, the same fingerprint every bundle carries.
    pub key_fingerprint: String,
    /// True for development keys: the source then says, in capitals, that anyone can
    /// forge proofs against it.
    pub development: bool,
}

/// Why a verifier could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The input split does not describe a circuit.
    #[error("invalid input split: {0}")]
    Split(#[from] SplitError),
    /// The key has another number of public inputs than the split.
    #[error("the verifying key has {key} public inputs, the input split {split}")]
    InputCount {
        /// Inputs of the key (`gamma_abc_g1.len() − 1`).
        key: usize,
        /// Inputs of the split.
        split: usize,
    },
    /// The contract name is not a usable Solidity identifier.
    #[error(
        "contract name {0:?} must be ASCII letters and digits starting with an upper-case letter"
    )]
    Name(String),
    /// The fingerprint is not 64 lowercase hex digits.
    #[error("key fingerprint {0:?} is not 64 lowercase hex digits")]
    Fingerprint(String),
    /// The circuit id would break out of a comment.
    #[error("circuit id {0:?} must be printable ASCII without `*/`")]
    CircuitId(String),
}

/// The Solidity source of one circuit's verifier: `library <name>Lib` and
/// `contract <name>`, from the key and the split. Deterministic: the same key and
/// split give the same bytes.
///
/// # Errors
/// [`GenerateError`] when the split, the name, the fingerprint or the id is invalid,
/// or the key does not have the split's number of inputs.
pub fn generate_verifier(
    vk: &VerifyingKey<Bn254>,
    info: &ContractInfo,
    split: &InputSplit,
) -> Result<String, GenerateError> {
    split.validate()?;
    let key_inputs = vk.gamma_abc_g1.len().saturating_sub(1);
    if vk.gamma_abc_g1.is_empty() || key_inputs != split.num_inputs {
        return Err(GenerateError::InputCount {
            key: key_inputs,
            split: split.num_inputs,
        });
    }
    let mut chars = info.name.chars();
    if !(matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(GenerateError::Name(info.name.clone()));
    }
    if info.key_fingerprint.len() != 64
        || !info
            .key_fingerprint
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(GenerateError::Fingerprint(info.key_fingerprint.clone()));
    }
    if !info.circuit_id.bytes().all(|b| (0x20..0x7f).contains(&b)) || info.circuit_id.contains("*/")
    {
        return Err(GenerateError::CircuitId(info.circuit_id.clone()));
    }
    let mut g = Gen {
        out: String::new(),
        vk,
        info,
        split,
        lib: format!("{}Lib", info.name),
    };
    g.header();
    g.library();
    g.contract();
    Ok(g.out)
}

/// `op(base)` for the first word of an array, `op(add(base, 0x..))` for the k-th.
fn word_at(op: &str, base: &str, k: usize) -> String {
    if k == 0 {
        format!("{op}({base})")
    } else {
        format!("{op}(add({base}, 0x{:x}))", k * 32)
    }
}

/// Solidity literal of a word.
fn lit(w: &Word) -> String {
    w.to_string()
}

struct Gen<'a> {
    out: String,
    vk: &'a VerifyingKey<Bn254>,
    info: &'a ContractInfo,
    split: &'a InputSplit,
    lib: String,
}

/// The Yul helper every fold and verification block defines (Yul functions are local to
/// their assembly block). Yul evaluates arguments right to left, so the ecMul and the
/// ecAdd are separate statements to keep their order.
const MUL_ADD: &str =
    "            // acc (two words in memory) += scalar·(px, py), for a non-zero scalar (the
            // callers skip zeros: no precompile call). A scalar of 1 costs one ecAdd
            // (150 gas) instead of an ecMul and an ecAdd (6,150): exact for every value, so
            // status bits are cheap without trusting the circuit to constrain them.
            function mulAdd(acc, px, py, scalar) -> success {
                switch scalar
                case 1 {
                    mstore(add(acc, 0x40), px)
                    mstore(add(acc, 0x60), py)
                    success := staticcall(gas(), 0x06, acc, 0x80, acc, 0x40)
                }
                default {
                    let t := add(acc, 0x40)
                    mstore(t, px)
                    mstore(add(t, 0x20), py)
                    mstore(add(t, 0x40), scalar)
                    success := staticcall(gas(), 0x07, t, 0x60, t, 0x40)
                    success := and(success, staticcall(gas(), 0x06, acc, 0x80, acc, 0x40))
                }
            }
";

impl Gen<'_> {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn header(&mut self) {
        let id = &self.info.circuit_id;
        let fp = &self.info.key_fingerprint;
        self.line("// SPDX-License-Identifier: MIT OR Apache-2.0");
        self.line(&format!(
            "// Generated by zkmargin-evm from the Groth16 verifying key of circuit {id}"
        ));
        self.line(&format!("// (SHA-256 of the key file: {fp})."));
        self.line("// Do not edit: `zkmargin export solidity` regenerates it from the key, and a");
        self.line("// test fails on any difference.");
        if self.info.development {
            self.line("//");
            self.line(
                "// DEVELOPMENT KEY: made from a public seed, so anyone can forge proofs that",
            );
            self.line(
                "// verify against it. Never deploy it where anything of value depends on it.",
            );
        }
        // Custom errors (0.8.4) and memory-safe assembly blocks (0.8.13).
        self.line("pragma solidity ^0.8.13;");
        self.line("");
    }

    fn input_doc(&mut self, array: &str, inputs: &[Input]) {
        for (k, input) in inputs.iter().enumerate() {
            let line = format!(
                "///   {array}[{k}] = input {}: {}",
                input.index, input.label
            );
            self.line(&line);
        }
    }

    fn library(&mut self) {
        let lib = self.lib.clone();
        let id = self.info.circuit_id.clone();
        let n = self.split.num_inputs;
        let k = self.split.per_proof.len();
        let shared = self.split.num_shared();
        self.line(&format!(
            "/// @title Groth16 verifier (BN254) of {id}, shared inputs folded once"
        ));
        self.line(
            "/// @notice Internal functions: a contract that uses them inlines them (no external",
        );
        self.line(
            "/// call). The public-input point is vk_x = IC_0 + sum_i input_i * IC_(i+1). Inputs",
        );
        self.line("/// that every proof of one price tick shares are folded into a point once");
        self.line("/// (`foldShared`, or group by group from `constantTerm` with `fold<Group>`),");
        self.line("/// which the caller keeps; each proof then pays only for its own inputs");
        self.line("/// (`verifyFolded`). `verifyProof` takes every input per call. Every function");
        self.line("/// reverts with a custom error on failure and returns nothing on success.");
        self.line("/// @dev Inputs (index = position in the circuit's public-input vector):");
        self.line("///   per proof (verifyFolded):");
        let per_proof = self.split.per_proof.clone();
        self.input_doc("perProof", &per_proof);
        let mut offset = 0;
        for group in self.split.shared.clone() {
            self.line(&format!(
                "///   shared group {} (fold{}; shared[{}..{}] of foldShared):",
                group.name,
                group.name,
                offset,
                offset + group.inputs.len()
            ));
            self.input_doc("values", &group.inputs);
            offset += group.inputs.len();
        }
        self.line(&format!("library {lib} {{"));
        self.line("    /// A public input is not below the scalar field modulus r.");
        self.line("    error PublicInputNotInField();");
        self.line(
            "    /// The proof does not verify: a proof or folded point is not a valid point, or",
        );
        self.line("    /// the pairing check fails.");
        self.line("    error ProofInvalid();");
        self.line("    /// A fold's base point is not a point of the curve.");
        self.line("    error FoldInvalid();");
        self.line(
            "    /// `foldShared` was given another number of inputs than the circuit shares.",
        );
        self.line("    error SharedInputCount(uint256 given, uint256 expected);");
        self.line("");
        self.line("    /// SHA-256 of the verifying key file this library was generated from.");
        self.line(&format!(
            "    bytes32 internal constant KEY_FINGERPRINT = 0x{};",
            self.info.key_fingerprint
        ));
        self.line("    /// Public inputs of the circuit: all, per proof, shared.");
        self.line(&format!("    uint256 internal constant NUM_INPUTS = {n};"));
        self.line(&format!(
            "    uint256 internal constant NUM_PER_PROOF = {k};"
        ));
        self.line(&format!(
            "    uint256 internal constant NUM_SHARED = {shared};"
        ));
        self.line("");
        self.line("    /// BN254 scalar field modulus: every public input must be below it.");
        self.line(&format!(
            "    uint256 internal constant R = {};",
            lit(&crate::encode::fr_modulus())
        ));
        self.line("    /// BN254 base field modulus: every coordinate must be below it.");
        self.line(&format!(
            "    uint256 internal constant P = {};",
            lit(&Word::from_bigint(&Fq::MODULUS))
        ));
        self.line("");
        self.line(
            "    // The verifying key. G2 points are negated (the check is a product equal to 1)",
        );
        self.line("    // and in EIP-197 order: x imaginary, x real, y imaginary, y real.");
        let vk = self.vk;
        self.g1_const("ALPHA", &vk.alpha_g1);
        self.g2_const("BETA_NEG", &(-vk.beta_g2));
        self.g2_const("GAMMA_NEG", &(-vk.gamma_g2));
        self.g2_const("DELTA_NEG", &(-vk.delta_g2));
        self.line("    // IC_0, the constant term, and IC_(i+1), the point of input i.");
        self.g1_const("CONST", &vk.gamma_abc_g1[0]);
        for i in 0..n {
            self.g1_const(&format!("INPUT{i}"), &vk.gamma_abc_g1[i + 1]);
        }
        self.line("");
        self.constant_term_fn();
        self.fold_shared_fn();
        for group in self.split.shared.clone() {
            self.fold_group_fns(&group.name, &group.inputs);
        }
        self.verify_folded_fn();
        self.verify_proof_fn();
        self.pairing_fn();
        self.on_curve_fn();
        self.line("}");
        self.line("");
    }

    fn g1_const(&mut self, name: &str, p: &G1Affine) {
        let [x, y] = g1_words(p);
        self.line(&format!(
            "    uint256 internal constant {name}_X = {};",
            lit(&x)
        ));
        self.line(&format!(
            "    uint256 internal constant {name}_Y = {};",
            lit(&y)
        ));
    }

    fn g2_const(&mut self, name: &str, p: &G2Affine) {
        let [x1, x0, y1, y0] = g2_words(p);
        for (suffix, w) in [("X_IM", x1), ("X_RE", x0), ("Y_IM", y1), ("Y_RE", y0)] {
            self.line(&format!(
                "    uint256 internal constant {name}_{suffix} = {};",
                lit(&w)
            ));
        }
    }

    fn constant_term_fn(&mut self) {
        self.line("    /// IC_0: the point a fold of every group starts from.");
        self.line("    function constantTerm() internal pure returns (uint256 x, uint256 y) {");
        self.line("        return (CONST_X, CONST_Y);");
        self.line("    }");
        self.line("");
    }

    fn fold_shared_fn(&mut self) {
        self.line("    /// IC_0 + every shared input times its point: the `folded` point of");
        self.line("    /// `verifyFolded`. `shared` lists the groups in order (see above).");
        self.line("    function foldShared(uint256[] memory shared) internal view returns (uint256 x, uint256 y) {");
        self.line("        if (shared.length != NUM_SHARED) revert SharedInputCount(shared.length, NUM_SHARED);");
        if self.split.shared.is_empty() {
            self.line("        return (CONST_X, CONST_Y);");
        } else {
            self.line("        uint256 ptr;");
            self.line("        assembly (\"memory-safe\") {");
            self.line("            ptr := add(shared, 0x20)");
            self.line("        }");
            self.line("        (x, y) = (CONST_X, CONST_Y);");
            let mut offset = 0usize;
            for group in self.split.shared.clone() {
                let ptr = if offset == 0 {
                    "ptr".to_owned()
                } else {
                    format!("ptr + 0x{:x}", offset * 32)
                };
                self.line(&format!(
                    "        (x, y) = _fold{}({ptr}, x, y);",
                    group.name
                ));
                offset += group.inputs.len();
            }
        }
        self.line("    }");
        self.line("");
    }

    fn fold_group_fns(&mut self, name: &str, inputs: &[Input]) {
        let len = inputs.len();
        self.line(&format!(
            "    /// base + group {name}'s inputs times their points. Fold every group once,"
        ));
        self.line(
            "    /// starting from `constantTerm()`, to get what `foldShared` returns; a group",
        );
        self.line("    /// that changes rarely can be folded once and the others on top of it.");
        self.line(&format!(
            "    function fold{name}(uint256[{len}] memory values, uint256 baseX, uint256 baseY)"
        ));
        self.line("        internal view returns (uint256 x, uint256 y)");
        self.line("    {");
        self.line(
            "        // A fold must never hand back an invalid point, even with all inputs 0.",
        );
        self.line("        if (!_onCurve(baseX, baseY)) revert FoldInvalid();");
        self.line("        uint256 ptr;");
        self.line("        assembly (\"memory-safe\") {");
        self.line("            ptr := values");
        self.line("        }");
        self.line(&format!("        return _fold{name}(ptr, baseX, baseY);"));
        self.line("    }");
        self.line("");
        self.line(&format!(
            "    /// Group {name}'s fold over the {len} words at memory `ptr`."
        ));
        self.line(&format!(
            "    function _fold{name}(uint256 ptr, uint256 baseX, uint256 baseY)"
        ));
        self.line("        private view returns (uint256 x, uint256 y)");
        self.line("    {");
        self.line("        bool inField = true;");
        self.line("        bool ok = true;");
        self.line("        assembly (\"memory-safe\") {");
        self.out.push_str(MUL_ADD);
        let loads: Vec<(String, Input)> = inputs
            .iter()
            .enumerate()
            .map(|(k, input)| (word_at("mload", "ptr", k), input.clone()))
            .collect();
        self.fold_block(("baseX", "baseY"), &loads);
        self.line("        }");
        self.line("        if (!inField) revert PublicInputNotInField();");
        self.line("        if (!ok) revert FoldInvalid();");
        self.line("    }");
        self.line("");
    }

    /// The body of an assembly block that folds `loads` (how to load each input, and
    /// which input it is) onto the point `base` into the Solidity variables `x`, `y`:
    /// first every input checked below r — cheap rejections before any precompile
    /// call — then, only if all are, one `mulAdd` per input.
    fn fold_block(&mut self, base: (&str, &str), loads: &[(String, Input)]) {
        self.line(
            "            // Every input below r, before any precompile call. r on the stack:",
        );
        self.line(
            "            // the optimizer would otherwise load the repeated constant from code.",
        );
        self.line("            let r := R");
        for (load, input) in loads {
            self.line(&format!(
                "            inField := and(inField, lt({load}, r)) // input {}: {}",
                input.index, input.label
            ));
        }
        self.line("            if inField {");
        self.line("                let f := mload(0x40)");
        self.line("                let s");
        self.line(&format!("                mstore(f, {})", base.0));
        self.line(&format!("                mstore(add(f, 0x20), {})", base.1));
        for (load, input) in loads {
            let i = input.index;
            // An input of 0 adds nothing: one load and a jump, no call (empty slots and
            // status bits of 0 are common).
            self.line(&format!("                s := {load}"));
            self.line(&format!(
                "                if s {{ ok := and(ok, mulAdd(f, INPUT{i}_X, INPUT{i}_Y, s)) }}"
            ));
        }
        self.line("                x := mload(f)");
        self.line("                y := mload(add(f, 0x20))");
        self.line("            }");
    }

    fn verify_folded_fn(&mut self) {
        let k = self.split.per_proof.len();
        self.line("    /// Verifies `proof` of the statement whose shared inputs folded to");
        self.line("    /// (foldedX, foldedY) and whose own inputs are `perProof` (see above).");
        self.line("    /// @dev The folded point must be the caller's own fold of the statement's");
        self.line(
            "    /// shared inputs (`foldShared`, kept in its storage): a folded point chosen by",
        );
        self.line("    /// whoever submits the proof lets any proof pass.");
        self.line(&format!(
            "    function verifyFolded(uint256[8] calldata proof, uint256[{k}] memory perProof, uint256 foldedX, uint256 foldedY)"
        ));
        self.line("        internal view");
        self.line("    {");
        self.line("        // Checked first: a failed precompile call consumes all the gas it was");
        self.line(
            "        // given, and the folded point is the only point here that can be invalid.",
        );
        self.line("        if (!_onCurve(foldedX, foldedY)) revert ProofInvalid();");
        self.line("        bool inField = true;");
        self.line("        bool ok = true;");
        self.line("        uint256 x;");
        self.line("        uint256 y;");
        self.line("        assembly (\"memory-safe\") {");
        self.out.push_str(MUL_ADD);
        let loads: Vec<(String, Input)> = self
            .split
            .per_proof
            .iter()
            .enumerate()
            .map(|(j, input)| (word_at("mload", "perProof", j), input.clone()))
            .collect();
        self.fold_block(("foldedX", "foldedY"), &loads);
        self.line("        }");
        self.line("        if (!inField) revert PublicInputNotInField();");
        self.line("        if (!ok) revert ProofInvalid();");
        self.line("        _checkPairing(proof, x, y);");
        self.line("    }");
        self.line("");
    }

    fn verify_proof_fn(&mut self) {
        let n = self.split.num_inputs;
        self.line("    /// Verifies `proof` with every public input given, in circuit order: what");
        self.line(
            "    /// gnark's and snarkjs's verifiers do, at the cost of every input per proof.",
        );
        self.line(&format!(
            "    function verifyProof(uint256[8] calldata proof, uint256[{n}] calldata input) internal view {{"
        ));
        self.line("        bool inField = true;");
        self.line("        bool ok = true;");
        self.line("        uint256 x;");
        self.line("        uint256 y;");
        self.line("        assembly (\"memory-safe\") {");
        self.out.push_str(MUL_ADD);
        // Labels by index, from the split.
        let mut labels: Vec<Option<Input>> = vec![None; n];
        for input in self
            .split
            .per_proof
            .iter()
            .chain(self.split.shared_inputs())
        {
            labels[input.index] = Some(input.clone());
        }
        let loads: Vec<(String, Input)> = labels
            .into_iter()
            .enumerate()
            .map(|(i, input)| {
                let input = input.unwrap_or(Input {
                    index: i,
                    label: String::new(),
                });
                (word_at("calldataload", "input", i), input)
            })
            .collect();
        self.fold_block(("CONST_X", "CONST_Y"), &loads);
        self.line("        }");
        self.line("        if (!inField) revert PublicInputNotInField();");
        // The accumulator starts at IC_0 and only adds the key's points: no call fails.
        self.line("        if (!ok) revert ProofInvalid();");
        self.line("        _checkPairing(proof, x, y);");
        self.line("    }");
        self.line("");
    }

    fn pairing_fn(&mut self) {
        self.line(
            "    /// e(A, B) * e(C, -delta) * e(alpha, -beta) * e(vk_x, -gamma) == 1, or revert.",
        );
        self.line(
            "    /// The precompile checks every coordinate < P, every point on its curve and B in",
        );
        self.line("    /// the prime-order subgroup, and fails (consuming the gas it was given) otherwise.");
        self.line("    function _checkPairing(uint256[8] calldata proof, uint256 x, uint256 y) private view {");
        self.line("        bool ok;");
        self.line("        assembly (\"memory-safe\") {");
        self.line("            let f := mload(0x40)");
        self.line("            // A, B, C as given: pair 1 is (A, B), pair 2 starts with C.");
        self.line("            calldatacopy(f, proof, 0x100)");
        let words = [
            ("0x100", "DELTA_NEG_X_IM"),
            ("0x120", "DELTA_NEG_X_RE"),
            ("0x140", "DELTA_NEG_Y_IM"),
            ("0x160", "DELTA_NEG_Y_RE"),
            ("0x180", "ALPHA_X"),
            ("0x1a0", "ALPHA_Y"),
            ("0x1c0", "BETA_NEG_X_IM"),
            ("0x1e0", "BETA_NEG_X_RE"),
            ("0x200", "BETA_NEG_Y_IM"),
            ("0x220", "BETA_NEG_Y_RE"),
            ("0x240", "x"),
            ("0x260", "y"),
            ("0x280", "GAMMA_NEG_X_IM"),
            ("0x2a0", "GAMMA_NEG_X_RE"),
            ("0x2c0", "GAMMA_NEG_Y_IM"),
            ("0x2e0", "GAMMA_NEG_Y_RE"),
        ];
        for (offset, value) in words {
            self.line(&format!("            mstore(add(f, {offset}), {value})"));
        }
        self.line("            ok := staticcall(gas(), 0x08, f, 0x300, f, 0x20)");
        self.line("            ok := and(ok, eq(mload(f), 1))");
        self.line("        }");
        self.line("        if (!ok) revert ProofInvalid();");
        self.line("    }");
        self.line("");
    }

    fn on_curve_fn(&mut self) {
        self.line(
            "    /// (x, y) is the point at infinity (0, 0) or on y^2 = x^3 + 3 with x, y < P.",
        );
        self.line("    function _onCurve(uint256 x, uint256 y) private pure returns (bool) {");
        self.line("        if (x == 0 && y == 0) return true;");
        self.line("        if (x >= P || y >= P) return false;");
        self.line("        return mulmod(y, y, P) == addmod(mulmod(mulmod(x, x, P), x, P), 3, P);");
        self.line("    }");
    }

    fn contract(&mut self) {
        let name = self.info.name.clone();
        let lib = self.lib.clone();
        let n = self.split.num_inputs;
        let k = self.split.per_proof.len();
        self.line(&format!(
            "/// @title External entry points of {lib} (see there), for off-chain calls,"
        ));
        self.line("/// tests, and contracts that call a deployed verifier instead of inlining it.");
        self.line(&format!("contract {name} {{"));
        self.line("    /// SHA-256 of the verifying key file this verifier was generated from.");
        self.line("    function keyFingerprint() external pure returns (bytes32) {");
        self.line(&format!("        return {lib}.KEY_FINGERPRINT;"));
        self.line("    }");
        self.line("");
        self.line("    /// IC_0: the point a fold of every group starts from.");
        self.line("    function constantTerm() external pure returns (uint256 x, uint256 y) {");
        self.line(&format!("        return {lib}.constantTerm();"));
        self.line("    }");
        self.line("");
        self.line("    /// IC_0 + every shared input times its point.");
        self.line("    function foldShared(uint256[] calldata shared) external view returns (uint256 x, uint256 y) {");
        self.line(&format!("        return {lib}.foldShared(shared);"));
        self.line("    }");
        for group in self.split.shared.clone() {
            let g = &group.name;
            let len = group.inputs.len();
            self.line("");
            self.line(&format!(
                "    /// base + group {g}'s inputs times their points."
            ));
            self.line(&format!(
                "    function fold{g}(uint256[{len}] calldata values, uint256[2] calldata base)"
            ));
            self.line("        external view returns (uint256 x, uint256 y)");
            self.line("    {");
            self.line(&format!(
                "        return {lib}.fold{g}(values, base[0], base[1]);"
            ));
            self.line("    }");
        }
        self.line("");
        self.line("    /// Verifies `proof` against a folded point the caller computed or trusts; reverts");
        self.line("    /// unless it verifies.");
        self.line(&format!(
            "    function verifyFolded(uint256[8] calldata proof, uint256[{k}] calldata perProof, uint256[2] calldata folded)"
        ));
        self.line("        external view");
        self.line("    {");
        self.line(&format!(
            "        {lib}.verifyFolded(proof, perProof, folded[0], folded[1]);"
        ));
        self.line("    }");
        self.line("");
        self.line(
            "    /// Verifies `proof` with every public input given; reverts unless it verifies.",
        );
        self.line(&format!(
            "    function verifyProof(uint256[8] calldata proof, uint256[{n}] calldata input) external view {{"
        ));
        self.line(&format!("        {lib}.verifyProof(proof, input);"));
        self.line("    }");
        self.line("}");
    }
}

//! The circuits this build proves, each with its key-file names and its shape.
//!
//! Key setup and key loading iterate over [`CIRCUITS`]: adding a circuit is one entry
//! here and leaves the keys of the others untouched, because each circuit's
//! development keys come from its own seed.

use std::sync::OnceLock;

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError, SynthesisMode,
};
use rand_core::RngCore;
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, MarginCircuit},
    LIQUIDATION_CIRCUIT_ID, LIQUIDATION_NUM_PUBLIC_INPUTS, MARGIN_CIRCUIT_ID,
    MARGIN_NUM_PUBLIC_INPUTS,
};

/// One circuit: its id, its key files and how to make its keys.
#[derive(Debug)]
pub struct CircuitDef {
    /// Circuit id and version, e.g. `zkmargin.margin.v1`; the manifest key.
    pub id: &'static str,
    /// Stem of the key files: `<stem>.pk` and `<stem>.vk`.
    pub file_stem: &'static str,
    /// Public inputs of the statement (the constant 1 not counted).
    pub public_inputs: usize,
    /// Synthesizes the setup shape (no witness).
    shape: fn() -> Result<Shape, SynthesisError>,
    /// Groth16 key generation for the setup shape.
    generate: fn(&mut dyn RngCore) -> Result<ProvingKey<Bn254>, SynthesisError>,
    /// Memoized [`CircuitDef::shape`].
    shape_cache: &'static OnceLock<Shape>,
}

/// The size of a circuit's constraint system, as Groth16 setup sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// R1CS constraints.
    pub constraints: usize,
    /// Instance variables, the constant 1 included.
    pub instance_variables: usize,
    /// Witness variables.
    pub witness_variables: usize,
}

impl Shape {
    /// Size of the FFT domain: `next_pow2(constraints + instance variables)`.
    pub fn domain_size(&self) -> usize {
        (self.constraints + self.instance_variables).next_power_of_two()
    }
}

/// Every circuit this build has keys for, in manifest order.
pub const CIRCUITS: &[CircuitDef] = &[MARGIN, LIQUIDATION];

/// The margin circuit (`zkmargin.margin.v1`).
pub const MARGIN: CircuitDef = CircuitDef {
    id: MARGIN_CIRCUIT_ID,
    file_stem: "margin",
    public_inputs: MARGIN_NUM_PUBLIC_INPUTS,
    shape: || synthesize_shape(MarginCircuit::for_setup()),
    generate: |rng| generate_keys(MarginCircuit::for_setup(), rng),
    shape_cache: &MARGIN_SHAPE,
};

static MARGIN_SHAPE: OnceLock<Shape> = OnceLock::new();

/// The liquidation circuit (`zkmargin.liquidation.v2`).
pub const LIQUIDATION: CircuitDef = CircuitDef {
    id: LIQUIDATION_CIRCUIT_ID,
    file_stem: "liquidation",
    public_inputs: LIQUIDATION_NUM_PUBLIC_INPUTS,
    shape: || synthesize_shape(LiquidationCircuit::for_setup()),
    generate: |rng| generate_keys(LiquidationCircuit::for_setup(), rng),
    shape_cache: &LIQUIDATION_SHAPE,
};

static LIQUIDATION_SHAPE: OnceLock<Shape> = OnceLock::new();

/// The circuit with id `id`, if this build has it.
pub fn circuit(id: &str) -> Option<&'static CircuitDef> {
    CIRCUITS.iter().find(|c| c.id == id)
}

impl CircuitDef {
    /// File name of the proving key.
    pub fn proving_key_file(&self) -> String {
        format!("{}.pk", self.file_stem)
    }

    /// File name of the verifying key.
    pub fn verifying_key_file(&self) -> String {
        format!("{}.vk", self.file_stem)
    }

    /// The circuit's shape (synthesized once per process, then cached).
    ///
    /// # Errors
    /// A [`SynthesisError`] from the circuit: a bug in the circuit, never an input error.
    pub fn shape(&self) -> Result<Shape, SynthesisError> {
        if let Some(shape) = self.shape_cache.get() {
            return Ok(*shape);
        }
        let shape = self.synthesize_shape()?;
        Ok(*self.shape_cache.get_or_init(|| shape))
    }

    /// Synthesizes the setup shape now, bypassing the cache (for benchmarks).
    ///
    /// # Errors
    /// A [`SynthesisError`] from the circuit.
    pub fn synthesize_shape(&self) -> Result<Shape, SynthesisError> {
        (self.shape)()
    }

    /// Runs Groth16 setup for this circuit with randomness from `rng`.
    ///
    /// Deterministic given the RNG's output: the same seed gives byte-identical keys.
    ///
    /// # Errors
    /// A [`SynthesisError`] from the circuit.
    pub fn generate(&self, rng: &mut dyn RngCore) -> Result<ProvingKey<Bn254>, SynthesisError> {
        (self.generate)(rng)
    }
}

fn synthesize_shape<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Shape, SynthesisError> {
    // The same synthesis settings as Groth16 setup, so the counts are the key's.
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    Ok(Shape {
        constraints: cs.num_constraints(),
        instance_variables: cs.num_instance_variables(),
        witness_variables: cs.num_witness_variables(),
    })
}

fn generate_keys<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    mut rng: &mut dyn RngCore,
) -> Result<ProvingKey<Bn254>, SynthesisError> {
    Groth16::<Bn254>::generate_random_parameters_with_reduction(circuit, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_file_stems_are_unique() {
        for (i, a) in CIRCUITS.iter().enumerate() {
            for b in &CIRCUITS[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.file_stem, b.file_stem);
            }
        }
        assert_eq!(
            circuit(MARGIN_CIRCUIT_ID).map(|c| c.file_stem),
            Some("margin")
        );
        assert_eq!(
            circuit(LIQUIDATION_CIRCUIT_ID).map(|c| c.file_stem),
            Some("liquidation")
        );
        assert!(circuit("zkmargin.margin.v0").is_none());
    }

    #[test]
    fn shapes_match_the_statements() {
        for (def, inputs) in [
            (&MARGIN, MARGIN_NUM_PUBLIC_INPUTS),
            (&LIQUIDATION, LIQUIDATION_NUM_PUBLIC_INPUTS),
        ] {
            let shape = def.shape().unwrap();
            assert_eq!(def.public_inputs, inputs, "{}", def.id);
            assert_eq!(shape.instance_variables, 1 + inputs, "{}", def.id);
            // The exact counts are pinned by circuits/tests/shape.rs; here only what
            // key handling relies on: the domain holds constraints and inputs.
            assert!(shape.constraints + shape.instance_variables <= shape.domain_size());
            assert!(shape.domain_size().is_power_of_two());
            assert_eq!(def.shape().unwrap(), shape, "cached");
        }
        // The two circuits differ, so a key of one never fits the other.
        assert_ne!(MARGIN.shape().unwrap(), LIQUIDATION.shape().unwrap());
    }
}

//! The file formats round-trip through their writers and readers.

use proptest::prelude::*;
use zkmargin_circuits::{Account, Blinding, Fr, MARKETS, TOKENS};
use zkmargin_prover::{
    files::{load_account, load_committee, write_json, WriteOptions},
    AccountFile, CommitteeFile,
};

const PRIVATE: WriteOptions = WriteOptions {
    private: true,
    overwrite: true,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any account (extreme balances included) reads back as written.
    #[test]
    fn account_files_round_trip(
        id: u64,
        nonce: u64,
        tokens in proptest::array::uniform8(any::<i64>()),
        quote: i64,
        positions in proptest::array::uniform8(any::<i64>()),
        blinding: u64,
    ) {
        const { assert!(TOKENS == 8 && MARKETS == 8) };
        let account = Account { id, nonce, tokens, quote, positions, blinding: Blinding(Fr::from(blinding)) };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_json(&path, &AccountFile::new(account.clone()), PRIVATE).unwrap();
        prop_assert_eq!(load_account(&path).unwrap().account, account);
    }
}

#[test]
fn committee_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    for committee in [
        CommitteeFile::development(),
        CommitteeFile::generate(5, 3, 120, 2, &mut rand::thread_rng()).unwrap(),
    ] {
        write_json(&path, &committee, PRIVATE).unwrap();
        assert_eq!(load_committee(&path).unwrap(), committee);
    }
}

//! Property tests: the digest binds every field, JSON round-trips, the config digest
//! ignores signer order, and quorum verification accepts exactly k-of-n.

mod common;

use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_oracle::{
    OracleConfig, OracleError, PriceFeed, PriceReport, SignedReport, SignerKey, CONFIG_VERSION,
    PRICE_EXPONENT, REPORT_VERSION,
};

fn arb_feed(feed_id: String) -> impl Strategy<Value = PriceFeed> {
    (1..=u64::MAX)
        .prop_flat_map(|price| (Just(price), 1..=price, price..=u64::MAX))
        .prop_map(move |(price, bid, ask)| PriceFeed {
            feed_id: feed_id.clone(),
            price,
            bid,
            ask,
        })
}

/// Valid reports: 1..=12 feeds with distinct printable ids in canonical order.
fn arb_report() -> impl Strategy<Value = PriceReport> {
    let feeds = btree_set("[!-~]{1,32}", 1..=12).prop_flat_map(|ids| {
        // BTreeSet<String> iterates in byte order: the canonical order.
        ids.into_iter().map(arb_feed).collect::<Vec<_>>()
    });
    let times =
        (0..u64::MAX).prop_flat_map(|observed_at| (Just(observed_at), observed_at + 1..=u64::MAX));
    (times, feeds).prop_map(|((observed_at, expires_at), feeds)| PriceReport {
        version: REPORT_VERSION,
        exponent: PRICE_EXPONENT,
        observed_at,
        expires_at,
        feeds,
    })
}

/// One change to one field of a report.
#[derive(Debug, Clone)]
enum Mutation {
    Version(u32),
    Exponent(i32),
    ObservedAt(u64),
    ExpiresAt(u64),
    FeedId(usize, char),
    Price(usize, u64),
    Bid(usize, u64),
    Ask(usize, u64),
    AddFeed,
    RemoveFeed,
    SwapFeeds(usize, usize),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let feed = any::<prop::sample::Index>();
    prop_oneof![
        (1..=u32::MAX).prop_map(Mutation::Version),
        (1..=i32::MAX).prop_map(Mutation::Exponent),
        (1..=u64::MAX).prop_map(Mutation::ObservedAt),
        (1..=u64::MAX).prop_map(Mutation::ExpiresAt),
        (feed.clone(), proptest::char::range('!', '~'))
            .prop_map(|(i, c)| Mutation::FeedId(i.index(usize::MAX), c)),
        (feed.clone(), 1..=u64::MAX).prop_map(|(i, d)| Mutation::Price(i.index(usize::MAX), d)),
        (feed.clone(), 1..=u64::MAX).prop_map(|(i, d)| Mutation::Bid(i.index(usize::MAX), d)),
        (feed.clone(), 1..=u64::MAX).prop_map(|(i, d)| Mutation::Ask(i.index(usize::MAX), d)),
        Just(Mutation::AddFeed),
        Just(Mutation::RemoveFeed),
        (feed.clone(), feed)
            .prop_map(|(i, j)| Mutation::SwapFeeds(i.index(usize::MAX), j.index(usize::MAX))),
    ]
}

/// Applies `m`; returns false when it cannot change this report (then the case is skipped).
fn apply(report: &mut PriceReport, m: &Mutation) -> bool {
    let n = report.feeds.len();
    match *m {
        Mutation::Version(d) => report.version = report.version.wrapping_add(d),
        Mutation::Exponent(d) => report.exponent = report.exponent.wrapping_add(d),
        Mutation::ObservedAt(d) => report.observed_at = report.observed_at.wrapping_add(d),
        Mutation::ExpiresAt(d) => report.expires_at = report.expires_at.wrapping_add(d),
        Mutation::FeedId(i, c) => {
            let id = &mut report.feeds[i % n].feed_id;
            // Replace the last character if it differs, else append one (or drop one at 32).
            if !id.ends_with(c) {
                id.pop();
                id.push(c);
            } else if id.len() < 32 {
                id.push(c);
            } else {
                id.pop();
            }
        }
        Mutation::Price(i, d) => {
            let f = &mut report.feeds[i % n];
            f.price = f.price.wrapping_add(d);
        }
        Mutation::Bid(i, d) => {
            let f = &mut report.feeds[i % n];
            f.bid = f.bid.wrapping_add(d);
        }
        Mutation::Ask(i, d) => {
            let f = &mut report.feeds[i % n];
            f.ask = f.ask.wrapping_add(d);
        }
        Mutation::AddFeed => report.feeds.push(PriceFeed {
            feed_id: "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~".into(),
            price: 1,
            bid: 1,
            ask: 1,
        }),
        Mutation::RemoveFeed => {
            if n == 1 {
                return false;
            }
            report.feeds.pop();
        }
        Mutation::SwapFeeds(i, j) => {
            if i % n == j % n {
                return false;
            }
            report.feeds.swap(i % n, j % n);
        }
    }
    true
}

/// `n` distinct keys drawn from a seeded RNG.
fn keys_from_seed(seed: u64, n: usize) -> Vec<SignerKey> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n).map(|_| SignerKey::generate(&mut rng)).collect()
}

proptest! {
    #[test]
    fn generated_reports_are_valid(report in arb_report()) {
        prop_assert_eq!(report.validate(), Ok(()));
        for feed in &report.feeds {
            prop_assert_eq!(report.price(&feed.feed_id), Some(feed.price));
        }
    }

    /// The digest binds every field: any change to version, exponent, timestamps, a
    /// feed id, a price, a bid, an ask, the feed set or the feed order changes it.
    #[test]
    fn digest_changes_when_any_field_changes(report in arb_report(), m in arb_mutation()) {
        let mut changed = report.clone();
        prop_assume!(apply(&mut changed, &m));
        prop_assert_ne!(&changed, &report);
        prop_assert_ne!(changed.canonical_bytes(), report.canonical_bytes());
        prop_assert_ne!(changed.digest(), report.digest());
    }

    /// price_not_signed: a signed report edited in any way no longer verifies. If the
    /// edit keeps the report valid the signatures fail; otherwise validation does.
    #[test]
    fn tampering_after_signing_never_verifies(
        report in arb_report(),
        m in arb_mutation(),
        seed in any::<u64>(),
    ) {
        let keys = keys_from_seed(seed, 3);
        let config = OracleConfig {
            version: CONFIG_VERSION,
            signers: keys.iter().map(SignerKey::id).collect(),
            quorum: 2,
            max_age_secs: 300,
            max_future_skew_secs: 0,
        };
        let mut signed = SignedReport::sign(report.clone(), &keys[..2]);
        let now = report.observed_at;
        prop_assert!(config.verify(&signed, now).is_ok());

        prop_assume!(apply(&mut signed.report, &m));
        let err = config.verify(&signed, now).unwrap_err();
        if signed.report.validate().is_ok() {
            prop_assert_eq!(err, OracleError::BadSignature(keys[0].id()));
        } else {
            prop_assert!(matches!(err, OracleError::Report(_)), "{:?}", err);
        }
    }

    #[test]
    fn report_json_round_trips(report in arb_report(), seed in any::<u64>()) {
        let text = serde_json::to_string(&report).unwrap();
        let back: PriceReport = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &report);

        let signed = SignedReport::sign(report, &keys_from_seed(seed, 2));
        let text = serde_json::to_string_pretty(&signed).unwrap();
        let back: SignedReport = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, signed);
    }

    #[test]
    fn config_json_round_trips(
        seed in any::<u64>(),
        n in 1usize..=8,
        quorum in 1u32..=8,
        max_age_secs in 1..=u64::MAX,
        max_future_skew_secs in any::<u64>(),
    ) {
        let config = OracleConfig {
            version: CONFIG_VERSION,
            signers: keys_from_seed(seed, n).iter().map(SignerKey::id).collect(),
            quorum,
            max_age_secs,
            max_future_skew_secs,
        };
        let back: OracleConfig =
            serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        prop_assert_eq!(back, config);
    }

    /// The order of signers in a config file does not change the config digest, but
    /// the signer set and every policy number do.
    #[test]
    fn config_digest_ignores_signer_order_only(
        seed in any::<u64>(),
        order in Just((0..6usize).collect::<Vec<_>>()).prop_shuffle(),
        bump in 0usize..5,
    ) {
        let ids: Vec<_> = keys_from_seed(seed, 6).iter().map(SignerKey::id).collect();
        let config = OracleConfig {
            version: CONFIG_VERSION,
            signers: ids.clone(),
            quorum: 4,
            max_age_secs: 300,
            max_future_skew_secs: 5,
        };
        let mut shuffled = config.clone();
        shuffled.signers = order.iter().map(|&i| ids[i]).collect();
        prop_assert_eq!(shuffled.digest(), config.digest());
        prop_assert_eq!(shuffled.canonical_bytes(), config.canonical_bytes());

        let mut other = config.clone();
        match bump {
            0 => other.version += 1,
            1 => other.quorum += 1,
            2 => other.max_age_secs += 1,
            3 => other.max_future_skew_secs += 1,
            _ => { other.signers.pop(); }
        }
        prop_assert_ne!(other.digest(), config.digest());
    }

    /// k-of-n: any m distinct committee signatures verify exactly when m >= k.
    #[test]
    fn quorum_is_exactly_k_of_n(
        seed in any::<u64>(),
        (n, k, m) in (1usize..=6).prop_flat_map(|n| (Just(n), 1..=n, 0..=n)),
        order in vec(any::<prop::sample::Index>(), 6),
    ) {
        let keys = keys_from_seed(seed, n);
        let config = OracleConfig {
            version: CONFIG_VERSION,
            signers: keys.iter().map(SignerKey::id).collect(),
            quorum: k as u32,
            max_age_secs: 60,
            max_future_skew_secs: 0,
        };
        // Pick m distinct signers in a random order.
        let mut chosen: Vec<SignerKey> = keys.clone();
        for (i, idx) in order.iter().enumerate().take(n) {
            let j = idx.index(n);
            chosen.swap(i, j);
        }
        chosen.truncate(m);
        let signed = SignedReport::sign(common::sample_report(), &chosen);
        let result = config.verify(&signed, common::OBSERVED_AT);
        if m >= k {
            let verified = result.unwrap();
            prop_assert_eq!(verified.signers().len(), m);
        } else {
            prop_assert_eq!(result.unwrap_err(), OracleError::QuorumNotMet { valid: m, required: k });
        }
    }
}

//! Price reports: validation and the canonical, domain-separated encoding that is signed.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{PRICE_EXPONENT, REPORT_VERSION};

/// Domain tag that starts every report encoding.
pub const REPORT_DOMAIN: &[u8] = b"zkmargin/price-report/v1";
/// Most feeds one report may carry.
pub const MAX_FEEDS: usize = 64;
/// Longest feed id, in bytes.
pub const MAX_FEED_ID_LEN: usize = 32;

/// One feed's observation, in 10^-9 quote atomic units per asset atomic unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceFeed {
    /// Feed identifier: 1..=32 bytes of printable ASCII without spaces (`0x21..=0x7e`).
    pub feed_id: String,
    /// Reference (mid) price, > 0.
    pub price: u64,
    /// Best bid, `0 < bid <= price`.
    pub bid: u64,
    /// Best ask, `price <= ask`.
    pub ask: u64,
}

/// A price report as the oracle committee signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceReport {
    /// Encoding version; must be [`REPORT_VERSION`].
    pub version: u32,
    /// Decimal exponent of every price; must be [`PRICE_EXPONENT`].
    pub exponent: i32,
    /// When the prices were observed, unix seconds.
    pub observed_at: u64,
    /// When the report stops being usable, unix seconds; `> observed_at`.
    pub expires_at: u64,
    /// 1..=64 feeds, strictly ascending by `feed_id` (byte order), no duplicates.
    pub feeds: Vec<PriceFeed>,
}

/// Why a price report is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// `version` is not [`REPORT_VERSION`].
    #[error("report version {found} is not supported; this verifier reads version {expected}")]
    UnsupportedVersion {
        /// Version in the report.
        found: u32,
        /// Version this crate reads.
        expected: u32,
    },
    /// `exponent` is not [`PRICE_EXPONENT`].
    #[error("report price exponent is {found}, must be {expected}; rescale prices to 10^{expected} quote units per asset unit")]
    WrongExponent {
        /// Exponent in the report.
        found: i32,
        /// The fixed exponent.
        expected: i32,
    },
    /// `expires_at <= observed_at`.
    #[error("report expires_at {expires_at} is not after observed_at {observed_at}; set expires_at later than observed_at")]
    ExpiresBeforeObserved {
        /// Observation time.
        observed_at: u64,
        /// Expiry time.
        expires_at: u64,
    },
    /// `feeds` is empty.
    #[error("report has no feeds; include at least one price feed")]
    NoFeeds,
    /// More than [`MAX_FEEDS`] feeds.
    #[error("report has {count} feeds, at most {max} are allowed; split it into several reports")]
    TooManyFeeds {
        /// Feeds in the report.
        count: usize,
        /// [`MAX_FEEDS`].
        max: usize,
    },
    /// A feed id is empty, too long or has a byte outside printable ASCII.
    #[error("feed id {feed_id:?} at index {index} is invalid: {reason}")]
    BadFeedId {
        /// Position in `feeds`.
        index: usize,
        /// The offending id.
        feed_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two feeds out of ascending order.
    #[error("feed {feed_id:?} comes after {previous:?}; sort feeds strictly ascending by feed_id (byte order)")]
    NotSorted {
        /// The feed before.
        previous: String,
        /// The feed that should have come first.
        feed_id: String,
    },
    /// The same feed id twice.
    #[error("feed {feed_id:?} appears more than once; keep one observation per feed")]
    DuplicateFeed {
        /// The repeated id.
        feed_id: String,
    },
    /// `price == 0`.
    #[error("feed {feed_id:?} has price 0; prices must be positive")]
    NonPositivePrice {
        /// The feed.
        feed_id: String,
    },
    /// `bid == 0`.
    #[error("feed {feed_id:?} has bid 0; bids must be positive")]
    NonPositiveBid {
        /// The feed.
        feed_id: String,
    },
    /// `bid > ask`.
    #[error("feed {feed_id:?} has bid {bid} above ask {ask}; bid must not exceed ask")]
    BidAboveAsk {
        /// The feed.
        feed_id: String,
        /// Bid.
        bid: u64,
        /// Ask.
        ask: u64,
    },
    /// `price < bid` or `price > ask`.
    #[error("feed {feed_id:?} has price {price} outside its bid/ask [{bid}, {ask}]; price must satisfy bid <= price <= ask")]
    PriceOutsideBidAsk {
        /// The feed.
        feed_id: String,
        /// Price.
        price: u64,
        /// Bid.
        bid: u64,
        /// Ask.
        ask: u64,
    },
}

impl ReportError {
    /// Stable snake_case code of this error, for machine-readable error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedVersion { .. } => "report_unsupported_version",
            Self::WrongExponent { .. } => "report_wrong_exponent",
            Self::ExpiresBeforeObserved { .. } => "report_expires_before_observed",
            Self::NoFeeds => "report_no_feeds",
            Self::TooManyFeeds { .. } => "report_too_many_feeds",
            Self::BadFeedId { .. } => "report_bad_feed_id",
            Self::NotSorted { .. } => "report_feeds_not_sorted",
            Self::DuplicateFeed { .. } => "report_duplicate_feed",
            Self::NonPositivePrice { .. } => "report_non_positive_price",
            Self::NonPositiveBid { .. } => "report_non_positive_bid",
            Self::BidAboveAsk { .. } => "report_bid_above_ask",
            Self::PriceOutsideBidAsk { .. } => "report_price_outside_bid_ask",
        }
    }
}

/// Why `id` is not a valid feed id, if it is not.
fn feed_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("it is empty; use 1 to 32 printable ASCII characters")
    } else if id.len() > MAX_FEED_ID_LEN {
        Some("it is longer than 32 bytes; use 1 to 32 printable ASCII characters")
    } else if !id.bytes().all(|b| b.is_ascii_graphic()) {
        Some("it has a space, control or non-ASCII character; use printable ASCII 0x21..=0x7e")
    } else {
        None
    }
}

impl PriceFeed {
    fn validate(&self, index: usize) -> Result<(), ReportError> {
        let feed_id = || self.feed_id.clone();
        if let Some(reason) = feed_id_problem(&self.feed_id) {
            return Err(ReportError::BadFeedId {
                index,
                feed_id: feed_id(),
                reason,
            });
        }
        if self.price == 0 {
            return Err(ReportError::NonPositivePrice { feed_id: feed_id() });
        }
        if self.bid == 0 {
            return Err(ReportError::NonPositiveBid { feed_id: feed_id() });
        }
        if self.bid > self.ask {
            return Err(ReportError::BidAboveAsk {
                feed_id: feed_id(),
                bid: self.bid,
                ask: self.ask,
            });
        }
        if self.price < self.bid || self.price > self.ask {
            return Err(ReportError::PriceOutsideBidAsk {
                feed_id: feed_id(),
                price: self.price,
                bid: self.bid,
                ask: self.ask,
            });
        }
        Ok(())
    }
}

impl PriceReport {
    /// Checks the report's shape: version, exponent, timestamps, feed count, each
    /// feed id, canonical feed order, and `0 < bid <= price <= ask` per feed.
    ///
    /// Freshness against a clock is not checked here; [`crate::OracleConfig::verify`] does.
    ///
    /// # Errors
    /// The first [`ReportError`] found, in the order listed above.
    pub fn validate(&self) -> Result<(), ReportError> {
        if self.version != REPORT_VERSION {
            return Err(ReportError::UnsupportedVersion {
                found: self.version,
                expected: REPORT_VERSION,
            });
        }
        if self.exponent != PRICE_EXPONENT {
            return Err(ReportError::WrongExponent {
                found: self.exponent,
                expected: PRICE_EXPONENT,
            });
        }
        if self.expires_at <= self.observed_at {
            return Err(ReportError::ExpiresBeforeObserved {
                observed_at: self.observed_at,
                expires_at: self.expires_at,
            });
        }
        if self.feeds.is_empty() {
            return Err(ReportError::NoFeeds);
        }
        if self.feeds.len() > MAX_FEEDS {
            return Err(ReportError::TooManyFeeds {
                count: self.feeds.len(),
                max: MAX_FEEDS,
            });
        }
        for (index, feed) in self.feeds.iter().enumerate() {
            feed.validate(index)?;
            if let Some(previous) = index.checked_sub(1).map(|i| &self.feeds[i]) {
                match previous.feed_id.cmp(&feed.feed_id) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        return Err(ReportError::DuplicateFeed {
                            feed_id: feed.feed_id.clone(),
                        })
                    }
                    std::cmp::Ordering::Greater => {
                        return Err(ReportError::NotSorted {
                            previous: previous.feed_id.clone(),
                            feed_id: feed.feed_id.clone(),
                        })
                    }
                }
            }
        }
        Ok(())
    }

    /// The canonical encoding that is hashed and signed (all integers big-endian):
    ///
    /// ```text
    /// u8 len || "zkmargin/price-report/v1"
    /// version u32 || exponent i32 || observed_at u64 || expires_at u64
    /// feed count u16
    /// per feed, in order: u8 len || feed_id || price u64 || bid u64 || ask u64
    /// ```
    ///
    /// Injective on reports that pass [`PriceReport::validate`] (ids ≤ 32 bytes, ≤ 64
    /// feeds). Outside those limits lengths are truncated and the bytes mean nothing;
    /// such reports are rejected before any signature is looked at.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let feed_bytes: usize = self.feeds.iter().map(|f| 1 + f.feed_id.len() + 24).sum();
        let mut out = Vec::with_capacity(1 + REPORT_DOMAIN.len() + 4 + 4 + 8 + 8 + 2 + feed_bytes);
        out.push(REPORT_DOMAIN.len() as u8);
        out.extend_from_slice(REPORT_DOMAIN);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.exponent.to_be_bytes());
        out.extend_from_slice(&self.observed_at.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        // Truncating casts: see the doc above (valid reports stay far below both limits).
        out.extend_from_slice(&(self.feeds.len() as u16).to_be_bytes());
        for feed in &self.feeds {
            out.push(feed.feed_id.len() as u8);
            out.extend_from_slice(feed.feed_id.as_bytes());
            out.extend_from_slice(&feed.price.to_be_bytes());
            out.extend_from_slice(&feed.bid.to_be_bytes());
            out.extend_from_slice(&feed.ask.to_be_bytes());
        }
        out
    }

    /// SHA-256 of [`PriceReport::canonical_bytes`]: the message the committee signs.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }

    /// The price of `feed_id`, by binary search over the canonical (sorted) feed order.
    ///
    /// Meaningful for reports that pass [`PriceReport::validate`]; on an unsorted
    /// report it may miss a feed that is present.
    pub fn price(&self, feed_id: &str) -> Option<u64> {
        self.feed(feed_id).map(|f| f.price)
    }

    /// The whole observation of `feed_id` (price, bid, ask), by binary search.
    pub fn feed(&self, feed_id: &str) -> Option<&PriceFeed> {
        self.feeds
            .binary_search_by(|f| f.feed_id.as_str().cmp(feed_id))
            .ok()
            .map(|i| &self.feeds[i])
    }
}

//! Throwaway PostgreSQL databases for tests and benchmarks (feature `testkit`): each
//! run creates its own database on the server it is given, so runs never collide, and
//! drops it afterwards. Used by this crate's tests, the root package's service tests
//! and ledger benchmark, and the engine's store test.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

/// A database created for one test or benchmark run.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin: String,
    name: String,
    /// The URL of the new database: the admin URL with its database replaced (its
    /// query, e.g. a socket `host=`, kept).
    pub url: String,
}

impl ScratchDatabase {
    /// Creates `{prefix}_{process id}_{n}` on the server of `admin` (a URL whose role
    /// has CREATEDB), dropping a stale one of that name first.
    ///
    /// # Errors
    /// The server's refusal (cannot connect, no CREATEDB).
    pub async fn create(admin: &str, prefix: &str) -> Result<Self, sqlx::Error> {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(admin).await?;
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(Self {
            url: with_database(admin, &name),
            admin: admin.to_owned(),
            name,
        })
    }

    /// Drops the database, closing any connection still open to it (best effort).
    pub async fn drop_database(self) {
        if let Ok(mut conn) = sqlx::AnyConnection::connect(&self.admin).await {
            let _ = sqlx::raw_sql(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}

/// `url` with its database name replaced by `name` (the query kept).
///
/// # Panics
/// When `url` has no `scheme://`.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL with a scheme");
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

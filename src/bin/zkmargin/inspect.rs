//! `zkmargin inspect`: a human-readable summary of any zkmargin file.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use zkmargin_circuits::{Commitment, RiskParams};
use zkmargin_oracle::{OracleConfig, PriceReport, SignedReport};
use zkmargin_prover::{
    files::{check_version, load_risk_params, parse_json, FileError, FileKind},
    AccountFile, CommitteeFile,
};
use zkmargin_verifier::{
    keys::{fingerprint, MANIFEST_FILE},
    LiquidationStatement, Manifest, MarginStatement, ProofBundle, Statement,
};

use crate::{
    account::describe,
    describe::{self, params_with_digest},
    ui::{self, Out},
    units::format_amount,
};

/// Arguments of `zkmargin inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The file.
    file: PathBuf,
    /// Risk parameters to label an account's or a transition's slots with (symbols, decimals).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
}

pub fn run(args: InspectArgs, out: &Out) -> anyhow::Result<()> {
    let path = &args.file;
    // The kind is unknown until the file is read: the message says "file".
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read file {}: {e}; check the path", path.display()))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) if t.trim_start().starts_with('{') => t,
        _ => return key_file(out, path, &bytes),
    };
    let value: Value = serde_json::from_str(text).map_err(|e| FileError::Unrecognized {
        path: path.clone(),
        reason: format!("it is not valid JSON ({e})"),
    })?;
    let kind = FileKind::detect(&value).ok_or_else(|| FileError::Unrecognized {
        path: path.clone(),
        reason: "its fields match none of the formats".into(),
    })?;
    check_version(&value, path, kind)?;
    match kind {
        FileKind::Account => account(out, path, parse_json(text, path, kind)?, &args),
        FileKind::RiskParams => risk_params(out, path, &parse_json(text, path, kind)?),
        FileKind::PriceReport => price_report(out, path, &parse_json(text, path, kind)?),
        FileKind::SignedReport => signed_report(out, path, &parse_json(text, path, kind)?),
        FileKind::OracleConfig => oracle_config(out, path, &parse_json(text, path, kind)?),
        FileKind::Committee => committee(out, path, &parse_json(text, path, kind)?),
        FileKind::ProofBundle => bundle(out, path, &parse_json(text, path, kind)?, &args),
        FileKind::KeyManifest => manifest(out, path, &parse_json(text, path, kind)?),
        _ => anyhow::bail!("{}: no summary for {kind} files", path.display()),
    }
}

fn header(out: &Out, path: &Path, kind: FileKind) {
    out.line(format!(
        "{}: {kind} (format version {})",
        path.display(),
        kind.version()
    ));
}

fn validity(result: Result<(), String>) -> String {
    match result {
        Ok(()) => "valid".into(),
        Err(e) => format!("INVALID: {e}"),
    }
}

fn account(out: &Out, path: &Path, file: AccountFile, args: &InspectArgs) -> anyhow::Result<()> {
    ui::warn_if_exposed(path, "a private account (balances and blinding)");
    let a = &file.account;
    let commitment = Commitment::of(a);
    let params = args.params.as_deref().map(load_risk_params).transpose()?;
    out.json(&json!({
        "kind": FileKind::Account.code(),
        "file": path,
        "id": a.id,
        "nonce": a.nonce,
        "commitment": commitment,
        "tokens": a.tokens,
        "quote": a.quote,
        "positions": a.positions,
        "fits_params": params.as_ref().map(|p| a.check_slots(p).is_ok()),
    }))?;
    header(out, path, FileKind::Account);
    out.line("  PRIVATE: balances and blinding are secrets (the blinding is not shown)");
    out.line(format!("  id          {}", a.id));
    out.line(format!("  nonce       {}", a.nonce));
    out.line(format!("  commitment  {commitment}"));
    match &params {
        Some(p) => {
            out.line(format!(
                "  slots       {}",
                validity(a.check_slots(p).map_err(|e| e.to_string()))
            ));
            for line in describe(a, p) {
                out.line(format!("  {line}"));
            }
        }
        None => {
            out.line(format!("  tokens      {:?} (atomic units)", a.tokens));
            out.line(format!("  quote       {} (atomic units)", a.quote));
            out.line(format!("  positions   {:?} (atomic units)", a.positions));
            out.line("  (pass --params FILE to label the slots with symbols)");
        }
    }
    Ok(())
}

fn risk_params(out: &Out, path: &Path, p: &RiskParams) -> anyhow::Result<()> {
    out.json(&json!({
        "kind": FileKind::RiskParams.code(),
        "file": path,
        "digest": hex::encode(p.digest()),
        "valid": p.validate().is_ok(),
        "params": p,
    }))?;
    header(out, path, FileKind::RiskParams);
    out.line(format!("  revision    {}", p.revision));
    out.line(format!("  digest      {}", hex::encode(p.digest())));
    out.line(format!(
        "  check       {}",
        validity(p.validate().map_err(|e| e.to_string()))
    ));
    out.line(format!(
        "  quote       {} ({} decimals)",
        p.quote_symbol, p.quote_decimals
    ));
    let pct = |ppm: u32| format!("{}%", format_amount(i128::from(ppm), 4));
    for t in &p.tokens {
        out.line(format!(
            "  token       {:<8} feed {:<10} decimals {:>2}  asset weight {:>7}  liability weight {:>7}",
            t.symbol,
            t.feed_id,
            t.decimals,
            pct(t.asset_weight_ppm),
            pct(t.liability_weight_ppm)
        ));
    }
    for m in &p.markets {
        out.line(format!(
            "  market      {:<8} feed {:<10} decimals {:>2}  maintenance {:>7}  initial {:>7}",
            m.symbol,
            m.feed_id,
            m.size_decimals,
            pct(m.maintenance_margin_ppm),
            pct(m.initial_margin_ppm)
        ));
    }
    let l = &p.liquidation;
    out.line(format!(
        "  liquidation close factor {}, penalty {}, insurance share {}, dust {} {}, deep breach below {}",
        pct(l.close_factor_ppm),
        pct(l.penalty_ppm),
        pct(l.insurance_share_ppm),
        format_amount(i128::from(l.dust_notional), p.quote_decimals),
        p.quote_symbol,
        pct(l.deep_breach_ratio_ppm)
    ));
    Ok(())
}

fn report_lines(out: &Out, r: &PriceReport) {
    let now = ui::now();
    out.line(format!("  digest      {}", hex::encode(r.digest())));
    out.line(format!(
        "  check       {}",
        validity(r.validate().map_err(|e| e.to_string()))
    ));
    out.line(format!("  observed    {}", ui::age(r.observed_at, now)));
    out.line(format!(
        "  expires     {}{}",
        ui::utc(r.expires_at),
        if now >= r.expires_at {
            " (EXPIRED)"
        } else {
            ""
        }
    ));
    for f in &r.feeds {
        out.line(format!(
            "  feed        {:<10} price {:>20}  bid {:>20}  ask {:>20}",
            f.feed_id,
            ui::thousands(u128::from(f.price)),
            ui::thousands(u128::from(f.bid)),
            ui::thousands(u128::from(f.ask))
        ));
    }
}

fn price_report(out: &Out, path: &Path, r: &PriceReport) -> anyhow::Result<()> {
    out.json(&json!({
        "kind": FileKind::PriceReport.code(),
        "file": path,
        "digest": hex::encode(r.digest()),
        "valid": r.validate().is_ok(),
        "report": r,
    }))?;
    header(out, path, FileKind::PriceReport);
    out.line("  unsigned: sign it with `zkmargin oracle sign --report FILE`");
    report_lines(out, r);
    Ok(())
}

fn signed_report(out: &Out, path: &Path, s: &SignedReport) -> anyhow::Result<()> {
    out.json(&json!({
        "kind": FileKind::SignedReport.code(),
        "file": path,
        "digest": hex::encode(s.report.digest()),
        "valid": s.report.validate().is_ok(),
        "signers": s.signatures.iter().map(|x| x.signer).collect::<Vec<_>>(),
        "report": s.report,
    }))?;
    header(out, path, FileKind::SignedReport);
    report_lines(out, &s.report);
    out.line(format!(
        "  signatures  {} (checked by `zkmargin verify` against an oracle config)",
        s.signatures.len()
    ));
    for sig in &s.signatures {
        out.line(format!("  signer      {}", sig.signer));
    }
    Ok(())
}

fn config_lines(out: &Out, c: &OracleConfig) {
    out.line(format!("  digest      {}", hex::encode(c.digest())));
    out.line(format!(
        "  check       {}",
        validity(c.validate().map_err(|e| e.to_string()))
    ));
    out.line(format!("  quorum      {} of {}", c.quorum, c.signers.len()));
    out.line(format!("  max age     {} s", c.max_age_secs));
    out.line(format!("  max skew    {} s", c.max_future_skew_secs));
    for s in &c.signers {
        out.line(format!("  signer      {s}"));
    }
}

fn oracle_config(out: &Out, path: &Path, c: &OracleConfig) -> anyhow::Result<()> {
    out.json(&json!({
        "kind": FileKind::OracleConfig.code(),
        "file": path,
        "digest": hex::encode(c.digest()),
        "valid": c.validate().is_ok(),
        "config": c,
    }))?;
    header(out, path, FileKind::OracleConfig);
    config_lines(out, c);
    Ok(())
}

fn committee(out: &Out, path: &Path, c: &CommitteeFile) -> anyhow::Result<()> {
    ui::warn_if_exposed(path, "oracle committee secret keys");
    let holds: Vec<_> = c.keys.iter().map(|k| k.id()).collect();
    out.json(&json!({
        "kind": FileKind::Committee.code(),
        "file": path,
        "development": c.development,
        "valid": c.check().is_ok(),
        "config": c.config,
        "config_digest": hex::encode(c.config.digest()),
        "keys_for": holds,
    }))?;
    header(out, path, FileKind::Committee);
    out.line(format!("  SECRET: {}", c.notice));
    out.line(format!(
        "  check       {}",
        validity(c.check().map_err(|e| e.to_string()))
    ));
    for id in &holds {
        out.line(format!("  key of      {id}"));
    }
    config_lines(out, &c.config);
    Ok(())
}

fn bundle(out: &Out, path: &Path, b: &ProofBundle, args: &InspectArgs) -> anyhow::Result<()> {
    match &b.statement {
        Statement::Margin(s) => margin_bundle(out, path, b, s),
        Statement::Liquidation(s) => transition_bundle(out, path, b, s, args),
    }
}

fn margin_bundle(
    out: &Out,
    path: &Path,
    b: &ProofBundle,
    s: &MarginStatement,
) -> anyhow::Result<()> {
    out.json(&bundle_json(path, b, s))?;
    header(out, path, FileKind::ProofBundle);
    out.line("  not verified here: run `zkmargin verify` for a verdict");
    out.line(format!("  circuit     {}", b.statement.circuit_id()));
    out.line(format!("  commitment  {}", s.commitment));
    out.line(format!("  status      {}", s.status));
    out.line(format!(
        "  tau         {} ppm",
        ui::thousands(u128::from(s.tau_ppm))
    ));
    out.line(format!(
        "  params      {}",
        hex::encode(s.risk_params_digest)
    ));
    bundle_tail(out, b);
    Ok(())
}

/// The `--json` summary of either bundle kind: its statement as written, and where the
/// proof and report come from.
fn bundle_json(
    path: &Path,
    b: &ProofBundle,
    statement: impl serde::Serialize,
) -> serde_json::Value {
    json!({
        "kind": FileKind::ProofBundle.code(),
        "file": path,
        "circuit": b.statement.circuit_id(),
        "statement": statement,
        "key_fingerprint": b.key_fingerprint,
        "report_digest": hex::encode(b.report.report.digest()),
        "report_observed_at": b.report.report.observed_at,
        "signers": b.report.signatures.iter().map(|x| x.signer).collect::<Vec<_>>(),
        "proof": b.proof,
    })
}

/// A liquidation transition bundle: the statement as the prover wrote it (the terms
/// are the prover's claim until `verify` recomputes them).
fn transition_bundle(
    out: &Out,
    path: &Path,
    b: &ProofBundle,
    s: &LiquidationStatement,
    args: &InspectArgs,
) -> anyhow::Result<()> {
    // Label slots with the given parameters, or the development ones when the bundle
    // names them; otherwise slot numbers and raw quote units.
    let given = args.params.as_deref().map(load_risk_params).transpose()?;
    let development = RiskParams::development();
    let labels = params_with_digest(given.iter().chain([&development]), &s.risk_params_digest);
    out.json(&bundle_json(path, b, s))?;
    header(out, path, FileKind::ProofBundle);
    out.line("  not verified here: run `zkmargin verify` for a verdict");
    out.line(format!(
        "  circuit     {} (a liquidation transition)",
        b.statement.circuit_id()
    ));
    out.line(format!("  old         {}", s.old_commitment));
    out.line(format!("  new         {}", s.new_commitment));
    out.line(format!("  liquidator  {}", s.liquidator));
    out.line(format!(
        "  action      {}",
        describe::action(&s.action, labels)
    ));
    for line in describe::terms_lines(&s.terms, s.deficit, s.liquidator, labels, 11) {
        out.line(format!("  {line}"));
    }
    out.line(format!(
        "  params      {}{}",
        hex::encode(s.risk_params_digest),
        match labels {
            Some(p) if p == &development => " (the development parameters)",
            Some(_) => "",
            None => " (unknown here: pass --params FILE to label the slots)",
        }
    ));
    bundle_tail(out, b);
    Ok(())
}

fn bundle_tail(out: &Out, b: &ProofBundle) {
    out.line(format!("  key         {}", b.key_fingerprint));
    out.line(format!(
        "  report      {} observed {}, {} feeds, {} signatures",
        ui::short(&hex::encode(b.report.report.digest())),
        ui::age(b.report.report.observed_at, ui::now()),
        b.report.report.feeds.len(),
        b.report.signatures.len()
    ));
    out.line(format!("  proof       {}", ui::short(&b.proof)));
}

fn manifest(out: &Out, path: &Path, m: &Manifest) -> anyhow::Result<()> {
    // The ceremony record, if any, sits beside the manifest.
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let provenance = m.provenance(dir)?;
    out.json(&json!({
        "kind": FileKind::KeyManifest.code(),
        "file": path,
        "manifest": m,
        "provenance": provenance,
    }))?;
    header(out, path, FileKind::KeyManifest);
    out.line(format!(
        "  keys        {}",
        if m.development {
            "DEVELOPMENT (public seed: anyone can forge proofs)"
        } else {
            "production"
        }
    ));
    out.line(format!("  made by     {}", provenance.summary()));
    if let zkmargin_verifier::keys::KeyProvenance::Ceremony(record) = &provenance {
        for t in &record.circuits {
            out.line(format!(
                "  transcript  {}: {}, digest {}",
                t.circuit_id,
                zkmargin_verifier::keys::contributions(t.contribution_count),
                t.transcript_digest
            ));
            out.line(format!(
                "    ptau blake2b {} (power {})",
                t.ptau_blake2b, t.ptau_power
            ));
        }
    }
    out.line(format!("  notice      {}", m.notice));
    if let Some(seed) = &m.seed {
        out.line(format!("  seed        {seed:?}"));
    }
    for c in &m.circuits {
        out.line(format!(
            "  circuit     {}: {} constraints, {} public inputs",
            c.id,
            ui::thousands(c.constraints as u128),
            c.public_inputs
        ));
        for f in [&c.proving_key, &c.verifying_key] {
            out.line(format!(
                "    {:<10} {:>11} bytes  sha256 {}",
                f.file,
                ui::thousands(u128::from(f.bytes)),
                f.sha256
            ));
        }
    }
    Ok(())
}

/// A binary file: a key file if the manifest beside it lists it.
fn key_file(out: &Out, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let sha = fingerprint(bytes);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    let manifest_path = dir.join(MANIFEST_FILE);
    let listed =
        zkmargin_prover::files::read_json::<Manifest>(&manifest_path, FileKind::KeyManifest)
            .ok()
            .and_then(|m| {
                m.circuits.iter().find_map(|c| {
                    [
                        ("proving key", &c.proving_key),
                        ("verifying key", &c.verifying_key),
                    ]
                    .into_iter()
                    .find(|(_, f)| f.file == name)
                    .map(|(what, f)| (c.id.clone(), what, f.clone(), m.development))
                })
            });
    let Some((circuit, what, entry, development)) = listed else {
        return Err(FileError::Unrecognized {
            path: path.to_owned(),
            reason: format!(
                "it is not JSON, and {} does not list it as a key file",
                manifest_path.display()
            ),
        }
        .into());
    };
    let matches = entry.sha256 == sha && entry.bytes == bytes.len() as u64;
    out.json(&json!({
        "kind": "key_file",
        "file": path,
        "circuit": circuit,
        "key": what,
        "bytes": bytes.len(),
        "sha256": sha,
        "matches_manifest": matches,
        "development": development,
    }))?;
    out.line(format!(
        "{}: {what} of circuit {circuit}{}",
        path.display(),
        if development {
            " (DEVELOPMENT keys)"
        } else {
            ""
        }
    ));
    out.line(format!(
        "  size        {} bytes",
        ui::thousands(bytes.len() as u128)
    ));
    out.line(format!("  sha256      {sha}"));
    out.line(format!(
        "  manifest    {}",
        if matches {
            "matches".to_string()
        } else {
            format!(
                "DOES NOT MATCH: {} lists {} bytes, sha256 {}; the file was modified, regenerate with `zkmargin setup`",
                manifest_path.display(),
                entry.bytes,
                entry.sha256
            )
        }
    ));
    Ok(())
}

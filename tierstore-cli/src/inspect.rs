//! `ls`, `get`, `put`, `rm`: looking into and editing one store.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Args;
use tierstore::Bytes;

use crate::exit::CliResult;
use crate::keyarg;
use crate::stores::Stores;

/// `tierstore ls URL [NAMESPACE]`: TierStore's own bookkeeping (the reserved namespace) is
/// not shown; an empty store is noted on stderr.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// The store.
    url: String,
    /// `primary/secondary` to list; every key of the store when omitted.
    namespace: Option<String>,
    /// List the namespace page by page, newest-created first, as `list_paginated` does.
    #[arg(long, requires = "namespace")]
    pages: bool,
}

pub(crate) async fn ls(stores: &Stores, args: LsArgs) -> CliResult {
    let backend = stores.source(&args.url).await?;
    let mut out = std::io::stdout().lock();
    let Some(namespace) = args.namespace.as_deref() else {
        let mut keys = backend.list_all_keys().await?;
        keys.retain(|key| !key.is_reserved());
        keys.sort();
        if keys.is_empty() {
            eprintln!("note: {backend} is empty");
        }
        for key in keys {
            writeln!(out, "{key}")?;
        }
        return Ok(());
    };
    let namespace = keyarg::namespace(namespace)?;
    if namespace.is_reserved() {
        return Err(format!(
            "namespace {namespace}: TierStore's own bookkeeping (`{}`), not data",
            tierstore::key::RESERVED_NAMESPACE
        )
        .into());
    }
    if !args.pages {
        let mut keys = backend.list(&namespace).await?;
        keys.sort();
        for key in keys {
            writeln!(out, "{key}")?;
        }
        return Ok(());
    }
    let mut token = None;
    let mut page_number = 1;
    loop {
        let page = backend.list_page(&namespace, token.as_deref(), 50).await?;
        writeln!(out, "# page {page_number}")?;
        for key in &page.keys {
            writeln!(out, "{key}")?;
        }
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(()),
        }
        page_number += 1;
    }
}

/// `tierstore get URL KEY`
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The store.
    url: String,
    /// `primary/secondary/key`, e.g. `monitors//chan1` or `//manager`.
    key: String,
    /// Write the value to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub(crate) async fn get(stores: &Stores, args: GetArgs) -> CliResult {
    let key = keyarg::key(&args.key)?;
    let backend = stores.source(&args.url).await?;
    let value = backend.read(&key).await?;
    match args.output {
        Some(path) => std::fs::write(&path, &value)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => std::io::stdout().lock().write_all(&value)?,
    }
    Ok(())
}

/// `tierstore put URL KEY (--value TEXT | --file PATH | < stdin)`
#[derive(Debug, Args)]
pub(crate) struct PutArgs {
    /// The store.
    url: String,
    /// `primary/secondary/key`.
    key: String,
    /// The value, as text.
    #[arg(long, conflicts_with = "file")]
    value: Option<String>,
    /// Read the value from this file (standard input when neither is given).
    #[arg(long)]
    file: Option<PathBuf>,
}

pub(crate) async fn put(stores: &Stores, args: PutArgs) -> CliResult {
    let key = keyarg::key(&args.key)?;
    let value = match (args.value, args.file) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(path)) => {
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
        }
        (None, None) => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf)?;
            buf
        }
    };
    let backend = stores.target(&args.url).await?;
    backend.write(&key, Bytes::from(value)).await?;
    Ok(())
}

/// `tierstore rm URL KEY`
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// The store.
    url: String,
    /// `primary/secondary/key`.
    key: String,
    /// Let the store defer the removal.
    #[arg(long)]
    lazy: bool,
}

pub(crate) async fn rm(stores: &Stores, args: RmArgs) -> CliResult {
    let key = keyarg::key(&args.key)?;
    let backend = stores.existing(&args.url).await?;
    backend.remove(&key, args.lazy).await?;
    Ok(())
}

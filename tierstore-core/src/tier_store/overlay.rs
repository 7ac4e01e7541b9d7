//! `list_paginated` over two stores: the primary's pages first, then the ephemeral keys.
//!
//! TierStore's own token records the phase and the underlying store's token:
//!
//! | token         | meaning                                                        |
//! |---------------|----------------------------------------------------------------|
//! | none          | start: the primary's newest key                                |
//! | `p:<token>`   | primary phase, resume at the primary's `<token>`               |
//! | `e`           | primary exhausted; ephemeral phase from its newest key         |
//! | `e:<token>`   | ephemeral phase, resume at the ephemeral store's `<token>`     |
//!
//! The two phases are disjoint (the primary phase drops ephemeral keys, the ephemeral phase
//! keeps only them), and each store's own pagination returns a key present throughout exactly
//! once, so the overlay does too. A page is filled across phases and across short or filtered
//! underlying pages, so every page but the last holds exactly `page_size` keys.

use lightning::util::persist::{PageToken, PaginatedListResponse};

use super::{Inner, TierBackend};
use crate::backend::Backend;
use crate::error::{Error, Operation};
use crate::key::Namespace;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Primary(Option<String>),
    Ephemeral(Option<String>),
    Done,
}

impl Phase {
    fn parse(token: Option<PageToken>) -> Result<Phase, Error> {
        let Some(token) = token else { return Ok(Phase::Primary(None)) };
        let token = token.as_str();
        let malformed = || {
            Error::invalid_input(
                Operation::ListPage,
                format!("malformed page token {token:?}: not issued by this TierStore"),
            )
        };
        match token.split_once(':') {
            Some(("p", inner)) if !inner.is_empty() => Ok(Phase::Primary(Some(inner.to_owned()))),
            Some(("e", inner)) if !inner.is_empty() => Ok(Phase::Ephemeral(Some(inner.to_owned()))),
            None if token == "e" => Ok(Phase::Ephemeral(None)),
            _ => Err(malformed()),
        }
    }

    fn into_token(self) -> Option<PageToken> {
        match self {
            Phase::Primary(None) => None, // never produced: a started primary phase has a token
            Phase::Primary(Some(inner)) => Some(PageToken::new(format!("p:{inner}"))),
            Phase::Ephemeral(None) => Some(PageToken::new("e".to_owned())),
            Phase::Ephemeral(Some(inner)) => Some(PageToken::new(format!("e:{inner}"))),
            Phase::Done => None,
        }
    }
}

pub(super) async fn list_paginated(
    inner: &Inner,
    namespace: &Namespace,
    token: Option<PageToken>,
) -> Result<PaginatedListResponse, Error> {
    let mut phase = Phase::parse(token)?;
    let ephemeral = inner.ephemeral_for(namespace);
    if ephemeral.is_none() && matches!(phase, Phase::Ephemeral(_)) {
        return Err(Error::invalid_input(
            Operation::ListPage,
            format!("page token for the ephemeral phase, but namespace {namespace} has none"),
        ));
    }
    let is_ephemeral =
        |k: &str| namespace.key(k).map(|key| inner.routing.is_ephemeral(&key)).unwrap_or(false);

    let mut keys = Vec::with_capacity(inner.page_size);
    while keys.len() < inner.page_size {
        let wanted = inner.page_size - keys.len();
        phase = match phase {
            Phase::Primary(token) => {
                let page = fetch(&inner.primary, namespace, token, wanted).await?;
                match ephemeral {
                    // Stale primary copies of ephemeral keys are not shown.
                    Some(_) => keys.extend(page.keys.into_iter().filter(|k| !is_ephemeral(k))),
                    None => keys.extend(page.keys),
                }
                match (page.next, ephemeral) {
                    (Some(next), _) => Phase::Primary(Some(next)),
                    (None, Some(_)) => Phase::Ephemeral(None),
                    (None, None) => Phase::Done,
                }
            }
            Phase::Ephemeral(token) => {
                let tier = ephemeral.expect("checked above: the ephemeral phase needs a store");
                let page = fetch(tier, namespace, token, wanted).await?;
                keys.extend(page.keys.into_iter().filter(|k| is_ephemeral(k)));
                page.next.map_or(Phase::Done, |next| Phase::Ephemeral(Some(next)))
            }
            Phase::Done => break,
        };
    }

    // A full page that ends exactly where the primary ran out: look ahead so that we do not
    // hand out a token leading to an empty last page when the namespace has no ephemeral key.
    if let (Phase::Ephemeral(None), Some(tier)) = (&phase, ephemeral) {
        let peek = fetch(tier, namespace, None, 1).await?;
        if peek.next.is_none() && !peek.keys.iter().any(|k| is_ephemeral(k)) {
            phase = Phase::Done;
        }
    }

    Ok(PaginatedListResponse { keys, next_page_token: phase.into_token() })
}

/// One underlying page, with the tier named in errors and a guard against a backend that
/// hands back its own token without progress (which would otherwise loop forever).
async fn fetch(
    tier: &TierBackend,
    namespace: &Namespace,
    token: Option<String>,
    limit: usize,
) -> Result<crate::Page, Error> {
    let page = tier
        .traced
        .list_page(namespace, token.as_deref(), limit)
        .await
        .map_err(|e| e.in_tier(tier.tier))?;
    if page.keys.is_empty() && page.next.is_some() && page.next == token {
        return Err(Error::backend(
            &tier.raw,
            Operation::ListPage,
            namespace,
            "list_page returned no keys and the same token: no progress",
        )
        .in_tier(tier.tier));
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        for phase in [
            Phase::Primary(Some("m42".into())),
            Phase::Ephemeral(None),
            Phase::Ephemeral(Some("x:y".into())),
        ] {
            let token = phase.clone().into_token();
            assert_eq!(Phase::parse(token).unwrap(), phase);
        }
        for bad in ["", "p", "p:", "e:", "x:1", "primary", "E"] {
            let err = Phase::parse(Some(PageToken::new(bad.into()))).unwrap_err();
            assert!(err.to_string().contains("malformed page token"), "{bad:?}: {err}");
        }
    }
}

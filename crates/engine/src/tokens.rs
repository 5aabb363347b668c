//! Named API tokens: created, listed and revoked through the API, stored as
//! SHA-256 hashes, checked from memory on every request (revocation takes
//! effect at once).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use callwire_store::{ApiTokenRecord, Store};
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::EngineError;
use crate::model::token::{Scope, TokenCreated, TokenInput, TokenView};

/// Tokens at most.
const MAX_TOKENS: usize = 100;

/// The node's named tokens; cheap to clone.
#[derive(Clone)]
pub struct Tokens {
    store: Store,
    /// By hex SHA-256 of the token.
    by_hash: Arc<RwLock<HashMap<String, TokenView>>>,
}

/// Hex SHA-256 of a presented token.
pub fn token_hash(token: &str) -> String {
    hex_lower(&Sha256::digest(token.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn view(r: &ApiTokenRecord) -> TokenView {
    TokenView {
        id: r.id.clone(),
        name: r.name.clone(),
        scopes: Scope::parse_list(&r.scopes),
        created_at: r.created_at,
    }
}

impl Tokens {
    pub(crate) async fn load(store: Store) -> Result<Tokens, EngineError> {
        let by_hash = store
            .list_api_tokens()
            .await?
            .iter()
            .map(|r| (r.token_hash.clone(), view(r)))
            .collect();
        Ok(Tokens {
            store,
            by_hash: Arc::new(RwLock::new(by_hash)),
        })
    }

    /// The widest scope of the token whose hash is `hash`, if it exists.
    pub fn scope_of(&self, hash: &str) -> Option<Scope> {
        let map = self.by_hash.read().ok()?;
        map.get(hash).and_then(|t| t.scopes.iter().max().copied())
    }

    /// Every token, by id.
    pub fn list(&self) -> Vec<TokenView> {
        let mut all: Vec<TokenView> = self
            .by_hash
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// One token.
    pub fn get(&self, id: &str) -> Result<TokenView, EngineError> {
        self.list()
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| not_found(id))
    }

    /// Creates a token; the answer carries it, the only time it is shown.
    pub async fn create(&self, mut input: TokenInput) -> Result<TokenCreated, EngineError> {
        input.validate()?;
        input.scopes.sort();
        input.scopes.dedup();
        if self.by_hash.read().map_or(0, |m| m.len()) >= MAX_TOKENS {
            return Err(EngineError::Unavailable(format!(
                "at most {MAX_TOKENS} tokens"
            )));
        }
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let token = format!("cw_{}", hex_lower(&secret));
        let record = ApiTokenRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: input.name,
            token_hash: token_hash(&token),
            scopes: input
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
            created_at: Utc::now(),
        };
        self.store.insert_api_token(&record).await?;
        let v = view(&record);
        if let Ok(mut m) = self.by_hash.write() {
            m.insert(record.token_hash, v.clone());
        }
        Ok(TokenCreated { view: v, token })
    }

    /// Revokes a token at once.
    pub async fn delete(&self, id: &str) -> Result<(), EngineError> {
        let hash = self
            .by_hash
            .read()
            .ok()
            .and_then(|m| m.iter().find(|(_, t)| t.id == id).map(|(h, _)| h.clone()))
            .ok_or_else(|| not_found(id))?;
        self.store.delete_api_token(id).await?;
        if let Ok(mut m) = self.by_hash.write() {
            m.remove(&hash);
        }
        Ok(())
    }
}

fn not_found(id: &str) -> EngineError {
    EngineError::NotFound {
        what: "token",
        id: id.to_owned(),
    }
}

//! Content Lake reads: GROQ with parameters (never string-built), the live API host (no CDN), and
//! the `published` perspective.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::Config;
use crate::http::{self, Deadline, UpstreamError};
use super::sanity_secret::SanitySecret;

const SERVICE: &str = "sanity";

#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

#[derive(Clone)]
pub struct SanityClient {
    http: reqwest::Client,
    query_url: String,
    token: String,
    request_timeout: std::time::Duration,
}

impl SanityClient {
    pub fn new(http: reqwest::Client, cfg: &Config, secret: &SanitySecret) -> Self {
        let host = cfg.sanity_api_host.clone().unwrap_or_else(|| api_host(&secret.project_id));
        SanityClient {
            http,
            query_url: format!("{host}/v{}/data/query/{}?perspective=published", cfg.sanity_api_version, secret.dataset),
            token: secret.read_token.clone(),
            request_timeout: cfg.timeouts.request,
        }
    }

    /// The URL a warm-up request should open a connection to.
    pub fn origin(&self) -> &str {
        &self.query_url
    }

    /// Runs `query` with `params` (a JSON object) against published documents; returns `result`.
    pub async fn query<T: DeserializeOwned>(&self, query: &str, params: Value, deadline: Deadline) -> Result<T, CmsError> {
        let body = json!({ "query": query, "params": params });
        let (_, bytes) = http::retry(deadline, |left| {
            let req = self
                .http
                .post(&self.query_url)
                .bearer_auth(&self.token)
                .json(&body);
            http::attempt(SERVICE, req, left.min(self.request_timeout))
        })
        .await?;
        #[derive(serde::Deserialize)]
        struct Envelope<T> {
            result: T,
        }
        let env: Envelope<T> = serde_json::from_slice(&bytes)
            .map_err(|e| UpstreamError::Decode { service: SERVICE, reason: e.to_string() })?;
        Ok(env.result)
    }
}

/// Live (uncached) API host: the CDN could serve a stale rule right after a publish.
pub fn api_host(project_id: &str) -> String {
    format!("https://{project_id}.api.sanity.io")
}

//! The one Mollie API call of enrichment: the payment, with its refunds and chargebacks.
//!
//! `GET {api_base}/v2/payments/{id}?embed=refunds,chargebacks` with
//! `Authorization: Bearer {api_key}` (docs.mollie.com `reference/get-payment`; the `embed`
//! values are mollie-api-php `src/Types/PaymentQuery.php`). 200: the payment, whose `id` must be
//! the one asked for. 404: no such payment for this key (an id nobody paid, or a payment of the
//! other mode: a test key does not see live payments), permanent: the delivery is quarantined.
//! 401 and 403: the key is refused: transient, so the message waits (and ends in the dead-letter
//! queue) while ops fix `api_key`, then it is redriven. 408, 429, 5xx and transport failures:
//! transient. Any other answer: permanent.

use o2o_core::EnrichError;
use o2o_core::connector::NormaliseError;
use o2o_core::settings::Secret;
use o2o_enrich::{ApiClient, percent_encode, transport};

use crate::payload::PaymentObject;

/// Mollie's API host (override with `api_base`).
pub const DEFAULT_API_BASE: &str = "https://api.mollie.com";

const API: &str = "mollie payment";

/// The Payments API of one Mollie account.
#[derive(Debug)]
pub struct PaymentsApi {
    client: ApiClient,
    api_key: Secret,
}

impl PaymentsApi {
    /// The API at `client`'s base, with `api_key`.
    pub fn new(client: ApiClient, api_key: Secret) -> Self {
        Self { client, api_key }
    }

    /// Fetches one payment with its refunds and chargebacks.
    pub async fn fetch_payment(&self, payment_id: &str) -> Result<PaymentObject, EnrichError> {
        let url = self.client.url(&format!(
            "/v2/payments/{}?embed=refunds,chargebacks",
            percent_encode(payment_id)
        ));
        let response = self
            .client
            .http()
            .get(url)
            .bearer_auth(self.api_key.expose())
            .header(reqwest::header::ACCEPT, "application/hal+json")
            .send()
            .await
            .map_err(|e| transport(API, &e))?;
        let status = response.status().as_u16();
        match status {
            200 => {}
            404 => {
                return Err(EnrichError::Permanent(format!(
                    "{API}: no such payment for this API key (HTTP 404)"
                )));
            }
            401 | 403 => {
                return Err(EnrichError::Transient(format!(
                    "{API}: the API key is refused (HTTP {status}): check api_key"
                )));
            }
            408 | 429 | 500..=599 => {
                return Err(EnrichError::Transient(format!("{API}: HTTP {status}")));
            }
            _ => {
                return Err(EnrichError::Permanent(format!(
                    "{API}: unexpected answer (HTTP {status})"
                )));
            }
        }
        let bytes = response.bytes().await.map_err(|e| transport(API, &e))?;
        let payment: PaymentObject = serde_json::from_slice(&bytes).map_err(|e| {
            EnrichError::Permanent(format!(
                "{API}: answer not understood ({})",
                NormaliseError::from(e)
            ))
        })?;
        if payment.id != payment_id {
            return Err(EnrichError::Permanent(format!(
                "{API}: answered for another payment"
            )));
        }
        Ok(payment)
    }
}

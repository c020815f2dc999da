//! The JWT DoorDash's APIs take in `Authorization: Bearer <jwt>`: HS256 over the header
//! `{"alg":"HS256","typ":"JWT","dd-ver":"DD-JWT-V1"}` and the claims `aud` `doordash`, `iss` the
//! developer id, `kid` the key id, `iat` now and `exp` five minutes later, signed with the
//! base64url-decoded signing secret of an access key.
//!
//! Sources: developer.doordash.com `docs/drive/how_to/JWTs` (the recipe in six languages; PHP:
//! `'alg' => 'HS256', 'typ' => 'JWT', 'dd-ver' => 'DD-JWT-V1'`, `'exp' => time() + 300`, the
//! secret through `base64UrlDecode`), which the Marketplace API reference's "Authentication"
//! section points to (`docs/marketplace/how_to/JWTs`).

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use o2o_core::settings::{Secret, SettingsError};
use o2o_core::signature::hmac_sha256;
use serde::Serialize;

/// How long a token is valid, in seconds (DoorDash's examples: 300).
pub const LIFETIME_SECONDS: i64 = 300;

/// The header, as DoorDash's PHP example writes it.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT","dd-ver":"DD-JWT-V1"}"#;

/// One DoorDash access key: what signs the JWT of every call.
pub struct AccessKey {
    developer_id: String,
    key_id: String,
    /// The decoded signing secret.
    secret: Vec<u8>,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("developer_id", &self.developer_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'static str,
    iss: &'a str,
    kid: &'a str,
    iat: i64,
    exp: i64,
}

impl AccessKey {
    /// The key of the Developer Portal's access key. The signing secret is base64url (with or
    /// without `=` padding; `+` and `/` are accepted too); one that is not, or is empty, is a
    /// settings error naming `signing_secret`, never its value.
    pub fn new(
        developer_id: &str,
        key_id: &str,
        signing_secret: &Secret,
    ) -> Result<Self, SettingsError> {
        let text = signing_secret.expose().trim();
        let unpadded = text.trim_end_matches('=');
        let secret = URL_SAFE_NO_PAD
            .decode(unpadded.replace('+', "-").replace('/', "_"))
            .or_else(|_| URL_SAFE.decode(text))
            .map_err(|_| SettingsError::setting("signing_secret", "not base64url"))?;
        if secret.is_empty() {
            return Err(SettingsError::setting("signing_secret", "is empty"));
        }
        for (name, value) in [("developer_id", developer_id), ("key_id", key_id)] {
            if value.trim().is_empty() {
                return Err(SettingsError::setting(name, "must not be empty"));
            }
        }
        Ok(Self {
            developer_id: developer_id.trim().to_owned(),
            key_id: key_id.trim().to_owned(),
            secret,
        })
    }

    /// A JWT issued at `now` (Unix seconds), valid for [`LIFETIME_SECONDS`].
    pub fn token(&self, now: i64) -> Secret {
        let claims = Claims {
            aud: "doordash",
            iss: &self.developer_id,
            kid: &self.key_id,
            iat: now,
            exp: now.saturating_add(LIFETIME_SECONDS),
        };
        // Serialising strings and integers cannot fail; an empty claims part would only make
        // DoorDash answer 401.
        let claims = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = hmac_sha256(&self.secret, &[signing_input.as_bytes()]);
        Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example access key in the README of `infin8x/make-doordash-jwt`, a CLI that makes
    /// DoorDash JWTs (DoorDash publishes no example token). The expected token was computed
    /// independently with Python's `hmac`, `base64` and `json`, and its signature checked with
    /// `openssl dgst -sha256 -mac HMAC` (`ab7dfc97…4663b7`).
    const DEVELOPER_ID: &str = "14e84291-d900-4c20-8528-ed6ca8de660f";
    const KEY_ID: &str = "d4e87d9c-432b-4ab4-b06f-254ce7a1ef30";
    const SIGNING_SECRET: &str = "xVu_RIEHqVw0ISBOqklCrKTIrlxX47TiexoJIY8_naw";
    const AT_1700000000: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImRkLXZlciI6IkRELUpXVC1WMSJ9.eyJhdWQiOiJkb29yZGFzaCIsImlzcyI6IjE0ZTg0MjkxLWQ5MDAtNGMyMC04NTI4LWVkNmNhOGRlNjYwZiIsImtpZCI6ImQ0ZTg3ZDljLTQzMmItNGFiNC1iMDZmLTI1NGNlN2ExZWYzMCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMzAwfQ.q338l_YQ-SWho4YnqkMxAU3vLOzKQwMQXBvMNzlGY7c";

    #[test]
    fn signs_the_example_key_as_computed_independently() {
        let key = AccessKey::new(DEVELOPER_ID, KEY_ID, &Secret::new(SIGNING_SECRET)).expect("key");
        assert_eq!(key.token(1_700_000_000).expose(), AT_1700000000);
        let padded = AccessKey::new(
            DEVELOPER_ID,
            KEY_ID,
            &Secret::new(format!("{SIGNING_SECRET}=")),
        )
        .expect("padded");
        assert_eq!(padded.token(1_700_000_000).expose(), AT_1700000000);
        assert!(!format!("{key:?}").contains(SIGNING_SECRET));
    }

    #[test]
    fn a_secret_that_is_not_base64url_stops_start_up_naming_the_setting() {
        let error =
            AccessKey::new(DEVELOPER_ID, KEY_ID, &Secret::new("not base64!")).expect_err("refused");
        assert_eq!(error.to_string(), "signing_secret: not base64url");
        let error = AccessKey::new(" ", KEY_ID, &Secret::new(SIGNING_SECRET)).expect_err("refused");
        assert!(error.to_string().starts_with("developer_id:"), "{error}");
    }
}

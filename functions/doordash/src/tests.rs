//! Unit tests of the DoorDash connector: the token check, the settings and the acknowledgement.

use super::*;
use o2o_core::{Secret, Timestamp};

fn settings(secrets: Secrets, currency: &str) -> Settings {
    Settings {
        secrets,
        currency: currency.into(),
        confirm_by_command: false,
        developer_id: None,
        key_id: None,
        signing_secret: None,
        api: ApiSettings::default(),
    }
}

fn doordash(tokens: &[&str]) -> DoorDash {
    let secrets = Secrets::new(tokens.iter().map(|t| Secret::new(*t)).collect()).expect("tokens");
    DoorDash::build(settings(secrets, "USD")).expect("builds")
}

fn request(authorization: Option<&str>) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: authorization
            .map(|value| (AUTHORIZATION_HEADER, value))
            .into_iter()
            .collect(),
        body: br#"{"event":{"type":"OrderCreate","status":"NEW"},"order":{"id":"a"}}"#.to_vec(),
        received_at: Timestamp::now(),
    }
}

fn refusal(connector: &DoorDash, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector.verify(req).err().map(|r| (r.status, r.code))
}

#[test]
fn accepts_every_listed_token_with_or_without_bearer() {
    let connector = doordash(&["tok-new", "tok-old"]);
    for value in ["Bearer tok-new", "Bearer tok-old", "tok-new"] {
        assert_eq!(refusal(&connector, &request(Some(value))), None, "{value}");
    }
    assert_eq!(
        refusal(&connector, &request(Some("Bearer tok-gone"))),
        Some((401, "token_mismatch"))
    );
    assert_eq!(
        refusal(&connector, &request(None)),
        Some((401, "token_missing"))
    );
    let mut signed = request(None);
    connector.sign(&mut signed).expect("sign");
    assert_eq!(
        signed.headers.get(AUTHORIZATION_HEADER),
        Some("Bearer tok-new")
    );
}

#[test]
fn a_currency_that_is_no_iso_code_stops_the_build_naming_it() {
    let secrets = Secrets::new(vec![Secret::new("t")]).expect("tokens");
    let error = DoorDash::build(settings(secrets, "DOLLARS")).expect_err("refused");
    assert!(error.to_string().starts_with("currency:"), "{error}");
}

#[test]
fn the_ack_is_200_unless_orders_wait_for_a_command() {
    assert_eq!(doordash(&["t"]).ack(), Reply::empty_ok());
    let secrets = || Secrets::new(vec![Secret::new("t")]).expect("tokens");
    let waiting = DoorDash::build(Settings {
        confirm_by_command: true,
        developer_id: Some("dev".into()),
        key_id: Some("key".into()),
        signing_secret: Some(Secret::new("c2VjcmV0")),
        ..settings(secrets(), "USD")
    })
    .expect("builds");
    let ack = waiting.ack();
    assert_eq!((ack.status, ack.body.as_str()), (202, ""));
    // Without the access key no command could confirm: refused at start-up, by name.
    let error = DoorDash::build(Settings {
        confirm_by_command: true,
        key_id: Some("key".into()),
        ..settings(secrets(), "USD")
    })
    .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "confirm_by_command: needs developer_id, signing_secret to confirm orders"
    );
}

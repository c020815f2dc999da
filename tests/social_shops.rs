//! The four social-shop channels (WeChat Channels shop, Douyin shop, TikTok Shop, Youzan) end to
//! end through `o2o serve`'s HTTP server on 127.0.0.1 and its SQLite store: every sample in
//! `events/<channel>/`, signed as the platform signs it, is accepted once, answered with the
//! platform's exact acknowledgement, deduplicated on redelivery and refused when tampered with.
//! The enrichment of the thin channels against local mocks of their order APIs is in
//! `tests/social_enrichment.rs`.

mod common;

use common::*;

/// The social-shop channels and the body their platform expects as an acknowledgement.
const CHANNELS: [(&str, &str); 4] = [
    ("wechat-channels-shop", "success"),
    ("douyin-shop", r#"{"code":0,"msg":"success"}"#),
    ("tiktok-shop", ""),
    ("youzan", r#"{"code":0,"msg":"success"}"#),
];

fn samples(channel: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("events").join(channel))
        .expect("samples dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".http"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_sample_is_accepted_once_and_refused_when_tampered_with() {
    // No enrichment worker: every accepted delivery stays where the pipeline put it, so the
    // queue totals are exact. Enrichment is tested in tests/social_enrichment.rs.
    let server = start(ServerSetup {
        enrichment: false,
        ..ServerSetup::default()
    })
    .await;
    let mut posted = 0;
    for (channel, ack) in CHANNELS {
        let url = server.webhook_url(channel);
        let files = samples(channel);
        assert!(files.len() >= 3, "{channel}: only {} samples", files.len());
        for file in files {
            let req = signed_request(channel, &file);
            let before = queued(&server.store).await;
            let (status, reply) = send(&url, &req).await;
            assert_eq!(status, 200, "{channel}/{file}: {reply}");
            if req.method == "GET" {
                // A URL-verification handshake: answered, nothing stored.
                assert_eq!(queued(&server.store).await, before, "{channel}/{file}");
                continue;
            }
            posted += 1;
            assert_eq!(reply, ack, "{channel}/{file}");
            let after = queued(&server.store).await;

            // The platform's redelivery gets the same answer and adds nothing.
            assert_eq!(
                send(&url, &req).await,
                (200, ack.to_owned()),
                "{channel}/{file}"
            );
            assert_eq!(
                queued(&server.store).await,
                after,
                "{channel}/{file} redelivered"
            );

            // One byte changed: refused with a JSON reason, nothing stored.
            let (status, reason) = send(&url, &o2o_testkit::tampered(req.clone())).await;
            assert!(
                (400..500).contains(&status),
                "{channel}/{file} tampered: {status} {reason}"
            );
            let reason: serde_json::Value = serde_json::from_str(&reason).expect("a JSON reason");
            assert!(reason["error"].is_string(), "{reason}");
            assert_eq!(
                queued(&server.store).await,
                after,
                "{channel}/{file} tampered"
            );

            // Without any of its signature headers or parameters: refused too. (Youzan's legacy
            // form signs inside the body, which the tampering above covers.)
            if channel == "youzan" && req.headers.get("event-sign").is_none() {
                continue;
            }
            let mut bare = req.clone();
            bare.query.clear();
            bare.headers = o2o_core::Headers::new();
            let (status, _) = send(&url, &bare).await;
            // A platform's unsigned test push (Douyin's tag 0) is acknowledged like a handshake;
            // anything that queued something when signed must be refused unsigned.
            if after > before {
                assert!(
                    (400..500).contains(&status),
                    "{channel}/{file} unsigned: {status}"
                );
            }
            assert_eq!(
                queued(&server.store).await,
                after,
                "{channel}/{file} unsigned"
            );
        }
    }
    assert!(posted >= 16, "only {posted} deliveries posted");
}

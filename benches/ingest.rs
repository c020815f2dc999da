//! Verify + parse + normalise one Shopify order (`events/shopify/orders-create.http`, ~3 KB):
//! the per-delivery CPU cost of a connector. The bar: ≤ 15 µs on one core (docs/performance.md).
//!
//! - `verify_parse_normalise`: the whole path, as the pipeline runs it.
//! - `verify`: the connector's `verify`: the HMAC, then the body read once to check the unsigned
//!   topic against it (that read is the one `parse` reuses).
//! - `signature_only`: the HMAC-SHA256 of the body, base64 and the constant-time compare.
//!
//! Run: `cargo bench --bench ingest`

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use o2o_core::connector::NormaliseContext;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::signature::{DigestEncoding, verify_body_hmac_header};
use o2o_core::{Connector, Timestamp};
use o2o_shopify::{SIGNATURE_HEADER, Settings, Shopify};

fn shopify_order(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // Built once from the development settings, as `o2o serve` builds it at start-up.
    let shopify: Shopify = o2o_testkit::samples::dev_connector();
    let sample = parse_sample(
        &std::fs::read(root.join("events/shopify/orders-create.http")).expect("sample"),
    )
    .expect("parse");
    let mut req = sample.into_request(Timestamp::now());
    shopify.sign(&mut req).expect("sign");
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };

    let mut group = c.benchmark_group("shopify_orders_create");
    group.throughput(Throughput::Bytes(req.body.len() as u64));
    group.bench_function("verify_parse_normalise", |b| {
        b.iter(|| {
            let req = black_box(&req);
            let verified = shopify.verify(req).expect("verified");
            let parsed = shopify.parse(&verified).expect("parsed");
            black_box(
                shopify
                    .normalise(&parsed.id, parsed.message, &ctx)
                    .expect("normalised"),
            )
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            black_box(shopify.verify(black_box(&req)).expect("verified"));
        })
    });
    let settings: Settings = parse_settings(
        &o2o_testkit::samples::dev_table("shopify"),
        "channels.shopify",
    )
    .expect("the development settings");
    group.bench_function("signature_only", |b| {
        b.iter(|| {
            let req = black_box(&req);
            verify_body_hmac_header(
                &req.headers,
                &req.body,
                SIGNATURE_HEADER,
                settings.secrets.all(),
                DigestEncoding::Base64,
            )
            .expect("signed")
        })
    });
    group.finish();
}

criterion_group!(benches, shopify_order);
criterion_main!(benches);

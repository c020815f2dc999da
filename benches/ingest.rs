//! Verify + parse + normalise one Shopify order (`events/shopify/orders-create.http`, ~3 KB):
//! the per-delivery CPU cost of a connector. The bar: ≤ 15 µs on one core (docs/performance.md).
//!
//! Run: `cargo bench --bench ingest`

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use o2o_core::connector::NormaliseContext;
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Timestamp};
use o2o_shopify::Shopify;

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
    group.bench_function("verify_only", |b| {
        b.iter(|| {
            black_box(shopify.verify(black_box(&req)).expect("verified"));
        })
    });
    group.finish();
}

criterion_group!(benches, shopify_order);
criterion_main!(benches);

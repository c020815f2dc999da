//! Verify + parse + normalise one Shopify order (`events/shopify/orders-create.http`, ~3 KB):
//! the per-delivery CPU cost of a connector. DESIGN's bar: ≤ 15 µs on one core.
//!
//! Run: `cargo bench --bench ingest`

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use o2o::config::Config;
use o2o::registry::CONNECTORS;
use o2o_core::Timestamp;
use o2o_core::connector::NormaliseContext;
use o2o_core::sample::parse_sample;

fn shopify_order(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("o2o.toml"), CONNECTORS).expect("config");
    let credentials = config.channels["shopify"]
        .credentials(None)
        .expect("credentials")
        .clone();
    let sample = parse_sample(
        &std::fs::read(root.join("events/shopify/orders-create.http")).expect("sample"),
    )
    .expect("parse");
    let shopify = CONNECTORS.get("shopify").expect("shopify");
    let mut req = sample.into_request(Timestamp::now());
    shopify.sign(&mut req, &credentials).expect("sign");
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };

    let mut group = c.benchmark_group("shopify_orders_create");
    group.throughput(Throughput::Bytes(req.body.len() as u64));
    group.bench_function("verify_parse_normalise", |b| {
        b.iter(|| {
            let req = black_box(&req);
            shopify.verify(req, &credentials).expect("verified");
            let delivery = shopify.parse(req, &credentials).expect("parsed");
            black_box(shopify.normalise(&delivery, &ctx).expect("normalised"))
        })
    });
    group.bench_function("verify_only", |b| {
        b.iter(|| {
            shopify
                .verify(black_box(&req), &credentials)
                .expect("verified")
        })
    });
    group.finish();
}

criterion_group!(benches, shopify_order);
criterion_main!(benches);

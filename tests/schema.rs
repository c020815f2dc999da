//! The checked-in JSON Schema matches the Rust types, and `o2o schema` prints it.

mod common;

#[test]
fn the_checked_in_schema_matches_the_types() {
    let path = common::root().join("docs/unified-order-event.v1.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = o2o_core::event::json_schema();
    if std::env::var_os("O2O_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
        return;
    }
    assert!(
        checked_in == generated,
        "docs/unified-order-event.v1.schema.json is out of date with the types in shared/core/src/event.rs; \
         regenerate it with `cargo run -- schema > docs/unified-order-event.v1.schema.json` \
         (and keep v1 changes additive)"
    );
}

#[test]
fn o2o_schema_prints_the_schema() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_o2o"))
        .arg("schema")
        .output()
        .expect("run o2o schema");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).expect("utf-8"),
        o2o_core::event::json_schema()
    );
}

#[test]
fn the_schema_requires_the_envelope_and_integer_money() {
    let schema: serde_json::Value =
        serde_json::from_str(&o2o_core::event::json_schema()).expect("schema json");
    let top: Vec<&str> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    for required in [
        "schema_version",
        "event_id",
        "event_type",
        "occurred_at",
        "received_at",
        "source",
    ] {
        assert!(top.contains(&required), "{required}");
        assert!(
            schema["required"]
                .as_array()
                .expect("required")
                .iter()
                .any(|r| r == required),
            "{required} is required"
        );
    }
    assert_eq!(
        schema["$defs"]["Money"]["properties"]["amount_minor"]["type"],
        "integer"
    );
}

#[test]
fn the_checked_in_command_schema_matches_the_types() {
    let path = common::root().join("docs/order-command.v1.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = o2o_core::command::json_schema();
    if std::env::var_os("O2O_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
        return;
    }
    assert!(
        checked_in == generated,
        "docs/order-command.v1.schema.json is out of date with the types in shared/core/src/command.rs; \
         regenerate it with `cargo run -- schema --command > docs/order-command.v1.schema.json` \
         (and keep v1 changes additive)"
    );
}

#[test]
fn o2o_schema_command_prints_the_command_schema() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_o2o"))
        .args(["schema", "--command"])
        .output()
        .expect("run o2o schema --command");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(printed, o2o_core::command::json_schema());
    let schema: serde_json::Value = serde_json::from_str(&printed).expect("json");
    assert_eq!(schema["title"], "OrderCommand");
    for required in [
        "schema_version",
        "command_id",
        "channel",
        "tenant",
        "order",
        "kind",
        "requested_at",
    ] {
        let listed = schema["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|f| f == required))
            || schema["oneOf"].as_array().is_some_and(|variants| {
                variants.iter().all(|v| {
                    v["required"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|f| f == required))
                })
            });
        assert!(listed, "{required} is required");
    }
}

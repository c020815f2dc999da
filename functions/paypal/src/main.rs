//! The paypal Lambda function: webhooks from API Gateway (and, for thin channels, the enrichment
//! queue's batches).

fn main() -> std::process::ExitCode {
    o2o_aws::lambda::run::<o2o_paypal::PayPal>()
}

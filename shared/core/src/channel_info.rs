//! What a channel is ([`ChannelInfo`]): its id and name, which methods its platform uses, and
//! the URLs it calls, read into a [`Route`] within the channel.

use crate::event::ChannelKind;
use crate::request::Rejection;

/// What a channel is: its id, name and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The kebab-case channel id used in URLs and config (`shopify`).
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// Kind of platform.
    pub kind: ChannelKind,
    /// The sample `o2o send <channel>` posts when no file is given (in `events/<channel>/`).
    pub default_sample: &'static str,
    /// Which `GET` requests the platform sends; every other request must be a `POST` (the
    /// pipeline answers the rest with 405 and `Allow`).
    pub get_requests: GetRequests,
    /// Where the platform calls one URL per kind of push (Meituan: `order`, `cancel` …), the
    /// last path segment of each: `/webhooks/{channel}[/{tenant}]/{endpoint}`. The connector
    /// reads it as [`WebhookRequest::endpoint`](crate::WebhookRequest::endpoint). Empty (most
    /// platforms): one URL per channel and tenant, `/webhooks/{channel}[/{tenant}]`.
    pub endpoints: &'static [&'static str],
}

/// Which `GET` requests a platform sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetRequests {
    /// None: deliveries and handshakes are `POST`s.
    Never,
    /// URL verification only (WeChat's `echostr` check), answered by `handshake`.
    Handshake,
    /// Deliveries too, their fields in the query (Meituan's cancellation and refund pushes).
    Deliveries,
}

/// Where a webhook request goes within its channel: the path segments after
/// `/webhooks/{channel}`, read by [`ChannelInfo::route`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// The `{tenant}` segment, which selects the tenant's settings table.
    pub tenant: Option<String>,
    /// The `{endpoint}` segment, for platforms that call one URL per kind of push.
    pub endpoint: Option<String>,
}

impl ChannelInfo {
    /// Whether a request with `method` can be a delivery: a `POST`, or a `GET` where the
    /// platform delivers by `GET`.
    pub fn is_delivery_method(&self, method: &str) -> bool {
        match self.get_requests {
            GetRequests::Deliveries => matches!(method, "POST" | "GET"),
            GetRequests::Never | GetRequests::Handshake => method == "POST",
        }
    }

    /// The 405 for any other method, with the `Allow` header listing the methods the platform
    /// uses.
    pub fn method_not_allowed(&self) -> Rejection {
        let (allow, message) = match self.get_requests {
            GetRequests::Never => ("POST", format!("{} webhooks are POST requests", self.name)),
            GetRequests::Handshake => (
                "GET, POST",
                format!(
                    "{} webhooks are POST requests (GET only for its URL verification)",
                    self.name
                ),
            ),
            GetRequests::Deliveries => (
                "GET, POST",
                format!("{} webhooks are POST or GET requests", self.name),
            ),
        };
        Rejection {
            allow: Some(allow),
            ..Rejection::new(405, "method_not_allowed", message)
        }
    }

    /// Reads the (at most two) path segments after `/webhooks/{channel}`: `{tenant}`, or, where
    /// the platform calls one URL per kind of push, `[{tenant}/]{endpoint}` with an endpoint it
    /// lists. Anything else is the 404 to answer.
    pub fn route(&self, segments: &[&str]) -> Result<Route, Rejection> {
        let endpoint = |name: &str| self.endpoints.contains(&name).then(|| name.to_owned());
        let route = match (self.endpoints.is_empty(), segments) {
            (true, []) => Some(Route::default()),
            (true, [tenant]) => Some(Route {
                tenant: Some((*tenant).to_owned()),
                endpoint: None,
            }),
            (false, [last]) => endpoint(last).map(|endpoint| Route {
                tenant: None,
                endpoint: Some(endpoint),
            }),
            (false, [tenant, last]) => endpoint(last).map(|endpoint| Route {
                tenant: Some((*tenant).to_owned()),
                endpoint: Some(endpoint),
            }),
            _ => None,
        };
        route.ok_or_else(|| match self.endpoints {
            [] => Rejection::new(404, "not_found", "no such endpoint"),
            endpoints => Rejection::new(
                404,
                "unknown_endpoint",
                format!(
                    "{} takes one URL per kind of push: /webhooks/{}[/{{tenant}}]/{{endpoint}}, \
                     with one of: {}",
                    self.name,
                    self.id,
                    endpoints.join(", ")
                ),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_URL: ChannelInfo = ChannelInfo {
        id: "shop",
        name: "Shop",
        kind: ChannelKind::WebShop,
        default_sample: "",
        get_requests: GetRequests::Never,
        endpoints: &[],
    };

    const PER_PUSH: ChannelInfo = ChannelInfo {
        id: "apps",
        name: "Apps",
        kind: ChannelKind::Delivery,
        default_sample: "",
        get_requests: GetRequests::Deliveries,
        endpoints: &["order", "cancel"],
    };

    fn route(tenant: Option<&str>, endpoint: Option<&str>) -> Route {
        Route {
            tenant: tenant.map(str::to_owned),
            endpoint: endpoint.map(str::to_owned),
        }
    }

    #[test]
    fn one_url_channels_take_an_optional_tenant_and_nothing_more() {
        assert_eq!(ONE_URL.route(&[]), Ok(route(None, None)));
        assert_eq!(ONE_URL.route(&["a"]), Ok(route(Some("a"), None)));
        let refused = ONE_URL.route(&["a", "order"]).expect_err("no endpoints");
        assert_eq!((refused.status, refused.code), (404, "not_found"));
    }

    #[test]
    fn per_push_channels_need_a_listed_endpoint_after_an_optional_tenant() {
        assert_eq!(PER_PUSH.route(&["order"]), Ok(route(None, Some("order"))));
        assert_eq!(
            PER_PUSH.route(&["t1", "cancel"]),
            Ok(route(Some("t1"), Some("cancel")))
        );
        for segments in [
            &[][..],
            &["t1"],
            &["refund"],
            &["t1", "refund"],
            &["order", "t1"],
        ] {
            let refused = PER_PUSH
                .route(segments)
                .expect_err("no listed endpoint last");
            assert_eq!((refused.status, refused.code), (404, "unknown_endpoint"));
            assert!(
                refused.message.contains("order, cancel"),
                "{}",
                refused.message
            );
        }
    }

    #[test]
    fn get_is_a_delivery_only_where_the_platform_delivers_by_get() {
        let handshake = ChannelInfo {
            get_requests: GetRequests::Handshake,
            ..ONE_URL
        };
        assert!(ONE_URL.is_delivery_method("POST") && !ONE_URL.is_delivery_method("GET"));
        assert!(handshake.is_delivery_method("POST") && !handshake.is_delivery_method("GET"));
        assert!(PER_PUSH.is_delivery_method("POST") && PER_PUSH.is_delivery_method("GET"));
        assert!(!PER_PUSH.is_delivery_method("PUT") && !PER_PUSH.is_delivery_method("get"));
        assert_eq!(ONE_URL.method_not_allowed().allow, Some("POST"));
        assert_eq!(handshake.method_not_allowed().allow, Some("GET, POST"));
        let refused = PER_PUSH.method_not_allowed();
        assert_eq!((refused.status, refused.allow), (405, Some("GET, POST")));
        assert_eq!(refused.message, "Apps webhooks are POST or GET requests");
    }
}

//! The product's own structured logs: one JSON object per line from each service
//! (`ts`, `level`, `service`, `msg`, `request_id`, `user_id`, `http`, `client_ip`).
//!
//! `web` and `api` log every request customers make, `billing` logs charges and webhook
//! deliveries, and the load balancer's health checks hit `/healthz`. Most requests succeed; a few
//! are 4xx (logged as `warn`) or 5xx (`error`).

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, CUSTOMER};
use crate::json;
use crate::{Rec, World, dice};

/// Customer requests per employee per weekday.
const REQUESTS: f64 = 26.0;
/// Health checks per employee per day.
const HEALTH_CHECKS: f64 = 2.0;
/// Distinct customers per employee.
const CUSTOMERS_PER_EMPLOYEE: u32 = 25;

/// A route: which service serves it, and how.
struct Route {
    service: &'static str,
    method: &'static str,
    /// `{}` is replaced with a numeric id.
    path: &'static str,
    /// Typical latency in milliseconds.
    latency: u32,
}

const ROUTES: [(u32, Route); 12] = [
    (
        20,
        Route {
            service: "web",
            method: "GET",
            path: "/",
            latency: 35,
        },
    ),
    (
        12,
        Route {
            service: "web",
            method: "GET",
            path: "/dashboard",
            latency: 80,
        },
    ),
    (
        18,
        Route {
            service: "api",
            method: "GET",
            path: "/v1/orders",
            latency: 45,
        },
    ),
    (
        10,
        Route {
            service: "api",
            method: "GET",
            path: "/v1/orders/{}",
            latency: 25,
        },
    ),
    (
        5,
        Route {
            service: "api",
            method: "POST",
            path: "/v1/orders",
            latency: 120,
        },
    ),
    (
        8,
        Route {
            service: "api",
            method: "GET",
            path: "/v1/customers/me",
            latency: 20,
        },
    ),
    (
        2,
        Route {
            service: "api",
            method: "PATCH",
            path: "/v1/customers/me",
            latency: 60,
        },
    ),
    (
        6,
        Route {
            service: "api",
            method: "POST",
            path: "/v1/auth/login",
            latency: 180,
        },
    ),
    (
        4,
        Route {
            service: "api",
            method: "GET",
            path: "/v1/invoices",
            latency: 70,
        },
    ),
    (
        2,
        Route {
            service: "billing",
            method: "POST",
            path: "/v1/charges",
            latency: 450,
        },
    ),
    (
        2,
        Route {
            service: "billing",
            method: "POST",
            path: "/webhooks/stripe",
            latency: 90,
        },
    ),
    (
        1,
        Route {
            service: "api",
            method: "GET",
            path: "/v1/invoices/{}/pdf",
            latency: 900,
        },
    ),
];

const HEALTH: Route = Route {
    service: "api",
    method: "GET",
    path: "/healthz",
    latency: 2,
};

/// Application log lines for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let customers = (world.scale as u32).max(1) * CUSTOMERS_PER_EMPLOYEE;
    for at in clock::scatter(rng, &world.window, REQUESTS * world.scale, &CUSTOMER) {
        let route = dice::weighted(rng, &ROUTES);
        let customer = rng.random_range(1..=customers);
        let client = format!("192.0.2.{}", 120 + customer % 135);
        out.push(request(rng, at, route, Some(customer), &client));
    }
    for at in clock::scatter(
        rng,
        &world.window,
        HEALTH_CHECKS * world.scale,
        &clock::FLAT,
    ) {
        let alb = *dice::pick(rng, &["10.0.1.20", "10.0.1.21"]);
        out.push(request(rng, at, &HEALTH, None, alb));
    }
    out
}

fn request(rng: &mut StdRng, at: i64, route: &Route, customer: Option<u32>, client: &str) -> Rec {
    let status: i64 = if route.path == "/v1/auth/login" {
        *dice::weighted(rng, &[(85, 200), (13, 401), (2, 429)])
    } else if customer.is_none() {
        200
    } else {
        let ok = if route.method == "POST" { 201 } else { 200 };
        *dice::weighted(
            rng,
            &[
                (955, ok),
                (15, 400),
                (12, 404),
                (4, 403),
                (3, 429),
                (8, 500),
                (3, 503),
            ],
        )
    };
    let (level, msg) = match status {
        500 => ("error", "unhandled error: upstream timeout after 5000ms"),
        503 => ("error", "service unavailable: database pool exhausted"),
        401 => ("warn", "login failed: invalid credentials"),
        400..=499 => ("warn", "request rejected"),
        _ => ("info", "request completed"),
    };
    let path = route
        .path
        .replace("{}", &rng.random_range(10_000..999_999).to_string());
    // Log-normal-ish latency: mostly near typical, with a long tail.
    let spread: f64 = rng.random_range(0.4..1.6);
    let tail = if rng.random_bool(0.03) {
        rng.random_range(3.0..20.0)
    } else {
        1.0
    };
    let duration = (f64::from(route.latency) * spread * tail).round() as i64;
    let request_id = format!("req_{}", dice::alnum(rng, 20));
    let user = customer.map(|c| format!("usr_{c:07}"));
    let bytes = json::object(|o| {
        o.str("ts", &clock::iso_millis(at))
            .str("level", level)
            .str("service", route.service)
            .str("msg", msg)
            .str("request_id", &request_id)
            .opt_str("user_id", user.as_deref())
            .obj("http", |o| {
                o.str("method", route.method)
                    .str("path", &path)
                    .int("status", status)
                    .int("duration_ms", duration);
            })
            .str("client_ip", client);
    });
    Rec::new(at, bytes)
}

//! Auth0 tenant log events, as the Management API's `GET /api/v2/logs` returns them (one flat
//! object per event) and as log streams and Panther deliver them (the event wrapped in
//! `data`, beside a top-level `log_id`). Fields and codes follow Auth0's "Log Event Type
//! Codes" page (<https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes>).
//!
//! The event's `type` code picks the OCSF class:
//! - logins, logouts, silent and cross-origin authentication, blocked login attempts, MFA
//!   challenges (`gd_auth_*`, with `is_mfa`) and token exchanges → Authentication (3002);
//! - signups, password changes and resets, user deletion, MFA enrollment and removal, user
//!   unblocks → Account Change (3001);
//! - Management API calls (`sapi`, `fapi`) → API Activity (6003), the activity taken from the
//!   request's HTTP method; any other code → API Activity, activity Other (99).
//!
//! The table gives the status (a code's leading `s` or `f`, spelled out per code so unknown
//! codes are not guessed). The user of `user_id`/`user_name` is the one who authenticates or
//! whose account changes (`user`); the Management API caller (`details.request.auth.user`) is
//! the actor.

use evident_model::{Class, Event, Status};
use serde_json::Value;

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Does the record look like an Auth0 log event: a short lowercase `type` code, a `date`, and
/// the event id or the client the event concerns?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    let data = match obj.get("data") {
        Some(Value::Object(d)) => d,
        _ => *obj,
    };
    let code_ok = data.get("type").and_then(Value::as_str).is_some_and(|t| {
        !t.is_empty() && t.len() <= 40 && t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    });
    code_ok
        && data.get("date").is_some_and(Value::is_string)
        && (data.contains_key("log_id")
            || data.contains_key("client_id")
            || obj.contains_key("log_id"))
}

/// Normalizes one Auth0 log event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let (data, type_path) = match obj.get("data") {
        Some(Value::Object(d)) => (d, "data.type"),
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "data".into(),
                expected: "an object",
            });
        }
        None => (&obj, "type"),
    };
    let code = util::require_str(&obj, type_path)?;
    let kind = classify(code);
    let time = data
        .get("date")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());

    let activity = match kind.class {
        Class::ApiActivity if kind.activity == 0 => {
            http_activity(util::get_nonempty_str(data, "details.request.method"))
        }
        _ => kind.activity,
    };
    let mut e = Event::new(kind.class, activity, time);
    e.set("metadata.product.name", "Auth0");
    e.set("metadata.product.vendor_name", "Okta");
    e.set("metadata.event_code", code);
    e.set_opt(
        "metadata.uid",
        util::get_nonempty_str(data, "log_id")
            .or_else(|| util::get_nonempty_str(&obj, "log_id"))
            .or_else(|| util::get_nonempty_str(data, "_id")),
    );
    e.set_opt("message", util::get_nonempty_str(data, "description"));
    if let Some(status) = kind.status {
        e.set_status(status);
    }
    e.set_opt(
        "status_detail",
        util::get_nonempty_str(data, "details.error.message"),
    );
    e.set_opt("src_endpoint.ip", util::get_nonempty_str(data, "ip"));
    e.set_opt(
        "dst_endpoint.hostname",
        util::get_nonempty_str(data, "hostname"),
    );
    e.set_opt(
        "http_request.user_agent",
        util::get_nonempty_str(data, "user_agent"),
    );

    let caller = util::get(data, "details.request.auth.user").and_then(Value::as_object);
    match kind.class {
        Class::ApiActivity => {
            if let Some(caller) = caller {
                util::set_user(&mut e, "actor.user", caller, "user_id", "name", "email");
            } else {
                util::set_user(&mut e, "actor.user", data, "user_id", "user_name", "");
            }
            e.set_opt(
                "actor.app_name",
                util::get_nonempty_str(data, "client_name"),
            );
            e.set_opt("actor.app_uid", util::get_nonempty_str(data, "client_id"));
            // A Management API event's description names the operation ("Delete a user").
            if matches!(code, "sapi" | "fapi") {
                e.set(
                    "api.operation",
                    util::get_nonempty_str(data, "description").unwrap_or(code),
                );
                e.set("api.service.name", "Auth0 Management API");
            } else {
                e.set("api.operation", code);
            }
            e.set_opt(
                "http_request.http_method",
                util::get_nonempty_str(data, "details.request.method").map(str::to_ascii_uppercase),
            );
            e.set_opt(
                "http_request.url.path",
                util::get_nonempty_str(data, "details.request.path"),
            );
            e.set_opt(
                "http_response.code",
                util::get(data, "details.response.statusCode").and_then(Value::as_i64),
            );
        }
        Class::Authentication => {
            util::set_user(&mut e, "user", data, "user_id", "user_name", "");
            e.set_opt("service.name", util::get_nonempty_str(data, "client_name"));
            e.set_opt("service.uid", util::get_nonempty_str(data, "client_id"));
            if kind.mfa {
                e.set("is_mfa", true);
            }
        }
        _ => {
            util::set_user(&mut e, "user", data, "user_id", "user_name", "");
            if let Some(caller) = caller {
                util::set_user(&mut e, "actor.user", caller, "user_id", "name", "email");
            }
            e.set_opt(
                "actor.app_name",
                util::get_nonempty_str(data, "client_name"),
            );
            e.set_opt("actor.app_uid", util::get_nonempty_str(data, "client_id"));
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// What a type code means in OCSF terms. `activity` 0 on API Activity means "from the HTTP
/// method".
struct Kind {
    class: Class,
    activity: u8,
    status: Option<Status>,
    mfa: bool,
}

/// The class, activity and status of an Auth0 log event type code.
fn classify(code: &str) -> Kind {
    use Class::{AccountChange as Acct, ApiActivity as Api, Authentication as Auth};
    use Status::{Failure as F, Success as S};
    let (class, activity, status, mfa) = match code {
        // Logins (successful, failed, blocked).
        "s" | "scoa" | "ssa" => (Auth, 1, Some(S), false),
        "f" | "fp" | "fu" | "fc" | "fco" | "fcoa" | "fsa" | "pwd_leak" | "limit_wc"
        | "limit_mu" | "limit_sul" => (Auth, 1, Some(F), false),
        // MFA challenges.
        "gd_auth_succeed" | "gd_recovery_succeed" => (Auth, 1, Some(S), true),
        "gd_auth_failed"
        | "gd_auth_rejected"
        | "gd_recovery_failed"
        | "gd_otp_rate_limit_exceed"
        | "gd_recovery_rate_limit_exceed" => (Auth, 1, Some(F), true),
        "gd_send_pn" | "gd_send_sms" | "gd_send_voice" | "gd_send_email" | "gd_start_auth"
        | "mfar" => (Auth, 99, Some(S), true),
        "gd_send_pn_failure" | "gd_send_sms_failure" | "gd_send_voice_failure" => {
            (Auth, 99, Some(F), true)
        }
        // Logouts.
        "slo" => (Auth, 2, Some(S), false),
        "flo" => (Auth, 2, Some(F), false),
        // Token exchanges: authentication, but neither a logon nor a Kerberos ticket.
        "seacft" | "seccft" | "sepft" | "sertft" | "sede" | "sens" | "scte" => {
            (Auth, 99, Some(S), false)
        }
        "feacft" | "feccft" | "fepft" | "fertft" | "ferrt" | "fede" | "fens" | "fcte" => {
            (Auth, 99, Some(F), false)
        }
        // Account lifecycle.
        "ss" | "sui" => (Acct, 1, Some(S), false),
        "fs" | "fui" | "signup_pwd_leak" => (Acct, 1, Some(F), false),
        "du" => (Acct, 6, Some(S), false),
        "fdu" => (Acct, 6, Some(F), false),
        "scp" => (Acct, 3, Some(S), false),
        "fcp" => (Acct, 3, Some(F), false),
        "scpr" => (Acct, 4, Some(S), false),
        "fcpr" | "reset_pwd_leak" => (Acct, 4, Some(F), false),
        "ublkdu" => (Acct, 12, Some(S), false),
        "fublkdu" => (Acct, 12, Some(F), false),
        "gd_enrollment_complete" => (Acct, 10, Some(S), false),
        "gd_unenroll" | "gd_user_delete" => (Acct, 11, Some(S), false),
        "sce" | "scu" | "sv" | "svr" => (Acct, 99, Some(S), false),
        "fce" | "fcu" | "fv" | "fvr" => (Acct, 99, Some(F), false),
        // Management API.
        "sapi" => (Api, 0, Some(S), false),
        "fapi" => (Api, 0, Some(F), false),
        _ => (Api, 99, None, false),
    };
    Kind {
        class,
        activity,
        status,
        mfa,
    }
}

/// API Activity id for a Management API request's HTTP method.
fn http_activity(method: Option<&str>) -> u8 {
    match method.map(str::to_ascii_lowercase).as_deref() {
        Some("post") => 1,
        Some("get" | "head") => 2,
        Some("put" | "patch") => 3,
        Some("delete") => 4,
        _ => 99,
    }
}

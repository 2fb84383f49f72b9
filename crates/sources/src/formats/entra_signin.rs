//! Microsoft Entra ID (Azure AD) sign-in logs: the Microsoft Graph `signIn` resource
//! (Microsoft Learn: "signIn resource type", `/auditLogs/signIns`), bare or wrapped in the
//! Azure Monitor diagnostic envelope (`category: "SignInLogs"`, the sign-in under
//! `properties`).
//!
//! Every record becomes Authentication Logon: status from `status.errorCode` (0 is
//! success, anything else failure with the code and `failureReason`), the signing-in user
//! (`userPrincipalName`, `userId`; the service principal for app sign-ins) as `user`,
//! `ipAddress` and `location` as `src_endpoint`, `is_mfa` from
//! `authenticationRequirement` / `mfaDetail`, the application as `service`, and the
//! severity raised to the sign-in's risk level (`riskLevelDuringSignIn`,
//! `riskLevelAggregated`: low, medium, high).
//!
//! Auto-detection claims the bare Graph objects; wrapped records are part of the Entra ID
//! diagnostic stream that `azure_audit` detects (and maps with [`sign_in_event`]). The
//! whole vendor object is kept in `unmapped`.

use evident_model::{Class, Event, Severity, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::azure_activity::{self, SIGN_IN_CATEGORIES, category};
use super::util::{get_ci, get_ci_nonempty_str};
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like a sign-in? A bare Graph `signIn` (`createdDateTime`, the user
/// or service principal, and one of `status`, `appId`, `ipAddress`, `clientAppUsed`), or
/// the diagnostic envelope of a sign-in category.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    is_sign_in_envelope(obj)
        || (obj.get("createdDateTime").is_some_and(Value::is_string)
            && ["userPrincipalName", "servicePrincipalId"]
                .iter()
                .any(|k| obj.contains_key(*k))
            && ["status", "appId", "ipAddress", "clientAppUsed"]
                .iter()
                .any(|k| obj.contains_key(*k)))
}

/// Normalizes one sign-in.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let mut e = sign_in_event(&obj, ctx)?;
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// Is this the Azure Monitor envelope of a sign-in category?
pub(super) fn is_sign_in_envelope(obj: &Map<String, Value>) -> bool {
    category(obj).is_some_and(|c| SIGN_IN_CATEGORIES.iter().any(|s| s.eq_ignore_ascii_case(c)))
        && get_ci(obj, "properties").is_some_and(Value::is_object)
}

/// The Authentication event of a sign-in record, bare or in its envelope (without
/// `unmapped`, which the caller sets).
pub(super) fn sign_in_event(
    obj: &Map<String, Value>,
    ctx: &ParseContext<'_>,
) -> Result<Event, ParseError> {
    let wrapped = is_sign_in_envelope(obj);
    let inner = if wrapped {
        get_ci(obj, "properties")
            .and_then(Value::as_object)
            .unwrap_or(obj)
    } else {
        obj
    };
    let time = inner
        .get("createdDateTime")
        .and_then(super::util::parse_time)
        .or_else(|| azure_activity::envelope_time(obj))
        .unwrap_or_else(|| ctx.received_at_ms());
    let mut e = Event::new(Class::Authentication, 1, time);
    e.set("metadata.product.name", "Microsoft Entra ID")
        .set("metadata.product.vendor_name", "Microsoft");
    e.set_opt("metadata.uid", get_ci_nonempty_str(inner, "id"));

    match inner.get("status") {
        None | Some(Value::Null) => {
            let result = match get_ci(obj, "resultType").filter(|_| wrapped) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            if let Some(result) = result.filter(|r| !r.is_empty()) {
                let status = match azure_activity::result_status(&result) {
                    Status::Other if result.bytes().all(|b| b.is_ascii_digit()) => Status::Failure,
                    s => s,
                };
                e.set_status(status);
                if status == Status::Failure && result.bytes().all(|b| b.is_ascii_digit()) {
                    e.set("status_code", result);
                }
            }
        }
        Some(Value::Object(status)) => {
            let code = match status.get("errorCode") {
                Some(Value::Number(n)) => n.as_i64(),
                Some(Value::String(s)) => s.parse().ok(),
                _ => None,
            };
            match code {
                Some(0) => {
                    e.set_status(Status::Success);
                }
                Some(code) => {
                    e.set_status(Status::Failure);
                    e.set("status_code", code.to_string());
                    // Graph fills `failureReason` with "Other." on success too.
                    e.set_opt(
                        "status_detail",
                        get_ci_nonempty_str(status, "failureReason"),
                    );
                }
                None => {}
            }
        }
        Some(_) => {
            return Err(ParseError::WrongType {
                field: if wrapped {
                    "properties.status"
                } else {
                    "status"
                }
                .into(),
                expected: "an object",
            });
        }
    }

    let upn = get_ci_nonempty_str(inner, "userPrincipalName");
    match upn.or_else(|| get_ci_nonempty_str(inner, "userId")) {
        Some(_) => {
            e.set_opt("user.name", upn);
            e.set_opt("user.email_addr", upn.filter(|u| u.contains('@')));
            e.set_opt("user.uid", get_ci_nonempty_str(inner, "userId"));
            e.set_opt(
                "user.full_name",
                get_ci_nonempty_str(inner, "userDisplayName"),
            );
        }
        None => {
            e.set_opt(
                "user.name",
                get_ci_nonempty_str(inner, "servicePrincipalName"),
            );
            e.set_opt("user.uid", get_ci_nonempty_str(inner, "servicePrincipalId"));
        }
    }
    if let Some(ip) = get_ci_nonempty_str(inner, "ipAddress") {
        azure_activity::set_ip(&mut e, "src_endpoint", ip);
    }
    if let Some(location) = inner.get("location").and_then(Value::as_object) {
        e.set_opt(
            "src_endpoint.location.city",
            get_ci_nonempty_str(location, "city"),
        );
        e.set_opt(
            "src_endpoint.location.region",
            get_ci_nonempty_str(location, "state"),
        );
        e.set_opt(
            "src_endpoint.location.country",
            get_ci_nonempty_str(location, "countryOrRegion"),
        );
    }
    match get_ci_nonempty_str(inner, "authenticationRequirement") {
        Some("multiFactorAuthentication") => {
            e.set("is_mfa", true);
        }
        Some("singleFactorAuthentication") => {
            e.set("is_mfa", false);
        }
        _ => {
            if get_ci_nonempty_str(inner, "mfaDetail.authMethod").is_some() {
                e.set("is_mfa", true);
            }
        }
    }
    e.set_opt("service.name", get_ci_nonempty_str(inner, "appDisplayName"));
    e.set_opt("service.uid", get_ci_nonempty_str(inner, "appId"));
    e.set_opt(
        "http_request.user_agent",
        get_ci_nonempty_str(inner, "userAgent"),
    );
    e.set_opt(
        "auth_protocol",
        get_ci_nonempty_str(inner, "authenticationProtocol").filter(|p| *p != "none"),
    );
    e.set_opt("session.uid", get_ci_nonempty_str(inner, "sessionId"));
    e.set_opt(
        "device.uid",
        get_ci_nonempty_str(inner, "deviceDetail.deviceId"),
    );
    e.set_opt(
        "device.name",
        get_ci_nonempty_str(inner, "deviceDetail.displayName"),
    );
    e.set_opt(
        "device.os.name",
        get_ci_nonempty_str(inner, "deviceDetail.operatingSystem"),
    );
    if wrapped {
        azure_activity::set_envelope(&mut e, obj);
    } else {
        e.set("cloud.provider", "Azure");
    }
    e.set_opt(
        "metadata.correlation_uid",
        get_ci_nonempty_str(inner, "correlationId"),
    );
    let risk = ["riskLevelDuringSignIn", "riskLevelAggregated"]
        .iter()
        .filter_map(|k| get_ci_nonempty_str(inner, k).and_then(risk_severity))
        .max();
    if let Some(risk) = risk {
        e.set_severity(risk);
    }
    Ok(e)
}

/// Severity of an Entra risk level (`low`, `medium`, `high`; `none` and `hidden` say
/// nothing).
fn risk_severity(level: &str) -> Option<Severity> {
    match level {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        _ => None,
    }
}

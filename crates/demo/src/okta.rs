//! Okta System Log events, as the `/api/v1/logs` API and log streams deliver them.
//!
//! Everyday traffic is the sign-in flow (sign-on policy, Okta Verify push, session start, then
//! single sign-on into the person's apps), with the odd mistyped password, lockout, group change
//! and factor enrolment. The planted incidents add a password spray, a grant to Super Admins,
//! an administrator's MFA factor removed, and a user deactivation.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, HOUR, MINUTE, OFFICE, SECOND};
use crate::company::{Browser, Dept, FOREIGN, Person, Place, SCRIPT_BROWSER};
use crate::json::{self, Obj};
use crate::{Rec, World, dice};

/// Sign-ins per employee per weekday.
const SIGN_INS: f64 = 0.9;
/// Administrative changes (group membership, factor enrolment) per employee per weekday.
const ADMIN_CHANGES: f64 = 0.02;
/// Lockouts (five bad passwords in a row) per employee per weekday.
const LOCKOUTS: f64 = 0.0015;

/// Okta events for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let everyone: Vec<usize> = (0..world.company.people.len()).collect();
    let window = &world.window;

    for at in clock::scatter(rng, window, SIGN_INS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &everyone, at) {
            sign_in(world, rng, &mut out, p, at);
        }
    }
    for at in clock::scatter(rng, window, ADMIN_CHANGES * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &everyone, at) {
            admin_change(world, rng, &mut out, p, at);
        }
    }
    for at in clock::scatter(rng, window, LOCKOUTS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &everyone, at) {
            lockout(rng, &mut out, p, at);
        }
    }
    if let Some(plan) = &world.plan {
        spray(world, rng, &mut out, &plan.okta_brute_force);

        let grant = &plan.okta_super_admin;
        let (admin, target) = (world.person(grant.actor), world.person(grant.target));
        let group = Target::group("Super Admins");
        out.push(admin_event(
            rng,
            grant.at,
            admin,
            &GROUP_ADD,
            &[Target::user(target), group],
            &[],
        ));
        out.push(admin_event(
            rng,
            grant.at + 900,
            admin,
            &PRIVILEGE_GRANT,
            &[Target::user(target)],
            &[("privilegeGranted", "Super administrator")],
        ));

        let removed = &plan.admin_mfa_removed;
        out.push(admin_event(
            rng,
            removed.at,
            world.person(removed.actor),
            &FACTOR_DEACTIVATE,
            &[Target::user(world.person(removed.target))],
            &[("factor", "OKTA_VERIFY_PUSH")],
        ));

        let departure = &plan.departure;
        out.push(admin_event(
            rng,
            departure.deactivated,
            world.person(departure.admin),
            &USER_DEACTIVATE,
            &[Target::user(world.person(departure.who))],
            &[],
        ));
    }
    out
}

/// The morning (or after-lunch) sign-in: policy, push, session, then apps.
fn sign_in(world: &World, rng: &mut StdRng, out: &mut Vec<Rec>, p: &Person, at: i64) {
    let session = session_id(rng);
    let client = Client::of(p);
    if rng.random_bool(0.03) {
        let failed = at - rng.random_range(15..90) * SECOND;
        out.push(write(
            rng,
            &Event {
                outcome: ("FAILURE", Some("INVALID_CREDENTIALS")),
                credential: Some("PASSWORD"),
                ..Event::session_start(failed, Actor::person(p), &client, &session)
            },
        ));
    }
    let policy = [
        Target::policy("PolicyEntity", "Default Policy"),
        Target::policy("PolicyRule", "Require Okta Verify"),
    ];
    out.push(write(
        rng,
        &Event {
            event_type: "policy.evaluate_sign_on",
            legacy: None,
            display: "Evaluation of sign-on policy",
            outcome: (
                "CHALLENGE",
                Some("Sign-on policy evaluation resulted in CHALLENGE"),
            ),
            targets: &policy,
            uri: "/idp/idx/identify",
            ..Event::by(at, Actor::person(p), &client, &session)
        },
    ));
    let push = at + rng.random_range(4_000..20_000);
    out.push(write(
        rng,
        &Event {
            event_type: "user.authentication.auth_via_mfa",
            legacy: Some("core.user.factor.attempt_success"),
            display: "Authentication of user via MFA",
            credential: Some("OKTA_VERIFY_PUSH"),
            targets: &[Target::factor()],
            uri: "/idp/idx/challenge/answer",
            debug: &[("factor", "OKTA_VERIFY_PUSH")],
            ..Event::by(push, Actor::person(p), &client, &session)
        },
    ));
    out.push(write(
        rng,
        &Event::session_start(push + 400, Actor::person(p), &client, &session),
    ));

    let apps = apps_for(p.dept);
    let mut t = push + 2 * SECOND;
    for _ in 0..rng.random_range(1..=4) {
        t += rng.random_range(10 * SECOND..90 * MINUTE);
        if !world.active(p.index, t) {
            return;
        }
        let app = dice::pick(rng, apps);
        out.push(write(
            rng,
            &Event {
                event_type: "user.authentication.sso",
                legacy: Some("app.auth.sso"),
                display: "User single sign on to app",
                targets: &[Target::app(app), Target::app_user(p)],
                uri: "/app/sso/saml",
                ..Event::by(t, Actor::person(p), &client, &session)
            },
        ));
    }
    let end = t + rng.random_range(HOUR..6 * HOUR);
    if rng.random_bool(0.3) && world.active(p.index, end) {
        out.push(write(
            rng,
            &Event {
                event_type: "user.session.end",
                legacy: Some("core.user_auth.logout_success"),
                display: "User logout from Okta",
                uri: "/login/signout",
                ..Event::by(end, Actor::person(p), &client, &session)
            },
        ));
    }
}

/// IT changes a group membership, or the person enrols a new phone.
fn admin_change(world: &World, rng: &mut StdRng, out: &mut Vec<Rec>, p: &Person, at: i64) {
    if rng.random_bool(0.6) {
        let Some(admin) = world.pick(rng, &world.company.okta_admins, at) else {
            return;
        };
        let group = *dice::pick(
            rng,
            &[
                p.dept.group(),
                "VPN Users",
                "Jira Users",
                "All Staff",
                "Zoom Pro",
            ],
        );
        out.push(admin_event(
            rng,
            at,
            admin,
            &GROUP_ADD,
            &[Target::user(p), Target::group(group)],
            &[],
        ));
    } else {
        let client = Client::of(p);
        let session = session_id(rng);
        out.push(write(
            rng,
            &Event {
                event_type: "user.mfa.factor.activate",
                legacy: Some("core.user.factor.activate"),
                display: "Activate factor or authenticator",
                targets: &[Target::user(p)],
                uri: "/idp/authenticators/setup",
                debug: &[("factor", "OKTA_VERIFY_PUSH")],
                ..Event::by(at, Actor::person(p), &client, &session)
            },
        ));
    }
}

/// Five wrong passwords in two minutes, then Okta locks the account.
fn lockout(rng: &mut StdRng, out: &mut Vec<Rec>, p: &Person, at: i64) {
    let client = Client::of(p);
    let session = session_id(rng);
    let mut t = at;
    for _ in 0..5 {
        t += rng.random_range(5 * SECOND..25 * SECOND);
        out.push(write(
            rng,
            &Event {
                outcome: ("FAILURE", Some("INVALID_CREDENTIALS")),
                credential: Some("PASSWORD"),
                ..Event::session_start(t, Actor::person(p), &client, &session)
            },
        ));
    }
    out.push(write(
        rng,
        &Event {
            event_type: "user.account.lock",
            legacy: Some("core.user_auth.account_locked"),
            display: "Max sign in attempts exceeded",
            severity: "WARN",
            outcome: ("FAILURE", Some("LOCKED_OUT")),
            ..Event::by(t + 200, Actor::person(p), &client, &session)
        },
    ));
}

/// The planted password spray: a dozen or more failed sign-ins from one address in minutes.
fn spray(world: &World, rng: &mut StdRng, out: &mut Vec<Rec>, attack: &crate::plan::Attack) {
    const GUESSES: [&str; 6] = ["admin", "it", "test", "helpdesk", "root", "info"];
    let client = Client {
        ip: &attack.ip,
        place: attack.place,
        browser: &SCRIPT_BROWSER,
    };
    let attempts = rng.random_range(12..=16);
    let mut t = attack.at;
    for n in 0..attempts {
        t += rng.random_range(8 * SECOND..18 * SECOND);
        let session = session_id(rng);
        let guess;
        let (actor, reason) = match world.pick(rng, &world.company.technical, t) {
            Some(p) if n % 3 != 0 => (Actor::person(p), "INVALID_CREDENTIALS"),
            _ => {
                guess = format!("{}@{}", dice::pick(rng, &GUESSES), crate::company::DOMAIN);
                (Actor::unknown(&guess), "VERIFICATION_ERROR")
            }
        };
        out.push(write(
            rng,
            &Event {
                outcome: ("FAILURE", Some(reason)),
                credential: Some("PASSWORD"),
                ..Event::session_start(t, actor, &client, &session)
            },
        ));
    }
}

/// An administrative event type with its legacy name and display message.
struct Kind {
    event_type: &'static str,
    legacy: &'static str,
    display: &'static str,
}

const GROUP_ADD: Kind = Kind {
    event_type: "group.user_membership.add",
    legacy: "core.user_group_member.user_add",
    display: "Add user to group membership",
};

const PRIVILEGE_GRANT: Kind = Kind {
    event_type: "user.account.privilege.grant",
    legacy: "core.user.admin_privilege.granted",
    display: "Grant user privilege",
};

const FACTOR_DEACTIVATE: Kind = Kind {
    event_type: "user.mfa.factor.deactivate",
    legacy: "core.user.factor.deactivate",
    display: "Reset factor for user",
};

const USER_DEACTIVATE: Kind = Kind {
    event_type: "user.lifecycle.deactivate",
    legacy: "core.user.config.user_deactivated",
    display: "Deactivate Okta user",
};

/// An administrator's action from the office, on `targets`.
fn admin_event(
    rng: &mut StdRng,
    at: i64,
    admin: &Person,
    kind: &Kind,
    targets: &[Target<'_>],
    debug: &[(&str, &str)],
) -> Rec {
    let client = Client::of(admin);
    let session = session_id(rng);
    write(
        rng,
        &Event {
            event_type: kind.event_type,
            legacy: Some(kind.legacy),
            display: kind.display,
            severity: if kind.event_type == GROUP_ADD.event_type {
                "INFO"
            } else {
                "NOTICE"
            },
            targets,
            uri: "/api/v1/users",
            debug,
            ..Event::by(at, Actor::person(admin), &client, &session)
        },
    )
}

fn session_id(rng: &mut StdRng) -> String {
    format!("102{}", dice::alnum(rng, 22))
}

/// Who did it.
#[derive(Clone, Copy)]
struct Actor<'a> {
    id: &'a str,
    alternate_id: &'a str,
    display_name: &'a str,
}

impl<'a> Actor<'a> {
    fn person(p: &'a Person) -> Self {
        Actor {
            id: &p.okta_id,
            alternate_id: &p.email,
            display_name: &p.name,
        }
    }

    /// A sign-in attempt for a login Okta does not know.
    fn unknown(login: &'a str) -> Self {
        Actor {
            id: "unknown",
            alternate_id: login,
            display_name: "unknown",
        }
    }
}

/// Where the request came from.
struct Client<'a> {
    ip: &'a str,
    place: &'a Place,
    browser: &'a Browser,
}

impl<'a> Client<'a> {
    fn of(p: &'a Person) -> Self {
        Client {
            ip: &p.public_ip,
            place: p.place,
            browser: p.browser,
        }
    }
}

/// An entry of the event's `target` list.
struct Target<'a> {
    id: std::borrow::Cow<'a, str>,
    kind: &'a str,
    alternate_id: &'a str,
    display_name: &'a str,
    detail: Option<(&'a str, &'a str)>,
}

impl<'a> Target<'a> {
    fn user(p: &'a Person) -> Self {
        Target {
            id: p.okta_id.as_str().into(),
            kind: "User",
            alternate_id: &p.email,
            display_name: &p.name,
            detail: None,
        }
    }

    fn app_user(p: &'a Person) -> Self {
        Target {
            id: format!("0ua{}", p.okta_id.trim_start_matches("00u")).into(),
            kind: "AppUser",
            alternate_id: &p.email,
            display_name: &p.name,
            detail: None,
        }
    }

    fn group(name: &'a str) -> Self {
        Target {
            id: dice::stable_id("00g", name).into(),
            kind: "UserGroup",
            alternate_id: "unknown",
            display_name: name,
            detail: None,
        }
    }

    fn app(name: &'a str) -> Self {
        Target {
            id: dice::stable_id("0oa", name).into(),
            kind: "AppInstance",
            alternate_id: name,
            display_name: name,
            detail: Some(("signOnModeType", "SAML_2_0")),
        }
    }

    fn policy(kind: &'a str, name: &'a str) -> Self {
        Target {
            id: dice::stable_id("00p", name).into(),
            kind,
            alternate_id: "unknown",
            display_name: name,
            detail: None,
        }
    }

    fn factor() -> Self {
        Target {
            id: "unknown".into(),
            kind: "AuthenticatorEnrollment",
            alternate_id: "unknown",
            display_name: "Okta Verify",
            detail: Some(("methodTypeUsed", "Get a push notification")),
        }
    }
}

/// The apps a department signs in to.
fn apps_for(dept: Dept) -> &'static [&'static str] {
    match dept {
        Dept::It | Dept::Security | Dept::Engineering => &[
            "Slack",
            "Google Workspace",
            "GitHub Enterprise Cloud",
            "AWS IAM Identity Center",
            "Datadog",
            "Jira Software",
        ],
        Dept::Data => &[
            "Slack",
            "Google Workspace",
            "GitHub Enterprise Cloud",
            "AWS IAM Identity Center",
            "Metabase",
        ],
        Dept::Sales | Dept::Marketing => &["Slack", "Google Workspace", "Salesforce", "Zoom"],
        Dept::Support => &["Slack", "Google Workspace", "Zendesk", "Jira Software"],
        Dept::Finance => &["Slack", "Google Workspace", "NetSuite", "Expensify"],
        Dept::People => &["Slack", "Google Workspace", "Workday", "Greenhouse"],
    }
}

/// One System Log event; `write` turns it into the API's JSON.
struct Event<'a> {
    at: i64,
    event_type: &'a str,
    legacy: Option<&'a str>,
    display: &'a str,
    severity: &'a str,
    actor: Actor<'a>,
    client: &'a Client<'a>,
    session: &'a str,
    credential: Option<&'a str>,
    outcome: (&'a str, Option<&'a str>),
    targets: &'a [Target<'a>],
    uri: &'a str,
    debug: &'a [(&'a str, &'a str)],
}

impl<'a> Event<'a> {
    /// A successful, target-less event by `actor`; callers override what differs.
    fn by(at: i64, actor: Actor<'a>, client: &'a Client<'a>, session: &'a str) -> Self {
        Event {
            at,
            event_type: "",
            legacy: None,
            display: "",
            severity: "INFO",
            actor,
            client,
            session,
            credential: None,
            outcome: ("SUCCESS", None),
            targets: &[],
            uri: "/api/v1/authn",
            debug: &[],
        }
    }

    /// `user.session.start` by `actor`.
    fn session_start(at: i64, actor: Actor<'a>, client: &'a Client<'a>, session: &'a str) -> Self {
        Event {
            event_type: "user.session.start",
            legacy: Some("core.user_auth.login_success"),
            display: "User login to Okta",
            uri: "/idp/idx/identify",
            ..Event::by(at, actor, client, session)
        }
    }
}

fn write(rng: &mut StdRng, e: &Event<'_>) -> Rec {
    let uuid = dice::uuid(rng);
    let transaction = dice::alnum(rng, 27);
    let legacy = match (e.event_type, e.outcome.0) {
        ("user.session.start", "FAILURE") => Some("core.user_auth.login_failed"),
        _ => e.legacy,
    };
    let bytes = json::object(|o| {
        o.obj("actor", |o| {
            o.str("id", e.actor.id)
                .str("type", "User")
                .str("alternateId", e.actor.alternate_id)
                .str("displayName", e.actor.display_name)
                .null("detailEntry");
        })
        .obj("client", |o| {
            o.obj("userAgent", |o| {
                o.str("rawUserAgent", e.client.browser.raw)
                    .str("os", e.client.browser.os)
                    .str("browser", e.client.browser.browser);
            })
            .str("zone", "null")
            .str("device", "Computer")
            .null("id")
            .str("ipAddress", e.client.ip)
            .obj("geographicalContext", |o| geo(o, e.client.place));
        })
        .null("device")
        .obj("authenticationContext", |o| {
            o.null("authenticationProvider")
                .null("credentialProvider")
                .opt_str("credentialType", e.credential)
                .null("issuer")
                .null("interface")
                .int("authenticationStep", 0)
                .str("externalSessionId", e.session);
        })
        .str("displayMessage", e.display)
        .str("eventType", e.event_type)
        .obj("outcome", |o| {
            o.str("result", e.outcome.0).opt_str("reason", e.outcome.1);
        })
        .str("published", &clock::iso_millis(e.at))
        .obj("securityContext", |o| {
            let (number, org, isp, domain) = network(e.client.place);
            o.int("asNumber", number)
                .str("asOrg", org)
                .str("isp", isp)
                .str("domain", domain)
                .bool("isProxy", false);
        })
        .str("severity", e.severity)
        .obj("debugContext", |o| {
            o.obj("debugData", |o| {
                o.str("requestId", &transaction)
                    .str("requestUri", e.uri)
                    .str("url", &format!("{}?", e.uri));
                for (k, v) in e.debug {
                    o.str(k, v);
                }
            });
        })
        .opt_str("legacyEventType", legacy)
        .obj("transaction", |o| {
            o.str("type", "WEB")
                .str("id", &transaction)
                .obj("detail", |_| {});
        })
        .str("uuid", &uuid)
        .str("version", "0")
        .obj("request", |o| {
            o.arr("ipChain", |a| {
                a.obj(|o| {
                    o.str("ip", e.client.ip)
                        .obj("geographicalContext", |o| geo(o, e.client.place))
                        .str("version", "V4")
                        .null("source");
                });
            });
        });
        if e.targets.is_empty() {
            o.null("target");
        } else {
            o.arr("target", |a| {
                for t in e.targets {
                    a.obj(|o| {
                        o.str("id", &t.id)
                            .str("type", t.kind)
                            .str("alternateId", t.alternate_id)
                            .str("displayName", t.display_name);
                        match t.detail {
                            Some((k, v)) => o.obj("detailEntry", |o| {
                                o.str(k, v);
                            }),
                            None => o.null("detailEntry"),
                        };
                    });
                }
            });
        }
    });
    Rec::new(e.at, bytes)
}

fn geo(o: &mut Obj<'_>, place: &Place) {
    o.str("city", place.city)
        .str("state", place.state)
        .str("country", place.country)
        .str("postalCode", place.postal)
        .obj("geolocation", |o| {
            o.float("lat", place.lat).float("lon", place.lon);
        });
}

/// The autonomous system Okta reports for an address in `place`.
fn network(place: &Place) -> (i64, &'static str, &'static str, &'static str) {
    if FOREIGN.iter().any(|f| std::ptr::eq(f, place)) {
        (9009, "m247 europe srl", "m247 ltd", "m247.com")
    } else if place.country_code == "GB" {
        (2856, "british telecommunications plc", "bt", "bt.com")
    } else {
        (
            7922,
            "comcast cable communications llc",
            "comcast",
            "comcast.net",
        )
    }
}

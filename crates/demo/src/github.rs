//! GitHub Enterprise Cloud audit log events for the organisation, as audit log streaming and the
//! REST API deliver them (Git events included, SAML identities attached).
//!
//! Engineers fetch, push and clone all day, open, review and merge pull requests, and CI reports
//! workflow runs; Dependabot opens the odd pull request, and owners occasionally create a repo or
//! change a team. The planted incidents add a grant to the `owners` team, branch protection
//! removed from `main`, and clones by a leaver after their Okta account was deactivated.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, MINUTE, OFFICE, SECOND};
use crate::company::{GITHUB_BUSINESS, GITHUB_ORG, Person};
use crate::json::{self, Obj};
use crate::{Rec, World, dice};

/// Per employee per weekday.
const FETCHES: f64 = 1.0;
const PUSHES: f64 = 0.5;
const CLONES: f64 = 0.15;
const PULL_REQUESTS: f64 = 0.12;
const DEPENDABOT: f64 = 0.02;
const TEAM_CHANGES: f64 = 0.006;
const NEW_REPOS: f64 = 0.003;

const ORG_ID: i64 = 91_844_207;
const BUSINESS_ID: i64 = 4_821;
const MAIN_REPO: &str = "platform";
const REPOS: [&str; 10] = [
    MAIN_REPO,
    "api-gateway",
    "web-app",
    "mobile-app",
    "infra",
    "data-pipeline",
    "docs",
    "design-system",
    "terraform-modules",
    "analytics-dbt",
];
const TEAMS: [&str; 5] = ["backend", "frontend", "data", "sre", "mobile"];
const GIT_AGENTS: [&str; 3] = ["git/2.47.0", "git/2.39.5 (Apple Git-154)", "git/2.43.0"];

/// GitHub audit events for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let window = &world.window;
    let devs = &world.company.technical;
    for (rate, action) in [
        (FETCHES, "git.fetch"),
        (PUSHES, "git.push"),
        (CLONES, "git.clone"),
    ] {
        for at in clock::scatter(rng, window, rate * world.scale, &OFFICE) {
            if let Some(p) = world.pick(rng, devs, at) {
                let repo = *dice::pick(rng, &REPOS);
                let token = rng.random_bool(0.1);
                out.push(git(rng, at, action, p, repo, Origin::of(p), token));
                let done = at + rng.random_range(2 * MINUTE..12 * MINUTE);
                if action == "git.push" && rng.random_bool(0.8) && world.active(p.index, done) {
                    out.push(workflow_run(rng, done, p, repo));
                }
            }
        }
    }
    for at in clock::scatter(rng, window, PULL_REQUESTS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, devs, at) {
            pull_request(world, rng, &mut out, p, at);
        }
    }
    for at in clock::scatter(rng, window, DEPENDABOT * world.scale, &OFFICE) {
        let repo = *dice::pick(rng, &REPOS);
        let number = rng.random_range(100..4000);
        out.push(write(
            rng,
            &Event {
                actor: Some(DEPENDABOT_ACTOR),
                ip: None,
                country: None,
                ..Event::new(at, "pull_request.create", "create", None)
            },
            |o| {
                o.str(
                    "pull_request_title",
                    "Bump the npm_and_yarn group across 1 directory with 3 updates",
                );
                pr_fields(o, repo, number);
            },
        ));
    }
    for at in clock::scatter(rng, window, TEAM_CHANGES * world.scale, &OFFICE) {
        let (Some(owner), Some(p)) = (
            world.pick(rng, &world.company.github_owners, at),
            world.pick(rng, devs, at),
        ) else {
            continue;
        };
        let team = format!("{GITHUB_ORG}/{}", dice::pick(rng, &TEAMS));
        out.push(team_add(rng, at, owner, p, &team));
    }
    for at in clock::scatter(rng, window, NEW_REPOS * world.scale, &OFFICE) {
        let Some(owner) = world.pick(rng, &world.company.github_owners, at) else {
            continue;
        };
        let repo = format!(
            "{}-{}",
            dice::pick(rng, &["svc", "tool", "lib", "spike"]),
            dice::hex(rng, 4)
        );
        out.push(write(
            rng,
            &Event::by(at, "repo.create", "create", owner, Some(&repo)),
            |o| {
                o.str("visibility", "private");
            },
        ));
        out.push(write(
            rng,
            &Event::by(
                at + 40 * SECOND,
                "protected_branch.create",
                "create",
                owner,
                Some(&repo),
            ),
            |o| {
                o.str("name", "main");
            },
        ));
    }

    if let Some(plan) = &world.plan {
        let grant = plan.github_owner;
        let team = format!("{GITHUB_ORG}/owners");
        out.push(team_add(
            rng,
            grant.at,
            world.person(grant.actor),
            world.person(grant.target),
            &team,
        ));

        let act = plan.branch_unprotected;
        let p = world.person(act.who);
        out.push(write(
            rng,
            &Event::by(
                act.at,
                "protected_branch.destroy",
                "remove",
                p,
                Some(MAIN_REPO),
            ),
            |o| {
                o.str("name", "main");
            },
        ));
        let push = act.at + rng.random_range(MINUTE..5 * MINUTE);
        out.push(git(
            rng,
            push,
            "git.push",
            p,
            MAIN_REPO,
            Origin::of(p),
            false,
        ));

        let d = &plan.departure;
        let leaver = world.person(d.who);
        let mut t = d.used;
        for repo in [MAIN_REPO, "infra", "data-pipeline"] {
            let from = Origin {
                ip: &d.ip,
                country: d.place.country_code,
            };
            out.push(git(rng, t, "git.clone", leaver, repo, from, true));
            t += rng.random_range(40 * SECOND..4 * MINUTE);
        }
    }
    out
}

/// Where a request came from: address and its country.
#[derive(Clone, Copy)]
struct Origin<'a> {
    ip: &'a str,
    country: &'a str,
}

impl<'a> Origin<'a> {
    fn of(p: &'a Person) -> Self {
        Origin {
            ip: &p.public_ip,
            country: p.place.country_code,
        }
    }
}

/// A Git operation over SSH, or over HTTPS with a personal access token.
fn git(
    rng: &mut StdRng,
    at: i64,
    action: &'static str,
    p: &Person,
    repo: &str,
    from: Origin<'_>,
    token: bool,
) -> Rec {
    let agent = *dice::pick(rng, &GIT_AGENTS);
    let hashed = format!("{}=", dice::alnum(rng, 43));
    let e = Event {
        ip: Some(from.ip),
        country: Some(from.country),
        ..Event::by(at, action, "access", p, Some(repo))
    };
    write(rng, &e, |o| {
        if token {
            o.str("hashed_token", &hashed)
                .str(
                    "programmatic_access_type",
                    "Personal access token (classic)",
                )
                .int("transport_protocol", 1)
                .str("transport_protocol_name", "http");
        } else {
            o.int("transport_protocol", 2)
                .str("transport_protocol_name", "ssh");
        }
        o.str("user_agent", agent);
    })
}

/// A pull request opened, perhaps reviewed, perhaps merged.
fn pull_request(world: &World, rng: &mut StdRng, out: &mut Vec<Rec>, p: &Person, at: i64) {
    const TITLES: [&str; 6] = [
        "Fix pagination in order history",
        "Add retry with backoff to webhook sender",
        "Bump tokio to 1.41",
        "Refactor invoice PDF rendering",
        "Tighten CSP headers",
        "Add index on orders(customer_id, created_at)",
    ];
    let repo = *dice::pick(rng, &REPOS);
    let number = rng.random_range(100..4000);
    let title = *dice::pick(rng, &TITLES);
    out.push(write(
        rng,
        &Event::by(at, "pull_request.create", "create", p, Some(repo)),
        |o| {
            o.str("pull_request_title", title);
            pr_fields(o, repo, number);
        },
    ));
    let reviewed = at + rng.random_range(20 * MINUTE..5 * clock::HOUR);
    let Some(reviewer) = world.pick(rng, &world.company.technical, reviewed) else {
        return;
    };
    if reviewer.index == p.index {
        return;
    }
    out.push(write(
        rng,
        &Event::by(
            reviewed,
            "pull_request_review.submit",
            "create",
            reviewer,
            Some(repo),
        ),
        |o| {
            o.str("review_state", "approved");
            pr_fields(o, repo, number);
        },
    ));
    let merged = reviewed + rng.random_range(5 * MINUTE..2 * clock::HOUR);
    if rng.random_bool(0.8) && world.active(p.index, merged) {
        out.push(write(
            rng,
            &Event::by(merged, "pull_request.merge", "modify", p, Some(repo)),
            |o| {
                o.str("pull_request_title", title);
                pr_fields(o, repo, number);
            },
        ));
    }
}

fn pr_fields(o: &mut Obj<'_>, repo: &str, number: i64) {
    o.int("pull_request_id", 2_100_000_000 + number * 7).str(
        "pull_request_url",
        &format!("https://github.com/{GITHUB_ORG}/{repo}/pull/{number}"),
    );
}

fn workflow_run(rng: &mut StdRng, at: i64, p: &Person, repo: &str) -> Rec {
    let sha = dice::hex(rng, 40);
    let run_id = rng.random_range(11_000_000_000_i64..12_000_000_000);
    let run_number = rng.random_range(1000..9000);
    let failed = rng.random_bool(0.12);
    let started = at - rng.random_range(MINUTE..10 * MINUTE);
    write(
        rng,
        &Event {
            ip: None,
            ..Event::by(
                at,
                "workflows.completed_workflow_run",
                "modify",
                p,
                Some(repo),
            )
        },
        |o| {
            o.str("completed_at", &clock::iso_millis(at))
                .str("conclusion", if failed { "failure" } else { "success" })
                .str("event", "push")
                .str("head_branch", "main")
                .str("head_sha", &sha)
                .str("name", "CI")
                .int("run_attempt", 1)
                .int("run_number", run_number)
                .str("started_at", &clock::iso_seconds(started))
                .int(
                    "workflow_id",
                    60_000_000 + (dice::stable_u64(repo) % 1_000_000) as i64,
                )
                .int("workflow_run_id", run_id);
        },
    )
}

fn team_add(rng: &mut StdRng, at: i64, owner: &Person, member: &Person, team: &str) -> Rec {
    let e = Event {
        user: Some(member),
        ..Event::by(at, "team.add_member", "modify", owner, None)
    };
    write(rng, &e, |o| {
        o.str("team", team);
    })
}

/// Who acted: a person or a bot.
#[derive(Clone, Copy)]
struct Actor<'a> {
    login: &'a str,
    id: i64,
    person: Option<&'a Person>,
}

const DEPENDABOT_ACTOR: Actor<'static> = Actor {
    login: "dependabot[bot]",
    id: 49_699_333,
    person: None,
};

/// The members every audit event shares; `write` adds the action-specific ones.
struct Event<'a> {
    at: i64,
    action: &'static str,
    operation: &'static str,
    actor: Option<Actor<'a>>,
    ip: Option<&'a str>,
    country: Option<&'a str>,
    repo: Option<&'a str>,
    user: Option<&'a Person>,
}

impl<'a> Event<'a> {
    fn new(at: i64, action: &'static str, operation: &'static str, repo: Option<&'a str>) -> Self {
        Event {
            at,
            action,
            operation,
            actor: None,
            ip: None,
            country: None,
            repo,
            user: None,
        }
    }

    /// An event by `p` from their usual address.
    fn by(
        at: i64,
        action: &'static str,
        operation: &'static str,
        p: &'a Person,
        repo: Option<&'a str>,
    ) -> Self {
        Event {
            actor: Some(Actor {
                login: &p.github,
                id: p.github_id,
                person: Some(p),
            }),
            ip: Some(&p.public_ip),
            country: Some(p.place.country_code),
            ..Event::new(at, action, operation, repo)
        }
    }
}

fn write(rng: &mut StdRng, e: &Event<'_>, extra: impl FnOnce(&mut Obj<'_>)) -> Rec {
    let document = format!("{}==", dice::alnum(rng, 22));
    let repo = e.repo.map(|r| format!("{GITHUB_ORG}/{r}"));
    let bytes = json::object(|o| {
        o.int("@timestamp", e.at)
            .str("_document_id", &document)
            .str("action", e.action);
        if let Some(actor) = e.actor {
            o.str("actor", actor.login).int("actor_id", actor.id);
        }
        if let Some(ip) = e.ip {
            o.str("actor_ip", ip);
        }
        if let Some(country) = e.country {
            o.obj("actor_location", |o| {
                o.str("country_code", country);
            });
        }
        o.str("business", GITHUB_BUSINESS)
            .int("business_id", BUSINESS_ID)
            .int("created_at", e.at);
        if let Some(person) = e.actor.and_then(|a| a.person) {
            o.str("external_identity_nameid", &person.email)
                .str("external_identity_username", &person.email);
        }
        o.str("operation_type", e.operation)
            .str("org", GITHUB_ORG)
            .int("org_id", ORG_ID);
        if let Some(repo) = &repo {
            o.str("repo", repo)
                .int(
                    "repo_id",
                    600_000_000 + (dice::stable_u64(repo) % 200_000_000) as i64,
                )
                .str("repository", repo)
                .bool("repository_public", false);
        }
        if let Some(user) = e.user {
            o.str("user", &user.github).int("user_id", user.github_id);
        }
        extra(o);
    });
    Rec::new(e.at, bytes)
}

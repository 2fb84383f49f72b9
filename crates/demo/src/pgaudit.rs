//! PostgreSQL server log lines with pgaudit session auditing, `log_line_prefix = '%m [%p] %u@%d '`
//! and `log_connections`/`log_disconnections` on:
//! `2026-11-03 09:14:07.123 UTC [4242] app@customers LOG:  AUDIT: SESSION,1,1,READ,SELECT,…`.
//!
//! Two databases: `customers` (sensitive: the product's customers, orders and payment methods)
//! and `analytics`. The application's connection pool queries `customers` around the clock;
//! Metabase reads `analytics` in office hours and the ETL job loads it every night; engineers
//! and analysts open psql sessions in office hours; migrations and grants are rare. The planted
//! incident is an analyst reading and exporting `customers` at about 02:30 UTC.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, CUSTOMER, DAY, HOUR, MINUTE, OFFICE, SECOND};
use crate::company::Person;
use crate::{Rec, World, dice};

/// Application queries per employee per weekday.
const APP_QUERIES: f64 = 4.0;
/// Metabase queries per employee per weekday.
const DASHBOARD_QUERIES: f64 = 0.3;
/// psql sessions per employee per weekday.
const HUMAN_SESSIONS: f64 = 0.05;
/// Schema changes per employee per weekday.
const MIGRATIONS: f64 = 0.003;
/// ETL statements per employee per night.
const ETL_STATEMENTS: f64 = 0.2;

/// A statement as pgaudit classifies it.
struct Statement {
    class: &'static str,
    command: &'static str,
    /// Schema-qualified table, or empty for statements without one.
    object: &'static str,
    sql: &'static str,
}

const fn read(object: &'static str, sql: &'static str) -> Statement {
    Statement {
        class: "READ",
        command: "SELECT",
        object,
        sql,
    }
}

const APP: [(u32, Statement); 7] = [
    (
        30,
        read(
            "public.customers",
            "SELECT id, email, plan, status FROM customers WHERE id = $1",
        ),
    ),
    (
        25,
        read(
            "public.orders",
            "SELECT id, total_cents, status, created_at FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
        ),
    ),
    (
        10,
        read(
            "public.invoices",
            "SELECT id, amount_cents, due_at, paid_at FROM invoices WHERE customer_id = $1",
        ),
    ),
    (
        12,
        Statement {
            class: "WRITE",
            command: "INSERT",
            object: "public.orders",
            sql: "INSERT INTO orders (customer_id, total_cents, currency, status) VALUES ($1, $2, $3, $4) RETURNING id",
        },
    ),
    (
        15,
        Statement {
            class: "WRITE",
            command: "UPDATE",
            object: "public.customers",
            sql: "UPDATE customers SET last_seen_at = now() WHERE id = $1",
        },
    ),
    (
        5,
        Statement {
            class: "WRITE",
            command: "UPDATE",
            object: "public.orders",
            sql: "UPDATE orders SET status = $1, updated_at = now() WHERE id = $2",
        },
    ),
    (
        3,
        read(
            "public.payment_methods",
            "SELECT brand, last4, exp_month, exp_year FROM payment_methods WHERE customer_id = $1 AND is_default",
        ),
    ),
];

const DASHBOARD: [(u32, Statement); 3] = [
    (
        5,
        read(
            "public.daily_revenue",
            "SELECT day, sum(revenue_cents) FROM daily_revenue WHERE day >= $1 GROUP BY day ORDER BY day",
        ),
    ),
    (
        3,
        read(
            "public.events",
            "SELECT event_name, count(*) FROM events WHERE occurred_at >= $1 GROUP BY event_name",
        ),
    ),
    (
        2,
        read(
            "public.signups",
            "SELECT date_trunc('week', created_at) AS week, count(*) FROM signups GROUP BY 1 ORDER BY 1",
        ),
    ),
];

const HUMAN_ANALYTICS: [(u32, Statement); 3] = [
    (
        4,
        read(
            "public.events",
            "SELECT * FROM events WHERE occurred_at > now() - interval '1 day' LIMIT 500",
        ),
    ),
    (
        3,
        read(
            "public.daily_revenue",
            "SELECT * FROM daily_revenue ORDER BY day DESC LIMIT 30",
        ),
    ),
    (
        2,
        read(
            "public.signups",
            "SELECT source, count(*) FROM signups WHERE created_at > now() - interval '7 days' GROUP BY source",
        ),
    ),
];

const HUMAN_CUSTOMERS: [(u32, Statement); 3] = [
    (
        4,
        read(
            "public.customers",
            "SELECT id, email, status FROM customers WHERE email = $1",
        ),
    ),
    (
        3,
        read("public.orders", "SELECT * FROM orders WHERE id = $1"),
    ),
    (
        1,
        read(
            "public.orders",
            "SELECT status, count(*) FROM orders WHERE created_at > now() - interval '1 hour' GROUP BY status",
        ),
    ),
];

const ETL: [(u32, Statement); 3] = [
    (
        6,
        Statement {
            class: "WRITE",
            command: "INSERT",
            object: "public.events",
            sql: "INSERT INTO events (occurred_at, event_name, customer_id, properties) SELECT * FROM staging_events",
        },
    ),
    (
        2,
        Statement {
            class: "WRITE",
            command: "DELETE",
            object: "public.staging_events",
            sql: "DELETE FROM staging_events",
        },
    ),
    (
        2,
        Statement {
            class: "WRITE",
            command: "INSERT",
            object: "public.daily_revenue",
            sql: "INSERT INTO daily_revenue (day, revenue_cents) SELECT $1, sum(total_cents) FROM orders_snapshot WHERE day = $1 ON CONFLICT (day) DO UPDATE SET revenue_cents = excluded.revenue_cents",
        },
    ),
];

const MIGRATION: [(u32, Statement); 2] = [
    (
        1,
        Statement {
            class: "DDL",
            command: "ALTER TABLE",
            object: "public.orders",
            sql: "ALTER TABLE orders ADD COLUMN IF NOT EXISTS refunded_at timestamptz",
        },
    ),
    (
        1,
        Statement {
            class: "DDL",
            command: "CREATE INDEX",
            object: "public.orders_customer_id_created_at_idx",
            sql: "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_created_at_idx ON orders (customer_id, created_at)",
        },
    ),
];

/// What the after-hours reader ran.
const EXFILTRATION: [Statement; 5] = [
    read("public.customers", "SELECT count(*) FROM customers"),
    read(
        "public.customers",
        "SELECT id, email, full_name, phone, created_at FROM customers ORDER BY created_at DESC LIMIT 100",
    ),
    read(
        "public.payment_methods",
        "SELECT customer_id, brand, last4, exp_month, exp_year FROM payment_methods LIMIT 100",
    ),
    Statement {
        class: "READ",
        command: "COPY",
        object: "public.customers",
        sql: "COPY customers TO STDOUT WITH (FORMAT csv, HEADER)",
    },
    Statement {
        class: "READ",
        command: "COPY",
        object: "public.payment_methods",
        sql: "COPY payment_methods TO STDOUT WITH (FORMAT csv, HEADER)",
    },
];

/// A pooled backend: its process id and how many statements it has run.
struct Backend {
    pid: u32,
    statements: u64,
}

/// PostgreSQL log lines for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let window = &world.window;

    let mut app_pool: Vec<Backend> = (0..16)
        .map(|i| Backend {
            pid: 2_104 + i * 3,
            statements: 0,
        })
        .collect();
    for at in clock::scatter(rng, window, APP_QUERIES * world.scale, &CUSTOMER) {
        let statement = dice::weighted(rng, &APP);
        let backend = &mut app_pool[rng.random_range(0..16)];
        out.push(audit(at, backend, "app", "customers", statement));
    }
    let mut dashboard_pool: Vec<Backend> = (0..4)
        .map(|i| Backend {
            pid: 3_311 + i * 5,
            statements: 0,
        })
        .collect();
    for at in clock::scatter(rng, window, DASHBOARD_QUERIES * world.scale, &OFFICE) {
        let statement = dice::weighted(rng, &DASHBOARD);
        let backend = &mut dashboard_pool[rng.random_range(0..4)];
        out.push(audit(at, backend, "metabase", "analytics", statement));
    }
    etl(world, rng, &mut out);
    for at in clock::scatter(rng, window, HUMAN_SESSIONS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &world.company.technical, at) {
            // Staff only look at customer data in the working day; the planted incident is the
            // one exception.
            let working = (8..20).contains(&clock::civil(at).hour);
            let (db, statements) = if working && rng.random_bool(0.3) {
                ("customers", &HUMAN_CUSTOMERS)
            } else {
                ("analytics", &HUMAN_ANALYTICS)
            };
            let count = rng.random_range(1..8);
            let picks: Vec<&Statement> = (0..count)
                .map(|_| dice::weighted(rng, statements))
                .collect();
            psql(world, rng, &mut out, p, at, db, &picks);
        }
    }
    for at in clock::scatter(rng, window, MIGRATIONS * world.scale, &OFFICE) {
        let mut backend = Backend {
            pid: rng.random_range(10_000..99_999),
            statements: 0,
        };
        let statement = dice::weighted(rng, &MIGRATION);
        out.push(audit(at, &mut backend, "migrator", "customers", statement));
    }
    if let Some(plan) = &world.plan {
        let act = plan.db_after_hours;
        let picks: Vec<&Statement> = EXFILTRATION.iter().collect();
        psql(
            world,
            rng,
            &mut out,
            world.person(act.who),
            act.at,
            "customers",
            &picks,
        );
    }
    out
}

/// The nightly load into `analytics`, starting at 01:00 UTC.
fn etl(world: &World, rng: &mut StdRng, out: &mut Vec<Rec>) {
    let window = &world.window;
    let mut day = window.start.div_euclid(DAY) * DAY;
    while day < window.end {
        let mut backend = Backend {
            pid: rng.random_range(10_000..99_999),
            statements: 0,
        };
        let mut t = day + HOUR + rng.random_range(0..2 * MINUTE);
        for _ in 0..dice::count(rng, ETL_STATEMENTS * world.scale) {
            t += rng.random_range(SECOND..60 * SECOND);
            let statement = dice::weighted(rng, &ETL);
            out.push(audit(t, &mut backend, "etl", "analytics", statement));
        }
        day += DAY;
    }
}

/// An interactive session from the VPN: connect, run `statements`, disconnect.
fn psql(
    world: &World,
    rng: &mut StdRng,
    out: &mut Vec<Rec>,
    p: &Person,
    at: i64,
    db: &str,
    statements: &[&Statement],
) {
    let mut backend = Backend {
        pid: rng.random_range(10_000..99_999),
        statements: 0,
    };
    let port = dice::ephemeral_port(rng);
    let user = &p.unix;
    let mut t = at;
    let mut lines = Vec::with_capacity(statements.len() + 3);
    let msg = format!("connection received: host={} port={port}", p.vpn_ip);
    lines.push(log(t, backend.pid, "[unknown]", "[unknown]", &msg));
    t += rng.random_range(5..40);
    let msg = format!(
        "connection authorized: user={user} database={db} application_name=psql SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)"
    );
    lines.push(log(t, backend.pid, user, db, &msg));
    for statement in statements {
        t += rng.random_range(5 * SECOND..2 * MINUTE);
        lines.push(audit(t, &mut backend, user, db, statement));
    }
    t += rng.random_range(5 * SECOND..MINUTE);
    let length = t - at;
    let msg = format!(
        "disconnection: session time: {}:{:02}:{:02}.{:03} user={user} database={db} host={} port={port}",
        length / HOUR,
        length % HOUR / MINUTE,
        length % MINUTE / SECOND,
        length % SECOND,
        p.vpn_ip
    );
    lines.push(log(t, backend.pid, user, db, &msg));
    if world.active(p.index, t) {
        out.extend(lines);
    }
}

/// An `AUDIT: SESSION` line for the backend's next statement.
fn audit(at: i64, backend: &mut Backend, user: &str, db: &str, s: &Statement) -> Rec {
    backend.statements += 1;
    let msg = format!(
        "AUDIT: SESSION,{},1,{},{},{},{},{},<not logged>",
        backend.statements,
        s.class,
        s.command,
        object_type(s),
        s.object,
        csv(s.sql)
    );
    log(at, backend.pid, user, db, &msg)
}

fn object_type(s: &Statement) -> &'static str {
    match (s.object.is_empty(), s.command) {
        (true, _) => "",
        (false, "CREATE INDEX") => "INDEX",
        _ => "TABLE",
    }
}

fn log(at: i64, pid: u32, user: &str, db: &str, msg: &str) -> Rec {
    Rec::new(
        at,
        format!("{} [{pid}] {user}@{db} LOG:  {msg}", clock::postgres(at)),
    )
}

/// A CSV field as pgaudit writes it: quoted, with quotes doubled, only when it needs to be.
fn csv(field: &str) -> std::borrow::Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\"")).into()
    } else {
        field.into()
    }
}

#[cfg(test)]
mod tests {
    // pgaudit's CSV quoting.
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(
            csv("SELECT count(*) FROM customers"),
            "SELECT count(*) FROM customers"
        );
        assert_eq!(csv("SELECT a, b FROM t"), "\"SELECT a, b FROM t\"");
        assert_eq!(csv("SELECT \"x\" FROM t"), "\"SELECT \"\"x\"\" FROM t\"");
    }
}

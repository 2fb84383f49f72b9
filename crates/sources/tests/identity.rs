//! Identity and control-plane formats: Okta System Log, GitHub audit log, Azure Monitor
//! activity / resource logs, Entra ID audit and sign-in logs, Google Cloud Audit Logs and
//! Google Workspace activity. Golden OCSF output for fixtures written from the vendor
//! documentation, detection (own records in, other vendors' records out), and the exact
//! errors for malformed input.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use evident_model::Format;
use evident_sources::{ParseContext, Parser, detect};
use serde_json::{Value, json};

/// Receive time of every test record: 2025-11-26T09:40:00Z.
const RECEIVED_NS: u64 = 1_764_150_000_000_000_000;
const RECEIVED_MS: i64 = 1_764_150_000_000;

/// The formats this file covers.
const FORMATS: &[Format] = &[
    Format::Okta,
    Format::GitHub,
    Format::AzureActivity,
    Format::AzureAudit,
    Format::EntraSignin,
    Format::GcpAudit,
    Format::GoogleWorkspace,
];

fn ctx() -> ParseContext<'static> {
    ParseContext::new("test", RECEIVED_NS)
}

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The events of a fixture parsed as `format`, as JSON without `raw_data` and `unmapped`.
fn golden(format: Format, path: &str) -> Vec<Value> {
    parse(format, &fixture(path))
        .into_iter()
        .map(|mut e| {
            let m = e.as_object_mut().unwrap();
            m.remove("raw_data");
            m.remove("unmapped");
            e
        })
        .collect()
}

/// The events of a record, as JSON.
fn parse(format: Format, record: &[u8]) -> Vec<Value> {
    Parser::new(format)
        .parse(record, &ctx())
        .unwrap_or_else(|e| panic!("{format:?}: {e}"))
        .into_iter()
        .map(|e| Value::Object(e.to_json()))
        .collect()
}

/// The error message for a record parsed as `format`.
fn parse_err(format: Format, record: &str) -> String {
    match Parser::new(format).parse(record.as_bytes(), &ctx()) {
        Ok(events) => panic!("{format:?} parsed {record}: {events:?}"),
        Err(e) => e.to_string(),
    }
}

// Golden output, one test per fixture.

#[test]
fn okta_mfa_verification_is_an_mfa_logon() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Logon",
        "actor": {
            "session": {"uid": "102xYz9AbCdEfGhIjKlMnOp"},
            "user": {
                "email_addr": "maria.lopez@example.com",
                "full_name": "Maria Lopez",
                "name": "maria.lopez@example.com",
                "type": "User",
                "uid": "00u1a2b3c4D5E6F7g8h9"
            }
        },
        "api": {"operation": "user.authentication.auth_via_mfa"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Authentication",
        "class_uid": 3002,
        "http_request": {
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"
        },
        "is_mfa": true,
        "message": "Authentication of user via MFA",
        "metadata": {
            "correlation_uid": "Zk3Qm1r2s3t4u5v6w7x8yAAAB0",
            "evident": {"format": "okta"},
            "product": {"name": "Okta System Log", "vendor_name": "Okta"},
            "uid": "8d6f0a3e-4c1b-11ef-9b2a-5f1e2d3c4b5a",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {
            "ip": "198.51.100.23",
            "location": {
                "city": "Lisbon",
                "country": "Portugal",
                "postal_code": "1000-001",
                "region": "Lisbon"
            }
        },
        "status": "Success",
        "status_id": 1,
        "time": 1741098151418_i64, // 2025-03-04T14:22:31.418Z
        "type_name": "Authentication: Logon",
        "type_uid": 300201,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "00u1a2b3c4D5E6F7g8h9"
        }
    });
    assert_eq!(golden(Format::Okta, "okta/auth_via_mfa.json"), vec![want]);
}

#[test]
fn okta_failed_sign_in_is_a_failed_logon_with_the_reason() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Logon",
        "actor": {
            "user": {
                "email_addr": "maria.lopez@example.com",
                "full_name": "Maria Lopez",
                "name": "maria.lopez@example.com",
                "type": "User",
                "uid": "00u1a2b3c4D5E6F7g8h9"
            }
        },
        "api": {"operation": "user.session.start"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Authentication",
        "class_uid": 3002,
        "http_request": {"user_agent": "python-requests/2.32.3"},
        "message": "User login to Okta",
        "metadata": {
            "correlation_uid": "Zk3Pn0q1r2s3t4u5v6w7xAAAAA",
            "evident": {"format": "okta"},
            "product": {"name": "Okta System Log", "vendor_name": "Okta"},
            "uid": "2b7c9e10-4c1c-11ef-8a11-3d2c1b0a9f8e",
            "version": "1.8.0"
        },
        "severity": "Medium",
        "severity_id": 3,
        "src_endpoint": {
            "ip": "203.0.113.77",
            "location": {
                "city": "Frankfurt am Main",
                "country": "Germany",
                "postal_code": "60311",
                "region": "Hesse"
            }
        },
        "status": "Failure",
        "status_detail": "INVALID_CREDENTIALS",
        "status_id": 2,
        "time": 1741098002117_i64, // 2025-03-04T14:20:02.117Z
        "type_name": "Authentication: Logon",
        "type_uid": 300201,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "00u1a2b3c4D5E6F7g8h9"
        }
    });
    assert_eq!(
        golden(Format::Okta, "okta/session_start_failure.json"),
        vec![want]
    );
}

#[test]
fn okta_session_end_is_a_logoff() {
    let want = json!({
        "activity_id": 2,
        "activity_name": "Logoff",
        "actor": {
            "session": {"uid": "102xYz9AbCdEfGhIjKlMnOp"},
            "user": {
                "email_addr": "maria.lopez@example.com",
                "full_name": "Maria Lopez",
                "name": "maria.lopez@example.com",
                "type": "User",
                "uid": "00u1a2b3c4D5E6F7g8h9"
            }
        },
        "api": {"operation": "user.session.end"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Authentication",
        "class_uid": 3002,
        "http_request": {
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"
        },
        "message": "User logout from Okta",
        "metadata": {
            "correlation_uid": "Zk4AbCdEfGhIjKlMnOpQrAAAC1",
            "evident": {"format": "okta"},
            "product": {"name": "Okta System Log", "vendor_name": "Okta"},
            "uid": "61d0c2f4-4c4a-11ef-a3b3-0f1e2d3c4b5a",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {
            "ip": "198.51.100.23",
            "location": {
                "city": "Lisbon",
                "country": "Portugal",
                "postal_code": "1000-001",
                "region": "Lisbon"
            }
        },
        "status": "Success",
        "status_id": 1,
        "time": 1741111544902_i64, // 2025-03-04T18:05:44.902Z
        "type_name": "Authentication: Logoff",
        "type_uid": 300202,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "00u1a2b3c4D5E6F7g8h9"
        }
    });
    assert_eq!(golden(Format::Okta, "okta/session_end.json"), vec![want]);
}

#[test]
fn okta_group_membership_add_names_the_group_and_the_user() {
    let want = json!({
        "activity_id": 3,
        "activity_name": "Add User",
        "actor": {
            "session": {"uid": "102AdMiNsEsSiOn0001"},
            "user": {
                "email_addr": "it.admin@example.com",
                "full_name": "IT Admin",
                "name": "it.admin@example.com",
                "type": "User",
                "uid": "00u9z8y7x6W5V4U3t2s1"
            }
        },
        "api": {"operation": "group.user_membership.add"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Group Management",
        "class_uid": 3006,
        "group": {"name": "Engineering", "uid": "00g1eng2ab3CD4ef5g6"},
        "http_request": {
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"
        },
        "message": "Add user to group membership",
        "metadata": {
            "correlation_uid": "Zk5AdMiN0001AAAB",
            "evident": {"format": "okta"},
            "product": {"name": "Okta System Log", "vendor_name": "Okta"},
            "uid": "9e0f1a2b-4c2d-11ef-b4c5-6d7e8f9a0b1c",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {
            "ip": "192.0.2.10",
            "location": {
                "city": "Porto",
                "country": "Portugal",
                "postal_code": "4000-001",
                "region": "Porto"
            }
        },
        "status": "Success",
        "status_id": 1,
        "time": 1741165930005_i64, // 2025-03-05T09:12:10.005Z
        "type_name": "Group Management: Add User",
        "type_uid": 300603,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "00u1a2b3c4D5E6F7g8h9"
        }
    });
    assert_eq!(
        golden(Format::Okta, "okta/group_membership_add.json"),
        vec![want]
    );
}

#[test]
fn okta_privilege_grant_lists_the_privileges() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Assign Privileges",
        "actor": {
            "user": {
                "email_addr": "it.admin@example.com",
                "full_name": "IT Admin",
                "name": "it.admin@example.com",
                "type": "User",
                "uid": "00u9z8y7x6W5V4U3t2s1"
            }
        },
        "api": {"operation": "user.account.privilege.grant"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Group Management",
        "class_uid": 3006,
        "message": "Grant user privilege",
        "metadata": {
            "evident": {"format": "okta"},
            "product": {"name": "Okta System Log", "vendor_name": "Okta"},
            "uid": "c1d2e3f4-4c2e-11ef-9d8c-7b6a5f4e3d2c",
            "version": "1.8.0"
        },
        "privileges": ["Super administrator", "Help desk administrator"],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "192.0.2.10"},
        "status": "Success",
        "status_id": 1,
        "time": 1741167000000_i64, // 2025-03-05T09:30:00.000Z
        "type_name": "Group Management: Assign Privileges",
        "type_uid": 300601,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "00u1a2b3c4D5E6F7g8h9"
        }
    });
    assert_eq!(
        golden(Format::Okta, "okta/privilege_grant.json"),
        vec![want]
    );
}

#[test]
fn okta_deactivation_disables_the_target_user() {
    let want = json!({
        "activity_id": 5,
        "activity_name": "Disable",
        "actor": {
            "user": {
                "email_addr": "it.admin@example.com",
                "full_name": "IT Admin",
                "name": "it.admin@example.com",
                "type": "User",
                "uid": "00u9z8y7x6W5V4U3t2s1"
            }
        },
        "api": {"operation": "user.lifecycle.deactivate"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Account Change",
        "class_uid": 3001,
        "message": "Deactivate Okta user",
        "metadata": {
            "evident": {"format": "okta"},
            "product": {"name": "Okta System Log", "vendor_name": "Okta"},
            "uid": "0a1b2c3d-4c30-11ef-8e7f-6a5b4c3d2e1f",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "192.0.2.10"},
        "status": "Success",
        "status_id": 1,
        "time": 1741283112250_i64, // 2025-03-06T17:45:12.250Z
        "type_name": "Account Change: Disable",
        "type_uid": 300105,
        "user": {
            "email_addr": "departed.contractor@example.com",
            "full_name": "Departed Contractor",
            "name": "departed.contractor@example.com",
            "uid": "00u5t4r3q2P1O0n9m8l7"
        }
    });
    assert_eq!(
        golden(Format::Okta, "okta/lifecycle_deactivate.json"),
        vec![want]
    );
}

#[test]
fn okta_lower_cased_export_is_read_and_other_types_are_api_activity() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "actor": {
            "session": {"uid": "102AdMiNsEsSiOn0001"},
            "user": {
                "email_addr": "it.admin@example.com",
                "full_name": "IT Admin",
                "name": "it.admin@example.com",
                "type": "User",
                "uid": "00u9z8y7x6W5V4U3t2s1"
            }
        },
        "api": {"operation": "system.api_token.create", "request": {"uid": "Zk7ToKeN0001AAAC"}},
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "message": "Create API token",
        "metadata": {
            "evident": {"format": "okta"},
            "product": {"name": "Okta System Log", "vendor_name": "Okta"},
            "uid": "d4c3b2a1-4c31-11ef-9f8e-1a2b3c4d5e6f",
            "version": "1.8.0"
        },
        "resources": [{"name": "terraform-ci", "type": "Token", "uid": "00T1tok2en3ID4"}],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "192.0.2.10"},
        "status": "Success",
        "status_id": 1,
        "time": 1741334519333_i64, // 2025-03-07T08:01:59.333Z
        "type_name": "API Activity: Create",
        "type_uid": 600301
    });
    assert_eq!(
        golden(Format::Okta, "okta/api_token_create_lowercase.json"),
        vec![want]
    );
}

#[test]
fn github_org_add_member_adds_the_user_to_the_org() {
    let want = json!({
        "activity_id": 3,
        "activity_name": "Add User",
        "actor": {"user": {"name": "octo-admin", "uid": "1000001"}},
        "api": {"operation": "org.add_member"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Group Management",
        "class_uid": 3006,
        "group": {"name": "example-org"},
        "http_request": {
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"
        },
        "metadata": {
            "evident": {"format": "github"},
            "product": {"name": "GitHub Audit Log", "vendor_name": "GitHub"},
            "uid": "OgQ0YmE5ZTk3NDBkZmU2ZjU1",
            "version": "1.8.0"
        },
        "resources": [
            {"name": "example-corp", "type": "enterprise"},
            {"name": "example-org", "type": "organization"}
        ],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "192.0.2.44", "location": {"country": "PT"}},
        "time": 1741167130123_i64, // 2025-03-05T09:32:10.123Z
        "type_name": "Group Management: Add User",
        "type_uid": 300603,
        "user": {"name": "new-hire", "uid": "1000777"}
    });
    assert_eq!(
        golden(Format::GitHub, "github/org_add_member.json"),
        vec![want]
    );
}

#[test]
fn github_team_add_member_names_the_team() {
    let want = json!({
        "activity_id": 3,
        "activity_name": "Add User",
        "actor": {"user": {"name": "octo-admin", "uid": "1000001"}},
        "api": {"operation": "team.add_member"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Group Management",
        "class_uid": 3006,
        "group": {"name": "example-org/platform"},
        "metadata": {
            "evident": {"format": "github"},
            "product": {"name": "GitHub Audit Log", "vendor_name": "GitHub"},
            "uid": "TmQ1YzA4ZjEyZDNhNDU2Nzg5",
            "version": "1.8.0"
        },
        "resources": [{"name": "example-org", "type": "organization"}],
        "severity": "Informational",
        "severity_id": 1,
        "time": 1741167255000_i64, // 2025-03-05T09:34:15.000Z
        "type_name": "Group Management: Add User",
        "type_uid": 300603,
        "user": {"name": "new-hire", "uid": "1000777"}
    });
    assert_eq!(
        golden(Format::GitHub, "github/team_add_member.json"),
        vec![want]
    );
}

#[test]
fn github_promotion_to_org_admin_assigns_privileges() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Assign Privileges",
        "actor": {"user": {"name": "octo-admin"}},
        "api": {"operation": "org.update_member"},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Group Management",
        "class_uid": 3006,
        "group": {"name": "example-org"},
        "metadata": {
            "evident": {"format": "github"},
            "product": {"name": "GitHub Audit Log", "vendor_name": "GitHub"},
            "version": "1.8.0"
        },
        "privileges": ["admin"],
        "resources": [{"name": "example-org", "type": "organization"}],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"location": {"country": "PT"}},
        "time": 1741168923456_i64, // 2025-03-05T10:02:03.456Z
        "type_name": "Group Management: Assign Privileges",
        "type_uid": 300601,
        "user": {"name": "new-hire"}
    });
    assert_eq!(
        golden(Format::GitHub, "github/org_update_member_admin.json"),
        vec![want]
    );
}

#[test]
fn github_clone_is_a_read_by_the_stream_operation_type() {
    let want = json!({
        "activity_id": 2,
        "activity_name": "Read",
        "actor": {"user": {"name": "dev-one", "uid": "1000123"}},
        "api": {"operation": "git.clone"},
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "http_request": {"user_agent": "git/2.47.0"},
        "metadata": {
            "evident": {"format": "github"},
            "product": {"name": "GitHub Audit Log", "vendor_name": "GitHub"},
            "uid": "R2l0Q2xvbmVEb2NJZDAwMQ==",
            "version": "1.8.0"
        },
        "resources": [
            {"name": "example-corp", "type": "enterprise"},
            {"name": "example-org", "type": "organization"},
            {"name": "example-org/payments-api", "type": "repository"}
        ],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "2001:db8::42", "location": {"country": "DE"}},
        "time": 1741169001777_i64, // 2025-03-05T10:03:21.777Z
        "type_name": "API Activity: Read",
        "type_uid": 600302
    });
    assert_eq!(golden(Format::GitHub, "github/git_clone.json"), vec![want]);
}

#[test]
fn github_saml_identity_is_the_actors_email() {
    let record = br#"{"@timestamp":1764150000000,"action":"git.clone","actor":"fwalsh-nw","actor_id":77,"external_identity_nameid":"farah.walsh@northwind.example","repo":"northwind-labs/platform"}"#;
    let e = &parse(Format::GitHub, record)[0];
    assert_eq!(
        e["actor"]["user"],
        json!({"name": "fwalsh-nw", "uid": "77", "email_addr": "farah.walsh@northwind.example"})
    );
    // A NameID that is not an address (an opaque IdP id) is not an e-mail.
    let opaque = br#"{"@timestamp":1764150000000,"action":"git.clone","actor":"x","external_identity_nameid":"00u1abcd"}"#;
    assert_eq!(
        parse(Format::GitHub, opaque)[0]["actor"]["user"],
        json!({"name": "x"})
    );
}

#[test]
fn github_destroy_is_a_delete() {
    let want = json!({
        "activity_id": 4,
        "activity_name": "Delete",
        "actor": {"user": {"name": "dev-one"}},
        "api": {"operation": "hook.destroy"},
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "metadata": {
            "evident": {"format": "github"},
            "product": {"name": "GitHub Audit Log", "vendor_name": "GitHub"},
            "version": "1.8.0"
        },
        "resources": [
            {"name": "example-org", "type": "organization"},
            {"name": "example-org/payments-api", "type": "repository"}
        ],
        "severity": "Informational",
        "severity_id": 1,
        "time": 1741170000000_i64, // 2025-03-05T10:20:00.000Z
        "type_name": "API Activity: Delete",
        "type_uid": 600304
    });
    assert_eq!(
        golden(Format::GitHub, "github/hook_destroy.json"),
        vec![want]
    );
}

#[test]
fn azure_write_that_created_is_a_create_by_the_caller_in_the_claims() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "actor": {
            "app_uid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "user": {
                "email_addr": "ops.engineer@example.com",
                "full_name": "Ops Engineer",
                "name": "ops.engineer@example.com",
                "uid": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
            }
        },
        "api": {
            "operation": "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
            "service": {"name": "MICROSOFT.COMPUTE"}
        },
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "cloud": {
            "account": {"uid": "5A1B2C3D-0000-4E5F-8A9B-112233445566"},
            "provider": "Azure",
            "region": "westeurope"
        },
        "message": "Microsoft.Compute/virtualMachines/write",
        "metadata": {
            "correlation_uid": "6b1e2c3d-4f5a-4b6c-9d7e-8f9a0b1c2d3e",
            "evident": {"format": "azure-activity"},
            "log_name": "Administrative",
            "product": {"name": "Azure Monitor", "vendor_name": "Microsoft"},
            "version": "1.8.0"
        },
        "resources": [
            {
                "name": "APP-VM-01",
                "uid": "/SUBSCRIPTIONS/5A1B2C3D-0000-4E5F-8A9B-112233445566/RESOURCEGROUPS/APP-RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/APP-VM-01"
            }
        ],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "198.51.100.60"},
        "status": "Success",
        "status_code": "Succeeded.Created",
        "status_id": 1,
        "time": 1741173631776_i64, // 2025-03-05T11:20:31.776Z
        "type_name": "API Activity: Create",
        "type_uid": 600301
    });
    assert_eq!(
        golden(
            Format::AzureActivity,
            "azure-activity/vm_write_created.json"
        ),
        vec![want]
    );
}

#[test]
fn azure_failed_delete_is_a_failure_at_high_severity() {
    let want = json!({
        "activity_id": 4,
        "activity_name": "Delete",
        "actor": {
            "user": {
                "email_addr": "intern@example.com",
                "name": "intern@example.com",
                "uid": "11112222-3333-4444-5555-666677778888"
            }
        },
        "api": {
            "operation": "Microsoft.Network/networkSecurityGroups/delete",
            "service": {"name": "Microsoft.Network"}
        },
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "cloud": {
            "account": {"uid": "5a1b2c3d-0000-4e5f-8a9b-112233445566"},
            "provider": "Azure",
            "region": "global"
        },
        "metadata": {
            "correlation_uid": "aa11bb22-cc33-4d44-9e55-ff6677889900",
            "evident": {"format": "azure-activity"},
            "log_name": "Administrative",
            "product": {"name": "Azure Monitor", "vendor_name": "Microsoft"},
            "version": "1.8.0"
        },
        "resources": [
            {
                "name": "web-nsg",
                "uid": "/subscriptions/5a1b2c3d-0000-4e5f-8a9b-112233445566/resourceGroups/net-rg/providers/Microsoft.Network/networkSecurityGroups/web-nsg"
            }
        ],
        "severity": "High",
        "severity_id": 4,
        "src_endpoint": {"ip": "203.0.113.9"},
        "status": "Failure",
        "status_code": "Failed.Forbidden",
        "status_detail": "The client does not have authorization to perform action 'Microsoft.Network/networkSecurityGroups/delete'.",
        "status_id": 2,
        "time": 1741176060000_i64, // 2025-03-05T12:01:00.000Z
        "type_name": "API Activity: Delete",
        "type_uid": 600304
    });
    assert_eq!(
        golden(
            Format::AzureActivity,
            "azure-activity/nsg_delete_failed.json"
        ),
        vec![want]
    );
}

#[test]
fn azure_rest_api_entry_reads_value_objects() {
    let want = json!({
        "activity_id": 4,
        "activity_name": "Delete",
        "actor": {
            "app_uid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            "user": {"email_addr": "ops.engineer@example.com", "name": "ops.engineer@example.com"}
        },
        "api": {
            "operation": "Microsoft.KeyVault/vaults/delete",
            "service": {"name": "Microsoft.KeyVault"}
        },
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "cloud": {"account": {"uid": "5a1b2c3d-0000-4e5f-8a9b-112233445566"}, "provider": "Azure"},
        "http_request": {"http_method": "DELETE"},
        "metadata": {
            "correlation_uid": "f0e1d2c3-b4a5-4697-8a8b-9c0d1e2f3a4b",
            "evident": {"format": "azure-activity"},
            "log_name": "Administrative",
            "product": {"name": "Azure Monitor", "vendor_name": "Microsoft"},
            "uid": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            "version": "1.8.0"
        },
        "resources": [
            {
                "name": "app-secrets",
                "uid": "/subscriptions/5a1b2c3d-0000-4e5f-8a9b-112233445566/resourceGroups/sec-rg/providers/Microsoft.KeyVault/vaults/app-secrets"
            }
        ],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "198.51.100.60"},
        "status": "Success",
        "status_detail": "OK",
        "status_id": 1,
        "time": 1741180455161_i64, // 2025-03-05T13:14:15.161Z
        "type_name": "API Activity: Delete",
        "type_uid": 600304
    });
    assert_eq!(
        golden(Format::AzureActivity, "azure-activity/rest_list_entry.json"),
        vec![want]
    );
}

#[test]
fn azure_storage_read_splits_the_port_off_the_caller() {
    let want = json!({
        "activity_id": 2,
        "activity_name": "Read",
        "actor": {
            "app_uid": "691458b9-1327-4635-9f55-ed83a7f1b41c",
            "user": {
                "name": "ops.engineer@example.com",
                "uid": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
            }
        },
        "api": {"operation": "GetBlob", "service": {"name": "blob"}},
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "cloud": {
            "account": {"uid": "5a1b2c3d-0000-4e5f-8a9b-112233445566"},
            "provider": "Azure",
            "region": "westeurope"
        },
        "http_request": {
            "url": {
                "url_string": "https://exampledata.blob.core.windows.net/exports/customers-2025-03.csv"
            },
            "user_agent": "azsdk-python-storage-blob/12.19.0 Python/3.12.2"
        },
        "metadata": {
            "correlation_uid": "b7c8d9e0-001e-0042-1a2b-3c4d5e000000",
            "evident": {"format": "azure-activity"},
            "log_name": "StorageRead",
            "product": {"name": "Azure Monitor", "vendor_name": "Microsoft"},
            "version": "1.8.0"
        },
        "resources": [{"name": "exampledata", "uid": "/exampledata/exports/customers-2025-03.csv"}],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "203.0.113.200", "port": 51234},
        "status": "Success",
        "status_code": "200",
        "status_id": 1,
        "time": 1741183201123_i64, // 2025-03-05T14:00:01.123Z
        "type_name": "API Activity: Read",
        "type_uid": 600302
    });
    assert_eq!(
        golden(
            Format::AzureActivity,
            "azure-activity/storage_get_blob.json"
        ),
        vec![want]
    );
}

#[test]
fn azure_aks_kube_audit_maps_the_embedded_event() {
    let want = json!({
        "activity_id": 4,
        "activity_name": "Delete",
        "actor": {
            "user": {
                "name": "ops.engineer@example.com",
                "uid": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
            }
        },
        "api": {
            "operation": "delete",
            "request": {"uid": "4f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8"},
            "service": {"name": "kube-apiserver"}
        },
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "cloud": {"account": {"uid": "5A1B2C3D-0000-4E5F-8A9B-112233445566"}, "provider": "Azure"},
        "http_request": {
            "url": {"path": "/api/v1/namespaces/payments/secrets/db-credentials"},
            "user_agent": "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
        },
        "metadata": {
            "evident": {"format": "azure-activity"},
            "log_name": "kube-audit",
            "product": {"name": "Azure Monitor", "vendor_name": "Microsoft"},
            "uid": "4f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8",
            "version": "1.8.0"
        },
        "resources": [{"name": "db-credentials", "namespace": "payments", "type": "secrets"}],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "198.51.100.60"},
        "status": "Success",
        "status_code": "200",
        "status_id": 1,
        "time": 1741188600150_i64, // 2025-03-05T15:30:00.150Z
        "type_name": "API Activity: Delete",
        "type_uid": 600304
    });
    assert_eq!(
        golden(
            Format::AzureActivity,
            "azure-activity/kube_audit_delete_secret.json"
        ),
        vec![want]
    );
}

#[test]
fn entra_audit_add_member_to_group() {
    let want = json!({
        "activity_id": 3,
        "activity_name": "Add User",
        "actor": {
            "user": {
                "email_addr": "it.admin@example.com",
                "name": "it.admin@example.com",
                "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
            }
        },
        "api": {"operation": "Add member to group", "service": {"name": "Core Directory"}},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Group Management",
        "class_uid": 3006,
        "cloud": {"provider": "Azure"},
        "group": {"name": "Finance Approvers", "uid": "7d6c5b4a-3f2e-4d1c-0b9a-8f7e6d5c4b3a"},
        "message": "Add member to group",
        "metadata": {
            "correlation_uid": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
            "evident": {"format": "azure-audit"},
            "log_name": "AuditLogs",
            "product": {"name": "Microsoft Entra ID", "vendor_name": "Microsoft"},
            "uid": "Directory_3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7_ABC12_12345678",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "192.0.2.10"},
        "status": "Success",
        "status_id": 1,
        "time": 1741166122445_i64, // 2025-03-05T09:15:22.445Z
        "type_name": "Group Management: Add User",
        "type_uid": 300603,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "name": "maria.lopez@example.com",
            "uid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
        }
    });
    assert_eq!(
        golden(Format::AzureAudit, "azure-audit/add_member_to_group.json"),
        vec![want]
    );
}

#[test]
fn entra_audit_role_membership_assigns_the_role() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Assign Privileges",
        "actor": {
            "user": {
                "email_addr": "it.admin@example.com",
                "full_name": "IT Admin",
                "name": "it.admin@example.com",
                "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
            }
        },
        "api": {"operation": "Add member to role", "service": {"name": "Core Directory"}},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Group Management",
        "class_uid": 3006,
        "cloud": {"provider": "Azure"},
        "message": "Add member to role",
        "metadata": {
            "correlation_uid": "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
            "evident": {"format": "azure-audit"},
            "product": {"name": "Microsoft Entra ID", "vendor_name": "Microsoft"},
            "uid": "Directory_0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d_XYZ98_87654321",
            "version": "1.8.0"
        },
        "privileges": ["Global Administrator"],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "192.0.2.10"},
        "status": "Success",
        "status_id": 1,
        "time": 1741171500123_i64, // 2025-03-05T10:45:00.123Z
        "type_name": "Group Management: Assign Privileges",
        "type_uid": 300601,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
        }
    });
    assert_eq!(
        golden(
            Format::AzureAudit,
            "azure-audit/add_member_to_role_graph.json"
        ),
        vec![want]
    );
}

#[test]
fn entra_audit_failed_admin_password_reset() {
    let want = json!({
        "activity_id": 4,
        "activity_name": "Password Reset",
        "actor": {
            "user": {
                "email_addr": "it.admin@example.com",
                "name": "it.admin@example.com",
                "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
            }
        },
        "api": {
            "operation": "Reset password (by admin)",
            "service": {"name": "Self-service Password Management"}
        },
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Account Change",
        "class_uid": 3001,
        "cloud": {"provider": "Azure"},
        "message": "Reset password (by admin)",
        "metadata": {
            "correlation_uid": "5b6c7d8e-9f0a-4b1c-2d3e-4f5a6b7c8d9e",
            "evident": {"format": "azure-audit"},
            "log_name": "AuditLogs",
            "product": {"name": "Microsoft Entra ID", "vendor_name": "Microsoft"},
            "uid": "SSGM_5b6c7d8e-9f0a-4b1c-2d3e-4f5a6b7c8d9e_1",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "192.0.2.10"},
        "status": "Failure",
        "status_detail": "Password does not meet complexity requirements",
        "status_id": 2,
        "time": 1741172405000_i64, // 2025-03-05T11:00:05.000Z
        "type_name": "Account Change: Password Reset",
        "type_uid": 300104,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
        }
    });
    assert_eq!(
        golden(Format::AzureAudit, "azure-audit/reset_password.json"),
        vec![want]
    );
}

#[test]
fn entra_audit_update_user_disabling_the_account_is_a_disable() {
    let want = json!({
        "activity_id": 5,
        "activity_name": "Disable",
        "actor": {"app_name": "Microsoft Azure AD Connect"},
        "api": {"operation": "Update user", "service": {"name": "Core Directory"}},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Account Change",
        "class_uid": 3001,
        "cloud": {"provider": "Azure"},
        "message": "Update user",
        "metadata": {
            "correlation_uid": "4c5d6e7f-8a9b-4c0d-1e2f-3a4b5c6d7e8f",
            "evident": {"format": "azure-audit"},
            "product": {"name": "Microsoft Entra ID", "vendor_name": "Microsoft"},
            "uid": "Directory_4c5d6e7f-8a9b-4c0d-1e2f-3a4b5c6d7e8f_QRS45_11223344",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "status": "Success",
        "status_id": 1,
        "time": 1741283160000_i64, // 2025-03-06T17:46:00.000Z
        "type_name": "Account Change: Disable",
        "type_uid": 300105,
        "user": {
            "email_addr": "departed.contractor@example.com",
            "full_name": "Departed Contractor",
            "name": "departed.contractor@example.com",
            "uid": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
        }
    });
    assert_eq!(
        golden(
            Format::AzureAudit,
            "azure-audit/update_user_disabled_graph.json"
        ),
        vec![want]
    );
}

#[test]
fn entra_sign_in_with_mfa_succeeds() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Logon",
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Authentication",
        "class_uid": 3002,
        "cloud": {"provider": "Azure"},
        "device": {"os": {"name": "MacOs"}},
        "http_request": {
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"
        },
        "is_mfa": true,
        "metadata": {
            "correlation_uid": "d79f5bee-5860-4832-928f-3133e22ae912",
            "evident": {"format": "entra-signin"},
            "product": {"name": "Microsoft Entra ID", "vendor_name": "Microsoft"},
            "uid": "66ea54eb-6301-4ee5-be62-ff5a759b0100",
            "version": "1.8.0"
        },
        "service": {
            "name": "Office 365 Exchange Online",
            "uid": "00000002-0000-0ff1-ce00-000000000000"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {
            "ip": "198.51.100.23",
            "location": {"city": "Lisbon", "country": "PT", "region": "Lisboa"}
        },
        "status": "Success",
        "status_id": 1,
        "time": 1741161662000_i64, // 2025-03-05T08:01:02.000Z
        "type_name": "Authentication: Logon",
        "type_uid": 300201,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
        }
    });
    assert_eq!(
        golden(Format::EntraSignin, "entra-signin/signin_mfa_success.json"),
        vec![want]
    );
}

#[test]
fn entra_failed_risky_sign_in_is_a_failure_at_the_risk_severity() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Logon",
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Authentication",
        "class_uid": 3002,
        "cloud": {"provider": "Azure"},
        "device": {"os": {"name": "Linux"}},
        "http_request": {"user_agent": "python-requests/2.32.3"},
        "is_mfa": false,
        "metadata": {
            "correlation_uid": "e8f9a0b1-c2d3-4e4f-5a6b-7c8d9e0f1a2b",
            "evident": {"format": "entra-signin"},
            "product": {"name": "Microsoft Entra ID", "vendor_name": "Microsoft"},
            "uid": "b3c4d5e6-f7a8-4b9c-0d1e-2f3a4b5c6d7e",
            "version": "1.8.0"
        },
        "service": {"name": "Azure Portal", "uid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"},
        "severity": "Medium",
        "severity_id": 3,
        "src_endpoint": {
            "ip": "203.0.113.77",
            "location": {"city": "Frankfurt am Main", "country": "DE", "region": "Hessen"}
        },
        "status": "Failure",
        "status_code": "50126",
        "status_detail": "Error validating credentials due to invalid username or password.",
        "status_id": 2,
        "time": 1741162844512_i64, // 2025-03-05T08:20:44.512Z
        "type_name": "Authentication: Logon",
        "type_uid": 300201,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
        }
    });
    assert_eq!(
        golden(
            Format::EntraSignin,
            "entra-signin/signin_failure_risky.json"
        ),
        vec![want]
    );
}

#[test]
fn entra_sign_in_in_the_diagnostic_envelope() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Logon",
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Authentication",
        "class_uid": 3002,
        "cloud": {"provider": "Azure"},
        "is_mfa": false,
        "metadata": {
            "correlation_uid": "a1a2a3a4-b5b6-4c7c-8d9d-0e1e2f3f4a5a",
            "evident": {"format": "entra-signin"},
            "log_name": "NonInteractiveUserSignInLogs",
            "product": {"name": "Microsoft Entra ID", "vendor_name": "Microsoft"},
            "uid": "c0c1c2c3-d4d5-4e6e-7f8f-9a0a1b2b3c4c",
            "version": "1.8.0"
        },
        "service": {"name": "Microsoft Office", "uid": "d3590ed6-52b3-4102-aeff-aad2292ab01c"},
        "session": {"uid": "5f6e7d8c-9b0a-4c1d-2e3f-4a5b6c7d8e9f"},
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "198.51.100.23"},
        "status": "Success",
        "status_id": 1,
        "time": 1741163469987_i64, // 2025-03-05T08:31:09.987Z
        "type_name": "Authentication: Logon",
        "type_uid": 300201,
        "user": {
            "email_addr": "maria.lopez@example.com",
            "full_name": "Maria Lopez",
            "name": "maria.lopez@example.com",
            "uid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
        }
    });
    assert_eq!(
        golden(Format::EntraSignin, "entra-signin/signin_envelope.json"),
        vec![want]
    );
}

#[test]
fn gcp_set_iam_policy_lists_the_roles_added() {
    let want = json!({
        "activity_id": 3,
        "activity_name": "Update",
        "actor": {
            "user": {
                "email_addr": "ops.engineer@example.com",
                "name": "ops.engineer@example.com",
                "uid": "user:ops.engineer@example.com"
            }
        },
        "api": {
            "operation": "SetIamPolicy",
            "service": {"name": "cloudresourcemanager.googleapis.com"}
        },
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "cloud": {"project_uid": "example-prod", "provider": "GCP"},
        "http_request": {
            "user_agent": "google-cloud-sdk gcloud/512.0.0 command/gcloud.projects.add-iam-policy-binding"
        },
        "metadata": {
            "evident": {"format": "gcp-audit"},
            "log_name": "projects/example-prod/logs/cloudaudit.googleapis.com%2Factivity",
            "product": {"name": "Cloud Audit Logs", "vendor_name": "Google"},
            "uid": "1a2b3c4d5e6f",
            "version": "1.8.0"
        },
        "privileges": ["roles/owner", "roles/iam.securityAdmin"],
        "resources": [{"type": "project", "uid": "projects/example-prod"}],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "198.51.100.60"},
        "status": "Success",
        "status_id": 1,
        "time": 1741190400098_i64, // 2025-03-05T16:00:00.098Z
        "type_name": "API Activity: Update",
        "type_uid": 600303
    });
    assert_eq!(
        golden(Format::GcpAudit, "gcp-audit/set_iam_policy_owner.json"),
        vec![want]
    );
}

#[test]
fn gcp_denied_insert_is_a_failed_create() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "actor": {
            "user": {
                "email_addr": "ci-runner@example-prod.iam.gserviceaccount.com",
                "name": "ci-runner@example-prod.iam.gserviceaccount.com"
            }
        },
        "api": {
            "operation": "v1.compute.instances.insert",
            "service": {"name": "compute.googleapis.com"}
        },
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "cloud": {"project_uid": "example-prod", "provider": "GCP", "region": "europe-west1-b"},
        "http_request": {"user_agent": "google-api-go-client/0.5 Terraform/1.9.8"},
        "metadata": {
            "correlation_uid": "operation-1741191011000-62f0a1b2c3d4e-5f6a7b8c-9d0e1f2a",
            "evident": {"format": "gcp-audit"},
            "log_name": "projects/example-prod/logs/cloudaudit.googleapis.com%2Factivity",
            "product": {"name": "Cloud Audit Logs", "vendor_name": "Google"},
            "uid": "-x1y2z3w4v5u6",
            "version": "1.8.0"
        },
        "resources": [
            {
                "type": "gce_instance",
                "uid": "projects/example-prod/zones/europe-west1-b/instances/miner-1"
            }
        ],
        "severity": "High",
        "severity_id": 4,
        "src_endpoint": {"ip": "203.0.113.99"},
        "status": "Failure",
        "status_code": "7",
        "status_detail": "Required 'compute.instances.create' permission for 'projects/example-prod/zones/europe-west1-b/instances/miner-1'",
        "status_id": 2,
        "time": 1741191011500_i64, // 2025-03-05T16:10:11.500Z
        "type_name": "API Activity: Create",
        "type_uid": 600301
    });
    assert_eq!(
        golden(Format::GcpAudit, "gcp-audit/instance_insert_denied.json"),
        vec![want]
    );
}

#[test]
fn gcp_gke_secret_get_is_a_read() {
    let want = json!({
        "activity_id": 2,
        "activity_name": "Read",
        "actor": {"user": {"email_addr": "dev-one@example.com", "name": "dev-one@example.com"}},
        "api": {"operation": "io.k8s.core.v1.secrets.get", "service": {"name": "k8s.io"}},
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "cloud": {"project_uid": "example-prod", "provider": "GCP", "region": "europe-west1"},
        "http_request": {"user_agent": "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46"},
        "metadata": {
            "correlation_uid": "5c6d7e8f-9a0b-4c1d-2e3f-4a5b6c7d8e9f",
            "evident": {"format": "gcp-audit"},
            "log_name": "projects/example-prod/logs/cloudaudit.googleapis.com%2Fdata_access",
            "product": {"name": "Cloud Audit Logs", "vendor_name": "Google"},
            "uid": "5c6d7e8f-9a0b-4c1d-2e3f-4a5b6c7d8e9f",
            "version": "1.8.0"
        },
        "resources": [
            {"type": "k8s_cluster", "uid": "core/v1/namespaces/payments/secrets/db-credentials"}
        ],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "198.51.100.61"},
        "status": "Success",
        "status_id": 1,
        "time": 1741191600000_i64, // 2025-03-05T16:20:00.000Z
        "type_name": "API Activity: Read",
        "type_uid": 600302
    });
    assert_eq!(
        golden(Format::GcpAudit, "gcp-audit/gke_secret_get.json"),
        vec![want]
    );
}

#[test]
fn workspace_login_failure_is_a_failed_logon() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Logon",
        "actor": {
            "user": {
                "email_addr": "maria.lopez@example.com",
                "name": "maria.lopez@example.com",
                "uid": "114511147312345678901"
            }
        },
        "api": {"operation": "login_failure", "service": {"name": "login"}},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Authentication",
        "class_uid": 3002,
        "is_mfa": false,
        "metadata": {
            "evident": {"format": "google-workspace"},
            "log_name": "login",
            "product": {"name": "Google Workspace", "vendor_name": "Google"},
            "uid": "-4417823470211234567",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "203.0.113.77"},
        "status": "Failure",
        "status_detail": "login_failure_invalid_password",
        "status_id": 2,
        "time": 1741161598123_i64, // 2025-03-05T07:59:58.123Z
        "type_name": "Authentication: Logon",
        "type_uid": 300201,
        "user": {"email_addr": "maria.lopez@example.com", "name": "maria.lopez@example.com"}
    });
    assert_eq!(
        golden(
            Format::GoogleWorkspace,
            "google-workspace/login_failure.json"
        ),
        vec![want]
    );
}

#[test]
fn workspace_login_with_a_second_factor_is_mfa() {
    let want = json!({
        "activity_id": 1,
        "activity_name": "Logon",
        "actor": {
            "user": {
                "email_addr": "maria.lopez@example.com",
                "name": "maria.lopez@example.com",
                "uid": "114511147312345678901"
            }
        },
        "api": {"operation": "login_success", "service": {"name": "login"}},
        "category_name": "Identity & Access Management",
        "category_uid": 3,
        "class_name": "Authentication",
        "class_uid": 3002,
        "is_mfa": true,
        "metadata": {
            "evident": {"format": "google-workspace"},
            "log_name": "login",
            "product": {"name": "Google Workspace", "vendor_name": "Google"},
            "uid": "6107523946123456789",
            "version": "1.8.0"
        },
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "198.51.100.23"},
        "status": "Success",
        "status_id": 1,
        "time": 1741161640500_i64, // 2025-03-05T08:00:40.500Z
        "type_name": "Authentication: Logon",
        "type_uid": 300201,
        "user": {"email_addr": "maria.lopez@example.com", "name": "maria.lopez@example.com"}
    });
    assert_eq!(
        golden(
            Format::GoogleWorkspace,
            "google-workspace/login_success_2sv.json"
        ),
        vec![want]
    );
}

#[test]
fn workspace_activity_with_two_events_gives_two_events() {
    let want = vec![
        json!({
            "activity_id": 3,
            "activity_name": "Add User",
            "actor": {
                "user": {
                    "email_addr": "it.admin@example.com",
                    "name": "it.admin@example.com",
                    "uid": "100200300400500600700"
                }
            },
            "api": {"operation": "ADD_GROUP_MEMBER", "service": {"name": "admin"}},
            "category_name": "Identity & Access Management",
            "category_uid": 3,
            "class_name": "Group Management",
            "class_uid": 3006,
            "group": {"name": "finance-approvers@example.com"},
            "metadata": {
                "evident": {"format": "google-workspace"},
                "log_name": "admin",
                "product": {"name": "Google Workspace", "vendor_name": "Google"},
                "uid": "-1234509876543210987",
                "version": "1.8.0"
            },
            "severity": "Informational",
            "severity_id": 1,
            "src_endpoint": {"ip": "192.0.2.10"},
            "time": 1741167600000_i64, // 2025-03-05T09:40:00.000Z
            "type_name": "Group Management: Add User",
            "type_uid": 300603,
            "user": {"email_addr": "maria.lopez@example.com", "name": "maria.lopez@example.com"}
        }),
        json!({
            "activity_id": 1,
            "activity_name": "Assign Privileges",
            "actor": {
                "user": {
                    "email_addr": "it.admin@example.com",
                    "name": "it.admin@example.com",
                    "uid": "100200300400500600700"
                }
            },
            "api": {"operation": "ASSIGN_ROLE", "service": {"name": "admin"}},
            "category_name": "Identity & Access Management",
            "category_uid": 3,
            "class_name": "Group Management",
            "class_uid": 3006,
            "metadata": {
                "evident": {"format": "google-workspace"},
                "log_name": "admin",
                "product": {"name": "Google Workspace", "vendor_name": "Google"},
                "uid": "-1234509876543210987",
                "version": "1.8.0"
            },
            "privileges": ["_SEED_ADMIN_ROLE"],
            "severity": "Informational",
            "severity_id": 1,
            "src_endpoint": {"ip": "192.0.2.10"},
            "time": 1741167600000_i64, // 2025-03-05T09:40:00.000Z
            "type_name": "Group Management: Assign Privileges",
            "type_uid": 300601,
            "user": {"email_addr": "maria.lopez@example.com", "name": "maria.lopez@example.com"}
        }),
    ];
    assert_eq!(
        golden(
            Format::GoogleWorkspace,
            "google-workspace/admin_group_and_role.json"
        ),
        want
    );
}

#[test]
fn workspace_flattened_drive_download_is_a_read() {
    let want = json!({
        "activity_id": 2,
        "activity_name": "Read",
        "actor": {
            "user": {
                "email_addr": "dev-one@example.com",
                "name": "dev-one@example.com",
                "uid": "118811881188118811881"
            }
        },
        "api": {"operation": "download", "service": {"name": "drive"}},
        "category_name": "Application Activity",
        "category_uid": 6,
        "class_name": "API Activity",
        "class_uid": 6003,
        "metadata": {
            "evident": {"format": "google-workspace"},
            "log_name": "drive",
            "product": {"name": "Google Workspace", "vendor_name": "Google"},
            "uid": "3141592653589793238",
            "version": "1.8.0"
        },
        "resources": [
            {
                "name": "Customer list Q1",
                "type": "spreadsheet",
                "uid": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
            }
        ],
        "severity": "Informational",
        "severity_id": 1,
        "src_endpoint": {"ip": "198.51.100.61"},
        "time": 1741169105555_i64, // 2025-03-05T10:05:05.555Z
        "type_name": "API Activity: Read",
        "type_uid": 600302
    });
    assert_eq!(
        golden(
            Format::GoogleWorkspace,
            "google-workspace/drive_download_flat.json"
        ),
        vec![want]
    );
}
// Shared behaviour.

#[test]
fn the_sign_in_envelope_maps_the_same_as_part_of_the_entra_audit_stream() {
    let record = fixture("entra-signin/signin_envelope.json");
    assert_eq!(detect(&record), Some(Format::AzureAudit));
    let mut as_audit = parse(Format::AzureAudit, &record);
    let as_sign_in = parse(Format::EntraSignin, &record);
    assert_eq!(as_audit[0]["metadata"]["evident"]["format"], "azure-audit");
    as_audit[0]["metadata"]["evident"]["format"] = json!("entra-signin");
    assert_eq!(as_audit, as_sign_in);
}

#[test]
fn unmapped_holds_the_whole_vendor_object() {
    let record = fixture("okta/auth_via_mfa.json");
    let vendor: Value = serde_json::from_slice(&record).unwrap();
    let events = parse(Format::Okta, &record);
    assert_eq!(events[0]["unmapped"], vendor);

    // Every event of a multi-event activity carries the whole activity.
    let record = fixture("google-workspace/admin_group_and_role.json");
    let vendor: Value = serde_json::from_slice(&record).unwrap();
    let events = parse(Format::GoogleWorkspace, &record);
    assert_eq!(events.len(), 2);
    for e in &events {
        assert_eq!(e["unmapped"], vendor);
    }

    // Lower-cased keys stay as the vendor wrote them.
    let record = fixture("okta/api_token_create_lowercase.json");
    let events = parse(Format::Okta, &record);
    assert_eq!(
        events[0]["unmapped"]["eventtype"],
        "system.api_token.create"
    );
}

#[test]
fn records_without_a_usable_time_take_the_receive_time() {
    for (format, record) in [
        (
            Format::Okta,
            r#"{"eventType": "user.session.start", "published": "redacted"}"#,
        ),
        (
            Format::GitHub,
            r#"{"action": "repo.create", "actor": "octocat"}"#,
        ),
        (
            Format::AzureActivity,
            r#"{"operationName": "Microsoft.Compute/disks/read", "category": "Administrative"}"#,
        ),
        (
            Format::AzureAudit,
            r#"{"activityDisplayName": "Add user", "loggedByService": "Core Directory"}"#,
        ),
        (
            Format::EntraSignin,
            r#"{"userPrincipalName": "a@example.com", "status": {"errorCode": 0}}"#,
        ),
        (
            Format::GcpAudit,
            r#"{"protoPayload": {"methodName": "storage.objects.get"}}"#,
        ),
        (
            Format::GoogleWorkspace,
            r#"{"id": {"applicationName": "login"}, "events": [{"name": "logout"}]}"#,
        ),
    ] {
        let events = parse(format, record.as_bytes());
        assert_eq!(events[0]["time"], RECEIVED_MS, "{format:?}");
    }
}

#[test]
fn partial_records_still_map_what_they_hold() {
    // Panther-style partial test records: a bare event type, method or action.
    let okta = parse(Format::Okta, br#"{"eventType": "user.account.lock"}"#);
    assert_eq!(
        (okta[0]["class_uid"].clone(), okta[0]["activity_id"].clone()),
        (json!(3001), json!(9))
    );
    let gcp = parse(
        Format::GcpAudit,
        br#"{"methodName": "v1.compute.firewalls.delete"}"#,
    );
    assert_eq!(
        (gcp[0]["class_uid"].clone(), gcp[0]["activity_id"].clone()),
        (json!(6003), json!(4))
    );
    let github = parse(
        Format::GitHub,
        br#"{"action": "repo.remove_member", "user": "bob", "repo": "o/r"}"#,
    );
    assert_eq!(github[0]["type_uid"], 300604);
    assert_eq!(github[0]["group"]["name"], "o/r");
    // The action's verb wins over the stream's coarser operation type.
    let push = parse(
        Format::GitHub,
        br#"{"action": "git.push", "operation_type": "access"}"#,
    );
    assert_eq!(push[0]["type_uid"], 600303);
    let run = parse(
        Format::GitHub,
        br#"{"action": "workflows.completed_workflow_run", "operation_type": "modify"}"#,
    );
    assert_eq!(run[0]["type_uid"], 600303);
    // An empty Workspace record is one event of unknown activity, not an error.
    let workspace = parse(Format::GoogleWorkspace, b"{}");
    assert_eq!(
        (workspace.len(), workspace[0]["type_uid"].clone()),
        (1, json!(600300))
    );
}

// Detection.

#[test]
fn every_fixture_is_detected_as_its_format() {
    let dirs = [
        ("okta", Format::Okta),
        ("github", Format::GitHub),
        ("azure-activity", Format::AzureActivity),
        ("azure-audit", Format::AzureAudit),
        ("entra-signin", Format::EntraSignin),
        ("gcp-audit", Format::GcpAudit),
        ("google-workspace", Format::GoogleWorkspace),
    ];
    for (dir, format) in dirs {
        let path = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(&path).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            // The wrapped sign-in belongs to the Entra diagnostic stream (tested above).
            let want = if name == "signin_envelope.json" {
                Format::AzureAudit
            } else {
                format
            };
            assert_eq!(
                detect(&fixture(&format!("{dir}/{name}"))),
                Some(want),
                "{dir}/{name}"
            );
        }
    }
}

#[test]
fn detection_uses_the_vendors_own_keys() {
    for (record, want) in [
        // Okta: eventType with an Okta-only companion, or only LogEvent keys.
        (
            r#"{"eventType": "user.session.start", "actor": {"alternateId": "a@example.com"}}"#,
            Format::Okta,
        ),
        (r#"{"eventType": "logout"}"#, Format::Okta),
        // GitHub: a dotted action, or GitHub's keys beside a plain one.
        (
            r#"{"action": "repository_vulnerability_alert.dismiss"}"#,
            Format::GitHub,
        ),
        (
            r#"{"action": "invite_member", "actor": "octocat", "org": "example-org"}"#,
            Format::GitHub,
        ),
        // Azure: operationName and an envelope key; Entra categories go to the audit stream.
        (
            r#"{"operationName": "GetBlob", "category": "StorageRead"}"#,
            Format::AzureActivity,
        ),
        (
            r#"{"operationName": "Update user", "category": "AuditLogs", "properties": {}}"#,
            Format::AzureAudit,
        ),
        (
            r#"{"operationName": "Sign-in activity", "category": "SignInLogs", "properties": {}}"#,
            Format::AzureAudit,
        ),
        (
            r#"{"activityDisplayName": "Add user", "initiatedBy": {}, "targetResources": []}"#,
            Format::AzureAudit,
        ),
        (
            r#"{"createdDateTime": "2025-03-05T08:01:02Z", "userPrincipalName": "a@example.com", "status": {"errorCode": 0}}"#,
            Format::EntraSignin,
        ),
        // GCP: protoPayload, an audit log name, or LogEntry keys only.
        (r#"{"protoPayload": {}}"#, Format::GcpAudit),
        (
            r#"{"logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity"}"#,
            Format::GcpAudit,
        ),
        (
            r#"{"methodName": "v1.compute.firewalls.insert"}"#,
            Format::GcpAudit,
        ),
        (
            r#"{"operation": {"producer": "compute.googleapis.com"}, "p_enrichment": {}}"#,
            Format::GcpAudit,
        ),
        // Workspace: the activity kind or the reporting application.
        (
            r#"{"kind": "admin#reports#activity"}"#,
            Format::GoogleWorkspace,
        ),
        (
            r#"{"id": {"applicationName": "drive"}, "name": "view"}"#,
            Format::GoogleWorkspace,
        ),
    ] {
        assert_eq!(detect(record.as_bytes()), Some(want), "{record}");
    }
}

#[test]
fn other_vendors_records_are_not_taken() {
    let others = [
        // CloudTrail has an eventType too.
        r#"{"eventVersion": "1.08", "userIdentity": {"type": "IAMUser", "userName": "alice"}, "eventTime": "2025-03-05T10:00:00Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.1", "eventType": "AwsApiCall", "recipientAccountId": "123456789012"}"#,
        // Slack: action (dotted here) and actor, but the actor is an object.
        r#"{"id": "0123a45b-6c7d-8e9f-0a1b-2c3d4e5f6a7b", "date_create": 1741170000, "action": "pref.sso_setting_changed", "actor": {"type": "user", "user": {"id": "W123", "name": "owner", "email": "owner@example.com"}}, "entity": {"type": "workspace", "workspace": {"id": "T123", "name": "example"}}, "context": {"ip_address": "198.51.100.2", "ua": "Mozilla/5.0"}}"#,
        // Zoom: action and operator.
        r#"{"time": "2025-03-05T10:00:00Z", "operator": "admin@example.com", "category_type": "User", "action": "Delete", "operation_detail": "Delete User bob@example.com"}"#,
        // Duo administrator log: action and username.
        r#"{"action": "user_update", "description": "{\"status\": \"Bypass\"}", "isotimestamp": "2025-03-05T10:00:00+00:00", "object": "bob", "timestamp": 1741168800, "username": "Admin Name"}"#,
        // Duo authentication log.
        r#"{"access_device": {"ip": "198.51.100.7"}, "application": {"name": "VPN"}, "event_type": "authentication", "factor": "duo_push", "result": "success", "timestamp": 1741168800, "user": {"name": "bob"}}"#,
        // Box: event_type and created_by, and a created_at like GitHub's.
        r#"{"type": "event", "event_id": "f1e2d3c4", "created_by": {"type": "user", "id": "123", "name": "Bob", "login": "bob@example.com"}, "created_at": "2025-03-05T10:00:00-08:00", "event_type": "LOGIN", "ip_address": "198.51.100.3"}"#,
        // MongoDB Atlas.
        r#"{"created": "2025-03-05T10:00:00Z", "eventTypeName": "JOINED_ORG", "id": "5f0a1b2c", "orgId": "5e0a1b2c", "remoteAddress": "198.51.100.4", "username": "bob@example.com"}"#,
        // Auth0.
        r#"{"log_id": "90020250305", "data": {"date": "2025-03-05T10:00:00.000Z", "type": "s", "description": "Successful login", "ip": "198.51.100.5", "user_name": "bob@example.com"}}"#,
        // OneLogin.
        r#"{"event_type_id": 5, "user_name": "Bob", "user_id": 123, "ipaddr": "198.51.100.6", "created_at": "2025-03-05T10:00:00Z"}"#,
        // Windows Security via winlogbeat: @timestamp, and action only under `event`.
        r#"{"@timestamp": "2025-03-05T10:00:00.000Z", "event": {"code": "4624", "action": "logged-in"}, "winlog": {"event_id": "4624", "channel": "Security"}, "host": {"name": "WS01"}}"#,
        // A generic application log.
        r#"{"time": "2025-03-05T10:00:00Z", "level": "info", "msg": "user signed in", "user": "bob"}"#,
        // Syslog text.
        "<34>1 2025-03-05T10:00:00Z host sshd 123 - - Accepted publickey for bob",
    ];
    for record in others {
        let got = detect(record.as_bytes());
        assert!(
            got.is_none_or(|f| !FORMATS.contains(&f)),
            "{got:?} took {record}"
        );
    }
}

// Malformed input.

#[test]
fn malformed_json_is_reported_with_serde_position() {
    for format in FORMATS {
        assert_eq!(
            parse_err(*format, r#"{"eventType": "user.session.start""#),
            "invalid JSON: EOF while parsing an object at line 1 column 34",
            "{format:?}"
        );
        assert_eq!(
            parse_err(*format, r#"["user.session.start"]"#),
            "expected a JSON object, found an array",
            "{format:?}"
        );
    }
    let bad_utf8 = Parser::new(Format::Okta).parse(b"{\"eventType\": \"user.\xff\"}", &ctx());
    assert_eq!(
        bad_utf8.unwrap_err().to_string(),
        "invalid JSON: invalid unicode code point at line 1 column 21"
    );
}

#[test]
fn missing_and_mistyped_fields_name_the_field() {
    for (format, record, want) in [
        (
            Format::Okta,
            r#"{"eventType": 42}"#,
            "field `eventType` should be a string",
        ),
        (
            Format::GitHub,
            r#"{"actor": "octocat", "org": "example-org"}"#,
            "missing field `action`",
        ),
        (
            Format::GitHub,
            r#"{"action": ["repo.create"]}"#,
            "field `action` should be a string",
        ),
        (
            Format::AzureActivity,
            r#"{"category": "Administrative", "resourceId": "/subscriptions/x"}"#,
            "missing field `operationName`",
        ),
        (
            Format::AzureActivity,
            r#"{"operationName": 7, "category": "Administrative"}"#,
            "field `operationName` should be a string or an object with a string `value`",
        ),
        (
            Format::AzureAudit,
            r#"{"category": "AuditLogs", "properties": {"result": "success"}}"#,
            "missing field `operationName`",
        ),
        (
            Format::AzureAudit,
            r#"{"initiatedBy": {"user": {}}}"#,
            "missing field `activityDisplayName`",
        ),
        (
            Format::EntraSignin,
            r#"{"createdDateTime": "2025-03-05T08:01:02Z", "userPrincipalName": "a@example.com", "status": "Success"}"#,
            "field `status` should be an object",
        ),
        (
            Format::AzureAudit,
            r#"{"operationName": "Sign-in activity", "category": "SignInLogs", "properties": {"status": 0}}"#,
            "field `properties.status` should be an object",
        ),
        (
            Format::GcpAudit,
            r#"{"protoPayload": "AuditLog"}"#,
            "field `protoPayload` should be an object",
        ),
        (
            Format::GcpAudit,
            r#"{"protoPayload": {"methodName": "SetIamPolicy", "status": "OK"}}"#,
            "field `protoPayload.status` should be an object",
        ),
        (
            Format::GoogleWorkspace,
            r#"{"kind": "admin#reports#activity", "events": {}}"#,
            "field `events` should be an array",
        ),
        (
            Format::GoogleWorkspace,
            r#"{"kind": "admin#reports#activity", "events": [{"name": "logout"}, "login_success"]}"#,
            "field `events[1]` should be an object",
        ),
    ] {
        assert_eq!(parse_err(format, record), want, "{format:?} {record}");
    }
}

#[test]
fn records_over_one_mebibyte_are_refused() {
    let mut record = br#"{"eventType": "user.session.start", "displayMessage": ""#.to_vec();
    record.resize(1_048_575, b'x');
    record.extend_from_slice(b"\"}");
    assert_eq!(record.len(), 1_048_577);
    for format in FORMATS {
        let err = Parser::new(*format).parse(&record, &ctx()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record of 1048577 bytes exceeds the parser limit of 1048576 bytes",
            "{format:?}"
        );
    }
}

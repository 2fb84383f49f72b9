//! AWS CloudTrail records, one event object each (the members of a log file's `Records` array).
//!
//! Three kinds of caller fill the trail: engineers through IAM Identity Center roles (CLI,
//! console and Terraform sessions of a few calls each, office hours), workloads through their
//! instance and deploy roles (S3, KMS and Secrets Manager around the clock, GitHub Actions
//! deploys after merges), and a few legacy IAM users who sign in to the console with MFA. The
//! planted incidents add a root sign-in, a sign-in without MFA, CloudTrail stopped and deleted,
//! and SSH opened to the world.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, FLAT, MINUTE, OFFICE, SECOND};
use crate::company::{
    AWS_ACCOUNT, AWS_REGION, Dept, GITHUB_ORG, INNER_HOSTS, NAT_PUBLIC_IP, Person,
};
use crate::json::{self, Obj};
use crate::{Rec, World, dice};

/// Interactive sessions (a burst of calls) per employee per weekday.
const HUMAN_SESSIONS: f64 = 0.6;
/// Workload calls per employee per day, around the clock.
const WORKLOAD_CALLS: f64 = 6.0;
/// GitHub Actions deploys per employee per weekday.
const DEPLOYS: f64 = 0.04;
/// Console sign-ins by legacy IAM users per employee per weekday.
const CONSOLE_LOGINS: f64 = 0.02;

const TRAIL: &str = "northwind-audit";
const UPLOADS_BUCKET: &str = "northwind-uploads-prod";
const ARTIFACTS_BUCKET: &str = "northwind-build-artifacts";
const APP_SECURITY_GROUP: &str = "sg-0a3f5c7e9b1d2f4a6";
const S3_ENDPOINT: &str = "vpce-0c1f7a3e5b9d24681";
const GITHUB_RUNNER_IP: &str = "192.0.2.210";

/// CloudTrail records for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let window = &world.window;
    for at in clock::scatter(rng, window, HUMAN_SESSIONS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &world.company.technical, at) {
            human_session(world, rng, &mut out, p, at);
        }
    }
    for at in clock::scatter(rng, window, WORKLOAD_CALLS * world.scale, &FLAT) {
        workload_call(rng, &mut out, at);
    }
    for at in clock::scatter(rng, window, DEPLOYS * world.scale, &OFFICE) {
        deploy(rng, &mut out, at);
    }
    for at in clock::scatter(rng, window, CONSOLE_LOGINS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &world.company.iam_users, at) {
            let failed = rng.random_bool(0.05);
            console_login(rng, &mut out, p, at, true, failed);
        }
    }
    if let Some(plan) = &world.plan {
        root_login(rng, &mut out, plan.root_login.at, &plan.root_login.ip);

        let act = plan.login_without_mfa;
        console_login(rng, &mut out, world.person(act.who), act.at, false, false);

        let act = plan.trail_stopped;
        let p = world.person(act.who);
        let id = Identity::sso(rng, p);
        let trail = format!("arn:aws:cloudtrail:{AWS_REGION}:{AWS_ACCOUNT}:trail/{TRAIL}");
        let params = json::object(|o| {
            o.str("name", &trail);
        });
        let agent = CLI_AGENTS[0];
        for (offset, name) in [
            (0, "StopLogging"),
            (rng.random_range(3..7) * MINUTE, "DeleteTrail"),
        ] {
            let api = Api::write("cloudtrail.amazonaws.com", name, Some(params.clone()), None);
            out.push(write(
                rng,
                &Call::new(act.at + offset, &id, &api, &p.public_ip, agent),
            ));
        }

        let act = plan.ssh_open_to_world;
        let p = world.person(act.who);
        let id = Identity::sso(rng, p);
        let api = authorize_ingress(rng, 22, "0.0.0.0/0");
        let agent = "console.ec2.amazonaws.com";
        out.push(write(
            rng,
            &Call::new(act.at, &id, &api, &p.public_ip, agent),
        ));
    }
    out
}

/// A CLI, console or Terraform session: a handful of calls within minutes.
fn human_session(world: &World, rng: &mut StdRng, out: &mut Vec<Rec>, p: &Person, at: i64) {
    let id = Identity::sso(rng, p);
    let agent = match rng.random_range(0..10) {
        0..5 => *dice::pick(rng, &CLI_AGENTS),
        5..8 => "AWS Internal",
        _ => {
            "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.74.0"
        }
    };
    let mut t = at;
    for _ in 0..rng.random_range(2..=16) {
        t += rng.random_range(SECOND..90 * SECOND);
        if !world.active(p.index, t) {
            return;
        }
        let api = human_api(rng);
        let mut call = Call::new(t, &id, &api, &p.public_ip, agent);
        // Non-administrators are sometimes refused IAM reads and changes.
        let admin = matches!(
            &id,
            Identity::Sso {
                permission_set: "AdministratorAccess",
                ..
            }
        );
        let deniable = !admin && !api.data && (api.source == "iam.amazonaws.com" || !api.read_only);
        let denied;
        if deniable && rng.random_bool(0.15) {
            denied = access_denied(&id, &api);
            call.error = Some((denied.0, &denied.1));
        }
        out.push(write(rng, &call));
    }
}

/// A call from an application server or worker through its instance role.
fn workload_call(rng: &mut StdRng, out: &mut Vec<Rec>, at: i64) {
    let host = dice::pick(rng, &INNER_HOSTS[..4]);
    let role = if host.name.starts_with("worker") {
        "worker-role"
    } else {
        "app-server-role"
    };
    let session = instance_id(host.name);
    let id = Identity::Role {
        role,
        session: &session,
        key: format!("ASIA{}", dice::upper(rng, 16)),
    };
    let agent = "aws-sdk-go-v2/1.32.2 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64";
    let roll = rng.random_range(0..100);
    let (api, ip) = match roll {
        0..40 => (s3_object(rng, "GetObject", UPLOADS_BUCKET), host.ip),
        40..58 => (s3_object(rng, "PutObject", UPLOADS_BUCKET), host.ip),
        58..85 => (kms("Decrypt"), NAT_PUBLIC_IP),
        85..95 => (kms("GenerateDataKey"), NAT_PUBLIC_IP),
        _ => (get_secret(rng), NAT_PUBLIC_IP),
    };
    let mut call = Call::new(at, &id, &api, ip, agent);
    if api.source == "s3.amazonaws.com" {
        call.endpoint = Some(S3_ENDPOINT);
    }
    out.push(write(rng, &call));
}

/// GitHub Actions federates in over OIDC, pushes an artifact and rolls the ECS service.
fn deploy(rng: &mut StdRng, out: &mut Vec<Rec>, at: i64) {
    let repo = format!("repo:{GITHUB_ORG}/platform:ref:refs/heads/main");
    let web = Identity::GitHubOidc { subject: &repo };
    let role_arn = format!("arn:aws:iam::{AWS_ACCOUNT}:role/github-actions-deploy");
    let params = json::object(|o| {
        o.str("roleArn", &role_arn)
            .str("roleSessionName", "GitHubActions")
            .int("durationSeconds", 3600);
    });
    let agent =
        "aws-sdk-nodejs/2.1692.0 linux/v20.18.0 configure-aws-credentials-for-github-actions";
    let role_id = format!("AROA{}", dice::stable_upper("github-actions-deploy", 17));
    let response = json::object(|o| {
        o.str("subjectFromWebIdentityToken", &repo)
            .obj("assumedRoleUser", |o| {
                o.str("assumedRoleId", &format!("{role_id}:GitHubActions")).str(
                    "arn",
                    &format!("arn:aws:sts::{AWS_ACCOUNT}:assumed-role/github-actions-deploy/GitHubActions"),
                );
            })
            .str("provider", &format!("arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"))
            .str("audience", "sts.amazonaws.com");
    });
    let assume = Api {
        read_only: true,
        ..Api::write(
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
            Some(params),
            Some(response),
        )
    };
    out.push(write(
        rng,
        &Call::new(at, &web, &assume, GITHUB_RUNNER_IP, agent),
    ));

    let id = Identity::Role {
        role: "github-actions-deploy",
        session: "GitHubActions",
        key: format!("ASIA{}", dice::upper(rng, 16)),
    };
    let sha = dice::hex(rng, 40);
    let key = format!("platform/{sha}.tar.gz");
    let put = data_event(
        "PutObject",
        ARTIFACTS_BUCKET,
        &key,
        json::object(|o| {
            o.str("bucketName", ARTIFACTS_BUCKET)
                .str(
                    "Host",
                    &format!("{ARTIFACTS_BUCKET}.s3.{AWS_REGION}.amazonaws.com"),
                )
                .str("key", &key);
        }),
    );
    let register = Api::write(
        "ecs.amazonaws.com",
        "RegisterTaskDefinition",
        Some(json::object(|o| {
            o.str("family", "platform-api")
                .arr("containerDefinitions", |a| {
                    a.obj(|o| {
                        o.str("name", "api").str(
                            "image",
                            &format!(
                                "{AWS_ACCOUNT}.dkr.ecr.{AWS_REGION}.amazonaws.com/platform:{}",
                                &sha[..12]
                            ),
                        );
                    });
                });
        })),
        None,
    );
    let update = Api::write(
        "ecs.amazonaws.com",
        "UpdateService",
        Some(json::object(|o| {
            o.str("cluster", "prod")
                .str("service", "platform-api")
                .str("taskDefinition", "platform-api")
                .bool("forceNewDeployment", false);
        })),
        None,
    );
    let mut t = at;
    for api in [put, register, update] {
        t += rng.random_range(5 * SECOND..60 * SECOND);
        out.push(write(
            rng,
            &Call::new(t, &id, &api, GITHUB_RUNNER_IP, agent),
        ));
    }
}

/// A console sign-in by a legacy IAM user, then a look around.
fn console_login(
    rng: &mut StdRng,
    out: &mut Vec<Rec>,
    p: &Person,
    at: i64,
    mfa: bool,
    failed: bool,
) {
    let id = Identity::IamUser { name: &p.login };
    let mfa_arn = format!("arn:aws:iam::{AWS_ACCOUNT}:mfa/{}", p.login);
    let api = console_login_api(failed);
    let mut call = sign_in(at, &id, &api, &p.public_ip, p.browser.raw, failed);
    let additional = json::object(|o| {
        o.str("LoginTo", LOGIN_TO).str("MobileVersion", "No");
        if mfa && !failed {
            o.str("MFAIdentifier", &mfa_arn);
        }
        o.str("MFAUsed", if mfa && !failed { "Yes" } else { "No" });
    });
    call.additional = Some(&additional);
    out.push(write(rng, &call));
    if failed {
        return;
    }
    let mut t = at;
    for _ in 0..rng.random_range(1..5) {
        t += rng.random_range(10 * SECOND..3 * MINUTE);
        let api = if p.dept == Dept::Finance {
            Api {
                read_only: true,
                ..Api::write(
                    "ce.amazonaws.com",
                    "GetCostAndUsage",
                    Some(json::object(|o| {
                        o.str("granularity", "MONTHLY").arr("metrics", |a| {
                            a.str("UnblendedCost");
                        });
                    })),
                    None,
                )
            }
        } else {
            human_api(rng)
        };
        out.push(write(
            rng,
            &Call::new(t, &id, &api, &p.public_ip, "AWS Internal"),
        ));
    }
}

/// The root user signs in and looks at IAM.
fn root_login(rng: &mut StdRng, out: &mut Vec<Rec>, at: i64, ip: &str) {
    let agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
    let api = console_login_api(false);
    let mut call = sign_in(at, &Identity::Root, &api, ip, agent, false);
    let additional = json::object(|o| {
        o.str("LoginTo", LOGIN_TO)
            .str("MobileVersion", "No")
            .str("MFAUsed", "Yes");
    });
    call.additional = Some(&additional);
    out.push(write(rng, &call));
    let summary = Api {
        read_only: true,
        ..Api::write("iam.amazonaws.com", "GetAccountSummary", None, None)
    };
    let users = Api {
        read_only: true,
        ..Api::write("iam.amazonaws.com", "ListUsers", None, None)
    };
    let mut t = at;
    for api in [summary, users] {
        t += rng.random_range(20 * SECOND..2 * MINUTE);
        let mut call = Call::new(t, &Identity::Root, &api, ip, "AWS Internal");
        call.region = "us-east-1";
        out.push(write(rng, &call));
    }
}

const LOGIN_TO: &str = "https://console.aws.amazon.com/console/home?region=us-west-2&state=hashArgs%23&isauthcode=true";

/// A `ConsoleLogin` call; `api` comes from [`console_login_api`] with the same `failed`.
fn sign_in<'a>(
    at: i64,
    id: &'a Identity<'a>,
    api: &'a Api,
    ip: &'a str,
    agent: &'a str,
    failed: bool,
) -> Call<'a> {
    let mut call = Call::new(at, id, api, ip, agent);
    call.region = "us-east-1";
    call.event_type = "AwsConsoleSignIn";
    if failed {
        call.error = Some(("", "Failed authentication"));
    }
    call
}

fn console_login_api(failed: bool) -> Api {
    Api::write(
        "signin.amazonaws.com",
        "ConsoleLogin",
        None,
        Some(json::object(|o| {
            o.str("ConsoleLogin", if failed { "Failure" } else { "Success" });
        })),
    )
}

const CLI_AGENTS: [&str; 3] = [
    "aws-cli/2.18.14 md/awscrt#0.22.0 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe sid/7f3c prompt/off",
    "aws-cli/2.17.60 md/awscrt#0.21.5 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe prompt/off",
    "Boto3/1.35.54 md/Botocore#1.35.54 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.54",
];

/// What a human typically calls.
fn human_api(rng: &mut StdRng) -> Api {
    let read = |source: &'static str, name: &'static str, params: Option<Vec<u8>>| Api {
        read_only: true,
        ..Api::write(source, name, params, None)
    };
    let empty = || Some(b"{}".to_vec());
    match rng.random_range(0..100) {
        0..10 => read("sts.amazonaws.com", "GetCallerIdentity", None),
        10..24 => read(
            "ec2.amazonaws.com",
            "DescribeInstances",
            Some(json::object(|o| {
                o.obj("instancesSet", |_| {}).obj("filterSet", |_| {});
            })),
        ),
        24..30 => read(
            "ec2.amazonaws.com",
            "DescribeSecurityGroups",
            Some(json::object(|o| {
                o.obj("securityGroupSet", |_| {})
                    .obj("securityGroupIdSet", |_| {})
                    .obj("filterSet", |_| {});
            })),
        ),
        30..38 => read(
            "s3.amazonaws.com",
            "ListBuckets",
            Some(json::object(|o| {
                o.str("Host", &format!("s3.{AWS_REGION}.amazonaws.com"));
            })),
        ),
        38..44 => read("rds.amazonaws.com", "DescribeDBInstances", empty()),
        44..50 => read("lambda.amazonaws.com", "ListFunctions20150331", None),
        50..56 => read(
            "logs.amazonaws.com",
            "FilterLogEvents",
            Some(json::object(|o| {
                o.str("logGroupName", "/ecs/platform-api").int("limit", 100);
            })),
        ),
        56..61 => read(
            "ecs.amazonaws.com",
            "DescribeServices",
            Some(json::object(|o| {
                o.str("cluster", "prod").arr("services", |a| {
                    a.str("platform-api");
                });
            })),
        ),
        61..66 => {
            let role = *dice::pick(
                rng,
                &["app-server-role", "worker-role", "github-actions-deploy"],
            );
            read(
                "iam.amazonaws.com",
                "GetRole",
                Some(json::object(|o| {
                    o.str("roleName", role);
                })),
            )
        }
        66..70 => read("iam.amazonaws.com", "ListRoles", None),
        70..82 => s3_object(rng, "GetObject", UPLOADS_BUCKET),
        82..85 => s3_object(rng, "PutObject", ARTIFACTS_BUCKET),
        85..88 => get_secret(rng),
        88..91 => {
            let host = dice::pick(rng, &INNER_HOSTS);
            let target = instance_id(host.name);
            let session = format!("{}-{}", "ssm", dice::hex(rng, 17));
            Api::write(
                "ssm.amazonaws.com",
                "StartSession",
                Some(json::object(|o| {
                    o.str("target", &target);
                })),
                Some(json::object(|o| {
                    o.str("sessionId", &session)
                        .str("tokenValue", "Value hidden due to security reasons.")
                        .str(
                            "streamUrl",
                            &format!("wss://ssmmessages.{AWS_REGION}.amazonaws.com/v1/data-channel/{session}?role=publish_subscribe&cell-number=AAEAAQ"),
                        );
                })),
            )
        }
        91..94 => {
            let host = dice::pick(rng, &INNER_HOSTS);
            let target = instance_id(host.name);
            Api::write(
                "ec2.amazonaws.com",
                "CreateTags",
                Some(json::object(|o| {
                    o.obj("resourcesSet", |o| {
                        o.arr("items", |a| {
                            a.obj(|o| {
                                o.str("resourceId", &target);
                            });
                        });
                    })
                    .obj("tagSet", |o| {
                        o.arr("items", |a| {
                            a.obj(|o| {
                                o.str("key", "owner").str("value", "platform-team");
                            });
                        });
                    });
                })),
                Some(json::object(|o| {
                    o.str("requestId", "").bool("_return", true);
                })),
            )
        }
        94..97 => Api::write(
            "ecs.amazonaws.com",
            "UpdateService",
            Some(json::object(|o| {
                o.str("cluster", "prod")
                    .str("service", "platform-worker")
                    .bool("forceNewDeployment", true);
            })),
            None,
        ),
        97..99 => Api::write(
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            Some(json::object(|o| {
                o.str("functionName", "invoice-renderer").int("timeout", 60);
            })),
            None,
        ),
        // Rare, legitimate: HTTPS from inside the VPC.
        _ => authorize_ingress(rng, 443, "10.0.0.0/16"),
    }
}

fn authorize_ingress(rng: &mut StdRng, port: i64, cidr: &str) -> Api {
    let rule = format!("sgr-0{}", dice::hex(rng, 16));
    let request = dice::uuid(rng);
    Api::write(
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        Some(json::object(|o| {
            o.str("groupId", APP_SECURITY_GROUP)
                .obj("ipPermissions", |o| {
                    o.arr("items", |a| {
                        a.obj(|o| {
                            o.str("ipProtocol", "tcp")
                                .int("fromPort", port)
                                .int("toPort", port)
                                .obj("groups", |_| {})
                                .obj("ipRanges", |o| {
                                    o.arr("items", |a| {
                                        a.obj(|o| {
                                            o.str("cidrIp", cidr);
                                        });
                                    });
                                })
                                .obj("ipv6Ranges", |_| {})
                                .obj("prefixListIds", |_| {});
                        });
                    });
                });
        })),
        Some(json::object(|o| {
            o.str("requestId", &request)
                .bool("_return", true)
                .obj("securityGroupRuleSet", |o| {
                    o.arr("items", |a| {
                        a.obj(|o| {
                            o.str("groupOwnerId", AWS_ACCOUNT)
                                .str("groupId", APP_SECURITY_GROUP)
                                .str("securityGroupRuleId", &rule)
                                .bool("isEgress", false)
                                .str("ipProtocol", "tcp")
                                .int("fromPort", port)
                                .int("toPort", port)
                                .str("cidrIpv4", cidr);
                        });
                    });
                });
        })),
    )
}

fn s3_object(rng: &mut StdRng, name: &'static str, bucket: &'static str) -> Api {
    let key = if bucket == UPLOADS_BUCKET {
        format!(
            "customers/{}/attachments/{}.pdf",
            rng.random_range(1000..99_999),
            dice::hex(rng, 12)
        )
    } else {
        format!("platform/{}.tar.gz", dice::hex(rng, 40))
    };
    let params = json::object(|o| {
        o.str("bucketName", bucket)
            .str("Host", &format!("{bucket}.s3.{AWS_REGION}.amazonaws.com"))
            .str("key", &key);
    });
    data_event(name, bucket, &key, params)
}

fn data_event(name: &'static str, bucket: &str, key: &str, params: Vec<u8>) -> Api {
    let resources = json::object(|o| {
        o.arr("r", |a| {
            a.obj(|o| {
                o.str("type", "AWS::S3::Object")
                    .str("ARN", &format!("arn:aws:s3:::{bucket}/{key}"));
            })
            .obj(|o| {
                o.str("accountId", AWS_ACCOUNT)
                    .str("type", "AWS::S3::Bucket")
                    .str("ARN", &format!("arn:aws:s3:::{bucket}"));
            });
        });
    });
    // Keep only the array: `{"r":[…]}` → `[…]`.
    let resources = resources[5..resources.len() - 1].to_vec();
    Api {
        read_only: name == "GetObject",
        data: true,
        resources: Some(resources),
        additional: Some(json::object(|o| {
            o.str("SignatureVersion", "SigV4")
                .str("CipherSuite", "TLS_AES_128_GCM_SHA256")
                .int("bytesTransferredIn", 0)
                .str("AuthenticationMethod", "AuthHeader")
                .str("x-amz-id-2", "Rk9PQmFyQmF6cXV4Cg==");
        })),
        ..Api::write("s3.amazonaws.com", name, Some(params), None)
    }
}

fn kms(name: &'static str) -> Api {
    let key = format!("arn:aws:kms:{AWS_REGION}:{AWS_ACCOUNT}:key/{KMS_KEY}");
    Api {
        read_only: true,
        ..Api::write(
            "kms.amazonaws.com",
            name,
            Some(json::object(|o| {
                o.str("keyId", &key)
                    .str("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
                if name == "GenerateDataKey" {
                    o.str("keySpec", "AES_256");
                }
            })),
            None,
        )
    }
}

const KMS_KEY: &str = "7c2e9a41-5d3b-4f8e-a6c1-2b9d0e4f7a35";

fn get_secret(rng: &mut StdRng) -> Api {
    let name = *dice::pick(
        rng,
        &[
            "prod/platform/database",
            "prod/platform/stripe",
            "prod/platform/sendgrid",
        ],
    );
    Api {
        read_only: true,
        ..Api::write(
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            Some(json::object(|o| {
                o.str("secretId", name);
            })),
            None,
        )
    }
}

/// The instance id of a server, stable across records.
fn instance_id(host: &str) -> String {
    format!("i-0{}", dice::stable_hex(host, 16))
}

/// The error a denied call carries.
fn access_denied(id: &Identity<'_>, api: &Api) -> (&'static str, String) {
    let service = api.source.trim_end_matches(".amazonaws.com");
    if service == "ec2" {
        (
            "Client.UnauthorizedOperation",
            "You are not authorized to perform this operation.".to_owned(),
        )
    } else {
        (
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: {service}:{} because no identity-based policy allows the {service}:{} action",
                id.arn(),
                api.name,
                api.name
            ),
        )
    }
}

/// Who made the call: the `userIdentity` block.
enum Identity<'a> {
    /// An IAM Identity Center (SSO) session.
    Sso {
        person: &'a Person,
        permission_set: &'static str,
        key: String,
    },
    /// An IAM role session (instance profile, deploy role).
    Role {
        role: &'a str,
        session: &'a str,
        key: String,
    },
    /// A legacy IAM user with a console password.
    IamUser {
        name: &'a str,
    },
    /// GitHub Actions federating over OIDC.
    GitHubOidc {
        subject: &'a str,
    },
    Root,
}

impl<'a> Identity<'a> {
    /// A fresh SSO session for `person`, with the permission set their department gets.
    fn sso(rng: &mut StdRng, person: &'a Person) -> Self {
        let permission_set = match person.dept {
            Dept::It | Dept::Security => "AdministratorAccess",
            Dept::Data => "DataEngineer",
            _ => "PowerUserAccess",
        };
        Identity::Sso {
            person,
            permission_set,
            key: format!("ASIA{}", dice::upper(rng, 16)),
        }
    }

    fn sso_role(permission_set: &str) -> String {
        format!(
            "AWSReservedSSO_{permission_set}_{}",
            dice::stable_hex(permission_set, 16)
        )
    }

    fn arn(&self) -> String {
        match self {
            Identity::Sso {
                person,
                permission_set,
                ..
            } => format!(
                "arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{}/{}",
                Identity::sso_role(permission_set),
                person.email
            ),
            Identity::Role { role, session, .. } => {
                format!("arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{role}/{session}")
            }
            Identity::IamUser { name } => format!("arn:aws:iam::{AWS_ACCOUNT}:user/{name}"),
            Identity::GitHubOidc { .. } => String::new(),
            Identity::Root => format!("arn:aws:iam::{AWS_ACCOUNT}:root"),
        }
    }

    fn write(&self, o: &mut Obj<'_>, at: i64) {
        match self {
            Identity::Sso {
                person,
                permission_set,
                key,
            } => {
                let role = Identity::sso_role(permission_set);
                let role_id = format!("AROA{}", dice::stable_upper(&role, 17));
                o.str("type", "AssumedRole")
                    .str("principalId", &format!("{role_id}:{}", person.email))
                    .str("arn", &self.arn())
                    .str("accountId", AWS_ACCOUNT)
                    .str("accessKeyId", key);
                session_context(
                    o,
                    &role_id,
                    &format!(
                        "arn:aws:iam::{AWS_ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{AWS_REGION}/{role}"
                    ),
                    &role,
                    at,
                );
            }
            Identity::Role { role, session, key } => {
                let role_id = format!("AROA{}", dice::stable_upper(role, 17));
                o.str("type", "AssumedRole")
                    .str("principalId", &format!("{role_id}:{session}"))
                    .str("arn", &self.arn())
                    .str("accountId", AWS_ACCOUNT)
                    .str("accessKeyId", key);
                session_context(
                    o,
                    &role_id,
                    &format!("arn:aws:iam::{AWS_ACCOUNT}:role/{role}"),
                    role,
                    at,
                );
            }
            Identity::IamUser { name } => {
                o.str("type", "IAMUser")
                    .str(
                        "principalId",
                        &format!("AIDA{}", dice::stable_upper(name, 17)),
                    )
                    .str("arn", &self.arn())
                    .str("accountId", AWS_ACCOUNT)
                    .str("userName", name);
            }
            Identity::GitHubOidc { subject } => {
                let provider = format!(
                    "arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
                );
                o.str("type", "WebIdentityUser")
                    .str(
                        "principalId",
                        &format!("{provider}:sts.amazonaws.com:{subject}"),
                    )
                    .str("userName", subject)
                    .str("identityProvider", &provider);
            }
            Identity::Root => {
                o.str("type", "Root")
                    .str("principalId", AWS_ACCOUNT)
                    .str("arn", &self.arn())
                    .str("accountId", AWS_ACCOUNT)
                    .str("accessKeyId", "");
            }
        }
    }
}

/// Role sessions here come from SSO, instance profiles or OIDC, none of which carry MFA.
fn session_context(o: &mut Obj<'_>, role_id: &str, role_arn: &str, role: &str, at: i64) {
    o.obj("sessionContext", |o| {
        o.obj("sessionIssuer", |o| {
            o.str("type", "Role")
                .str("principalId", role_id)
                .str("arn", role_arn)
                .str("accountId", AWS_ACCOUNT)
                .str("userName", role);
        })
        .obj("attributes", |o| {
            // Sessions are minted on the hour and last up to twelve.
            o.str(
                "creationDate",
                &clock::iso_seconds(at - at.rem_euclid(clock::HOUR)),
            )
            .str("mfaAuthenticated", "false");
        });
    });
}

/// The service-specific part of a call.
struct Api {
    source: &'static str,
    name: &'static str,
    read_only: bool,
    /// An S3 object-level (data) event rather than a management event.
    data: bool,
    params: Option<Vec<u8>>,
    response: Option<Vec<u8>>,
    resources: Option<Vec<u8>>,
    additional: Option<Vec<u8>>,
}

impl Api {
    /// A mutating management call.
    fn write(
        source: &'static str,
        name: &'static str,
        params: Option<Vec<u8>>,
        response: Option<Vec<u8>>,
    ) -> Api {
        Api {
            source,
            name,
            read_only: false,
            data: false,
            params,
            response,
            resources: None,
            additional: None,
        }
    }
}

/// One CloudTrail record about to be written.
struct Call<'a> {
    at: i64,
    identity: &'a Identity<'a>,
    api: &'a Api,
    region: &'a str,
    ip: &'a str,
    agent: &'a str,
    error: Option<(&'a str, &'a str)>,
    additional: Option<&'a [u8]>,
    event_type: &'a str,
    endpoint: Option<&'a str>,
}

impl<'a> Call<'a> {
    fn new(at: i64, identity: &'a Identity<'a>, api: &'a Api, ip: &'a str, agent: &'a str) -> Self {
        let region = if matches!(api.source, "iam.amazonaws.com" | "ce.amazonaws.com") {
            "us-east-1"
        } else {
            AWS_REGION
        };
        Call {
            at,
            identity,
            api,
            region,
            ip,
            agent,
            error: None,
            additional: None,
            event_type: "AwsApiCall",
            endpoint: None,
        }
    }
}

fn write(rng: &mut StdRng, c: &Call<'_>) -> Rec {
    let request = c.api;
    // A refused API call returns nothing; a failed console sign-in still says "Failure".
    let response = match (c.error, c.event_type) {
        (Some(_), "AwsApiCall") => None,
        _ => request.response.as_deref(),
    };
    let event_id = dice::uuid(rng);
    let request_id = if request.source == "s3.amazonaws.com" {
        dice::upper(rng, 16)
    } else {
        dice::uuid(rng)
    };
    let bytes = json::object(|o| {
        o.str("eventVersion", if request.data { "1.10" } else { "1.09" })
            .obj("userIdentity", |o| c.identity.write(o, c.at))
            .str("eventTime", &clock::iso_seconds(c.at))
            .str("eventSource", request.source)
            .str("eventName", request.name)
            .str("awsRegion", c.region)
            .str("sourceIPAddress", c.ip)
            .str("userAgent", c.agent);
        if let Some((code, message)) = c.error {
            if !code.is_empty() {
                o.str("errorCode", code);
            }
            o.str("errorMessage", message);
        }
        o.raw("requestParameters", request.params.as_deref())
            .raw("responseElements", response);
        if let Some(extra) = c.additional.or(request.additional.as_deref()) {
            o.raw("additionalEventData", Some(extra));
        }
        o.str("requestID", &request_id).str("eventID", &event_id);
        o.bool("readOnly", request.read_only);
        if let Some(resources) = &request.resources {
            o.raw("resources", Some(resources));
        } else if request.source == "kms.amazonaws.com" {
            o.arr("resources", |a| {
                a.obj(|o| {
                    o.str("accountId", AWS_ACCOUNT)
                        .str("type", "AWS::KMS::Key")
                        .str(
                            "ARN",
                            &format!("arn:aws:kms:{AWS_REGION}:{AWS_ACCOUNT}:key/{KMS_KEY}"),
                        );
                });
            });
        }
        o.str("eventType", c.event_type)
            .bool("managementEvent", !request.data)
            .str("recipientAccountId", AWS_ACCOUNT);
        if let Some(endpoint) = c.endpoint {
            o.str("vpcEndpointId", endpoint)
                .str("vpcEndpointAccountId", AWS_ACCOUNT);
        }
        o.str(
            "eventCategory",
            if request.data { "Data" } else { "Management" },
        );
        if c.event_type == "AwsApiCall" {
            let host = match request.source {
                "s3.amazonaws.com" => format!("s3.{AWS_REGION}.amazonaws.com"),
                "iam.amazonaws.com" => "iam.amazonaws.com".to_owned(),
                s => format!(
                    "{}.{}.amazonaws.com",
                    s.trim_end_matches(".amazonaws.com"),
                    c.region
                ),
            };
            o.obj("tlsDetails", |o| {
                o.str("tlsVersion", "TLSv1.3")
                    .str("cipherSuite", "TLS_AES_128_GCM_SHA256")
                    .str("clientProvidedHostHeader", &host);
            });
        }
        if c.agent == "AWS Internal" && !matches!(c.identity, Identity::Root) {
            o.str("sessionCredentialFromConsole", "true");
        }
    });
    Rec::new(c.at, bytes)
}

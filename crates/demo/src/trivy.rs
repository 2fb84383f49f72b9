//! Weekly Trivy scans of the three production images, each report exactly as
//! `trivy image --format json` prints it, compacted onto one line: `SchemaVersion` 2,
//! `CreatedAt`, `ArtifactName`, `ArtifactType`, `Metadata`, and `Results[]` (the OS packages,
//! then the application's language packages) with their `Vulnerabilities[]`.
//!
//! The scan job runs at 06:00 UTC on the first day of the window and every seven days after.
//! Each week the images ship a new release, and the findings follow: some CVEs are fixed by a
//! version bump and drop out of the next report, a few newly published ones appear, and a couple
//! (no fix available, or a lingering build dependency) stay all month. The CVE identifiers are
//! real ones for the packages named; the titles and descriptions are our own words.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, DAY, HOUR, MINUTE, SECOND};
use crate::json::{self, Obj};
use crate::{Rec, World, dice};

/// Days between scans.
const WEEK: i64 = 7 * DAY;
/// The registry the images live in.
const REGISTRY: &str = "registry.northwind.example";

/// A scanned image.
struct Image {
    repo: &'static str,
    /// Version at the first scan; the minor number goes up by one each week.
    version: (u32, u32, u32),
    /// `Metadata.OS`: family and release.
    os: (&'static str, &'static str),
    /// The language-package result: `Target` and `Type`.
    lang: (&'static str, &'static str),
    vulns: &'static [Vuln],
}

/// One finding and the scans that report it.
struct Vuln {
    id: &'static str,
    pkg: &'static str,
    installed: &'static str,
    /// Empty when there is no fix.
    fixed: &'static str,
    severity: &'static str,
    cwe: &'static str,
    title: &'static str,
    /// Whether it is in the language packages rather than the OS packages.
    lang: bool,
    /// First scan (0-based) that reports it.
    since: u32,
    /// First scan that no longer does (`u32::MAX`: never fixed this month).
    until: u32,
}

const NEVER: u32 = u32::MAX;

const IMAGES: [Image; 3] = [
    Image {
        repo: "checkout",
        version: (1, 42, 0),
        os: ("debian", "12.7"),
        lang: ("Python", "python-pkg"),
        vulns: &CHECKOUT,
    },
    Image {
        repo: "platform-api",
        version: (2, 7, 3),
        os: ("alpine", "3.20.3"),
        lang: ("Node.js", "node-pkg"),
        vulns: &PLATFORM_API,
    },
    Image {
        repo: "worker",
        version: (0, 19, 1),
        os: ("debian", "12.7"),
        lang: ("usr/local/bin/worker", "gobinary"),
        vulns: &WORKER,
    },
];

const CHECKOUT: [Vuln; 9] = [
    Vuln {
        id: "CVE-2024-6119",
        pkg: "libssl3",
        installed: "3.0.14-1~deb12u1",
        fixed: "3.0.14-1~deb12u2",
        severity: "MEDIUM",
        cwe: "CWE-843",
        title: "openssl: checking certain certificate names against a host name can crash the process",
        lang: false,
        since: 0,
        until: 1,
    },
    Vuln {
        id: "CVE-2024-45490",
        pkg: "libexpat1",
        installed: "2.5.0-1",
        fixed: "2.5.0-1+deb12u1",
        severity: "HIGH",
        cwe: "CWE-611",
        title: "expat: a negative buffer length handed to the parser is not refused",
        lang: false,
        since: 0,
        until: 2,
    },
    Vuln {
        id: "CVE-2024-2961",
        pkg: "libc6",
        installed: "2.36-9+deb12u4",
        fixed: "2.36-9+deb12u6",
        severity: "HIGH",
        cwe: "CWE-787",
        title: "glibc: iconv can write past its output buffer when converting to ISO-2022-CN-EXT",
        lang: false,
        since: 0,
        until: 1,
    },
    Vuln {
        id: "CVE-2023-45853",
        pkg: "zlib1g",
        installed: "1:1.2.13.dfsg-1",
        fixed: "",
        severity: "CRITICAL",
        cwe: "CWE-190",
        title: "zlib: the bundled minizip overflows an integer on very long file names",
        lang: false,
        since: 0,
        until: NEVER,
    },
    Vuln {
        id: "CVE-2024-9143",
        pkg: "libssl3",
        installed: "3.0.14-1~deb12u2",
        fixed: "3.0.15-1~deb12u1",
        severity: "LOW",
        cwe: "CWE-787",
        title: "openssl: unusual binary-field curve parameters can cause out-of-bounds memory access",
        lang: false,
        since: 2,
        until: 4,
    },
    Vuln {
        id: "CVE-2024-26130",
        pkg: "cryptography",
        installed: "42.0.2",
        fixed: "42.0.4",
        severity: "HIGH",
        cwe: "CWE-476",
        title: "cryptography: serializing PKCS#12 with a mismatched key dereferences a null pointer",
        lang: true,
        since: 0,
        until: 1,
    },
    Vuln {
        id: "CVE-2024-34064",
        pkg: "Jinja2",
        installed: "3.1.3",
        fixed: "3.1.4",
        severity: "MEDIUM",
        cwe: "CWE-79",
        title: "jinja2: the xmlattr filter lets crafted keys break out of the attribute",
        lang: true,
        since: 0,
        until: 2,
    },
    Vuln {
        id: "CVE-2024-37891",
        pkg: "urllib3",
        installed: "1.26.18",
        fixed: "1.26.19, 2.2.2",
        severity: "MEDIUM",
        cwe: "CWE-669",
        title: "urllib3: a proxy credential header survives a redirect to another origin",
        lang: true,
        since: 0,
        until: 3,
    },
    Vuln {
        id: "CVE-2024-35195",
        pkg: "requests",
        installed: "2.31.0",
        fixed: "2.32.0",
        severity: "MEDIUM",
        cwe: "CWE-670",
        title: "requests: once one request skips certificate checks, later ones to the same host do too",
        lang: true,
        since: 0,
        until: 3,
    },
];

const PLATFORM_API: [Vuln; 7] = [
    Vuln {
        id: "CVE-2024-9143",
        pkg: "libcrypto3",
        installed: "3.3.2-r0",
        fixed: "3.3.2-r1",
        severity: "LOW",
        cwe: "CWE-787",
        title: "openssl: unusual binary-field curve parameters can cause out-of-bounds memory access",
        lang: false,
        since: 0,
        until: 2,
    },
    Vuln {
        id: "CVE-2024-43796",
        pkg: "express",
        installed: "4.19.2",
        fixed: "4.20.0",
        severity: "LOW",
        cwe: "CWE-79",
        title: "express: untrusted input passed to a redirect can run script in the browser",
        lang: true,
        since: 0,
        until: 1,
    },
    Vuln {
        id: "CVE-2024-45296",
        pkg: "path-to-regexp",
        installed: "0.1.7",
        fixed: "0.1.10, 1.9.0, 3.3.0, 6.3.0, 8.0.0",
        severity: "HIGH",
        cwe: "CWE-1333",
        title: "path-to-regexp: routes with two parameters in one segment backtrack for a very long time",
        lang: true,
        since: 0,
        until: 1,
    },
    Vuln {
        id: "CVE-2024-47764",
        pkg: "cookie",
        installed: "0.6.0",
        fixed: "0.7.0",
        severity: "LOW",
        cwe: "CWE-74",
        title: "cookie: cookie names, paths and domains are not checked for stray characters",
        lang: true,
        since: 0,
        until: 2,
    },
    Vuln {
        id: "CVE-2024-21538",
        pkg: "cross-spawn",
        installed: "7.0.3",
        fixed: "7.0.5, 6.0.6",
        severity: "HIGH",
        cwe: "CWE-1333",
        title: "cross-spawn: a crafted argument makes its escaping expression run for a very long time",
        lang: true,
        since: 0,
        until: 3,
    },
    Vuln {
        id: "CVE-2024-28863",
        pkg: "tar",
        installed: "6.1.11",
        fixed: "6.2.1",
        severity: "MEDIUM",
        cwe: "CWE-400",
        title: "node-tar: archives with very deep folder nesting exhaust memory",
        lang: true,
        since: 0,
        until: NEVER,
    },
    Vuln {
        id: "CVE-2024-52798",
        pkg: "path-to-regexp",
        installed: "0.1.10",
        fixed: "0.1.12",
        severity: "HIGH",
        cwe: "CWE-1333",
        title: "path-to-regexp: the earlier backtracking fix leaves some routes still slow",
        lang: true,
        since: 3,
        until: NEVER,
    },
];

const WORKER: [Vuln; 7] = [
    Vuln {
        id: "CVE-2011-3374",
        pkg: "apt",
        installed: "2.6.1",
        fixed: "",
        severity: "LOW",
        cwe: "CWE-347",
        title: "apt: apt-key does not properly verify the keyring it downloads",
        lang: false,
        since: 0,
        until: NEVER,
    },
    Vuln {
        id: "CVE-2024-45491",
        pkg: "libexpat1",
        installed: "2.5.0-1",
        fixed: "2.5.0-1+deb12u1",
        severity: "CRITICAL",
        cwe: "CWE-190",
        title: "expat: counting attributes can overflow an integer on 32-bit platforms",
        lang: false,
        since: 0,
        until: 2,
    },
    Vuln {
        id: "CVE-2024-34156",
        pkg: "stdlib",
        installed: "v1.22.5",
        fixed: "1.22.7, 1.23.1",
        severity: "HIGH",
        cwe: "CWE-674",
        title: "golang: decoding deeply nested gob data exhausts the stack",
        lang: true,
        since: 0,
        until: 1,
    },
    Vuln {
        id: "CVE-2024-34155",
        pkg: "stdlib",
        installed: "v1.22.5",
        fixed: "1.22.7, 1.23.1",
        severity: "MEDIUM",
        cwe: "CWE-674",
        title: "golang: parsing deeply nested literals in Go source exhausts the stack",
        lang: true,
        since: 0,
        until: 1,
    },
    Vuln {
        id: "CVE-2024-45337",
        pkg: "golang.org/x/crypto",
        installed: "v0.26.0",
        fixed: "0.31.0",
        severity: "CRITICAL",
        cwe: "CWE-863",
        title: "x/crypto/ssh: servers that misuse the public key callback may authorize the wrong key",
        lang: true,
        since: 0,
        until: 2,
    },
    Vuln {
        id: "CVE-2024-45338",
        pkg: "golang.org/x/net",
        installed: "v0.28.0",
        fixed: "0.33.0",
        severity: "MEDIUM",
        cwe: "CWE-1333",
        title: "x/net/html: crafted documents take quadratic time to parse",
        lang: true,
        since: 0,
        until: 3,
    },
    Vuln {
        id: "CVE-2024-45336",
        pkg: "stdlib",
        installed: "v1.22.5",
        fixed: "1.22.11, 1.23.5",
        severity: "MEDIUM",
        cwe: "CWE-200",
        title: "golang: net/http puts sensitive headers back after a chain of redirects",
        lang: true,
        since: 2,
        until: NEVER,
    },
];

/// Scan reports for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let window = &world.window;
    let mut scan = window.start.div_euclid(DAY) * DAY + 6 * HOUR;
    if scan < window.start {
        scan += DAY;
    }
    let mut week = 0;
    while scan < window.end {
        let mut at = scan + rng.random_range(0..90) * SECOND;
        for image in &IMAGES {
            out.push(Rec::new(at, report(rng, image, week, at)));
            at += rng.random_range(2 * MINUTE..4 * MINUTE);
        }
        scan += WEEK;
        week += 1;
    }
    out
}

/// The report of `image` at scan `week`, written at `at`.
fn report(rng: &mut StdRng, image: &Image, week: u32, at: i64) -> Vec<u8> {
    let (major, minor, patch) = image.version;
    let tag = format!("{}.{}.{patch}", major, minor + week);
    let name = format!("{REGISTRY}/{}:{tag}", image.repo);
    let seed = format!("{}:{tag}", image.repo);
    let layers: Vec<String> = (0..4)
        .map(|i| {
            format!(
                "sha256:{}",
                dice::stable_hex(&format!("{seed}/layer{i}"), 64)
            )
        })
        .collect();
    let (family, release) = image.os;
    let found = |lang: bool| {
        image
            .vulns
            .iter()
            .filter(move |v| v.lang == lang && v.since <= week && week < v.until)
    };
    let created = clock::iso_millis(at);
    let built = clock::iso_seconds(at - rng.random_range(DAY..3 * DAY));
    let size = rng.random_range(90_000_000_i64..420_000_000);
    json::object(|o| {
        o.int("SchemaVersion", 2)
            .str("CreatedAt", &created)
            .str("ArtifactName", &name)
            .str("ArtifactType", "container_image")
            .obj("Metadata", |o| {
                o.int("Size", size)
                    .obj("OS", |o| {
                        o.str("Family", family).str("Name", release);
                    })
                    .str(
                        "ImageID",
                        &format!("sha256:{}", dice::stable_hex(&seed, 64)),
                    )
                    .arr("DiffIDs", |a| {
                        for l in &layers {
                            a.str(l);
                        }
                    })
                    .arr("RepoTags", |a| {
                        a.str(&name);
                    })
                    .arr("RepoDigests", |a| {
                        a.str(&format!(
                            "{REGISTRY}/{}@sha256:{}",
                            image.repo,
                            dice::stable_hex(&format!("{seed}/digest"), 64)
                        ));
                    })
                    .obj("ImageConfig", |o| {
                        o.str("architecture", "amd64")
                            .str("created", &built)
                            .str("os", "linux");
                    });
            })
            .arr("Results", |a| {
                a.obj(|o| {
                    o.str("Target", &format!("{name} ({family} {release})"))
                        .str("Class", "os-pkgs")
                        .str("Type", family);
                    vulnerabilities(o, found(false), image, &layers[0]);
                });
                a.obj(|o| {
                    let (target, kind) = image.lang;
                    o.str("Target", target)
                        .str("Class", "lang-pkgs")
                        .str("Type", kind);
                    vulnerabilities(o, found(true), image, &layers[3]);
                });
            });
    })
}

/// The `Vulnerabilities` member of a result; Trivy leaves it out when there are none.
fn vulnerabilities<'a>(
    o: &mut Obj<'_>,
    vulns: impl Iterator<Item = &'a Vuln>,
    image: &Image,
    layer: &str,
) {
    let vulns: Vec<&Vuln> = vulns.collect();
    if vulns.is_empty() {
        return;
    }
    o.arr("Vulnerabilities", |a| {
        for v in vulns {
            a.obj(|o| vulnerability(o, v, image, layer));
        }
    });
}

fn vulnerability(o: &mut Obj<'_>, v: &Vuln, image: &Image, layer: &str) {
    let (family, release) = image.os;
    let purl = if v.lang {
        let kind = match image.lang.1 {
            "python-pkg" => "pypi",
            "node-pkg" => "npm",
            _ => "golang",
        };
        format!("pkg:{kind}/{}@{}", v.pkg.to_lowercase(), v.installed)
    } else if family == "alpine" {
        format!(
            "pkg:apk/alpine/{}@{}?arch=x86_64&distro={release}",
            v.pkg, v.installed
        )
    } else {
        format!(
            "pkg:deb/debian/{}@{}?arch=amd64&distro=debian-{release}",
            v.pkg, v.installed
        )
    };
    let (source_id, source_name, source_url) = match (v.lang, family) {
        (true, _) => (
            "ghsa",
            "GitHub Security Advisory",
            "https://github.com/advisories",
        ),
        (false, "alpine") => ("alpine", "Alpine Secdb", "https://secdb.alpinelinux.org/"),
        _ => (
            "debian",
            "Debian Security Tracker",
            "https://salsa.debian.org/security-tracker-team/security-tracker",
        ),
    };
    let (vector, score) = match v.severity {
        "CRITICAL" => ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        "HIGH" => ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        "MEDIUM" => ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9),
        _ => ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N", 2.5),
    };
    let status = match (v.fixed.is_empty(), v.lang) {
        (false, _) => "fixed",
        (true, false) if v.severity == "LOW" => "affected",
        (true, _) => "will_not_fix",
    };
    let description = if v.fixed.is_empty() {
        format!(
            "{} {} is affected and no fixed version is available yet.",
            v.pkg, v.installed
        )
    } else {
        format!(
            "{} {} is affected; upgrade to {} or later.",
            v.pkg, v.installed, v.fixed
        )
    };
    o.str("VulnerabilityID", v.id)
        .str("PkgID", &format!("{}@{}", v.pkg, v.installed))
        .str("PkgName", v.pkg)
        .obj("PkgIdentifier", |o| {
            o.str("PURL", &purl);
        })
        .str("InstalledVersion", v.installed);
    if !v.fixed.is_empty() {
        o.str("FixedVersion", v.fixed);
    }
    o.str("Status", status)
        .obj("Layer", |o| {
            o.str("DiffID", layer);
        })
        .str("SeveritySource", if v.lang { "ghsa" } else { family })
        .str(
            "PrimaryURL",
            &format!("https://avd.aquasec.com/nvd/{}", v.id.to_lowercase()),
        )
        .obj("DataSource", |o| {
            o.str("ID", source_id)
                .str("Name", source_name)
                .str("URL", source_url);
        })
        .str("Title", v.title)
        .str("Description", &description)
        .str("Severity", v.severity)
        .arr("CweIDs", |a| {
            a.str(v.cwe);
        })
        .obj("CVSS", |o| {
            o.obj("nvd", |o| {
                o.str("V3Vector", vector).float("V3Score", score);
            });
        });
}

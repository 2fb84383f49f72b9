//! Northwind Labs: the people, servers and addresses every generator draws from.
//!
//! The roster is built once per seed, so Alice is the same person in Okta, GitHub, CloudTrail and
//! on the bastion host. Public addresses come from the documentation ranges (RFC 5737):
//! 198.51.100.0/24 for offices and cloud egress, 192.0.2.0/24 for homes and customers,
//! 203.0.113.0/24 for the internet's scanners and attackers.

use std::collections::HashSet;

use rand::RngExt;
use rand::rngs::StdRng;

use crate::dice;

/// The company's e-mail domain.
pub(crate) const DOMAIN: &str = "northwind.example";
/// The production AWS account.
pub(crate) const AWS_ACCOUNT: &str = "493017228415";
/// Where the workloads run.
pub(crate) const AWS_REGION: &str = "us-west-2";
/// The GitHub organisation.
pub(crate) const GITHUB_ORG: &str = "northwind-labs";
/// The GitHub Enterprise Cloud account the organisation belongs to.
pub(crate) const GITHUB_BUSINESS: &str = "northwind";
/// The public address of the NAT gateway that workloads reach the internet through.
pub(crate) const NAT_PUBLIC_IP: &str = "198.51.100.200";

/// Smallest roster, so every role an incident needs exists even for a tiny demo.
const MIN_ROSTER: u32 = 20;

/// A department; it decides which systems a person touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dept {
    It,
    Security,
    Engineering,
    Data,
    Sales,
    Support,
    Marketing,
    Finance,
    People,
}

/// Department mix, repeated down the roster: 35% engineering, 10% data, 5% IT, 5% security.
/// The early slots cover every department, so even the smallest roster has each role.
const DEPT_PATTERN: [Dept; 20] = [
    Dept::It,
    Dept::Security,
    Dept::Engineering,
    Dept::Data,
    Dept::Engineering,
    Dept::Sales,
    Dept::Finance,
    Dept::Engineering,
    Dept::Support,
    Dept::Engineering,
    Dept::Marketing,
    Dept::Engineering,
    Dept::People,
    Dept::Engineering,
    Dept::Sales,
    Dept::Data,
    Dept::Engineering,
    Dept::Support,
    Dept::Sales,
    Dept::Marketing,
];

impl Dept {
    /// Has GitHub, AWS and server accounts.
    pub(crate) fn technical(self) -> bool {
        matches!(
            self,
            Dept::It | Dept::Security | Dept::Engineering | Dept::Data
        )
    }

    /// Member of the `sudo` group on the servers.
    pub(crate) fn sudoer(self) -> bool {
        matches!(self, Dept::It | Dept::Security | Dept::Engineering)
    }

    /// The Okta group named after the department.
    pub(crate) fn group(self) -> &'static str {
        match self {
            Dept::It => "IT",
            Dept::Security => "Security",
            Dept::Engineering => "Engineering",
            Dept::Data => "Data",
            Dept::Sales => "Sales",
            Dept::Support => "Customer Support",
            Dept::Marketing => "Marketing",
            Dept::Finance => "Finance",
            Dept::People => "People Ops",
        }
    }
}

/// A place with the geolocation Okta attaches to an address.
#[derive(Debug)]
pub(crate) struct Place {
    pub(crate) city: &'static str,
    pub(crate) state: &'static str,
    pub(crate) country: &'static str,
    pub(crate) country_code: &'static str,
    pub(crate) postal: &'static str,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
}

/// Headquarters.
pub(crate) const PORTLAND: Place = Place {
    city: "Portland",
    state: "Oregon",
    country: "United States",
    country_code: "US",
    postal: "97209",
    lat: 45.5272,
    lon: -122.6847,
};

/// The European office.
pub(crate) const LONDON: Place = Place {
    city: "London",
    state: "England",
    country: "United Kingdom",
    country_code: "GB",
    postal: "EC2A",
    lat: 51.5226,
    lon: -0.0804,
};

const REMOTE: [Place; 6] = [
    Place {
        city: "Seattle",
        state: "Washington",
        country: "United States",
        country_code: "US",
        postal: "98103",
        lat: 47.6615,
        lon: -122.3435,
    },
    Place {
        city: "Austin",
        state: "Texas",
        country: "United States",
        country_code: "US",
        postal: "78704",
        lat: 30.2433,
        lon: -97.7659,
    },
    Place {
        city: "Denver",
        state: "Colorado",
        country: "United States",
        country_code: "US",
        postal: "80205",
        lat: 39.7589,
        lon: -104.9661,
    },
    Place {
        city: "Brooklyn",
        state: "New York",
        country: "United States",
        country_code: "US",
        postal: "11215",
        lat: 40.6681,
        lon: -73.9806,
    },
    Place {
        city: "Chicago",
        state: "Illinois",
        country: "United States",
        country_code: "US",
        postal: "60614",
        lat: 41.9227,
        lon: -87.6533,
    },
    Place {
        city: "Manchester",
        state: "England",
        country: "United Kingdom",
        country_code: "GB",
        postal: "M1",
        lat: 53.4794,
        lon: -2.2453,
    },
];

/// Where the attackers appear to come from, as Okta geolocates them.
pub(crate) const FOREIGN: [Place; 3] = [
    Place {
        city: "Amsterdam",
        state: "North Holland",
        country: "Netherlands",
        country_code: "NL",
        postal: "1012",
        lat: 52.3740,
        lon: 4.8897,
    },
    Place {
        city: "Bucharest",
        state: "Bucuresti",
        country: "Romania",
        country_code: "RO",
        postal: "010011",
        lat: 44.4268,
        lon: 26.1025,
    },
    Place {
        city: "Sao Paulo",
        state: "Sao Paulo",
        country: "Brazil",
        country_code: "BR",
        postal: "01000",
        lat: -23.5475,
        lon: -46.6361,
    },
];

/// A browser as Okta reports it.
#[derive(Debug)]
pub(crate) struct Browser {
    pub(crate) raw: &'static str,
    pub(crate) os: &'static str,
    pub(crate) browser: &'static str,
}

const BROWSERS: [Browser; 5] = [
    Browser {
        raw: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        os: "Mac OS X",
        browser: "CHROME",
    },
    Browser {
        raw: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        os: "Mac OS X",
        browser: "SAFARI",
    },
    Browser {
        raw: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
        os: "Windows 10",
        browser: "EDGE_CHROMIUM",
    },
    Browser {
        raw: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        os: "Windows 10",
        browser: "CHROME",
    },
    Browser {
        raw: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
        os: "Linux",
        browser: "FIREFOX",
    },
];

/// A browser for someone who is not on the roster (an attacker's script).
pub(crate) const SCRIPT_BROWSER: Browser = Browser {
    raw: "python-requests/2.32.3",
    os: "Unknown",
    browser: "UNKNOWN",
};

const FIRST_NAMES: [&str; 64] = [
    "Alice", "Bilal", "Carmen", "Dmitri", "Elena", "Farah", "Gabriel", "Hana", "Isaac", "Jasmine",
    "Kenji", "Leila", "Marcus", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samuel", "Tara",
    "Umar", "Valeria", "Wei", "Ximena", "Yusuf", "Zoe", "Aaron", "Bianca", "Chidi", "Daniela",
    "Emeka", "Fiona", "Goran", "Helena", "Ivan", "Julia", "Kwame", "Lucia", "Mateo", "Nora",
    "Olivia", "Pavel", "Rahul", "Sofia", "Tomas", "Ursula", "Victor", "Wanjiru", "Yara", "Zain",
    "Amara", "Bruno", "Chloe", "Diego", "Esther", "Felix", "Grace", "Hugo", "Ingrid", "Jonas",
    "Keiko", "Liam", "Maya", "Nikhil",
];

const LAST_NAMES: [&str; 64] = [
    "Nguyen",
    "Okafor",
    "Garcia",
    "Petrov",
    "Rossi",
    "Haddad",
    "Silva",
    "Tanaka",
    "Cohen",
    "Ali",
    "Sato",
    "Moreau",
    "Brown",
    "Kowalski",
    "Andersen",
    "Raman",
    "Dubois",
    "Martinez",
    "Osei",
    "Fischer",
    "Khan",
    "Lopez",
    "Zhang",
    "Hernandez",
    "Demir",
    "Walsh",
    "Becker",
    "Costa",
    "Eze",
    "Novak",
    "Mensah",
    "Murphy",
    "Horvat",
    "Lindqvist",
    "Ivanova",
    "Schmidt",
    "Boateng",
    "Romano",
    "Alvarez",
    "Berg",
    "Campbell",
    "Volkov",
    "Mehta",
    "Papadopoulos",
    "Svoboda",
    "Keller",
    "Santos",
    "Kamau",
    "Farouk",
    "Iqbal",
    "Adeyemi",
    "Ferreira",
    "Laurent",
    "Ortiz",
    "Abebe",
    "Wagner",
    "Kim",
    "Lefebvre",
    "Nilsson",
    "Jensen",
    "Yamamoto",
    "OBrien",
    "Mwangi",
    "Bose",
];

/// An employee, with an account in each system they use.
#[derive(Debug)]
pub(crate) struct Person {
    /// Position in [`Company::people`].
    pub(crate) index: usize,
    /// "Alice Nguyen".
    pub(crate) name: String,
    /// "alice.nguyen": the Okta login's local part, AWS SSO session name and IAM user name.
    pub(crate) login: String,
    /// "alice.nguyen@northwind.example".
    pub(crate) email: String,
    /// Linux account name on the servers ("alice", or "alicen" when taken).
    pub(crate) unix: String,
    pub(crate) uid: u32,
    /// Okta user id, `00u` + 17 characters.
    pub(crate) okta_id: String,
    pub(crate) github: String,
    pub(crate) github_id: i64,
    pub(crate) dept: Dept,
    pub(crate) place: &'static Place,
    /// Office NAT or home address the person's browser and laptop appear from.
    pub(crate) public_ip: String,
    /// Address on the corporate VPN (10.0.4.0/22), used to reach servers and databases.
    pub(crate) vpn_ip: String,
    pub(crate) browser: &'static Browser,
    /// SHA-256 fingerprint of the person's SSH key, as sshd logs it.
    pub(crate) ssh_key: String,
}

/// The roster plus the role lists the generators pick from.
///
/// Invariant: every role list is non-empty (the roster has at least [`MIN_ROSTER`] people and
/// [`DEPT_PATTERN`]'s first twenty slots cover every department).
#[derive(Debug)]
pub(crate) struct Company {
    pub(crate) people: Vec<Person>,
    /// GitHub, AWS and server users.
    pub(crate) technical: Vec<usize>,
    pub(crate) engineers: Vec<usize>,
    pub(crate) data: Vec<usize>,
    /// Okta super administrators (IT).
    pub(crate) okta_admins: Vec<usize>,
    /// Security team: Okta admins too, and AWS console users.
    pub(crate) security: Vec<usize>,
    /// People with a legacy IAM user and console password (IT, security, finance).
    pub(crate) iam_users: Vec<usize>,
    /// GitHub organisation owners.
    pub(crate) github_owners: Vec<usize>,
}

impl Company {
    /// A roster of `max(employees, MIN_ROSTER)` people.
    pub(crate) fn new(rng: &mut StdRng, employees: u32) -> Self {
        let size = employees.max(MIN_ROSTER) as usize;
        let mut logins = HashSet::new();
        let mut unixes = HashSet::new();
        let mut handles = HashSet::new();
        let mut people = Vec::with_capacity(size);
        for i in 0..size {
            let dept = DEPT_PATTERN[i % DEPT_PATTERN.len()];
            let first = *dice::pick(rng, &FIRST_NAMES);
            let last = *dice::pick(rng, &LAST_NAMES);
            let login = unique(
                &mut logins,
                format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
            );
            let unix_base = if unixes.contains(&first.to_lowercase()) {
                format!("{}{}", first.to_lowercase(), last[..1].to_lowercase())
            } else {
                first.to_lowercase()
            };
            let unix = unique(&mut unixes, unix_base);
            let handle = match rng.random_range(0..3) {
                0 => format!("{}{}", first.to_lowercase(), last.to_lowercase()),
                1 => format!("{}{}-nw", first[..1].to_lowercase(), last.to_lowercase()),
                _ => format!("{}-{}", first.to_lowercase(), rng.random_range(10..99)),
            };
            let github = unique(&mut handles, handle);
            let (place, public_ip) = if matches!(dept, Dept::It | Dept::Security) {
                (&PORTLAND, "198.51.100.10".to_owned())
            } else {
                match rng.random_range(0..100) {
                    0..55 => (&PORTLAND, "198.51.100.10".to_owned()),
                    55..70 => (&LONDON, "198.51.100.40".to_owned()),
                    _ => (
                        dice::pick(rng, &REMOTE),
                        format!("192.0.2.{}", rng.random_range(2..120)),
                    ),
                }
            };
            // `i % 1000` keeps both octets in range: 4 + 3 and 2 + 249.
            let slot = i % 1000;
            people.push(Person {
                index: i,
                name: format!("{first} {last}"),
                email: format!("{login}@{DOMAIN}"),
                login,
                unix,
                uid: 1001 + (i % 60_000) as u32,
                okta_id: format!("00u{}", dice::alnum(rng, 17)),
                github,
                github_id: rng.random_range(10_000_000..190_000_000),
                dept,
                place,
                public_ip,
                vpn_ip: format!("10.0.{}.{}", 4 + slot / 250, 2 + slot % 250),
                browser: dice::pick(rng, &BROWSERS),
                ssh_key: dice::alnum(rng, 43),
            });
        }
        let select = |f: &dyn Fn(&Person) -> bool| -> Vec<usize> {
            people
                .iter()
                .enumerate()
                .filter(|(_, p)| f(p))
                .map(|(i, _)| i)
                .collect()
        };
        let technical = select(&|p| p.dept.technical());
        let engineers = select(&|p| p.dept == Dept::Engineering);
        let data = select(&|p| p.dept == Dept::Data);
        let okta_admins = select(&|p| p.dept == Dept::It);
        let security = select(&|p| p.dept == Dept::Security);
        let iam_users = select(&|p| matches!(p.dept, Dept::It | Dept::Security | Dept::Finance));
        let github_owners = [okta_admins[0], security[0], engineers[0]].to_vec();
        Company {
            people,
            technical,
            engineers,
            data,
            okta_admins,
            security,
            iam_users,
            github_owners,
        }
    }
}

/// `base`, or `base2`, `base3`, … when taken.
fn unique(taken: &mut HashSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// A Linux server that ships its auth.log.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) name: &'static str,
    pub(crate) ip: &'static str,
    /// The instance's network interface, as VPC Flow Logs name it.
    pub(crate) eni: &'static str,
}

/// The internet-facing SSH jump host.
pub(crate) const BASTION: Host = Host {
    name: "bastion-1",
    ip: "10.0.1.10",
    eni: "eni-0b7d1e4f2a9c83d51",
};

/// Servers reached through the bastion.
pub(crate) const INNER_HOSTS: [Host; 5] = [
    Host {
        name: "app-1",
        ip: "10.0.2.11",
        eni: "eni-02f4a9b7c1d36e805",
    },
    Host {
        name: "app-2",
        ip: "10.0.2.12",
        eni: "eni-0c3e8d21f7a5b4960",
    },
    Host {
        name: "app-3",
        ip: "10.0.2.13",
        eni: "eni-07a19c5e3b2d4f681",
    },
    Host {
        name: "worker-1",
        ip: "10.0.2.21",
        eni: "eni-0e6b2f8a4c1d97350",
    },
    Host {
        name: "db-1",
        ip: "10.0.3.10",
        eni: "eni-05d8c3a1e9f2b7046",
    },
];

#[cfg(test)]
mod tests {
    // Roster invariants the generators rely on.
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn roles_exist_and_names_are_unique() {
        for employees in [0, 1, 20, 200, 5000] {
            let c = Company::new(&mut StdRng::seed_from_u64(9), employees);
            assert_eq!(c.people.len(), employees.max(MIN_ROSTER) as usize);
            for role in [
                &c.technical,
                &c.engineers,
                &c.data,
                &c.okta_admins,
                &c.security,
                &c.iam_users,
                &c.github_owners,
            ] {
                assert!(!role.is_empty());
            }
            assert!(
                c.iam_users
                    .iter()
                    .any(|&i| c.people[i].dept == Dept::Finance)
            );
            for field in [
                |p: &Person| p.login.clone(),
                |p: &Person| p.unix.clone(),
                |p: &Person| p.github.clone(),
            ] {
                let names: HashSet<String> = c.people.iter().map(field).collect();
                assert_eq!(names.len(), c.people.len());
            }
        }
    }
}

/// The simulated AWS estate the records talk about: accounts, their principals, KMS keys,
/// buckets and other resources, and the trails that deliver the logs. Built once from the
/// seed before any record is written.
struct Estate {
    let accounts: [Account]
    let regions: [String]
    let organizationID: String?
    /// The central bucket every trail delivers to.
    let logBucket: String
    /// One trail per account, or a single organization trail owned by the first account.
    let trails: [Trail]

    var homeRegion: String { regions[0] }

    /// The trail that delivers the given account's logs.
    func trail(forAccount index: Int) -> Trail {
        organizationID == nil ? trails[index] : trails[0]
    }

    /// `AWSLogs/[o-ORG/]ACCOUNT/`, the prefix of everything about one account.
    func logPrefix(account index: Int) -> String {
        "AWSLogs/" + (organizationID.map { $0 + "/" } ?? "") + accounts[index].id + "/"
    }

    init(options: SynthOptions, rng: inout SynthRandom) {
        regions = options.regions
        organizationID = options.organizationID
        var ids = Set<String>()
        var built: [Account] = []
        for index in 0..<options.accounts {
            var id: String
            repeat {
                id = String(rng.int(in: 1...9)) + rng.digits(11)
            } while !ids.insert(id).inserted
            built.append(Account(index: index, id: id, regions: options.regions, rng: &rng))
        }
        accounts = built
        logBucket = "aws-cloudtrail-logs-\(built[0].id)-\(rng.hex(8))"
        let home = options.regions[0]
        if options.organizationID != nil {
            let owner = built[0]
            trails = [Trail(name: "org-trail", owner: owner, homeRegion: home)]
        } else {
            trails = built.map { Trail(name: "management-events", owner: $0, homeRegion: home) }
        }
    }
}

/// A trail: its ARN and the KMS key its log files are encrypted with.
struct Trail {
    let name: String
    let arn: String
    let ownerIndex: Int
    let homeRegion: String
    let key: KMSKey

    init(name: String, owner: Account, homeRegion: String) {
        self.name = name
        arn = "arn:aws:cloudtrail:\(homeRegion):\(owner.id):trail/\(name)"
        ownerIndex = owner.index
        self.homeRegion = homeRegion
        key = owner.region(homeRegion).keys.cloudTrail
    }
}

/// A KMS key with its alias.
struct KMSKey {
    enum State { case enabled, disabled, pendingDeletion }

    let accountID: String
    let region: String
    /// The bare key id, a UUID.
    let id: String
    /// `alias/NAME`.
    let alias: String
    let state: State
    let arn: String
    let aliasArn: String

    init(accountID: String, region: String, id: String, alias: String, state: State = .enabled) {
        self.accountID = accountID
        self.region = region
        self.id = id
        self.alias = alias
        self.state = state
        arn = "arn:aws:kms:\(region):\(accountID):key/\(id)"
        aliasArn = "arn:aws:kms:\(region):\(accountID):\(alias)"
    }
}

/// An IAM user and its long-term access key.
struct IAMUser {
    let name: String
    let principalID: String
    let accessKeyID: String
    let arn: String
}

/// An IAM role and the sessions that assume it.
struct IAMRole {
    let name: String
    let principalID: String
    /// The role's ARN, path included.
    let arn: String
    let sessions: [RoleSession]
}

/// One role session: its name and temporary access key; some carry a source identity, some
/// were started from the console.
struct RoleSession {
    let name: String
    let accessKeyID: String
    let sourceIdentity: String?
    let fromConsole: Bool
}

/// One account: principals and per-region resources.
struct Account {
    /// Well-known users, by position in `users`.
    enum UserName: Int, CaseIterable {
        case alice, bob, deployBot, cloudtrailAdmin, intern, ciRunner, fedBroker
    }

    /// Well-known roles, by position in `roles`.
    enum RoleName: Int, CaseIterable {
        case appBackend, dataPipeline, securityAudit, logIngest, ssoAdmin, lambdaExec, analyst
    }

    let index: Int
    let id: String
    let rootAccessKeyID: String
    let users: [IAMUser]
    let roles: [IAMRole]
    let regionEstates: [RegionEstate]
    let identityStoreID: String
    let identityCenterUserIDs: [String]

    func user(_ name: UserName) -> IAMUser { users[name.rawValue] }
    func role(_ name: RoleName) -> IAMRole { roles[name.rawValue] }

    func region(_ name: String) -> RegionEstate {
        regionEstates.first { $0.name == name } ?? regionEstates[0]
    }

    init(index: Int, id: String, regions: [String], rng: inout SynthRandom) {
        self.index = index
        self.id = id
        rootAccessKeyID = "ASIA" + rng.upperAlphanumeric(16)
        let userNames = ["alice", "bob.smith", "deploy-bot", "cloudtrail-admin", "intern-jdoe", "ci-runner", "fed-broker"]
        users = userNames.map { name in
            IAMUser(
                name: name, principalID: "AIDA" + rng.upperAlphanumeric(17),
                accessKeyID: "AKIA" + rng.upperAlphanumeric(16), arn: "arn:aws:iam::\(id):user/\(name)")
        }

        func sessions(_ names: [String], sourceIdentity: String? = nil, console: Bool = false) -> [RoleSession] {
            names.map {
                RoleSession(
                    name: $0, accessKeyID: "ASIA" + rng.upperAlphanumeric(16), sourceIdentity: sourceIdentity,
                    fromConsole: console)
            }
        }
        let instanceSessions = (0..<4).map { _ in "i-0" + rng.hex(16) }
        let ssoSuffix = rng.hex(16)
        let roleSpecs: [(String, String, [RoleSession])] = [
            ("app-backend", "/", sessions(instanceSessions)),
            ("data-pipeline", "/service-role/", sessions(["glue-etl-nightly", "emr-step-42", "airflow-task-7"])),
            (
                "SecurityAudit", "/",
                sessions(["alice@example.com"], sourceIdentity: "alice") + sessions(["bob.smith"], sourceIdentity: "bob.smith")
            ),
            ("log-ingest", "/", sessions(["splunk-ta-aws", "siem-collector"])),
            (
                "AWSReservedSSO_AdministratorAccess_" + ssoSuffix, "/aws-reserved/sso.amazonaws.com/",
                sessions(["alice@example.com", "carol.nguyen@example.com"], console: true)
            ),
            ("orders-fn-role", "/service-role/", sessions(["orders-processor", "thumbnail-generator", "nightly-report"])),
            ("analyst", "/", sessions(["tanaka.hiroshi", "1709251200123456789"], sourceIdentity: "tanaka")),
        ]
        roles = roleSpecs.map { name, path, sessions in
            IAMRole(
                name: name, principalID: "AROA" + rng.upperAlphanumeric(17),
                arn: "arn:aws:iam::\(id):role\(path)\(name)", sessions: sessions)
        }
        regionEstates = regions.map { RegionEstate(account: id, region: $0, rng: &rng) }
        identityStoreID = "d-" + rng.hex(10)
        identityCenterUserIDs = (0..<3).map { _ in rng.uuid() }
    }
}

/// What one account has in one region.
struct RegionEstate {
    let name: String
    let keys: RegionKeys
    /// An SSE-KMS bucket with hot objects and a long tail.
    let dataBucket: String
    /// An SSE-KMS bucket with S3 Bucket Keys: its contexts name only the bucket.
    let bucketKeyBucket: String
    /// An SSE-KMS bucket whose object keys have spaces, Unicode and characters JSON escapes.
    let reportsBucket: String
    /// Keys of `dataBucket` objects read over and over.
    let hotObjects: [String]
    let functions: [String]
    let volumes: [String]
    let instances: [String]
    let secretARNs: [String]

    init(account: String, region: String, rng: inout SynthRandom) {
        name = region
        keys = RegionKeys(account: account, region: region, rng: &rng)
        dataBucket = "acme-datalake-\(account)-\(region)"
        bucketKeyBucket = "acme-archive-bk-\(account)-\(region)"
        reportsBucket = "acme-reports-\(account)-\(region)"
        hotObjects = ["config/app-settings.json", "models/recommender/v3/model.bin", "reference/country-codes.csv"]
        functions = ["orders-processor", "thumbnail-generator", "nightly-report"]
        volumes = (0..<6).map { _ in "vol-0" + rng.hex(16) }
        instances = (0..<8).map { _ in "i-0" + rng.hex(16) }
        secretARNs = ["prod/db/password", "prod/api/stripe-key"].map {
            "arn:aws:secretsmanager:\(region):\(account):secret:\($0)-" + rng.alphanumeric(6)
        }
    }
}

/// The KMS keys of one account in one region.
struct RegionKeys {
    let cloudTrail: KMSKey
    let appData: KMSKey
    let dataLake: KMSKey
    let finance: KMSKey
    let s3Managed: KMSKey
    let ebsManaged: KMSKey
    let lambdaManaged: KMSKey
    let secretsManaged: KMSKey
    let pendingDeletion: KMSKey
    let disabled: KMSKey

    /// Customer keys that applications call directly.
    var applicationKeys: [KMSKey] { [appData, dataLake, finance] }

    init(account: String, region: String, rng: inout SynthRandom) {
        func key(_ alias: String, _ state: KMSKey.State = .enabled) -> KMSKey {
            KMSKey(accountID: account, region: region, id: rng.uuid(), alias: alias, state: state)
        }
        cloudTrail = key("alias/cloudtrail-logs")
        appData = key("alias/app-data")
        dataLake = key("alias/data-lake")
        finance = key("alias/finance")
        s3Managed = key("alias/aws/s3")
        ebsManaged = key("alias/aws/ebs")
        lambdaManaged = key("alias/aws/lambda")
        secretsManaged = key("alias/aws/secretsmanager")
        pendingDeletion = key("alias/old-project", .pendingDeletion)
        disabled = key("alias/legacy-disabled", .disabled)
    }
}
